"""What followed each recommendation: its decision, how much a person changed it, whether it ran, and the events on
its record in the window after it (outcomes/events.py).

One LinkedOutcome per approval (decided, or still pending: nobody decided yet) and per recommendation shown in the
stored agent output (runs/ `agent_outputs`) that no approval took up: those were shown and nobody decided. A
take-up is matched to the shown recommendation by record, use case, recommended action and playbook element.
Approvals on a contact are left out: events are kept on accounts and deals.

An event links to a recommendation when it is on the same record (an account's recommendation also takes the
events of the account's deals, a deal's also the events of its account, as far as the reader may see them) and it
happened after the recommendation was shown and within its kind's window (WINDOWS). When a person decided, the
window runs from their decision: a seller who approves a week late has not had less time to get the reply (and
what they did in that week, having seen it, counts too).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from sellerloop.access.service import account_filter, get_user, opportunity_filter, visible_owner_ids
from sellerloop.agents.outputs import AgentOutput
from sellerloop.approvals.models import APPROVED, Approval, ApprovalRow, State
from sellerloop.approvals.service import list_approvals
from sellerloop.executor.models import Execution
from sellerloop.outcomes.events import select_events
from sellerloop.outcomes.models import OutcomeEvent
from sellerloop.outcomes.service import Kind, outcome_of
from sellerloop.policy.service import session_policy
from sellerloop.records.models import OPEN_STAGES, Account, Opportunity
from sellerloop.records.refs import RecordRef

DAY = dt.timedelta(days=1)
# How long after a recommendation an event still counts as following from it. Replies, meetings and tasks answer
# a nudge within days or not at all: two weeks, the policy's default expiry of an open recommendation. Stage and
# close-date moves follow work over a few weeks: a month. Won and lost come at the end of a sales cycle, which in
# the Maven book runs a median of 45 days from engaging to closing and 138 at most: half a year covers all of it.
WINDOWS: dict[str, dt.timedelta] = {
    "email_replied": 14 * DAY, "meeting_booked": 14 * DAY, "task_completed": 14 * DAY,
    "stage_moved": 30 * DAY, "close_date_moved": 30 * DAY,
    "won": 180 * DAY, "lost": 180 * DAY,
}
# Events that mean the deal moved the way the recommendation meant it to (a close date moved or a loss does not).
POSITIVE = frozenset({"email_replied", "meeting_booked", "task_completed", "won"})
# A stage move is forward when it goes further along this order (Lost is not on it: losing is no progress).
STAGE_ORDER = (*OPEN_STAGES, "Won")
# The payload fields a person reads and may reword, compared for the edit distance, in this order.
TEXT_FIELDS = ("subject", "body", "description", "new")
CHUNK = 500  # ids per IN (...) list: well under every backend's limit on bound parameters


@dataclass(frozen=True)
class LinkedOutcome:
    key: str  # the approval id, or "shown:<use_case>:<subject>:<n>" (n: the recommendation's rank, from 1)
    use_case: str
    level: str | None  # the autonomy level it was made at
    action: str  # the catalogue action proposed
    recommended_action: str  # the recommendation's action (the same as `action` unless a seller took it up)
    playbook_element: str | None
    subject: str  # opportunity:ID or account:ID
    segment: str | None  # filled in by scoring
    seller: str | None  # the record owner's user id
    decision: Kind | None  # None: shown, nobody decided (yet)
    decided_by: str | None
    recommended_at: dt.datetime
    decided_at: dt.datetime | None
    edit_distance: int | None  # Levenshtein, proposed vs approved text; None unless edited
    edit_ratio: float | None  # the distance over the longer text's length, 0..1; None unless edited
    executed: bool
    execution_result: str | None  # done, rolled_back, waiting (approved, not carried out yet), expired, None
    events: tuple[tuple[str, dt.datetime], ...]  # (kind, occurred_at) linked to it, oldest first
    converted: bool  # a positive event (POSITIVE, or a forward stage move) among `events`
    won: bool | None  # True: a win among `events`, False: a loss, None: neither (the later one counts)
    ignored: bool  # expired, or shown with no decision and past the policy's expiry for open recommendations


def linked_outcomes(*, session: Session, user_id: str | None, since: dt.datetime | None = None,
                    as_of: dt.datetime | None = None, include_shown: bool = True) -> list[LinkedOutcome]:
    """Every recommendation on records `user_id` may see (None: the local operator, all of them) made at or after
    `since`, with what followed it, oldest first. `as_of` ("now" by default) decides whether an undecided one
    has been left alone long enough to count as ignored. `include_shown=False` leaves out the ones only shown in
    stored agent output (only approvals), which spares reading every stored run."""
    as_of = as_of or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    owners = visible_owner_ids(session=session, user=get_user(session=session, user_id=user_id) if user_id else None)
    expire_after = session_policy(session).caps.expire_after_days * DAY
    approvals = [a for a in list_approvals(session=session, user_id=user_id)
                 if since is None or a.history[0].at >= since]
    drafts = [*_from_approvals(session, approvals)]
    taken_up = {(d["use_case"], d["subject"], d["recommended_action"], d["playbook_element"]) for d in drafts}
    if include_shown:
        drafts += [d for d in _shown(session, owners, since)
                   if (d["use_case"], d["subject"], d["action"], d["playbook_element"]) not in taken_up]
    records = _Records(session, {d["subject"] for d in drafts}, owners)
    earliest = min((d["recommended_at"] for d in drafts), default=None)
    events = _events_by_subject(session, records.all_subjects(), owners, earliest)
    linked = [_link(d, seller=records.owner(d["subject"]), as_of=as_of, expire_after=expire_after,
                    events=(e for s in records.family(d["subject"]) for e in events.get(s, ())))
              for d in drafts]
    return sorted(linked, key=lambda o: (o.recommended_at, o.key))


def decisions_version(*, session: Session) -> tuple:
    """Changes whenever what `linked_outcomes(include_shown=False)` reads changes: an approval proposed or decided
    (every decision bumps its row's version and its update time) or an event recorded (events are only ever
    added). Cheap, so a reader can keep what it worked out from the outcomes until this moves (scoring/feedback.py).
    The latest times are in it too, so that a decision rolled back and another taken after it do not look alike."""
    approvals = session.execute(select(func.count(), func.sum(ApprovalRow.version), func.max(ApprovalRow.updated_at)))
    events = session.execute(select(func.count(), func.max(OutcomeEvent.recorded_at)).select_from(OutcomeEvent))
    return (*approvals.one(), *events.one())


def _link(draft: dict, *, seller: str | None, events: Iterable[OutcomeEvent], as_of: dt.datetime,
          expire_after: dt.timedelta) -> LinkedOutcome:
    """A draft's fields, plus `opens` (when the windows start: the decision, else the recommendation) and
    `expires_at` (when an undecided one counts as ignored; None: the policy's expiry after it was shown)."""
    fields = {k: v for k, v in draft.items() if k not in ("opens", "expires_at")}
    linked = sorted((e.occurred_at, e.kind, e.detail) for e in events
                    if draft["recommended_at"] < e.occurred_at <= draft["opens"] + WINDOWS[e.kind])
    closing = [kind for _, kind, _ in linked if kind in ("won", "lost")]
    expires_at = draft["expires_at"] or draft["recommended_at"] + expire_after
    return LinkedOutcome(
        **fields, segment=None, seller=seller, events=tuple((kind, at) for at, kind, _ in linked),
        converted=any(is_positive(kind, detail) for _, kind, detail in linked),
        won=(closing[-1] == "won") if closing else None,
        ignored=draft["decision"] == "expired" or (draft["decision"] is None and as_of >= expires_at))


def is_positive(kind: str, detail: dict | None) -> bool:
    """Whether an event shows the deal moving the way a recommendation means it to."""
    if kind == "stage_moved":
        before, after = (detail or {}).get("from"), (detail or {}).get("to")
        return {before, after} <= set(STAGE_ORDER) and STAGE_ORDER.index(after) > STAGE_ORDER.index(before)
    return kind in POSITIVE


def edit_distance(proposed: dict, approved: dict) -> tuple[int, float]:
    """Levenshtein distance between the text a person was shown and the text they approved (TEXT_FIELDS joined),
    and the same normalised to 0..1 by the longer text's length."""
    before, after = _text_of(proposed), _text_of(approved)
    return Levenshtein.distance(before, after), Levenshtein.normalized_distance(before, after)


def _text_of(payload: dict) -> str:
    return "\n".join(str(payload[name]) for name in TEXT_FIELDS if payload.get(name) not in (None, ""))


# --- the two kinds of recommendation --------------------------------------------------------------------------

def _from_approvals(session: Session, approvals: list[Approval]) -> Iterator[dict]:
    executions = _executions(session, [a.id for a in approvals])
    for approval in approvals:
        p, ended = approval.proposal, outcome_of(approval)
        if RecordRef.of(p.subject).kind not in ("opportunity", "account"):
            continue  # a contact's field: no events are kept on contacts
        kind, decision, step = ended if ended is not None else (None, None, None)
        decided_at = decision.at if decision is not None else step.at if step is not None else None
        edited = next((d.payload for d in approval.history if d.state is State.approved_with_edits), None)
        distance, ratio = edit_distance(p.payload, edited) if edited is not None else (None, None)
        execution = executions.get(approval.id)
        proposed_at = approval.history[0].at
        yield {"key": approval.id, "use_case": p.use_case, "level": p.level, "action": p.action,
               "recommended_action": p.recommended_action or p.action, "playbook_element": p.playbook_element,
               "subject": p.subject, "decision": kind, "decided_by": decision.by if decision else None,
               "recommended_at": proposed_at, "decided_at": decided_at, "edit_distance": distance,
               "edit_ratio": ratio, "executed": execution is not None,
               "execution_result": _execution_result(approval, execution), "expires_at": p.expires_at,
               "opens": decision.at if decision is not None else proposed_at}


def _execution_result(approval: Approval, execution: Execution | None) -> str | None:
    if execution is not None:
        return execution.status  # done or rolled_back
    states = [d.state for d in approval.history]
    if not APPROVED & set(states):
        return None  # nobody approved it: nothing to carry out
    if State.expired in states:
        return "expired"  # approved, and ran out before it was carried out
    # Approved and not carried out: an action that needs a connector waits for one; any other was refused when
    # it was tried (a conflict: the record changed since) or was not tried yet. The store keeps no refusal, so
    # all of these are "waiting".
    return "waiting"


def _executions(session: Session, approval_ids: list[str]) -> dict[str, Execution]:
    found: dict[str, Execution] = {}
    for start in range(0, len(approval_ids), CHUNK):
        for execution in session.scalars(select(Execution).where(
                Execution.approval_id.in_(approval_ids[start:start + CHUNK]))):
            found[execution.approval_id] = execution
    return found


def _shown(session: Session, owners: set[str] | None, since: dt.datetime | None) -> Iterator[dict]:
    """The recommendations in the latest stored output of each agent on each record the reader may see."""
    stmt = select(AgentOutput).where(AgentOutput.subject_type.in_(("opportunity", "account")),
                                     # Most outputs hold no recommendation; skip them without parsing their JSON.
                                     AgentOutput.output.contains('"recommendation"'))
    if since is not None:
        stmt = stmt.where(AgentOutput.generated_at >= since)
    if owners is not None:
        stmt = stmt.where(or_(
            and_(AgentOutput.subject_type == "opportunity",
                 AgentOutput.subject_id.in_(select(Opportunity.id).where(opportunity_filter(owners)))),
            and_(AgentOutput.subject_type == "account",
                 AgentOutput.subject_id.in_(select(Account.id).where(account_filter(owners))))))
    for row in session.scalars(stmt.order_by(AgentOutput.generated_at, AgentOutput.use_case,
                                             AgentOutput.subject_id)):
        run = json.loads(row.output)
        subject = f"{row.subject_type}:{row.subject_id}"
        recommendations = [i for i in run.get("items", ()) if i.get("kind") == "recommendation" and i.get("action")]
        for rank, item in enumerate(recommendations, 1):
            yield {"key": f"shown:{row.use_case}:{subject}:{rank}", "use_case": row.use_case,
                   "level": run.get("autonomy_level"), "action": item["action"],
                   "recommended_action": item["action"], "playbook_element": item.get("playbook_element"),
                   "subject": subject, "decision": None, "decided_by": None, "recommended_at": row.generated_at,
                   "decided_at": None, "edit_distance": None, "edit_ratio": None, "executed": False,
                   "execution_result": None, "expires_at": None, "opens": row.generated_at}


# --- records and their events ---------------------------------------------------------------------------------

class _Records:
    """Owners and account ↔ deal ties of the records the recommendations are on, read in a few queries."""

    def __init__(self, session: Session, subjects: set[str], owners: set[str] | None):
        ids = defaultdict(list)
        for subject in subjects:
            ref = RecordRef.of(subject)
            ids[ref.kind].append(ref.id)
        self._owner: dict[str, str | None] = {}
        self._family: dict[str, set[str]] = {s: {s} for s in subjects}
        for chunk in _chunks(ids["account"]):
            for account_id, owner_id in session.execute(select(Account.id, Account.owner_id)
                                                        .where(Account.id.in_(chunk))):
                self._owner[f"account:{account_id}"] = owner_id
            for deal_id, account_id in session.execute(select(Opportunity.id, Opportunity.account_id).where(
                    Opportunity.account_id.in_(chunk), opportunity_filter(owners))):
                self._family[f"account:{account_id}"].add(f"opportunity:{deal_id}")
        for chunk in _chunks(ids["opportunity"]):
            for deal_id, account_id, owner_id in session.execute(select(
                    Opportunity.id, Opportunity.account_id, Opportunity.owner_id).where(Opportunity.id.in_(chunk))):
                self._owner[f"opportunity:{deal_id}"] = owner_id
                if account_id:
                    self._family[f"opportunity:{deal_id}"].add(f"account:{account_id}")

    def owner(self, subject: str) -> str | None:
        return self._owner.get(subject)

    def family(self, subject: str) -> set[str]:
        """The record and those whose events count for it too."""
        return self._family[subject]

    def all_subjects(self) -> list[str]:
        return sorted(set().union(*self._family.values())) if self._family else []


def _events_by_subject(session: Session, subjects: list[str], owners: set[str] | None,
                       earliest: dt.datetime | None) -> dict[str, list[OutcomeEvent]]:
    """The events on these records from the earliest recommendation on (None: there is none, so none are)."""
    found: dict[str, list[OutcomeEvent]] = defaultdict(list)
    if earliest is None:
        return found
    for chunk in _chunks(subjects):
        for event in session.scalars(select_events(subjects=chunk, since=earliest, owners=owners)):
            found[event.subject].append(event)
    return found


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]

