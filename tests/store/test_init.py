"""`sellerloop init`: brings a store to the newest schema, and a second run changes nothing."""
from __future__ import annotations

from sqlalchemy import inspect

import sellerloop.store.tables  # noqa: F401  (every table, so the schema check sees them all)
from sellerloop.records.models import RECORD_TYPES
from sellerloop.store.db import Base, create_store_engine
from sellerloop.store.migrate import current_revision, head_revision


def _schema(url: str) -> dict[str, list[tuple[str, str]]]:
    engine = create_store_engine(url)
    inspector = inspect(engine)
    schema = {t: sorted((c["name"], str(c["type"])) for c in inspector.get_columns(t))
              for t in inspector.get_table_names()}
    engine.dispose()
    return schema


def test_init_creates_every_table_at_the_head_revision(store, cli):
    result = cli(store, "init")
    assert result.exit_code == 0, result.stderr
    assert "migrated empty ->" in result.stdout
    engine = create_store_engine(store.url)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {m.__tablename__ for m in RECORD_TYPES.values()} <= tables


def test_running_init_again_changes_nothing(store, cli):
    cli(store, "init")
    before = _schema(store.url)
    second = cli(store, "init")
    assert second.exit_code == 0
    assert "nothing changed" in second.stdout
    assert _schema(store.url) == before


def test_the_migrations_match_the_models(engine):
    # A model change without a migration would make `init` build a different schema than the code expects.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_commands_on_an_uninitialised_store_say_to_run_init(store, cli):
    result = cli(store, "stats", "--json")
    assert result.exit_code == 1
    assert "run `sellerloop init`" in result.stderr
    assert "Traceback" not in result.stderr
