"""The JSON shapes of approvals and decisions in the API (approvals/views.py, agents/views.py).

Plain response models, without the catalogue check the stored models run: what a person is shown may have a
sensitive field masked ("(hidden)" for both old and new), which is no valid field change, yet is what they may
see.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.actions.catalogue import Risk
from sellerloop.agents.models import Level
from sellerloop.approvals.drafts import describe
from sellerloop.approvals.models import EDITABLE, State
from sellerloop.executor.history import diff_as_seen
from sellerloop.executor.schemas import ExecutionOut
from sellerloop.pipeline.decisions import ApprovalView, Decided
from sellerloop.utc import UtcDateTime
from sellerloop.web.api import StorableJson, StorableText


def _edits():
    return Field(None, description="the payload fields to change before approving (only those an approver "
                                   "may edit: see `editable`); the others keep the proposed values")


class DecisionOut(BaseModel):
    """One step of an approval's history."""

    state: State
    by: str = Field(description="a user id, agent:USE_CASE for the proposal, policy:L5, or the executor")
    at: UtcDateTime
    reason: str | None = None
    payload: dict[str, Any] | None = Field(None, description="the edited payload of approved_with_edits")
    execution_id: str | None = None


class ApprovalOut(BaseModel):
    id: str
    state: State
    status: str = Field(description="where it stands, in words")
    use_case: str
    action: str
    subject: str = Field(description="the record it acts on, e.g. opportunity:ID")
    owner_id: str | None = Field(description="who owns that record")
    risk: Risk | None
    level: Level | None = Field(description="the autonomy level it was proposed at")
    reason: str = Field(description="the agent's reason, as shown")
    sources: list[dict[str, Any]]
    payload: dict[str, Any] = Field(description="what runs: the approver's edited payload, else the proposal")
    proposed_payload: dict[str, Any]
    editable: list[str] = Field(description="the payload fields an approver may edit")
    expires_at: UtcDateTime | None
    merged: int = Field(description="near-duplicate proposals folded into this one")
    history: list[DecisionOut]

    @classmethod
    def of(cls, view: ApprovalView) -> ApprovalOut:
        a, p = view.approval, view.approval.proposal
        return cls(id=a.id, state=a.state, status=describe(a), use_case=p.use_case, action=p.action,
                   subject=p.subject, owner_id=view.owner_id, risk=view.risk, level=p.level, reason=p.reason,
                   sources=p.sources, payload=a.payload, proposed_payload=p.payload,
                   editable=list(EDITABLE.get(p.action, ())), expires_at=p.expires_at, merged=a.merged,
                   history=[DecisionOut(state=d.state, by=d.by, at=d.at, reason=d.reason, payload=d.payload,
                                        execution_id=d.execution_id) for d in a.history])


class DecisionResult(BaseModel):
    """A decision and what came of it: the approval, and the execution or why there is none yet."""

    approval: ApprovalOut
    state: State
    execution: ExecutionOut | None = Field(description="what was written, for an approved action carried out")
    waiting: str | None = Field(description="why an approved action was not carried out (needs a connector)")

    @classmethod
    def of(cls, decided: Decided, *, session: Session) -> DecisionResult:
        execution = None
        if decided.execution is not None:
            execution = ExecutionOut.of(decided.execution, diff=diff_as_seen(
                session=session, execution=decided.execution, user=served_user(session)))
        return cls(approval=ApprovalOut.of(decided.approval), state=decided.approval.approval.state,
                   execution=execution, waiting=decided.waiting)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveRequest(_Request):
    payload: StorableJson | None = _edits()


class RejectRequest(_Request):
    reason: StorableText = Field(min_length=1, max_length=2000, description="why: the agent learns from it")


class OfferDecisionRequest(_Request):
    """A person's decision on an offer from /api/recommendations or /api/drafts."""

    offer_token: str = Field(min_length=1, max_length=200_000, description="the offer's `offer_token`")
    decision: Literal["approve", "reject"]
    payload: StorableJson | None = _edits()
    reason: StorableText | None = Field(None, min_length=1, max_length=2000,
                                        description="why, for a rejection (required there)")
