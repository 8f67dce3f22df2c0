"""Next-best-action feedback: how people took each kind of recommendation, per customer segment, as a factor on
its score (DESIGN.md §2: the scoring station feeds the agent's ranking through this one narrow interface).

For each recommended action type × segment it counts, from the linked outcomes (outcomes/linking.py):

    decided    a person approved, edited, rejected it, or let it expire (ignored)
    accepted   approved, as proposed or with edits
    converted  of the accepted, the ones followed by a positive event on the record in its window (a reply, a
               meeting, a stage moved forward, a task done, a win)

and turns them into rates with Bayesian smoothing in two tiers. Acceptance starts from an even prior (0.5: no
history, no opinion); an action type's rate is its outcomes in the other segments shrunk toward that prior, and
its rate in a segment is the segment's own outcomes shrunk toward the action type's. `PRIOR_STRENGTH`
pseudo-observations of the tier above keep a handful of outcomes from swinging the ranking, and let a segment
with no history borrow what the action type did elsewhere (the segment's own outcomes are left out of the tier
above it, so they are not counted twice). Conversion is smoothed the same way toward the book's own conversion
rate; a book where no outcome event has arrived yet has nothing to say about conversion, and it counts as 1.

The factor is (acceptance / prior) × (conversion / book conversion), kept within [MIN_FACTOR, MAX_FACTOR]. It is
1 with no history, drops for an action people keep rejecting and comes back as they accept it again. A team that
rejects more of everything lowers every score alike, so the order between findings moves only where one action
type fares differently from the others.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.outcomes.linking import POSITIVE, decisions_version, linked_outcomes
from sellerloop.policy.service import session_policy
from sellerloop.records.models import Account, Opportunity
from sellerloop.records.refs import RecordRef

PRIOR_STRENGTH = 5.0  # pseudo-observations of the tier above: five real outcomes weigh as much as the prior
ACCEPTANCE_PRIOR = 0.5
MIN_FACTOR, MAX_FACTOR = 0.25, 2.0  # feedback re-orders the findings; it never silences one or drowns the rest
ACCEPTED = frozenset({"accepted", "edited"})
DECIDED = frozenset({"accepted", "edited", "rejected", "expired"})  # a rollback is about the write, not the advice

# Customer segments by head count (the usual SMB / mid-market / enterprise cut).
SEGMENT_BANDS = ((5000, "enterprise"), (1000, "mid-market"), (0, "smb"))
UNKNOWN_SEGMENT = "unknown"


def segment_of(account: Account | None) -> str:
    return _band(account.employees if account is not None else None)


def _band(employees: int | None) -> str:
    if employees is None:
        return UNKNOWN_SEGMENT
    return next(name for floor, name in SEGMENT_BANDS if employees >= floor)


class Observation(Protocol):
    """What feedback reads of one linked outcome (outcomes/linking.py LinkedOutcome has these fields)."""

    recommended_action: str | None
    segment: str | None
    decision: str | None
    converted: bool


@dataclass
class _Counts:
    decided: int = 0
    accepted: int = 0
    converted: int = 0

    def add(self, o: Observation) -> None:
        if o.decision in DECIDED:
            self.decided += 1
            if o.decision in ACCEPTED:
                self.accepted += 1
                self.converted += bool(o.converted)


def _smoothed(hits: int, n: int, prior: float) -> float:
    return (hits + PRIOR_STRENGTH * prior) / (n + PRIOR_STRENGTH)


@dataclass(frozen=True)
class Adjustment:
    """The factor for one action type in one segment, with the figures behind it (shown next to the score)."""

    action: str
    segment: str
    factor: float
    acceptance: float  # smoothed, in the segment
    conversion: float | None  # smoothed, in the segment; None while no outcome event has arrived
    decided: int  # the segment's own decisions on this action type
    accepted: int

    @property
    def why(self) -> str:
        if self.decided == 0:
            return ""
        converted = f", conversion {self.conversion:.0%}" if self.conversion is not None else ""
        return f"feedback ×{self.factor:.2f}: {self.accepted} of {self.decided} accepted in {self.segment}{converted}"


@dataclass
class ActionFeedback:
    book: _Counts = field(default_factory=_Counts)
    by_action: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    by_segment: dict[tuple[str, str], _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    # Decisions on an action type before its feedback moves its rank (the policy's feedback.min_decisions_to_rank):
    # two clicks are noise, not a trend.
    min_decisions: int = 1

    @classmethod
    def of(cls, observations: Iterable[Observation], *, min_decisions: int = 1) -> ActionFeedback:
        feedback = cls(min_decisions=min_decisions)
        for o in observations:
            if not o.recommended_action:
                continue
            segment = o.segment or UNKNOWN_SEGMENT
            feedback.book.add(o)
            feedback.by_action[o.recommended_action].add(o)
            feedback.by_segment[(o.recommended_action, segment)].add(o)
        return feedback

    def adjustment(self, action: str, segment: str) -> Adjustment:
        mine, seg = self.by_action.get(action, _Counts()), self.by_segment.get((action, segment), _Counts())
        if mine.decided < self.min_decisions:  # too few decisions yet: the rank stays the playbook's
            return Adjustment(action=action, segment=segment, factor=1.0, acceptance=ACCEPTANCE_PRIOR,
                              conversion=None, decided=0, accepted=0)
        elsewhere = _Counts(decided=mine.decided - seg.decided, accepted=mine.accepted - seg.accepted,
                            converted=mine.converted - seg.converted)
        accept = _smoothed(seg.accepted, seg.decided,
                           _smoothed(elsewhere.accepted, elsewhere.decided, ACCEPTANCE_PRIOR))
        factor = accept / ACCEPTANCE_PRIOR
        conversion = None
        if self.book.converted:
            book = self.book.converted / self.book.accepted
            conversion = _smoothed(seg.converted, seg.accepted,
                                   _smoothed(elsewhere.converted, elsewhere.accepted, book))
            factor *= conversion / book
        return Adjustment(action=action, segment=segment, factor=min(MAX_FACTOR, max(MIN_FACTOR, factor)),
                          acceptance=accept, conversion=conversion, decided=seg.decided, accepted=seg.accepted)

    def factor(self, action: str, segment: str) -> float:
        return self.adjustment(action, segment).factor


def action_feedback(*, session: Session, until: dt.datetime | None = None) -> ActionFeedback:
    """The book's feedback, kept in `session.info` for the session (a page, a command, a whole-book run reads the
    outcomes once) and, between sessions, for as long as no decision or event has come in since it was worked
    out (outcomes/linking.decisions_version): a page view then costs one small query, not a read of every
    approval. `until` is for a replay of the book as of a past day (shadow/replay.py, which calls this first so
    that the agents it runs find it): only what people had decided by then counts, and only what had followed by
    then converts."""
    cached = session.info.get("action_feedback")
    if cached is not None:
        return cached
    min_decisions = session_policy(session).feedback.min_decisions_to_rank
    key = (session.get_bind().url.render_as_string(hide_password=False), until, min_decisions)
    version = decisions_version(session=session)
    remembered = _REMEMBERED.get(key)
    if remembered is not None and remembered[0] == version:
        cached = remembered[1]
    else:
        # Decided ones only: what people did with a recommendation is what ranks it; reading every stored run
        # for the ones merely shown would cost a whole-book read.
        outcomes = linked_outcomes(session=session, user_id=None, include_shown=False)
        if until is not None:
            outcomes = [replace(o, converted=o.converted and any(
                at <= until for kind, at in o.events if kind in POSITIVE or kind == "stage_moved"))
                for o in outcomes if o.decided_at is not None and o.decided_at <= until]
        segments = segments_of(session=session, subjects={o.subject for o in outcomes})
        cached = ActionFeedback.of((_WithSegment(o, segments.get(o.subject, UNKNOWN_SEGMENT)) for o in outcomes),
                                   min_decisions=min_decisions)
        _REMEMBERED[key] = (version, cached)
    session.info["action_feedback"] = cached
    return cached


# Per store (and replay day): the decisions version the feedback was worked out at, and the feedback. A change of
# an account's head count is not a decision: it moves the account's segment at the next decision or event.
_REMEMBERED: dict[tuple[str, dt.datetime | None, int], tuple[tuple, ActionFeedback]] = {}


def forget(session: Session) -> None:
    """Drop the session's cached feedback: a decision just taken should count in the next ranking."""
    session.info.pop("action_feedback", None)


@dataclass(frozen=True)
class _WithSegment:
    outcome: Observation
    segment: str

    def __getattr__(self, name: str):
        return getattr(self.outcome, name)


def segments_of(*, session: Session, subjects: Iterable[str]) -> dict[str, str]:
    """The segment of each record URI (account:ID, opportunity:ID): its account's head count band."""
    accounts, deals = set(), set()
    for subject in subjects:
        ref = RecordRef.of(subject)
        (accounts if ref.kind == "account" else deals if ref.kind == "opportunity" else set()).add(ref.id)
    deal_account = {}
    for start in range(0, len(deals), 500):
        chunk = sorted(deals)[start:start + 500]
        deal_account.update(session.execute(
            select(Opportunity.id, Opportunity.account_id).where(Opportunity.id.in_(chunk))).all())
    wanted = sorted(accounts | {a for a in deal_account.values() if a})
    employees = {}
    for start in range(0, len(wanted), 500):
        employees.update(session.execute(
            select(Account.id, Account.employees).where(Account.id.in_(wanted[start:start + 500]))).all())

    out = {f"account:{a}": _band(employees.get(a)) for a in accounts}
    out.update({f"opportunity:{d}": _band(employees.get(deal_account.get(d))) for d in deals})
    return out

