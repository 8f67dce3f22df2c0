"""Tests never call a live model: pydantic-ai refuses every model request but its test and function models."""

from __future__ import annotations

import pytest
from pydantic_ai import models


@pytest.fixture(autouse=True)
def _no_live_model_requests(monkeypatch):
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)
