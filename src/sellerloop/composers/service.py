"""Which composer runs: the deterministic one unless SELLERLOOP_LLM_MODEL names a model."""
from __future__ import annotations

from sellerloop.composers.base import Composer
from sellerloop.composers.deterministic import DeterministicComposer
from sellerloop.config import get_settings


def configured_composer() -> Composer:
    """The LLM composer when a model is configured (BadInput when its id cannot be used), else the default."""
    settings = get_settings()
    if settings.llm_model.strip():
        from sellerloop.composers.llm import LLMComposer  # imported only when used: pydantic-ai loads slowly

        return LLMComposer(settings.llm_model, base_url=settings.llm_base_url)
    return DeterministicComposer()
