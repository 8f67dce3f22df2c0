"""Books to test on, shared by every folder (registered by the root conftest's `pytest_plugins`)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from sellerloop.store.db import create_store_engine


@pytest.fixture
def maven_copy_engine(maven_copy) -> Iterator[Engine]:
    """An engine on a writable copy of the Maven book (the root conftest's `maven_copy`: a file copy on SQLite, a
    copy of a template database on PostgreSQL). A folder whose tests all write to the book imports it as its
    `engine`: `from tests.support.books import maven_copy_engine as engine`."""
    engine = create_store_engine(maven_copy.url)
    yield engine
    engine.dispose()
