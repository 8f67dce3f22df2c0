"""What a person can act on in an agent's output, for the panels and the API alike (`offered`): each item with its
offer (the action it becomes when taken up: approvals/drafts.offer_for), sealed for the round trip while it can
be taken up, and what became of the same ask before (approvals/drafts.decisions_for), so a person sees "done"
rather than being offered it again. An ask nobody answered in time (expired) is asked afresh.

The offer acts on a record: the run's subject, or for a call, the call's opportunity (else its account); a
call tied to neither offers nothing to act on. Agents run through agents.service.run_agent, as everywhere, so
the verifier and the person's record access apply.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.drafts import decisions_for, offer_for, seal
from sellerloop.approvals.models import Approval, Proposal, State
from sellerloop.composers.service import configured_composer
from sellerloop.errors import BadInput
from sellerloop.records.models import Transcript


@dataclass(frozen=True)
class Offered:
    use_case: str
    item: Item
    offer: Proposal | None  # None: no action offered (a mutual action plan, an email with no recipient)
    token: str | None  # the offer, sealed: what a decision sends back
    decision: Approval | None  # the newest approval asking the same on the record, unless it expired


@dataclass(frozen=True)
class Offers:
    record: str | None  # the record the offers act on, e.g. opportunity:ID
    items: list[Offered]
    skipped: list[str]  # an agent that had nothing to work on, and why


def offer_record(*, session: Session, subject: Subject) -> str | None:
    if subject.type != "transcript":
        return f"{subject.type}:{subject.id}"
    call = session.get(Transcript, subject.id)
    if call is None:
        return None
    if call.opportunity_id:
        return f"opportunity:{call.opportunity_id}"
    return f"account:{call.account_id}" if call.account_id else None


def offered(*, session: Session, run: AgentRun, record: str | None, secret: str,
            keep: Callable[[Item], bool] = lambda item: True) -> list[Offered]:
    """The kept items of `run`, each with its offer on `record` (None when it offers no action), the offer sealed
    when it can be taken up (nobody has decided the same ask, or the ask expired unanswered), and the standing
    decision on the same ask otherwise. The one rule for every surface."""
    items = [item for item in run.items if keep(item)]
    offers = [offer_for(run=run, item=item, subject=record) if record else None for item in items]
    found = []
    for item, offer, before in zip(items, offers, decisions_for(session=session, offers=offers)):
        if before is not None and before.state is State.expired:
            before = None  # nobody answered it in time: ask afresh
        token = seal(offer, secret=secret) if offer is not None and before is None else None
        found.append(Offered(run.use_case, item, offer, token, before))
    return found


def _run(session: Session, use_case: str, subject: Subject, transcript_id: str | None = None) -> AgentRun:
    return run_agent(session=session, use_case=use_case, subject=subject, transcript_id=transcript_id,
                     composer=configured_composer())


def recommendations(*, session: Session, subject: Subject, secret: str) -> Offers:
    """The next-best actions on an opportunity or an account, each offered as the seller's task."""
    record = offer_record(session=session, subject=subject)
    run = _run(session, "next-action", subject)
    return Offers(record, offered(session=session, run=run, record=record, secret=secret,
                                  keep=lambda i: i.kind == "recommendation"), [])


def drafts(*, session: Session, subject: Subject, transcript_id: str | None, secret: str) -> Offers:
    """The follow-up's email and task drafts after a call, and, on an opportunity, hygiene's field changes.
    A deal with no call to follow up on still gets its field changes (the follow-up is listed as skipped)."""
    record = offer_record(session=session, subject=subject)
    found: list[Offered] = []
    skipped: list[str] = []
    is_draft = lambda i: i.artifact is not None or i.kind == "field_change"  # noqa: E731
    try:
        follow_up = _run(session, "follow-up", subject, transcript_id)
        found += offered(session=session, run=follow_up, record=record, secret=secret, keep=is_draft)
    except BadInput as e:
        if subject.type != "opportunity" or transcript_id is not None:
            raise  # a call was named, so a problem with it is the caller's to hear about
        skipped.append(f"follow-up: {e.one_line()}")  # the deal has no call and no meeting notes yet
    if subject.type == "opportunity":
        found += offered(session=session, run=_run(session, "hygiene", subject), record=record, secret=secret,
                         keep=is_draft)
    return Offers(record, found, skipped)
