"""Taking up what an agent drafted: a person approves (as it is or edited) or rejects one item of an agent's output.

Below L4 nothing an agent proposes is stored (pipeline/placement.py): its output is a draft for a person. When that
person acts on an item in place (the record page's panel, the API), the item becomes an approval there and then,
proposed by the agent and decided by the person, so every decision goes through the one state machine and the
audit log, and outcomes can be read back from it later. What each kind of item offers:

    field change        update_field, the diff as proposed; the approver may edit the new value
    task draft          create_task, its subject and due date editable
    email draft         send_email, subject and body editable (sent only through a connector)
    recommendation      create_task: the seller's to-do for the recommended action, due in two days, editable

The offer travels to the page and back sealed (`seal`/`unseal`: signed, and short-lived), so a person can edit
only what the form lets them edit: the reason, the sources and the record stay what the agent wrote.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import get_action
from sellerloop.agents.models import AgentRun, Item
from sellerloop.approvals.models import Approval, ApprovalRow, InvalidTransition, Proposal, State
from sellerloop.approvals.service import AGENT_IDENTITY_PREFIX, approve, near_duplicate, now, proposed, reject
from sellerloop.errors import BadInput
from sellerloop.records.refs import RecordRef

TAKE_UP_DAYS = 2  # a recommendation taken up is a task due in two days: soon, but not "today" at 6 pm
SEAL_SALT = "sellerloop.draft"
SEAL_MAX_AGE = 24 * 3600  # an offer older than a day was made from evidence that may have changed: reload it


class StaleOffer(BadInput):
    """The sealed offer is too old or was altered. Not permanent: reload the panel and act on the fresh one."""

    http_status = 400
    permanent = False


def offer_for(*, run: AgentRun, item: Item, subject: str, today: dt.date | None = None) -> Proposal | None:
    """The action a person can take on `item`, on the record `subject` ("opportunity:ID", "account:ID"), or None
    for an item that offers none (a claim, a question, a coaching point)."""
    on = RecordRef.of(subject)
    opportunity_id = on.id if on.kind == "opportunity" else None
    account_id = on.id if on.kind == "account" else None
    common = {"use_case": run.use_case, "subject": subject, "reason": item.text,
              "sources": [s.model_dump(mode="json") for s in item.sources], "level": run.autonomy_level,
              "recommended_action": item.action, "playbook_element": item.playbook_element}
    if item.kind == "field_change" and item.field:
        target = RecordRef.of(item.target) if item.target else RecordRef(run.subject.type, run.subject.id)
        payload = {"object": target.kind, "record_id": target.id, "field": item.field, "old": item.old or None,
                   "new": item.new}
        return Proposal(action="update_field", payload=payload, **common)
    if item.artifact == "task" and item.due:
        payload = {"subject": _one_line(item.text)[:500], "due_date": item.due, "opportunity_id": opportunity_id}
        return Proposal(action="create_task", payload=payload, **common)
    if item.artifact == "email" and item.content:
        payload = _email_payload(item.content, opportunity_id=opportunity_id, account_id=account_id)
        return Proposal(action="send_email", payload=payload, **common) if payload else None
    if item.kind == "recommendation" and item.action:
        what = get_action(item.action).title
        # On the book's clock, as the agent judged the deal: a historical book's to-dos fall in its own calendar.
        due = (today or run.as_of or now().date()) + dt.timedelta(days=TAKE_UP_DAYS)
        payload = {"subject": _one_line(item.label or item.text)[:500], "due_date": due.isoformat(),
                   "opportunity_id": opportunity_id, "account_id": account_id,
                   "description": f"{_one_line(item.text)}\nRecommended action: {what}"}
        return Proposal(action="create_task", payload=payload, **common)
    return None


def proposals_from_run(run: AgentRun) -> list[Proposal]:
    """What placement stores from an agent's output: each field change (update_field) and each task draft
    (create_task), as offer_for offers them. Recommendations and email drafts wait for a person
    to take them up (take_up): nothing acts on them by level alone."""
    subject = f"{run.subject.type}:{run.subject.id}"
    offers = (offer_for(run=run, item=item, subject=subject) for item in run.items
              if item.kind == "field_change" or item.artifact == "task")
    return [offer for offer in offers if offer is not None]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _email_payload(content: str, *, opportunity_id: str | None, account_id: str | None) -> dict | None:
    """send_email's payload from an RFC 5322 draft; None for a draft with no recipient (nothing to send)."""
    message = email.message_from_string(content, policy=email.policy.default)
    to = [a.addr_spec for a in message["To"].addresses] if message["To"] else []
    if not to:
        return None
    cc = [a.addr_spec for a in message["Cc"].addresses] if message["Cc"] else []
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    # The form a person edits returns LF line endings: keep the draft's the same, so an unchanged body is unchanged.
    body = part.get_content().replace("\r\n", "\n").strip("\n") if part is not None else ""
    return {"to": to, "cc": cc, "subject": str(message["Subject"] or "Follow-up"), "body": body or "(empty)",
            "opportunity_id": opportunity_id, "account_id": account_id}


# --- sealing an offer for the round trip through a page ------------------------------------------------------

def seal(proposal: Proposal, *, secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt=SEAL_SALT).dumps(proposal.model_dump(mode="json"))


def unseal(token: str, *, secret: str, max_age: int = SEAL_MAX_AGE) -> Proposal:
    try:
        data = URLSafeTimedSerializer(secret, salt=SEAL_SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise StaleOffer("this draft is over a day old: reload the panel for a fresh one") from None
    except BadSignature:
        raise StaleOffer("this draft was altered or comes from another server: reload the panel") from None
    return Proposal.model_validate(data)


# --- deciding on an offer ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Taken:
    """A person's decision on an offer: the approval it became (approved, approved with edits or rejected)."""

    approval: Approval
    new: bool  # stored by this decision (False: the same proposal was already pending and was decided on)


def take_up(*, session: Session, proposal: Proposal, user_id: str, approved: bool, payload: dict | None = None,
            reason: str | None = None, at: dt.datetime | None = None) -> Taken:
    """Store `proposal` as the agent's (or find it pending already) and decide on it as `user_id`, in the
    caller's transaction. The fatigue caps are not applied: they keep agents from asking too often, and here a
    person is acting. A proposal that was rejected or carried out already is not decided again."""
    at = at or now()
    if approved is False and not (reason or "").strip():
        raise BadInput("reason: say why you reject it (the agent learns from it)")
    found = proposed(session=session, proposal=proposal, by=f"{AGENT_IDENTITY_PREFIX}{proposal.use_case}", at=at,
                     check_caps=False)
    current = found.approval
    if found.outcome in ("rejected", "done", "ignored") or current.state is not State.proposed:
        raise InvalidTransition(f"this was decided already: {describe(current)}")
    if approved:
        decided = approve(session=session, approval_id=current.id, user_id=user_id, payload=payload, at=at)
    else:
        decided = reject(session=session, approval_id=current.id, user_id=user_id, reason=reason.strip(), at=at)
    return Taken(decided, found.outcome == "created")


def describe(approval: Approval) -> str:
    """One line on where an approval stands, for the panel and error messages."""
    last = approval.history[-1]
    words = {State.proposed: "pending approval", State.approved: "approved", State.rejected: "rejected",
             State.approved_with_edits: "approved with edits", State.expired: "expired unanswered",
             State.executed: "done", State.rolled_back: "undone"}[last.state]
    by = "" if last.by.startswith(AGENT_IDENTITY_PREFIX) or last.state is State.executed else f" by {last.by}"
    why = f": {last.reason}" if last.reason and last.state is State.rejected else ""
    # Done or undone, the decision that led there matters more than the executor's name: who approved, edited.
    decision = next((d for d in reversed(approval.history)
                     if d.state in (State.approved, State.approved_with_edits)), None)
    if decision is not None and last.state in (State.executed, State.rolled_back):
        kind = "approved with edits" if decision.state is State.approved_with_edits else "approved"
        return f"{kind} by {decision.by}, {words}{by} on {last.at:%Y-%m-%d}"
    return f"{words}{by} on {last.at:%Y-%m-%d}{why}"


def decisions_for(*, session: Session, offers: list[Proposal | None]) -> list[Approval | None]:
    """For each offer, the newest approval on the same record that asks for the same thing (a near-duplicate:
    approvals.service.near_duplicate), whatever its state, so the panel shows what became of it; None where
    there is none. One query per record."""
    subjects = {o.subject for o in offers if o is not None}
    rows: dict[str, list[Approval]] = {s: [] for s in subjects}
    if subjects:
        for row in session.scalars(select(ApprovalRow).where(ApprovalRow.subject.in_(subjects))
                                   .order_by(ApprovalRow.proposed_at.desc(), ApprovalRow.id.desc())):
            rows[row.subject].append(Approval.model_validate(row.approval))
    out: list[Approval | None] = []
    for offer in offers:
        match = None
        if offer is not None:
            match = next((a for a in rows[offer.subject] if a.proposal.action == offer.action
                          and _same_ask(offer.action, a.proposal.payload, offer.payload)), None)
        out.append(match)
    return out


def _same_ask(action: str, stored: dict, offered: dict) -> bool:
    try:
        return near_duplicate(action, stored, offered)
    except (ValueError, BadInput):  # a payload stored under an older catalogue: it is not this offer
        return False
