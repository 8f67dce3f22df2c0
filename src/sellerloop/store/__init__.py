"""The record store: the SQLAlchemy engine, sessions and Alembic migrations."""
from sellerloop.store.db import Base, create_store_engine, session_scope

__all__ = ["Base", "create_store_engine", "session_scope"]
