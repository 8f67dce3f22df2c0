"""The outcomes API: what became of the agents' proposals on the records you may see (outcomes/service.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from sellerloop.agents.models import UseCase
from sellerloop.outcomes.schemas import OutcomeOut
from sellerloop.outcomes.service import Kind, list_outcomes
from sellerloop.policy.fields import served_user
from sellerloop.web.api import ERRORS, Page, Paging, paging
from sellerloop.web.app import get_session

router = APIRouter(prefix="/api/outcomes", tags=["outcomes"], responses=ERRORS)


@router.get("", response_model=Page[OutcomeOut], summary="What became of the agents' proposals")
def outcomes(use_case: UseCase | None = Query(None, description="only this agent's proposals"),
             kind: Kind | None = Query(None, description="only this kind of outcome"),
             pages: Paging = Depends(paging), session: Session = Depends(get_session)) -> Page[OutcomeOut]:
    """Newest first: each decided proposal once, by the furthest it got (an undo outweighs the approval)."""
    user = served_user(session)
    found = list_outcomes(session=session, user_id=user.id if user else None, use_case=use_case, kind=kind)
    return Page[OutcomeOut].cut(found, paging=pages, shape=OutcomeOut.of)
