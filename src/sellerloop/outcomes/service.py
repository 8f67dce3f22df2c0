"""Outcomes: what became of each decided proposal, read back from the approvals table.

    accepted     approved as proposed (by a person, or by the policy itself at L5: `decided_by` says which)
    edited       approved with edits
    rejected     rejected, with the person's reason
    expired      nobody decided before it ran out: ignored
    rolled_back  carried out, then undone

Each approval has one outcome, the furthest it got: an undo outweighs the approval before it; otherwise the
decision is the outcome, whatever happened after (one approved and then expired before it ran was still
accepted, as the manager dashboard counts it: approvals/stats.py). A pending approval has no outcome yet.

What happened on the record afterwards (an email replied to, a deal won or lost) is kept apart, as events
(outcomes/events.py), and tied to the approval it followed in outcomes/linking.py, which reads the decision from
`outcome_of`: the one place that says which kind an approval's story ends in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy.orm import Session

from sellerloop.approvals.models import Approval, Decision, State
from sellerloop.approvals.service import list_approvals
from sellerloop.records.refs import RecordRef, owner_of

Kind = Literal["accepted", "edited", "rejected", "expired", "rolled_back"]
KINDS: tuple[Kind, ...] = get_args(Kind)
BY_DECISION: dict[State, Kind] = {State.approved: "accepted", State.approved_with_edits: "edited",
                                  State.rejected: "rejected"}


@dataclass(frozen=True)
class Outcome:
    approval_id: str
    kind: Kind
    use_case: str
    level: str | None  # the autonomy level it was proposed at (None on approvals stored before levels were)
    action: str
    subject: str  # the record, e.g. opportunity:ID
    owner_id: str | None  # who owns that record
    decided_by: str | None  # who approved or rejected it (policy:L5 for the policy); None when nobody did
    at: dt.datetime  # when it came to this
    reason: str | None  # a rejection's reason


def outcome_of(approval: Approval) -> tuple[Kind, Decision | None, Decision] | None:
    """The kind of outcome, the decision a person (or the policy) took if any, and the step it came to at."""
    decision = next((d for d in reversed(approval.history) if d.state in BY_DECISION), None)
    undone = next((d for d in reversed(approval.history) if d.state is State.rolled_back), None)
    if undone is not None:
        return "rolled_back", decision, undone
    if decision is not None:
        return BY_DECISION[decision.state], decision, decision
    expired = next((d for d in reversed(approval.history) if d.state is State.expired), None)
    return ("expired", None, expired) if expired is not None else None


def list_outcomes(*, session: Session, user_id: str | None, use_case: str | None = None,
                  kind: Kind | None = None) -> list[Outcome]:
    """The outcomes on records `user_id` may see (all of them for the local operator), newest first."""
    found = []
    for approval in list_approvals(session=session, user_id=user_id):
        p = approval.proposal
        ended = outcome_of(approval)
        if ended is None or (use_case is not None and p.use_case != use_case) or (kind is not None and
                                                                                   ended[0] != kind):
            continue
        what, decision, step = ended
        found.append(Outcome(
            approval_id=approval.id, kind=what, use_case=p.use_case, level=p.level, action=p.action,
            subject=p.subject, owner_id=owner_of(session=session, ref=RecordRef.of(p.subject)),
            decided_by=decision.by if decision else None, at=step.at,
            reason=decision.reason if decision is not None and decision.state is State.rejected else None))
    return sorted(found, key=lambda o: o.at, reverse=True)
