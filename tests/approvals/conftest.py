"""The approvals tests work on a writable copy of the Maven book (both stores)."""
from __future__ import annotations

from tests.support.books import maven_copy_engine as engine  # noqa: F401  (the fixture, by the name used here)
