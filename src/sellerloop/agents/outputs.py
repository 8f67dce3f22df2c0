"""Stored agent output: the latest run of each agent on each record, and the whole-book batches that write them.

`run-all` is the nightly refresh: it runs agents over the whole book and keeps each record's latest output here,
so pages, inboxes and reports read it instead of running every agent on every view. A batch remembers which
records it finished, so an interrupted run continues where it stopped.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class AgentBatch(Base):
    __tablename__ = "agent_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    use_cases: Mapped[list] = mapped_column(JSON)  # in the order they run
    acting_user: Mapped[str | None] = mapped_column(String(64))  # None: the whole book, as the system
    playbook: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # None while running or interrupted
    total: Mapped[int] = mapped_column(Integer, default=0)  # agent runs planned
    done: Mapped[int] = mapped_column(Integer, default=0)


class AgentOutput(Base):
    """One row per (agent, record): a newer run replaces the older one."""

    __tablename__ = "agent_outputs"

    use_case: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("agent_batches.id"), index=True)
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    items: Mapped[int] = mapped_column(Integer)  # how many items were shown
    dropped_unsupported: Mapped[int] = mapped_column(Integer)
    output: Mapped[str] = mapped_column(Text)  # the AgentRun as JSON (the DESIGN.md §8 shape)
