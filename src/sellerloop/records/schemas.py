"""The JSON shapes of records in the API (records/views.py).

Each shape is built from a record as loaded for the person asking, so a sensitive field they may not see is
already None (access/fields.py); `masked` names those fields, so a client can tell "hidden" from "empty".
"""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from sellerloop.access.fields import masked_fields
from sellerloop.records.models import Account, Contact, Opportunity, Task, Transcript, User
from sellerloop.utc import UtcDateTime

MASKED = Field(default_factory=list, description="fields hidden from you (sensitive, and not yours to see); "
                                                 "they read null")


def _masked(record) -> list[str]:
    return sorted(masked_fields(record))


class PersonOut(BaseModel):
    """Who the API serves: the person behind the token or sign-in, or the local operator."""

    id: str | None = Field(description="null for the local operator of a server started without sign-in")
    name: str
    role: str | None = Field(description="seller, manager, admin or revops; null for the local operator")
    email: str | None = None
    manager_id: str | None = None
    team: str | None = None
    region: str | None = None
    local_operator: bool = Field(description="a server started without sign-in: sees every record, decides "
                                             "nothing (a decision needs a person)")

    @classmethod
    def of(cls, user: User | None) -> PersonOut:
        if user is None:
            return cls(id=None, name="local operator", role=None, local_operator=True)
        return cls(id=user.id, name=user.name, role=user.role, email=user.email, manager_id=user.manager_id,
                   team=user.team, region=user.region, local_operator=False)


class AccountOut(BaseModel):
    id: str
    name: str
    sector: str | None
    year_established: int | None
    revenue_musd: float | None = Field(description="annual revenue in millions of USD")
    employees: int | None
    office_location: str | None
    parent_id: str | None
    owner_id: str | None
    website: str | None
    synthetic: bool = Field(description="made up by the sample layer, not real data")
    masked: list[str] = MASKED

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(id=a.id, name=a.name, sector=a.sector, year_established=a.year_established,
                   revenue_musd=a.revenue_musd, employees=a.employees, office_location=a.office_location,
                   parent_id=a.parent_id, owner_id=a.owner_id, website=a.website, synthetic=a.synthetic,
                   masked=_masked(a))


class OpportunityOut(BaseModel):
    id: str
    name: str
    account_id: str | None
    owner_id: str | None
    product_id: str | None
    stage: str
    amount: float | None = Field(description="deal value in USD (the close value if won, else the estimate)")
    close_value: float | None
    engage_date: dt.date | None
    close_date: dt.date | None
    next_step: str | None
    synthetic: bool
    masked: list[str] = MASKED

    @classmethod
    def of(cls, o: Opportunity) -> OpportunityOut:
        return cls(id=o.id, name=o.name, account_id=o.account_id, owner_id=o.owner_id,
                   product_id=o.product_id, stage=o.stage, amount=o.amount, close_value=o.close_value,
                   engage_date=o.engage_date, close_date=o.close_date, next_step=o.next_step,
                   synthetic=o.synthetic, masked=_masked(o))


class ContactOut(BaseModel):
    id: str
    account_id: str | None
    name: str
    title: str | None
    email: str | None
    phone: str | None
    role_in_deal: str | None
    synthetic: bool
    masked: list[str] = MASKED

    @classmethod
    def of(cls, c: Contact, role_in_deal: str | None = None) -> ContactOut:
        return cls(id=c.id, account_id=c.account_id, name=c.name, title=c.title, email=c.email, phone=c.phone,
                   role_in_deal=role_in_deal or c.role_in_deal, synthetic=c.synthetic, masked=_masked(c))


class TaskOut(BaseModel):
    id: str
    subject: str
    description: str | None
    due_date: dt.date | None
    status: str = Field(description="open, done or cancelled")
    owner_id: str | None
    opportunity_id: str | None
    account_id: str | None
    created_at: UtcDateTime

    @classmethod
    def of(cls, t: Task) -> TaskOut:
        return cls(id=t.id, subject=t.subject, description=t.description, due_date=t.due_date,
                   status=t.status, owner_id=t.owner_id, opportunity_id=t.opportunity_id,
                   account_id=t.account_id, created_at=t.created_at)


class StageOut(BaseModel):
    stage: str
    entered_on: dt.date | None


class TranscriptSummary(BaseModel):
    id: str
    title: str
    occurred_at: UtcDateTime | None


class AccountDetail(AccountOut):
    opportunities: list[OpportunityOut] = Field(description="its deals you may see, open ones first")


class OpportunityDetail(OpportunityOut):
    contacts: list[ContactOut] = Field(description="who takes part in the deal, with their role in it")
    stage_history: list[StageOut]
    transcripts: list[TranscriptSummary] = Field(description="the deal's calls, newest first")
    tasks: list[TaskOut] = Field(description="the deal's tasks, open ones first")


class UtteranceOut(BaseModel):
    seq: int
    speaker: str
    start_s: float | None = Field(description="seconds from the start; null for untimed text")
    end_s: float | None
    text: str


class TranscriptOut(BaseModel):
    id: str
    title: str
    opportunity_id: str | None
    account_id: str | None
    activity_id: str | None
    occurred_at: UtcDateTime | None
    source_format: str
    source_name: str | None
    synthetic: bool
    utterances: list[UtteranceOut]

    @classmethod
    def of(cls, t: Transcript) -> TranscriptOut:
        return cls(id=t.id, title=t.title, opportunity_id=t.opportunity_id, account_id=t.account_id,
                   activity_id=t.activity_id, occurred_at=t.occurred_at, source_format=t.source_format,
                   source_name=t.source_name, synthetic=t.synthetic,
                   utterances=[UtteranceOut(seq=u.seq, speaker=u.speaker, start_s=u.start_s, end_s=u.end_s,
                                            text=u.text) for u in t.utterances])
