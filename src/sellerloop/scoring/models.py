"""The state of a scoring model, kept as one JSON document per model and bumped on every update.

Win probability keeps its counts here (updated on each won/lost, rebuilt periodically); the document is small (a
few hundred feature values), so one row read per run is cheaper than a table of counts.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.store.db import Base


class ScoringState(Base):
    __tablename__ = "scoring_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "win_probability"
    state: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)  # bumped on every write: a lost update is refused
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
