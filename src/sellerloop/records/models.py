"""CRM records: the tables every agent reads.

Ids are strings so that records keep the id they have in the system they came from (a Maven opportunity id,
a Salesforce 18-char id) and so that imports can be idempotent: the same source row always maps to the same id.
Every table carries `synthetic`: True for rows made up by the sample layer or the scale generator, False for
rows that came from real data. The UI and `stats` show the difference.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sellerloop.policy.models import Role
from sellerloop.store.db import Base


class ActivityKind(str, enum.Enum):
    email = "email"
    meeting = "meeting"
    call = "call"
    note = "note"


class SignalKind(str, enum.Enum):
    web_page = "web_page"
    news = "news"
    job_posting = "job_posting"


OPEN_STAGES = ("Prospecting", "Engaging")
CLOSED_STAGES = ("Won", "Lost")
STAGES = OPEN_STAGES + CLOSED_STAGES


def _synthetic() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, default=False, server_default="0")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=Role.seller.value)
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    team: Mapped[str | None] = mapped_column(String(200))  # the manager's team, e.g. "Cara Losch's team"
    region: Mapped[str | None] = mapped_column(String(100))  # the regional office: Central, East, West
    synthetic: Mapped[bool] = _synthetic()

    manager: Mapped[User | None] = relationship(remote_side=[id])


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    sector: Mapped[str | None] = mapped_column(String(100))
    year_established: Mapped[int | None] = mapped_column(Integer)
    revenue_musd: Mapped[float | None] = mapped_column(Float)  # annual revenue in millions of USD
    employees: Mapped[int | None] = mapped_column(Integer)
    office_location: Mapped[str | None] = mapped_column(String(100))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    website: Mapped[str | None] = mapped_column(String(300))
    synthetic: Mapped[bool] = _synthetic()

    parent: Mapped[Account | None] = relationship(remote_side=[id])
    owner: Mapped[User | None] = relationship()


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Nullable: a contact met on an opportunity whose account is not known yet (Maven has 1,425 such deals).
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    role_in_deal: Mapped[str | None] = mapped_column(String(50))  # champion, economic_buyer, ...
    synthetic: Mapped[bool] = _synthetic()


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    series: Mapped[str | None] = mapped_column(String(50))
    sales_price: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))
    synthetic: Mapped[bool] = _synthetic()


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    stage: Mapped[str] = mapped_column(String(50), index=True)
    # Deal value in USD: the close value when won, otherwise the product's list price as the estimate.
    amount: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))
    close_value: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))  # as recorded; 0 when lost
    engage_date: Mapped[dt.date | None] = mapped_column(Date)
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    next_step: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = _synthetic()

    account: Mapped[Account | None] = relationship()
    owner: Mapped[User | None] = relationship()
    product: Mapped[Product | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class OpportunityContact(Base):
    """Who takes part in a deal, and in what role (the role can differ from deal to deal)."""

    __tablename__ = "opportunity_contacts"

    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id"), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), primary_key=True, index=True)
    role_in_deal: Mapped[str | None] = mapped_column(String(50))
    synthetic: Mapped[bool] = _synthetic()


class StageChange(Base):
    """One row per stage an opportunity entered, with the date it entered it."""

    __tablename__ = "stage_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id"), index=True)
    stage: Mapped[str] = mapped_column(String(50))
    entered_on: Mapped[dt.date | None] = mapped_column(Date)  # None when the source does not date it
    synthetic: Mapped[bool] = _synthetic()


class FieldChange(Base):
    """A past change of one field (e.g. a pushed close date), as the CRM's field history would show it."""

    __tablename__ = "field_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    object_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    synthetic: Mapped[bool] = _synthetic()

    __table_args__ = (Index("ix_field_history_record", "object_type", "record_id"),)


class Activity(Base):
    """An email, meeting, call or note, with its participants and body."""

    __tablename__ = "activities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[str | None] = mapped_column(String(16))  # inbound / outbound for emails and calls
    thread_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # [{"name": ..., "email": ..., "contact_id": ..., "user_id": ..., "role": "from|to|cc|attendee"}]
    participants: Mapped[list] = mapped_column(JSON, default=list)
    synthetic: Mapped[bool] = _synthetic()


class Transcript(Base):
    __tablename__ = "transcripts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    activity_id: Mapped[str | None] = mapped_column(ForeignKey("activities.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    source_format: Mapped[str] = mapped_column(String(20))  # vtt, srt, text, casino, sample
    source_name: Mapped[str | None] = mapped_column(String(500))  # file name it was imported from
    synthetic: Mapped[bool] = _synthetic()

    utterances: Mapped[list[Utterance]] = relationship(
        order_by="Utterance.seq", cascade="all, delete-orphan", back_populates="transcript"
    )


class Utterance(Base):
    __tablename__ = "utterances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1-based position; the page anchor is #u-<seq>
    speaker: Mapped[str] = mapped_column(String(200))
    # Who said it, as the import read it off the speaker label: "seller" (one of our users, or named with
    # --seller), "customer" (a contact of the deal's account), None when the label matched nobody: never a guess.
    role: Mapped[str | None] = mapped_column(String(16))
    start_s: Mapped[float | None] = mapped_column(Float)  # seconds from the start; None for untimed text
    end_s: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    synthetic: Mapped[bool] = _synthetic()

    transcript: Mapped[Transcript] = relationship(back_populates="utterances")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))  # low, medium, high, critical
    status: Mapped[str] = mapped_column(String(16))  # open, pending, closed
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    synthetic: Mapped[bool] = _synthetic()


class UsageMetric(Base):
    """One value of one product-usage series for an account (e.g. weekly active users)."""

    __tablename__ = "usage_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    metric: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = _synthetic()


class Signal(Base):
    """Something outside the CRM that says an account is moving: a news item, a job posting, a web page."""

    __tablename__ = "signals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(1000))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    body: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(String(200))
    synthetic: Mapped[bool] = _synthetic()


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    opportunity_id: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done, cancelled
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    synthetic: Mapped[bool] = _synthetic()


# The record types `stats` counts and `records list` can list, in display order. One place, so the CLI,
# the API and the tests agree on the names.
RECORD_TYPES: dict[str, type[Base]] = {
    "users": User,
    "accounts": Account,
    "contacts": Contact,
    "products": Product,
    "opportunities": Opportunity,
    "stage_history": StageChange,
    "field_history": FieldChange,
    "activities": Activity,
    "transcripts": Transcript,
    "utterances": Utterance,
    "tickets": Ticket,
    "usage_metrics": UsageMetric,
    "signals": Signal,
    "tasks": Task,
}
