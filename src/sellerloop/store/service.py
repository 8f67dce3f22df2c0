"""Opening and initialising the configured store."""
from __future__ import annotations

from sqlalchemy import Engine, inspect

from sellerloop.config import Settings, get_settings
from sellerloop.errors import SellerloopError
from sellerloop.store.db import create_store_engine
from sellerloop.store.migrate import current_revision, head_revision, upgrade_to_head


class StoreNotInitialised(SellerloopError):
    """The store exists but is not at the newest schema; `sellerloop init` fixes it."""

    exit_code = 1


def open_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    return create_store_engine(settings.resolved_database_url)


def init_store(*, engine: Engine) -> tuple[str | None, str]:
    """Bring the store to head. Idempotent: on a store already at head it changes nothing."""
    return upgrade_to_head(engine)


def require_current_schema(engine: Engine) -> None:
    if current_revision(engine) != head_revision():
        raise StoreNotInitialised(f"the store at {engine.url.render_as_string()} is not initialised or is out of"
                                  " date; run `sellerloop init`")


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
