"""What the executor did: one row per approved action, keyed by its idempotency key, with the exact diff to undo it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class Execution(Base):
    """`id` is the idempotency key (from the approval id): a second attempt at the same approval finds this row
    and does nothing, however it got there (a double click, a retry, a restart after a crash)."""

    __tablename__ = "executions"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    approval_id: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # done, rolled_back
    # What changed, exactly enough to undo it: {"table", "id", "field", "before", "after"} for a field, or
    # {"created": {"table", "id"}} for a created row. Values are stored as the column's JSON form.
    diff: Mapped[dict] = mapped_column(JSON)
    executed_by: Mapped[str] = mapped_column(String(64))
    executed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    rolled_back_by: Mapped[str | None] = mapped_column(String(64))
    rolled_back_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
