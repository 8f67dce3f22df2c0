"""The records API: who I am, accounts, opportunities, contacts and transcripts, as JSON.

Every read goes through records.service, which serves the session's viewer (the person behind the token or the
sign-in): a record they may not see is a 403, one that does not exist a 404, lists hold only what they may
see, and sensitive fields arrive masked (null, and named in `masked`).
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.records.models import STAGES
from sellerloop.records.schemas import (
    AccountDetail,
    AccountOut,
    ContactOut,
    OpportunityDetail,
    OpportunityOut,
    PersonOut,
    StageOut,
    TaskOut,
    TranscriptOut,
    TranscriptSummary,
)
from sellerloop.records.service import (
    account_view,
    get_transcript,
    opportunity_view,
    search_accounts,
    search_opportunities,
)
from sellerloop.web.api import ERRORS, MAX_ID, Page, Paging, paging
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api", responses=ERRORS)

ACCOUNT_ID = Path(max_length=MAX_ID, description="the account's id")
OPPORTUNITY_ID = Path(max_length=MAX_ID, description="the opportunity's id")
TRANSCRIPT_ID = Path(max_length=MAX_ID, description="the transcript's id")
Stage = Literal[STAGES]  # type: ignore[valid-type]
RECORDS = ["records"]


@router.get("/me", response_model=PersonOut, summary="Who the API serves", tags=["me"])
def me(session: Session = Depends(get_session)) -> PersonOut:
    """The person your token (or sign-in) stands for: every other answer holds only what they may see."""
    return PersonOut.of(served_user(session))


@router.get("/accounts", tags=RECORDS,
            response_model=Page[AccountOut], summary="Search accounts")
def list_accounts(q: str = Query("", max_length=200, description="words in the name, sector or location"),
                  pages: Paging = Depends(paging),
                  session: Session = Depends(get_session)) -> Page[AccountOut]:
    """The accounts you may see (your own, your team's, or those where you may see a deal), by name."""
    found = search_accounts(session=session, query=q, page=pages.page, per_page=pages.page_size)
    return Page[AccountOut].of([AccountOut.of(a) for a in found.items], total=found.total, paging=pages)


@router.get("/accounts/{account_id}", tags=RECORDS,
            response_model=AccountDetail, summary="One account, with its deals")
def read_account(account_id: str = ACCOUNT_ID, session: Session = Depends(get_session)) -> AccountDetail:
    view = account_view(session=session, account_id=account_id, timeline_limit=0)
    return AccountDetail(**AccountOut.of(view.account).model_dump(),
                         opportunities=[OpportunityOut.of(o) for o in view.opportunities])


@router.get("/accounts/{account_id}/contacts", tags=RECORDS,
            response_model=list[ContactOut], summary="An account's contacts")
def list_account_contacts(account_id: str = ACCOUNT_ID,
                          session: Session = Depends(get_session)) -> list[ContactOut]:
    """By name. A seller who sees the account only through one of their deals there gets its contacts with
    the sensitive fields masked (the account's owner decides those)."""
    return [ContactOut.of(c) for c in account_view(session=session, account_id=account_id,
                                                   timeline_limit=0).contacts]


@router.get("/opportunities", tags=RECORDS,
            response_model=Page[OpportunityOut], summary="Search opportunities")
def list_opportunities(q: str = Query("", max_length=200, description="words in the opportunity's name"),
                       stage: Stage | None = Query(None, description="only deals in this stage"),
                       owner: str = Query("", max_length=MAX_ID, description="only deals this user owns"),
                       pages: Paging = Depends(paging),
                       session: Session = Depends(get_session)) -> Page[OpportunityOut]:
    """The deals you may see: open ones first, then by close date, newest first."""
    found = search_opportunities(session=session, query=q, stage=stage or "", owner_id=owner, page=pages.page,
                                 per_page=pages.page_size)
    return Page[OpportunityOut].of([OpportunityOut.of(o) for o in found.items], total=found.total,
                                   paging=pages)


@router.get("/opportunities/{opportunity_id}", tags=RECORDS,
            response_model=OpportunityDetail,
            summary="One opportunity, with its contacts, stages, calls and tasks")
def read_opportunity(opportunity_id: str = OPPORTUNITY_ID,
                     session: Session = Depends(get_session)) -> OpportunityDetail:
    view = opportunity_view(session=session, opportunity_id=opportunity_id)
    return OpportunityDetail(
        **OpportunityOut.of(view.opportunity).model_dump(),
        contacts=[ContactOut.of(c, role) for c, role in view.contacts],
        stage_history=[StageOut(stage=s.stage, entered_on=s.entered_on) for s in view.stage_history],
        transcripts=[TranscriptSummary(id=t.id, title=t.title, occurred_at=t.occurred_at)
                     for t in view.transcripts],
        tasks=[TaskOut.of(t) for t in view.tasks])


@router.get("/transcripts/{transcript_id}", tags=RECORDS,
            response_model=TranscriptOut, summary="One call, utterance by utterance")
def read_transcript(transcript_id: str = TRANSCRIPT_ID,
                    session: Session = Depends(get_session)) -> TranscriptOut:
    return TranscriptOut.of(get_transcript(session=session, transcript_id=transcript_id))
