"""What happened on a record after the agents spoke: downstream events, linked later to what was recommended.

An event is a fact about a record at a time (an email replied to, a meeting booked, a stage moved, a task
completed, a close date moved, a deal won or lost). It arrives through the API, through an import, or is read off
the CRM's own history (`outcomes collect`). `source` + `external_id` make arrival idempotent: the same event sent
twice is stored once.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class OutcomeEvent(Base):
    __tablename__ = "outcome_events"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)  # outcomes.events.EventKind
    subject: Mapped[str] = mapped_column(String(200), index=True)  # the record: opportunity:ID or account:ID
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    source: Mapped[str] = mapped_column(String(32))  # how it arrived: api, import, crm
    external_id: Mapped[str] = mapped_column(String(200))  # the sender's id for it (idempotent arrival)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. {"from": "Engaging", "to": "Won"}
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
