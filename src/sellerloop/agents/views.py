"""The agents API: run an agent, list what a person can act on (recommendations, drafts), and decide on it.

- `POST /api/runs`: one agent on one record, the AgentRun as JSON (DESIGN.md §8), like `sellerloop run
  --json`.
- `GET /api/recommendations?opportunity=ID|account=ID`: next-best actions, each offered as the seller's task.
- `GET /api/drafts?opportunity=ID|transcript=ID`: the follow-up's email and tasks after a call and, on a deal,
  hygiene's field changes, each offered as its action.
- `POST /api/decisions`: approve (as offered or edited) or reject one offer, by its `offer_token`; an approval
  is committed, then carried out (pipeline/decisions.py).

The record is checked first (404 unknown, 403 not yours to see); agents then run through
agents.service.run_agent, so the verifier, the autonomy level and the person's record access apply exactly as
on the pages and the CLI.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from sellerloop.agents.models import AgentRun, Subject
from sellerloop.agents.schemas import OffersOut, RunRequest
from sellerloop.agents.service import run_agent, subject_for
from sellerloop.approvals.drafts import unseal
from sellerloop.approvals.schemas import DecisionResult, OfferDecisionRequest
from sellerloop.composers.service import configured_composer
from sellerloop.errors import BadInput
from sellerloop.pipeline.decisions import take_up_offer
from sellerloop.pipeline.offers import drafts as drafts_on
from sellerloop.pipeline.offers import recommendations as recommendations_on
from sellerloop.records.service import get_account, get_opportunity, get_transcript
from sellerloop.web.api import ERRORS, MAX_ID, acting_person
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api", tags=["agents"], responses=ERRORS)


def _record_id(what: str):
    return Query(None, min_length=1, max_length=MAX_ID, description=f"the {what}'s id")


def _check(session: Session, subject: Subject) -> None:
    """404 for a record that is not there, 403 for one the person may not see, before any agent runs."""
    if subject.type == "account":
        get_account(session=session, account_id=subject.id)
    elif subject.type == "opportunity":
        get_opportunity(session=session, opportunity_id=subject.id)
    else:
        get_transcript(session=session, transcript_id=subject.id)


def _one_subject(given: dict[str, str | None], *, pair: bool = False) -> tuple[Subject, str | None]:
    """The record to run on (and the call, where an opportunity and one of its calls may come together)."""
    named = {kind: value for kind, value in given.items() if value is not None}
    if pair and set(named) == {"opportunity", "transcript"}:
        return Subject(type="opportunity", id=named["opportunity"]), named["transcript"]
    if len(named) != 1:
        choices = " or ".join(given)
        also = " (or an opportunity and one of its calls)" if pair else ""
        raise BadInput(f"name exactly one record: {choices}{also}")
    (kind, record_id), = named.items()
    return Subject(type=kind, id=record_id), None


@router.post("/runs", response_model=AgentRun, summary="Run an agent on a record")
def run(body: RunRequest, session: Session = Depends(get_session)) -> AgentRun:
    """The agent's output, every item verified against its sources, at the autonomy level the policy sets: the
    same JSON as `sellerloop run USE_CASE --json`. Nothing is stored. The one JSON endpoint that runs an agent."""
    given = {kind: value for kind, value in (("account", body.account), ("opportunity", body.opportunity),
                                             ("transcript", body.transcript)) if value is not None}
    subject, call = subject_for(use_case=body.use_case, given=given)
    _check(session, subject)
    if call is not None:
        _check(session, Subject(type="transcript", id=call))
    return run_agent(session=session, use_case=body.use_case, subject=subject, transcript_id=call,
                     limit=body.limit, composer=configured_composer())


@router.get("/recommendations", response_model=OffersOut, summary="Next-best actions, each offered as a task")
def recommendations(request: Request, opportunity: str | None = _record_id("opportunity"),
                    account: str | None = _record_id("account"),
                    session: Session = Depends(get_session)) -> OffersOut:
    """The next-action agent's recommendations on a deal (or across an account's open deals). Taking one up
    makes it the seller's task, due in two days: send its `offer_token` to POST /api/decisions."""
    subject, _ = _one_subject({"opportunity": opportunity, "account": account})
    _check(session, subject)
    return OffersOut.of(subject, recommendations_on(session=session, subject=subject,
                                                    secret=request.app.state.secret_key))


@router.get("/drafts", response_model=OffersOut, summary="Drafts to send and field changes to make")
def drafts(request: Request, opportunity: str | None = _record_id("opportunity"),
           transcript: str | None = _record_id("call (transcript)"),
           session: Session = Depends(get_session)) -> OffersOut:
    """After a call: the follow-up email and tasks (on a deal, from its latest call unless `transcript` names
    one); on a deal, also the hygiene agent's field changes, each shown as a diff."""
    subject, call = _one_subject({"opportunity": opportunity, "transcript": transcript}, pair=True)
    _check(session, subject)
    if call is not None:
        _check(session, Subject(type="transcript", id=call))
    return OffersOut.of(subject, drafts_on(session=session, subject=subject, transcript_id=call,
                                           secret=request.app.state.secret_key))


@router.post("/decisions", response_model=DecisionResult, summary="Approve or reject an offer")
def decide(request: Request, body: OfferDecisionRequest,
           session: Session = Depends(get_session)) -> DecisionResult:
    """Take up a recommendation or draft: approve it (with `payload` holding only the fields to change, which
    makes it approved_with_edits) or reject it with a `reason`. An approval is carried out at once; the answer
    holds the execution, or why it waits (an email needs a connector). A token that was altered, or is over a
    day old, is refused (400): ask for the recommendations or drafts again."""
    person = acting_person(session)
    proposal = unseal(body.offer_token, secret=request.app.state.secret_key)
    decided = take_up_offer(session=session, proposal=proposal, user_id=person.id,
                            approved=body.decision == "approve", edits=body.payload, reason=body.reason)
    return DecisionResult.of(decided, session=session)
