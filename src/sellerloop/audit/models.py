"""The audit log: one append-only row per thing that happened (an agent run, a decision, an execution, an undo, a
policy change), each chained to the one before by a SHA-256 hash.

Rows are never updated or deleted. The database refuses it (triggers made by migration 0003), and `verify`
(audit/service.py) catches it anyway if someone with enough rights drops the triggers first: a changed row no
longer matches its hash, and a removed, inserted or moved row breaks the chain of `prev_hash` links.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base

GENESIS = "0" * 64  # the prev_hash of row 1: there is nothing before it


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("seq >= 1", name="seq_positive"),)

    # Position in the log: 1, 2, 3, ... with no gaps. Assigned by `append` as the last seq + 1, never by the
    # database, and unique (the primary key), so two writers racing for the same position cannot both win.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive; strictly increasing with seq
    actor: Mapped[str] = mapped_column(String(100))  # a user id, or a service identity ("agent:hygiene", "executor")
    action: Mapped[str] = mapped_column(String(50))  # agent.run, approval.approved, execution.done, policy.changed ...
    subject: Mapped[str] = mapped_column(String(300), index=True)  # the record URI the action was about
    # Whatever the caller records: sources used, output, policy decision, approver, diff. Checked to be plain JSON.
    payload: Mapped[Any] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))  # the previous row's hash (GENESIS for row 1)
    hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of this row's canonical form
