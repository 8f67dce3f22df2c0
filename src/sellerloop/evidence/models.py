"""A reference to a source: its URI, the exact words relied on, and its kind. Everything that cites evidence
(agents' items, claims, drafts, proposals) carries these; `evidence/sources.py` resolves them."""
from __future__ import annotations

from pydantic import BaseModel


class SourceRef(BaseModel):
    uri: str
    quote: str | None = None  # the exact words relied on; None means "the whole source"
    kind: str | None = None
