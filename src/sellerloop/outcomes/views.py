"""The outcomes API: what became of the agents' proposals on the records you may see (outcomes/service.py), the
events that followed on those records (outcomes/events.py), and the report over both (outcomes/report.py).

Events are read and written only on records the caller may see: one they may not see is a 403, one that does not
exist a 404, as everywhere in the API (records/service.py decides both).
"""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import visible_owner_ids
from sellerloop.agents.models import UseCase
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.outcomes.events import as_moment, require_subject, select_events
from sellerloop.outcomes.models import OutcomeEvent
from sellerloop.outcomes.report import GROUPINGS, Grouping, outcomes_report
from sellerloop.outcomes.schemas import ONE_OR_MANY, EventOut, EventsIn, OutcomeOut, ReportOut
from sellerloop.outcomes.service import Kind, list_outcomes
from sellerloop.pipeline.outcomes import record_event
from sellerloop.web.api import ERRORS, Page, Paging, paging
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api/outcomes", tags=["outcomes"], responses=ERRORS)
MAX_EVENTS = 1000  # events in one request: a day of a busy CRM's webhooks; more is a bulk load, use the import
SINCE = Query(None, max_length=40, description="from this date or time on (ISO 8601)")


@router.get("", response_model=Page[OutcomeOut], summary="What became of the agents' proposals")
def outcomes(use_case: UseCase | None = Query(None, description="only this agent's proposals"),
             kind: Kind | None = Query(None, description="only this kind of outcome"),
             pages: Paging = Depends(paging), session: Session = Depends(get_session)) -> Page[OutcomeOut]:
    """Newest first: each decided proposal once, by the furthest it got (an undo outweighs the approval)."""
    user = served_user(session)
    found = list_outcomes(session=session, user_id=user.id if user else None, use_case=use_case, kind=kind)
    return Page[OutcomeOut].cut(found, paging=pages, shape=OutcomeOut.of)


@router.post("/events", status_code=201, response_model=EventOut | list[EventOut],
             summary="Report what happened on a record (one event or a list)")
def post_events(body: EventsIn = Body(..., discriminator=ONE_OR_MANY),
                session: Session = Depends(get_session)) -> EventOut | list[EventOut]:
    """Stores each event with source `api`. Sending the same event again (same `external_id`) stores it once and
    answers with the stored one; a different event under an `external_id` already used is a 409. A list is
    stored all or nothing: one bad event (named by its position from 0, as in `events.2: ...`) and none is
    stored."""
    events = body if isinstance(body, list) else [body]
    if not 1 <= len(events) <= MAX_EVENTS:
        raise BadInput(f"send 1 to {MAX_EVENTS} events at a time")
    stored = []
    for position, event in enumerate(events):
        try:
            stored.append(record_event(session=session, source="api", **event.model_dump()))
        except SellerloopError as e:
            if isinstance(body, list):
                e.message = f"events.{position}: {e.message}"
            raise  # get_session rolls the request back: nothing of the list is stored
    shaped = [EventOut.model_validate(e) for e in stored]
    return shaped if isinstance(body, list) else shaped[0]


@router.get("/events", response_model=Page[EventOut], summary="Events on records you may see")
def get_events(subject: str | None = Query(None, max_length=200, description="only this record: opportunity:ID "
                                                                            "or account:ID"),
               kind: str | None = Query(None, max_length=24, description="only this kind of event"),
               since: str | None = SINCE, pages: Paging = Depends(paging),
               session: Session = Depends(get_session)) -> Page[EventOut]:
    """Newest first."""
    if subject is not None:
        require_subject(session=session, subject=subject)
    owners = visible_owner_ids(session=session, user=served_user(session))
    stmt = select_events(subjects=[subject] if subject else None, kinds=[kind] if kind else None,
                         since=as_moment(since) if since else None, owners=owners)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    newest_first = stmt.order_by(None).order_by(OutcomeEvent.occurred_at.desc(), OutcomeEvent.id.desc())
    rows = session.scalars(newest_first.offset(pages.offset).limit(pages.page_size)).all()
    return Page[EventOut].of([EventOut.model_validate(e) for e in rows], total=total or 0, paging=pages)


@router.get("/report", response_model=ReportOut, summary="What became of the recommendations, in figures")
def report(by: Grouping | None = Query(None, description="one grouping (default: all four)"),
           since: str | None = SINCE, session: Session = Depends(get_session)) -> ReportOut:
    """Per use case, action type, playbook element and seller: shown, decided, accepted, edited, rejected,
    ignored, acceptance rate, mean edit ratio, executed, converted and conversion rate, won and lost."""
    user = served_user(session)
    found = outcomes_report(session=session, user_id=user.id if user else None, by=[by] if by else GROUPINGS,
                            since=as_moment(since) if since else None)
    return ReportOut.of(found)
