"""The JSON shapes of agent runs, recommendations and drafts in the API (agents/views.py).

A run answers as the AgentRun itself (agents/models.py, the DESIGN.md §8 shape); recommendations and drafts
wrap each item with its offer, the offer sealed (`offer_token`, what POST /api/decisions takes back), and what
became of the same ask before.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from sellerloop.actions.catalogue import Risk, get_action
from sellerloop.agents.models import Item, Level, Subject, UseCase
from sellerloop.approvals.drafts import describe
from sellerloop.approvals.models import EDITABLE, State
from sellerloop.pipeline.offers import Offered, Offers
from sellerloop.policy.models import MAX_RECOMMENDATIONS
from sellerloop.utc import UtcDateTime
from sellerloop.web.api import MAX_ID, storable_text

RecordId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID), AfterValidator(storable_text)]


class RunRequest(BaseModel):
    """One record to run on (follow-up also takes an opportunity and one of its calls)."""

    model_config = ConfigDict(extra="forbid")

    use_case: UseCase
    account: RecordId | None = None
    opportunity: RecordId | None = None
    transcript: RecordId | None = Field(None, description="the call (coaching, follow-up)")
    limit: int | None = Field(None, ge=1, le=MAX_RECOMMENDATIONS, description="at most this many recommendations "
                                                                     "(next-action)")


class OfferOut(BaseModel):
    """The action an item becomes when a person takes it up."""

    action: str
    title: str = Field(description="the action in words, e.g. Create a task")
    subject: str = Field(description="the record it acts on, e.g. opportunity:ID")
    payload: dict[str, Any]
    risk: Risk
    level: Level | None = Field(description="the autonomy level the agent ran at")
    editable: list[str] = Field(description="the payload fields an approver may edit")


class PastDecision(BaseModel):
    """What already became of the same ask on the record."""

    approval_id: str
    state: State
    status: str = Field(description="in words, e.g. approved with edits by USER, done on DATE")
    at: UtcDateTime


class OfferedItem(BaseModel):
    use_case: UseCase
    item: Item
    offer: OfferOut | None = Field(description="null for an item that offers no action")
    offer_token: str | None = Field(description="the offer, sealed for a day: send it to POST /api/decisions")
    decision: PastDecision | None = Field(description="null when nobody has acted on the same ask yet")

    @classmethod
    def of(cls, found: Offered) -> OfferedItem:
        offer = found.offer
        shown = None if offer is None else OfferOut(
            action=offer.action, title=get_action(offer.action).title, subject=offer.subject,
            payload=offer.payload, risk=offer.risk, level=offer.level,
            editable=list(EDITABLE.get(offer.action, ())))
        before = found.decision
        past = None if before is None else PastDecision(approval_id=before.id, state=before.state,
                                                        status=describe(before), at=before.history[-1].at)
        return cls(use_case=found.use_case, item=found.item, offer=shown, offer_token=found.token,
                   decision=past)


class OffersOut(BaseModel):
    subject: Subject
    record: str | None = Field(description="the record the offers act on (a call's: its opportunity)")
    items: list[OfferedItem]
    skipped: list[str] = Field(description="an agent that had nothing to work on, and why")

    @classmethod
    def of(cls, subject: Subject, offers: Offers) -> OffersOut:
        return cls(subject=subject, record=offers.record, items=[OfferedItem.of(o) for o in offers.items],
                   skipped=offers.skipped)
