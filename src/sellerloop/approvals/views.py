"""The approvals API: the inbox, one approval with its history, and approving (as proposed or edited) or
rejecting.

Deciding needs a person: with a token or a sign-in, that is who decides; the local operator of a server
started without sign-in cannot (400). An approval is carried out as soon as it is approved, after the decision
is committed (pipeline/decisions.py), and the answer says what was written or why nothing was yet.
"""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Path, Query
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.agents.models import UseCase
from sellerloop.approvals.models import State
from sellerloop.approvals.schemas import ApprovalOut, ApproveRequest, DecisionResult, RejectRequest
from sellerloop.approvals.service import get_approval
from sellerloop.pipeline.decisions import approve_pending, inbox, reject_pending, view_of
from sellerloop.web.api import ERRORS, Page, Paging, acting_person, paging
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api/approvals", tags=["approvals"], responses=ERRORS)

APPROVAL_ID = Path(max_length=64, description="the approval's id")
MINE_NEEDS_A_PERSON = "mine: sign in or use an API token: only a person has records of their own"


@router.get("", response_model=Page[ApprovalOut], summary="Approvals on records you may see")
def approvals(state: State | None = Query(None, description="only approvals in this state"),
              use_case: UseCase | None = Query(None, description="only this agent's proposals"),
              mine: bool = Query(False, description="only approvals on records you own"),
              pages: Paging = Depends(paging), session: Session = Depends(get_session)) -> Page[ApprovalOut]:
    """Newest first. A sensitive field you may not see reads "(hidden)" in a field change."""
    user = acting_person(session, MINE_NEEDS_A_PERSON) if mine else served_user(session)
    found = inbox(session=session, user_id=user.id if user else None, state=state, use_case=use_case,
                  owner_id=user.id if mine else None)
    return Page[ApprovalOut].cut(found, paging=pages, shape=ApprovalOut.of)


@router.get("/{approval_id}", response_model=ApprovalOut, summary="One approval, with its whole history")
def approval(approval_id: str = APPROVAL_ID, session: Session = Depends(get_session)) -> ApprovalOut:
    user = served_user(session)
    seen = get_approval(session=session, approval_id=approval_id, user_id=user.id if user else None)
    return ApprovalOut.of(view_of(session=session, approval=seen))


@router.post("/{approval_id}/approve", response_model=DecisionResult,
             summary="Approve, as proposed or edited")
def approve(approval_id: str = APPROVAL_ID, body: ApproveRequest | None = Body(None),
            session: Session = Depends(get_session)) -> DecisionResult:
    """Approve and carry it out. With `payload`, only the fields to change (those in the approval's
    `editable`): the approval becomes approved_with_edits, and the edited payload is what runs. Approving one
    that is approved already carries out what is left (never twice)."""
    person = acting_person(session)
    decided = approve_pending(session=session, approval_id=approval_id, user_id=person.id,
                              edits=body.payload if body else None)
    return DecisionResult.of(decided, session=session)


@router.post("/{approval_id}/reject", response_model=DecisionResult, summary="Reject, saying why")
def reject(body: RejectRequest, approval_id: str = APPROVAL_ID,
           session: Session = Depends(get_session)) -> DecisionResult:
    person = acting_person(session)
    decided = reject_pending(session=session, approval_id=approval_id, user_id=person.id, reason=body.reason)
    return DecisionResult.of(decided, session=session)
