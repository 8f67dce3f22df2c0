"""Shadow mode (DESIGN.md §4): a use case runs one level above its own, nothing is placed, and what it would have
done is recorded and compared with what people did, as evidence for promotion.

Which levels run in shadow: `levels.USE_CASE.shadow` in the policy (policy/models.py; `sellerloop autonomy shadow`
turns it on and off, audited). The shadow runs under `Policy.in_shadow`: each shadowed level one step up, exactly
as `autonomy promote` would raise it.

Recording (`record_run`): each item of a run a person could act on becomes the proposal they would take up
(approvals/drafts.offer_for), placed as the level above would place it (pipeline/placement.place):
    L3   a draft;
    L4   pending approval, for what placement stores by level (field changes and tasks:
         approvals/drafts.proposals_from_run); the rest (recommendations, email drafts) stays a draft that a
         person takes up, as it would at L4;
    L5   executed only where the policy would execute it on its own (low risk, reversible, and something here can
         carry it out); otherwise it would have waited for a person: pending approval.
Only a `shadow_actions` row is written: nothing is proposed, approved, executed or changed on a record. The same
ask on the same record as of the same moment is recorded once (approvals/service.near_duplicate). The kill switch
does not stop a shadow: it stops execution, and a shadow executes nothing.

When: the end of the book's "today" it ran as of (evidence/deals.book_context). A follow-up is drafted after a
call, so a follow-up is shadowed only for the calls of that day, as of the call itself: what the seller did after
the call is then in its window, and a stale call's follow-up (compared with emails about something else) is not.

Comparing (`compare`), for each shadow action, the first that applies:
  a. a person's decision on the same ask: a near-duplicate approval on that record, decided by a person after
     `as_of`: approved as proposed -> agreed, approved with edits -> edited, rejected -> disagreed;
  b. what a person did on that deal in the window after `as_of` (`window_days`) that matches the action, read from
     the CRM's own history (nothing the executor did counts):
       create_task    a task on the deal: the same task (near-duplicate) -> agreed, another task -> edited; or the
                      recommended action done: a meeting held (book_meeting), an email sent (send_email,
                      share_asset, request_intro, add_to_sequence), a note logged (log_note) -> agreed
       update_field   the field changed (stage: the stage history; others: the field history): to the proposed
                      value -> agreed, to another -> edited
       send_email, share_asset, request_intro, add_to_sequence   an outbound email on the deal -> agreed
       book_meeting   a meeting on the deal; log_note: a note -> agreed
     and, when the window is over with nothing of the kind, disagreed;
  c. otherwise pending: not comparable yet (the window is still open), or never (the CRM keeps no history of that
     field, or the action is not on a deal). Pending is never counted as agreement.
Comparisons are worked out when read, so a pending one becomes agreed or disagreed as the CRM fills in.

Evidence (`shadow_evidence`): per use case (its default level) or action type, the shadow actions recorded at the
level above the current one, their comparisons, and whether the compared ones would meet the policy's promotion bar
(promotion.min_reviewed compared, promotion.min_approved_unedited_share agreed). It supports a promotion and is
recorded with one; it never replaces the record at the current level that `promote` requires (DESIGN.md §4).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import AgentRun
from sellerloop.approvals.drafts import offer_for, proposals_from_run
from sellerloop.approvals.models import POLICY_IDENTITY_PREFIX, Approval, ApprovalRow, Proposal, State
from sellerloop.approvals.service import AGENT_IDENTITY_PREFIX, near_duplicate, now
from sellerloop.audit.service import append as audit
from sellerloop.errors import BadInput
from sellerloop.evidence.deals import book_context, end_of
from sellerloop.executor.models import Execution
from sellerloop.executor.service import WRITER_MARK
from sellerloop.pipeline.placement import needs_a_person
from sellerloop.policy.levels import placement_for
from sellerloop.policy.models import DEFAULT_KEY, LEVELS, USE_CASES, Policy, rank
from sellerloop.policy.service import session_policy
from sellerloop.records.ids import stable_id
from sellerloop.records.models import Activity, FieldChange, StageChange, Task, Transcript
from sellerloop.records.refs import RecordRef
from sellerloop.shadow.models import ShadowAction

Verdict = Literal["agreed", "edited", "disagreed", "pending"]
VERDICTS: tuple[Verdict, ...] = ("agreed", "edited", "disagreed", "pending")
RECORDED = "shadow.recorded"  # the audit entry of a shadow run: what it recorded, at which level, as of when
# What a person does to carry out each catalogue action themselves, as the CRM records it.
DONE_BY_EMAIL = frozenset({"send_email", "share_asset", "request_intro", "add_to_sequence"})
EXECUTOR_MARK = WRITER_MARK  # field changes the executor wrote are not a person's
IN_CHUNK = 500  # ids per IN list


def moment(day: dt.date) -> dt.datetime:
    """The end of `day`: a shadow run as of a day has seen all of it."""
    return end_of(day) - dt.timedelta(seconds=1)


# ------------------------------------------------------------------------------------------------ recording


@dataclass
class Recorded:
    """What shadow runs recorded, per use case: new shadow actions, and asks already recorded as of that moment."""

    new: Counter = field(default_factory=Counter)
    again: Counter = field(default_factory=Counter)
    levels: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, other: Recorded) -> None:
        self.new.update(other.new)
        self.again.update(other.again)
        for use_case, levels in other.levels.items():
            self.levels[use_case] |= levels


def shadowed(policy: Policy, use_cases: Iterable[str]) -> tuple[str, ...]:
    """The use cases, of those given, that the policy runs in shadow."""
    return tuple(u for u in use_cases if u in policy.levels and policy.levels[u].shadow)


def record_run(*, session: Session, run: AgentRun, as_of: dt.datetime, window_days: int,
               policy: Policy | None = None, at: dt.datetime | None = None) -> Recorded:
    """Record what the level above would have done with `run`'s output, as of `as_of`; nothing else is written.
    Only the items whose action the policy has in shadow count (`levels.USE_CASE.shadow`)."""
    policy = policy or session_policy(session)
    levels, above = policy.levels[run.use_case], policy.in_shadow(run.use_case)
    subject = f"{run.subject.type}:{run.subject.id}"
    by_level = proposals_from_run(run)
    known = list(session.scalars(select(ShadowAction).where(
        ShadowAction.subject == subject, ShadowAction.use_case == run.use_case, ShadowAction.as_of == as_of)))
    recorded, at = Recorded(), at or now()
    for item in run.items:
        offer = offer_for(run=run, item=item, subject=subject, today=as_of.date())
        if offer is None or levels.shadow_key(offer.action) is None:
            continue
        level = above.level_of(run.use_case, offer.action)
        proposal = offer.model_copy(update={"level": level})
        if any(k.action == proposal.action and _same_ask(proposal, k.proposal["payload"]) for k in known):
            recorded.again[run.use_case] += 1
            continue
        canonical = json.dumps(proposal.payload, sort_keys=True, separators=(",", ":"), default=str)
        row = ShadowAction(
            id=stable_id("shadow", run.use_case, subject, proposal.action, canonical, as_of.isoformat()),
            use_case=run.use_case, level=level, placement=_placement(above, proposal, level, offer in by_level),
            subject=subject, action=proposal.action, fingerprint=stable_id("ask", subject, proposal.action, canonical),
            proposal=proposal.model_dump(mode="json"), as_of=as_of, window_days=window_days, recorded_at=at)
        session.add(row)
        known.append(row)
        recorded.new[run.use_case] += 1
        recorded.levels[run.use_case].add(level)
    return recorded


def _placement(above: Policy, proposal: Proposal, level: str, placed_by_level: bool) -> str:
    """Where the level above would have put the proposal (pipeline/placement.place, without doing it)."""
    if rank(level) <= 3:
        return placement_for(level)
    if not placed_by_level:
        return "draft"  # a recommendation or an email draft waits for a person to take it up, at any level
    if level == "L4":
        return "pending_approval"
    _, why = needs_a_person(above, proposal)
    return "executed" if why is None else "pending_approval"  # else it would have waited for a person


def _same_ask(proposal: Proposal, stored: dict) -> bool:
    """Whether a stored payload asks for what `proposal` does (approvals/service.near_duplicate). A task's due date
    is left out: a recommendation's task is due two days after whoever takes it up, and an approver may move it."""
    payload = proposal.payload
    if proposal.action == "create_task" and "due_date" in stored:
        payload = payload | {"due_date": stored["due_date"]}
    try:
        return near_duplicate(proposal.action, stored, payload)
    except (ValueError, BadInput):  # a payload stored under an older catalogue: it is not this ask
        return False


def run_as_of(*, session: Session, run: AgentRun, day: dt.date) -> dt.datetime | None:
    """When `run`'s would-be actions would have been made, for a run as of `day`: the end of the day; for a
    follow-up, the call it follows up, and only for a call of that day (None otherwise: nothing to record)."""
    if run.use_case != "follow-up":
        return moment(day)
    if "transcript" in run.inputs:
        call = session.get(Transcript, run.inputs["transcript"])
    else:
        call = session.get(Activity, run.inputs.get("activity", ""))
    when = call.occurred_at if call is not None else None
    return when if when is not None and when.date() == day else None


class BookRecorder:
    """The whole-book run's hook (runs/service.run_all): each chunk's stored outputs of the use cases in shadow
    are recorded as of the batch's "today", in the chunk's transaction; one audit entry per use case at the end."""

    def __init__(self, *, policy: Policy, use_cases: Sequence[str], day: dt.date, window_days: int | None = None):
        self.policy, self.use_cases, self.day = policy, frozenset(use_cases), day
        self.window_days = window_days or policy.caps.expire_after_days
        self.recorded = Recorded()

    def record(self, *, session: Session, rows: Iterable[dict]) -> None:
        for row in rows:
            if row["use_case"] not in self.use_cases:
                continue
            run = AgentRun.model_validate_json(row["output"])
            as_of = run_as_of(session=session, run=run, day=self.day)
            if as_of is not None:
                self.recorded.add(record_run(session=session, run=run, as_of=as_of, window_days=self.window_days,
                                             policy=self.policy))

    def audit(self, *, session: Session) -> None:
        for use_case in sorted(self.use_cases):
            audit_recorded(session=session, use_case=use_case, recorded=self.recorded, as_of=self.day,
                           window_days=self.window_days, replay=False)


def audit_recorded(*, session: Session, use_case: str, recorded: Recorded, as_of: dt.date, window_days: int,
                   replay: bool) -> None:
    """The shadow run's own audit entry. Its payload names no level change, so it opens no new evidence window."""
    audit(session=session, actor=f"{AGENT_IDENTITY_PREFIX}{use_case}", action=RECORDED, subject=f"shadow:{use_case}",
          payload={"shadow_of": use_case, "levels": sorted(recorded.levels.get(use_case, ())),
                   "as_of": as_of.isoformat(), "window_days": window_days, "replay": replay,
                   "recorded": recorded.new[use_case], "already_recorded": recorded.again[use_case]})


# ------------------------------------------------------------------------------------------------ comparing


@dataclass(frozen=True)
class Comparison:
    verdict: Verdict
    what: str  # what the person did, or why it is not comparable (yet), in one line
    at: dt.datetime | None = None  # when they did it


@dataclass
class _History:
    """What people did on the deals of some shadow actions, read in one go (one query per table per chunk)."""

    approvals: dict[str, list[Approval]] = field(default_factory=lambda: defaultdict(list))
    tasks: dict[str, list[Task]] = field(default_factory=lambda: defaultdict(list))
    activities: dict[str, list[Activity]] = field(default_factory=lambda: defaultdict(list))
    fields: dict[tuple[str, str, str], list[FieldChange]] = field(default_factory=lambda: defaultdict(list))
    stages: dict[str, list[StageChange]] = field(default_factory=lambda: defaultdict(list))
    made_by_executor: set[tuple[str, str]] = field(default_factory=set)  # (table, id) rows the executor created
    tracked: set[tuple[str, str]] = field(default_factory=set)  # (object, field) the CRM keeps a history of


def _deal_of(proposal: Proposal) -> str | None:
    ref = RecordRef.of(proposal.subject)
    return ref.id if ref.kind == "opportunity" else proposal.payload.get("opportunity_id")


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(set(values))
    for start in range(0, len(values), IN_CHUNK):
        yield values[start:start + IN_CHUNK]


def _history(session: Session, proposals: Sequence[Proposal], since: dt.datetime) -> _History:
    history = _History()
    subjects = {p.subject for p in proposals}
    deals = {d for d in map(_deal_of, proposals) if d}
    records = {p.payload["record_id"] for p in proposals if p.action == "update_field"} | deals
    for chunk in _chunks(subjects):
        for row in session.scalars(select(ApprovalRow).where(ApprovalRow.subject.in_(chunk))
                                   .order_by(ApprovalRow.proposed_at, ApprovalRow.id)):
            history.approvals[row.subject].append(Approval.model_validate(row.approval))
        for diff in session.scalars(select(Execution.diff).where(Execution.subject.in_(chunk))):
            created = diff.get("created") if isinstance(diff, dict) else None
            if created:
                history.made_by_executor.add((created["table"], created["id"]))
    for chunk in _chunks(deals):
        for task in session.scalars(select(Task).where(Task.opportunity_id.in_(chunk), Task.created_at > since)
                                    .order_by(Task.created_at, Task.id)):
            history.tasks[task.opportunity_id].append(task)
        for activity in session.scalars(select(Activity).where(Activity.opportunity_id.in_(chunk),
                                                               Activity.occurred_at > since)
                                        .order_by(Activity.occurred_at, Activity.id)):
            history.activities[activity.opportunity_id].append(activity)
        for change in session.scalars(select(StageChange).where(StageChange.opportunity_id.in_(chunk),
                                                                StageChange.entered_on > since.date())
                                      .order_by(StageChange.id)):
            history.stages[change.opportunity_id].append(change)
    for chunk in _chunks(records):
        for change in session.scalars(select(FieldChange).where(FieldChange.record_id.in_(chunk),
                                                                FieldChange.changed_at > since)
                                      .order_by(FieldChange.changed_at, FieldChange.id)):
            history.fields[(change.object_type, change.record_id, change.field)].append(change)
    history.tracked = set(session.execute(select(FieldChange.object_type, FieldChange.field).distinct()).all())
    return history


def compare(*, session: Session, actions: Sequence[ShadowAction], today: dt.date | None = None) -> list[Comparison]:
    """For each shadow action, what people did (see the module docstring), as the CRM stands: `today` is how far
    it reaches (default: the book's today), which says whether a window is over."""
    if not actions:
        return []
    today = today or book_context(session=session).as_of
    proposals = [Proposal.model_validate(a.proposal) for a in actions]
    history = _history(session, proposals, min(a.as_of for a in actions))
    return [_compare(action, proposal, history, today) for action, proposal in zip(actions, proposals)]


def _compare(action: ShadowAction, proposal: Proposal, history: _History, today: dt.date) -> Comparison:
    start = action.as_of
    end = start + dt.timedelta(days=action.window_days)
    decided = _decision(proposal, history.approvals.get(proposal.subject, ()), start)
    if decided is not None:
        return decided
    deal = _deal_of(proposal)
    if deal is None:
        return Comparison("pending", f"not comparable: {proposal.subject} is not a deal, and what people did is "
                                     "read on deals")

    def within(when: dt.datetime | None) -> bool:
        return when is not None and start < when <= end

    activities = [a for a in history.activities.get(deal, ()) if within(a.occurred_at)
                  and ("activities", a.id) not in history.made_by_executor]
    done = _done(proposal, deal, activities, history, within)
    if done is not None:
        return done
    untracked = _untracked(proposal, history)
    if untracked is not None:
        return Comparison("pending", f"not comparable: the CRM keeps no history of {untracked}")
    if today >= end.date():
        return Comparison("disagreed", f"nothing of the kind on the deal in the {action.window_days} days after "
                                       f"{start:%Y-%m-%d}")
    return Comparison("pending", f"window open until {end:%Y-%m-%d}; the book reaches {today:%Y-%m-%d}")


def _decision(proposal: Proposal, approvals: Iterable[Approval], start: dt.datetime) -> Comparison | None:
    """A person's first decision after `start` on the same ask."""
    words = {State.approved: ("agreed", "approved as proposed"),
             State.approved_with_edits: ("edited", "approved with edits"), State.rejected: ("disagreed", "rejected")}
    found = None
    for approval in approvals:
        if approval.proposal.action != proposal.action or not _same_ask(proposal, approval.proposal.payload):
            continue
        decision = next((d for d in approval.history if d.state in words and d.at > start
                         and not d.by.startswith(POLICY_IDENTITY_PREFIX)), None)
        if decision is not None and (found is None or decision.at < found.at):
            found = decision
    if found is None:
        return None
    verdict, what = words[found.state]
    why = f": {found.reason}" if found.state is State.rejected and found.reason else ""
    return Comparison(verdict, f"{what} by {found.by} on {found.at:%Y-%m-%d}{why}", found.at)


def _done(proposal: Proposal, deal: str, activities: list[Activity], history: _History, within) -> Comparison | None:
    """What a person did in the window that matches the action (b in the module docstring), if anything."""
    action, payload = proposal.action, proposal.payload
    if action == "create_task":
        tasks = [t for t in history.tasks.get(deal, ()) if within(t.created_at)
                 and ("tasks", t.id) not in history.made_by_executor]
        same = next((t for t in tasks if _same_ask(proposal, _task_payload(t, payload))), None)
        if same is not None:
            return Comparison("agreed", f"created the task “{same.subject}” on {same.created_at:%Y-%m-%d}",
                              same.created_at)
        carried = _carried_out(proposal.recommended_action, activities)
        if carried is not None:
            return carried
        if tasks:
            return Comparison("edited", f"created another task: “{tasks[0].subject}” on "
                                        f"{tasks[0].created_at:%Y-%m-%d}", tasks[0].created_at)
        return None
    if action == "update_field":
        return _field_done(payload, history, within)
    return _carried_out(action, activities)


def _task_payload(task: Task, proposed: dict) -> dict:
    # Only what the task says is compared: its subject and deal (its due date may be moved by whoever sets it).
    return {"subject": task.subject, "due_date": proposed.get("due_date"), "opportunity_id": task.opportunity_id,
            "account_id": proposed.get("account_id")}


def _carried_out(action: str | None, activities: list[Activity]) -> Comparison | None:
    """The action done by a person on the deal: an email sent, a meeting held, a note logged."""
    if action in DONE_BY_EMAIL:
        found, what = next((a for a in activities if a.kind == "email" and a.direction == "outbound"), None), "sent"
    elif action == "book_meeting":
        found, what = next((a for a in activities if a.kind == "meeting"), None), "held a meeting:"
    elif action == "log_note":
        found, what = next((a for a in activities if a.kind == "note"), None), "logged a note:"
    else:
        return None
    if found is None:
        return None
    return Comparison("agreed", f"{what} “{found.subject or found.kind}” on {found.occurred_at:%Y-%m-%d}",
                      found.occurred_at)


def _field_done(payload: dict, history: _History, within) -> Comparison | None:
    obj, record_id, name, new = (payload.get(k) for k in ("object", "record_id", "field", "new"))
    if obj == "opportunity" and name == "stage":
        # The stage history dates a move by its day: it counts as made by the end of that day.
        entered = next((c for c in history.stages.get(record_id, ())
                        if c.entered_on is not None and within(moment(c.entered_on))), None)
        if entered is None:
            return None
        verdict = "agreed" if _loose(entered.stage) == _loose(new) else "edited"
        return Comparison(verdict, f"moved the deal to {entered.stage} on {entered.entered_on}",
                          dt.datetime.combine(entered.entered_on, dt.time()))
    change = next((c for c in history.fields.get((obj, record_id, name), ()) if within(c.changed_at)
                   and not (c.changed_by or "").startswith(EXECUTOR_MARK)), None)
    if change is None:
        return None
    verdict = "agreed" if _loose(change.new_value) == _loose(new) else "edited"
    by = f" ({change.changed_by})" if change.changed_by else ""
    return Comparison(verdict, f"changed {obj}.{name} to {change.new_value or '—'} on "
                               f"{change.changed_at:%Y-%m-%d}{by}", change.changed_at)


def _untracked(proposal: Proposal, history: _History) -> str | None:
    """The field a change is to, when the CRM keeps no history of it (so what people did cannot be read)."""
    if proposal.action != "update_field":
        return None
    target = (proposal.payload.get("object"), proposal.payload.get("field"))
    if target == ("opportunity", "stage") or target in history.tracked:  # the stage history is always kept
        return None
    return f"{target[0]}.{target[1]}"


def _loose(value) -> str:
    return " ".join(str(value or "").casefold().split())


# ------------------------------------------------------------------------------------------------ evidence


@dataclass(frozen=True)
class ShadowEvidence:
    use_case: str
    action: str | None  # None: the use case's default level (every action it does not name)
    current_level: str
    level: str | None  # the shadow level, one above the current one (None at L5: there is none)
    on: bool  # the policy runs this level in shadow now
    recorded: int
    agreed: int
    edited: int
    disagreed: int
    pending: int
    min_compared: int  # the policy's promotion.min_reviewed, counted on compared shadow actions
    min_agreed_share: float  # promotion.min_approved_unedited_share, as the share agreed of those compared
    since: dt.datetime | None = None  # the earliest as_of counted
    until: dt.datetime | None = None  # the latest

    @property
    def compared(self) -> int:
        return self.agreed + self.edited + self.disagreed

    @property
    def agreement_share(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the compared shadow actions would not meet the bar, one per part missed (empty: they would)."""
        if self.level is None:
            return (f"{self.current_level} is the highest level",)
        if self.compared < self.min_compared:
            return (f"{self.compared} compared in shadow at {self.level}, fewer than promotion.min_reviewed "
                    f"({self.min_compared})",)
        if self.agreement_share < self.min_agreed_share:
            return (f"{self.agreed}/{self.compared} agreed in shadow at {self.level} ({self.agreement_share:.1%}), "
                    f"below promotion.min_approved_unedited_share ({self.min_agreed_share:.0%})",)
        return ()

    @property
    def meets_bar(self) -> bool:
        return not self.reasons

    @property
    def label(self) -> str:
        return self.use_case if self.action is None else f"{self.use_case} {self.action}"

    def figures(self) -> dict:
        """The shadow evidence as recorded in a promotion's `policy.changed` audit entry."""
        return {"level": self.level, "recorded": self.recorded, "compared": self.compared, "agreed": self.agreed,
                "edited": self.edited, "disagreed": self.disagreed, "pending": self.pending,
                "agreement_share": self.agreement_share, "meets_bar": self.meets_bar,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}

    def as_dict(self) -> dict:
        return {"use_case": self.use_case, "action": self.action, "current_level": self.current_level,
                "on": self.on, **self.figures(), "reasons": list(self.reasons)}


def _key(policy: Policy, use_case: str, action: str) -> str | None:
    """The evidence row a shadow action of `action` belongs to: the action's own (it has a level of its own, or is
    shadowed on its own), else the use case's default (None)."""
    levels = policy.levels[use_case]
    return action if action in levels.actions or action in levels.shadow else None


def compared_actions(*, session: Session, use_case: str | None = None,
                     today: dt.date | None = None) -> list[tuple[ShadowAction, Comparison]]:
    """Every shadow action (of one use case, if given), oldest first, with its comparison."""
    stmt = select(ShadowAction).order_by(ShadowAction.as_of, ShadowAction.id)
    if use_case is not None:
        _check_use_case(use_case)
        stmt = stmt.where(ShadowAction.use_case == use_case)
    actions = list(session.scalars(stmt))
    return list(zip(actions, compare(session=session, actions=actions, today=today)))


def evidence_by_level(*, session: Session, policy: Policy | None = None,
                      use_case: str | None = None) -> dict[tuple[str, str | None], ShadowEvidence]:
    """Shadow evidence for every level that runs in shadow or has shadow actions at the level above it (of one use
    case, if given), keyed like the rows of autonomy/service.evidence: (use case, None) for a use case's default
    level, (use case, action) for an action's. Only the shadow actions that count are compared."""
    policy = policy or session_policy(session)
    stmt = select(ShadowAction).order_by(ShadowAction.as_of, ShadowAction.id)
    if use_case is not None:
        _check_use_case(use_case)
        stmt = stmt.where(ShadowAction.use_case == use_case)
    counted: dict[tuple[str, str | None], list[ShadowAction]] = defaultdict(list)
    for action in session.scalars(stmt):
        if action.use_case in policy.levels:
            key = (action.use_case, _key(policy, action.use_case, action.action))
            if action.level == _above(policy, *key):
                counted[key].append(action)
    actions = [a for rows in counted.values() for a in rows]
    verdicts = dict(zip((a.id for a in actions), compare(session=session, actions=actions)))
    keys = set(counted) | {(u, None if k == DEFAULT_KEY else k) for u in USE_CASES if use_case in (None, u)
                           for k in policy.levels[u].shadow}
    return {key: _evidence(policy, *key, [(a, verdicts[a.id]) for a in counted.get(key, ())])
            for key in sorted(keys, key=lambda k: (k[0], k[1] or ""))}


def shadow_evidence(*, session: Session, use_case: str, action: str | None = None,
                    policy: Policy | None = None) -> ShadowEvidence:
    """The shadow evidence for one use case's default level (action None) or one action type's level."""
    policy = policy or session_policy(session)
    found = evidence_by_level(session=session, policy=policy, use_case=use_case).get((use_case, action))
    return found or _evidence(policy, use_case, action, ())


def _above(policy: Policy, use_case: str, action: str | None) -> str | None:
    """The level one step above the current level of the use case's default (action None) or an action."""
    current = policy.levels[use_case].level_of(action)
    return LEVELS[rank(current)] if rank(current) < len(LEVELS) else None


def _evidence(policy: Policy, use_case: str, action: str | None,
              compared: Iterable[tuple[ShadowAction, Comparison]]) -> ShadowEvidence:
    levels = policy.levels[use_case]
    current, above = levels.level_of(action), _above(policy, use_case, action)
    # Only what ran at the level above the current one: after a promotion or a demotion, older shadow actions
    # speak for another step.
    counted = [(a, c) for a, c in compared if a.level == above]
    verdicts = Counter(c.verdict for _, c in counted)
    bar = policy.promotion
    return ShadowEvidence(
        use_case=use_case, action=action, current_level=current, level=above,
        on=(action or DEFAULT_KEY) in levels.shadow, recorded=len(counted), agreed=verdicts["agreed"],
        edited=verdicts["edited"], disagreed=verdicts["disagreed"], pending=verdicts["pending"],
        min_compared=bar.min_reviewed, min_agreed_share=bar.min_approved_unedited_share,
        since=min((a.as_of for a, _ in counted), default=None), until=max((a.as_of for a, _ in counted), default=None))


def _check_use_case(use_case: str) -> None:
    if use_case not in USE_CASES:
        raise BadInput(f"unknown use case {use_case!r}; the use cases are: {', '.join(USE_CASES)}")


# ------------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Example:
    record: str  # the subject, e.g. opportunity:ID
    would_have: str  # the would-be action, in words, and where it would have gone
    person: str  # what the person did (the comparison's words)
    as_of: dt.datetime


@dataclass(frozen=True)
class ReportSection:
    use_case: str
    levels: tuple[str, ...]
    counts: dict[str, int]
    examples: dict[str, list[Example]]


def report(*, session: Session, use_case: str | None = None, examples: int = 3) -> list[ReportSection]:
    """Per use case with shadow actions: how many agreed, edited, disagreed or are pending, with examples of each
    (the record, the would-be action, what the person did); the newest first."""
    sections = []
    grouped: dict[str, list[tuple[ShadowAction, Comparison]]] = defaultdict(list)
    for action, comparison in compared_actions(session=session, use_case=use_case):
        grouped[action.use_case].append((action, comparison))
    for name in sorted(grouped):
        pairs = grouped[name]
        counts = Counter(c.verdict for _, c in pairs)
        shown: dict[str, list[Example]] = {v: [] for v in VERDICTS}
        for action, comparison in reversed(pairs):
            if len(shown[comparison.verdict]) < examples:
                shown[comparison.verdict].append(Example(action.subject, describe(action), comparison.what,
                                                         action.as_of))
        sections.append(ReportSection(name, tuple(sorted({a.level for a, _ in pairs})),
                                      {v: counts[v] for v in VERDICTS}, shown))
    return sections


def describe(action: ShadowAction) -> str:
    """The would-be action in one line: what, and where the level above would have put it."""
    payload = action.proposal["payload"]
    if action.action == "create_task":
        what = f"create task “{payload.get('subject')}” due {payload.get('due_date')}"
    elif action.action == "update_field":
        what = f"set {payload.get('object')}.{payload.get('field')}: {payload.get('old') or '—'} → {payload.get('new')}"
    elif action.action == "send_email":
        what = f"send “{payload.get('subject')}” to {', '.join(payload.get('to', []))}"
    else:
        what = action.action
    return f"{what} ({action.placement.replace('_', ' ')} at {action.level})"
