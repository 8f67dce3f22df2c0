"""Approvals as a person works them through the API: the inbox with its filters, and a decision that is
carried out.

A decision is committed before the action is carried out (pipeline/placement.carry_out), as on the CLI and the
pages: a failed execution never loses the decision. Who may see and decide is the approvals service's to say
(record access, then the team's Cedar `approve` rule); this module adds only what an API caller can send that
a form cannot: an edited payload with any field in it. An approver edits what the action says, never where it
acts: the record, the field a change is to, its old value and the owner stay the agent's (approvals.models
EDITABLE, checked by the state machine on every surface), so an edit cannot reach a record the approver may
not see.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import Risk
from sellerloop.approvals.drafts import take_up
from sellerloop.approvals.models import APPROVED, Approval, ApprovalRow, Proposal, State, edited_fields
from sellerloop.approvals.service import (
    approve,
    get_approval,
    list_approvals,
    reject,
    require_decider,
)
from sellerloop.errors import BadInput
from sellerloop.executor.models import Execution
from sellerloop.pipeline.placement import carry_out
from sellerloop.records.refs import RecordRef, owner_of
from sellerloop.records.writable import check_writable


@dataclass(frozen=True)
class ApprovalView:
    """An approval as one person may see it, with what lists and filters need besides."""

    approval: Approval  # a sensitive field's old and new values masked for someone who may not see them
    risk: Risk | None  # of the real payload (a masked field change may not even validate); None: see below
    owner_id: str | None  # who owns the record it acts on: "mine" means this is me


def view_of(*, session: Session, approval: Approval) -> ApprovalView:
    stored = Approval.model_validate(session.get(ApprovalRow, approval.id).approval)
    try:
        risk = stored.proposal.risk
    except BadInput:  # a payload stored under an older catalogue: it has no risk under this one
        risk = None
    return ApprovalView(approval, risk, owner_of(session=session, ref=RecordRef.of(approval.proposal.subject)))


def inbox(*, session: Session, user_id: str | None, state: State | None = None, use_case: str | None = None,
          owner_id: str | None = None) -> list[ApprovalView]:
    """Approvals on records `user_id` may see (all of them for the local operator), newest first, filtered by
    state, use case, and the owner of the record they act on."""
    found = list_approvals(session=session, user_id=user_id, state=state.value if state else None)
    views = [view_of(session=session, approval=a) for a in found
             if use_case is None or a.proposal.use_case == use_case]
    return [v for v in views if owner_id is None or v.owner_id == owner_id]


def edited_payload(*, action: str, proposed: dict[str, Any],
                   edits: dict[str, Any] | None) -> dict[str, Any] | None:
    """The payload to approve: the proposed one with the approver's edits over it (None: no edits). BadInput
    naming the fields an approver may not change (approvals.models.edited_fields, which the state machine
    applies again on every surface), or a value the record cannot hold."""
    if not edits:
        return None
    payload = proposed | edits
    edited_fields(action, proposed, payload)
    check_writable(action=action, payload=payload)  # before the decision is stored: it could never run
    return payload


@dataclass(frozen=True)
class Decided:
    approval: ApprovalView
    execution: Execution | None
    waiting: str | None  # why an approved action was not carried out (it needs a connector)


def take_up_offer(*, session: Session, proposal: Proposal, user_id: str, approved: bool,
                  edits: dict[str, Any] | None = None, reason: str | None = None) -> Decided:
    """Decide on an agent's draft (approvals/drafts.take_up), commit, and carry it out if approved."""
    if not approved and edits:
        raise BadInput("payload: edits go with an approval; a rejection takes a reason only")
    payload = None
    if approved:
        payload = edited_payload(action=proposal.action, proposed=proposal.payload, edits=edits)
    taken = take_up(session=session, proposal=proposal, user_id=user_id, approved=approved, payload=payload,
                    reason=reason)
    return _carried_out(session, taken.approval, user_id)


def approve_pending(*, session: Session, approval_id: str, user_id: str,
                    edits: dict[str, Any] | None = None) -> Decided:
    """Approve a stored approval (with edits, if any), commit, and carry it out. Approving one that is
    approved already carries out what is left, as `sellerloop approvals approve` does (never twice: the
    executor is idempotent)."""
    seen = get_approval(session=session, approval_id=approval_id, user_id=user_id)  # 404, or 403: a stranger
    stored = get_approval(session=session, approval_id=approval_id)
    if stored.state in APPROVED and not edits:
        require_decider(session=session, subject=stored.proposal.subject, user_id=user_id)
        return _carried_out(session, seen, user_id)
    payload = edited_payload(action=stored.proposal.action, proposed=stored.proposal.payload, edits=edits)
    decided = approve(session=session, approval_id=approval_id, user_id=user_id, payload=payload)
    return _carried_out(session, decided, user_id)


def reject_pending(*, session: Session, approval_id: str, user_id: str, reason: str) -> Decided:
    get_approval(session=session, approval_id=approval_id, user_id=user_id)
    decided = reject(session=session, approval_id=approval_id, user_id=user_id, reason=reason)
    return _carried_out(session, decided, user_id)


def _carried_out(session: Session, decided: Approval, user_id: str) -> Decided:
    session.commit()  # the decision stands whatever happens when it is carried out
    execution = waiting = None
    if decided.state in APPROVED:
        done = carry_out(session=session, approval_id=decided.id)
        session.commit()  # before the answer says it was done
        execution, waiting = done.execution, done.waiting
    seen = get_approval(session=session, approval_id=decided.id, user_id=user_id)
    return Decided(view_of(session=session, approval=seen), execution, waiting)
