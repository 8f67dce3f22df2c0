"""Alembic environment. sellerloop runs migrations in-process (`sellerloop init`), handing over its connection."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import sellerloop.store.tables  # noqa: F401  (registers every table on Base.metadata)
from sellerloop.store.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` command line: connect from the configured URL
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection) -> None:
    # Batch mode lets later migrations alter columns on SQLite, which cannot ALTER most things in place.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("sellerloop migrations run online only (sellerloop init)")
run_migrations_online()
