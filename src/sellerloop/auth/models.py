"""Who signs in: a password per person (argon2 hash) and API tokens for scripts (only their hash is kept)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class Credential(Base):
    """A person's password, as an argon2id hash (parameters and salt inside the hash string)."""

    __tablename__ = "credentials"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A token a script sends as `Authorization: Bearer sl_<id>_<secret>`. The secret is shown once, when made;
    the store keeps its SHA-256 (a random 256-bit secret needs no slow hash: nothing to guess)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """One signed-in browser. The signed cookie names it; a request is served only while its row is open, so
    signing out, changing one's password or having one's sessions revoked ends it on the server, whatever copy
    of the cookie is still around. The store keeps the SHA-256 of the id the cookie carries."""

    __tablename__ = "web_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
