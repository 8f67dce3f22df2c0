"""The approvals tests work on a writable copy of the Maven book (both stores)."""
from __future__ import annotations

import pytest

from sellerloop.store.db import create_store_engine


@pytest.fixture
def engine(maven_copy):
    engine = create_store_engine(maven_copy.url)
    yield engine
    engine.dispose()
