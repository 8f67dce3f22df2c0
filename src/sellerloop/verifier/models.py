"""Claims, the sources they cite, and the verifier's verdict on each (pydantic v2, DESIGN.md §3 and §5)."""
from __future__ import annotations

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sellerloop.evidence.models import SourceRef  # what a claim cites


class Claim(BaseModel):
    text: str
    sources: list[SourceRef]

    @field_validator("sources", mode="before")
    @classmethod
    def _plain_uris(cls, value):
        # `sellerloop verify` files and agents often cite sources as bare URIs.
        if isinstance(value, list):
            return [{"uri": item} if isinstance(item, str) else item for item in value]
        return value


class Verdict(BaseModel):
    supported: bool
    why: str  # what failed, or which facts were found where
    facts: list[str] = Field(default_factory=list)  # its numbers, amounts, dates, names, titles as written
    overlap: float = 0.0  # share of its other content words found in the quotes; 0 when a fact is missing


class VerifierSettings(BaseSettings):
    """SELLERLOOP_VERIFIER_* settings; here rather than in sellerloop.config so the verifier stays one package."""

    model_config = SettingsConfigDict(env_prefix="SELLERLOOP_VERIFIER_", extra="ignore")

    # At least this share of the claim's content words must appear in its quotes (see service.py for why 0.6).
    min_overlap: float = 0.6
