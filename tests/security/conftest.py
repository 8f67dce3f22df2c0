"""Tests never call a live model: pydantic-ai refuses every model request but its test and function models.

As in tests/composers/conftest.py, but for the whole session of this folder rather than per test: the agent
runs here are made once per book by module-scoped fixtures, which are set up before any function-scoped
fixture, so a per-test monkeypatch would come too late to cover them.
"""

from __future__ import annotations

import pytest
from pydantic_ai import models


@pytest.fixture(scope="session", autouse=True)
def _no_live_model_requests():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "ALLOW_MODEL_REQUESTS", False)
        yield
