"""One thing a use case would have done one level up, recorded instead of done."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class ShadowAction(Base):
    __tablename__ = "shadow_actions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    use_case: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(4))  # the level it ran at in shadow (one above its own)
    placement: Mapped[str] = mapped_column(String(24))  # what it would have done: draft, pending_approval, executed
    subject: Mapped[str] = mapped_column(String(200), index=True)  # the record, e.g. opportunity:ID
    action: Mapped[str] = mapped_column(String(50))  # the catalogue action
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)  # the same ask on the same record
    proposal: Mapped[dict] = mapped_column(JSON)  # what it would have proposed (approvals.models.Proposal)
    as_of: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # the book's "today" when it ran
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
