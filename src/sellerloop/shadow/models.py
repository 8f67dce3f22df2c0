"""One thing a use case would have done one level up, recorded instead of done."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class ShadowAction(Base):
    __tablename__ = "shadow_actions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    use_case: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(4))  # the level it ran at in shadow (one above its own)
    # Where it would have gone: draft, pending_approval or executed (shown, one up from L1).
    placement: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(String(200), index=True)  # the record, e.g. opportunity:ID
    action: Mapped[str] = mapped_column(String(50))  # the catalogue action
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)  # the same ask on the same record
    proposal: Mapped[dict] = mapped_column(JSON)  # what it would have proposed (approvals.models.Proposal)
    # The moment it would have been done: the end of the book's "today" it ran as of (a follow-up: the call's
    # end, when it would have been drafted). What people did is read after it, for `window_days`.
    as_of: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    window_days: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
