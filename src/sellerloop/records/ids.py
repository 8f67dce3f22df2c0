"""Stable record ids derived from natural keys, so re-importing the same data never duplicates a record."""
from __future__ import annotations

import hashlib
import re
import unicodedata


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64] or "x"


def stable_id(prefix: str, *parts: object) -> str:
    """A short id that is the same for the same parts on every run and every machine."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).hexdigest()
    return f"{prefix}-{digest}"
