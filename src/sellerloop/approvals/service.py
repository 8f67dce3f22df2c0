"""Approvals in the store: propose, list, decide, expire. Every surface (CLI, web, batch) decides through here.

Rules kept here, whoever asks:
- only a person decides: the agent's own identity cannot approve or reject;
- a person who may not see the record cannot see, approve or reject its approval (access.service);
- two people deciding at once cannot both win: a decision is written only if the approval's version is the one
  that person read (compare and set);
- the same proposal made again while it is still open is the same approval (its id comes from what it proposes),
  so re-running an agent does not pile up duplicates; one asking for the same thing in other words is merged
  into it (DESIGN.md §5: duplicates merged);
- only the policy approves without a person, and only at L5 (pipeline/placement.py, Approval.approve_by_policy).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sellerloop.access.fields import HIDDEN, field_hidden
from sellerloop.access.permissions import decide
from sellerloop.access.service import (
    AccessDenied,
    require_account,
    require_contact,
    require_opportunity,
    visible_opportunity_ids,
    visible_owner_ids,
)
from sellerloop.actions.catalogue import Risk, risk_of, validate_payload
from sellerloop.approvals.models import Approval, ApprovalRow, InvalidTransition, PolicyRule, Proposal, State
from sellerloop.audit.service import append
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.policy.models import Policy
from sellerloop.policy.service import policy_in_force
from sellerloop.records.ids import stable_id
from sellerloop.records.models import User
from sellerloop.records.refs import RecordRef, owner_of
from sellerloop.records.writable import check_writable

AGENT_IDENTITY_PREFIX = "agent:"  # the service identity agents act as: agent:next-action, agent:hygiene, ...
CEDAR_KINDS = {"opportunity": "Opportunity", "account": "Account", "contact": "Account"}
OPEN_STATES = frozenset({State.proposed.value, State.approved.value, State.approved_with_edits.value})


class StaleDecision(SellerloopError):
    """Someone else decided on this approval first. Not permanent: read it again and decide on what is there."""

    exit_code = 1
    http_status = 409
    permanent = False


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class ProposalHeld(SellerloopError):
    """A fatigue rule holds the proposal back (a cap or a cooldown). Not permanent: it may go through later."""

    exit_code = 1
    http_status = 429
    permanent = False


def propose(*, session: Session, proposal: Proposal, by: str, at: dt.datetime | None = None,
            policy: Policy | None = None) -> Approval:
    """Store a proposal (validated against the catalogue); the same open proposal again returns the stored one.

    Fatigue rules from the policy's caps (DESIGN.md §5), checked before anything is stored:
    - a proposal a person rejected stays rejected for `cooldown_days_after_rejection`: the rejected approval is
      returned rather than asking again;
    - a proposal nobody acted on before it expired (ignored) stays expired for `cooldown_days_after_ignored`:
      the expired approval is returned;
    - a near-duplicate of an open approval on the same record (same field change but for case and spacing, a
      task worded alike and due within a week) is merged into it: the open one is returned, its merge count
      raised, and the new reason and sources go to the audit log (approval.merged);
    - at most `max_open_approvals_per_record` open approvals per record and
      `max_new_approvals_per_seller_per_day` new ones per seller (the record's owner) per day: more raise
      ProposalHeld;
    - a proposal expires after `expire_after_days` unless it says otherwise.
    The same proposal once executed is done: it returns the executed approval, so a re-run acts once."""
    return proposed(session=session, proposal=proposal, by=by, at=at, policy=policy).approval


@dataclass(frozen=True)
class Proposed:
    """What `propose` did with a proposal: the approval it stands for now, and how it came to be that one."""

    approval: Approval
    # created: stored now; open: the same one was open; merged: folded into an open near-duplicate; rejected,
    # ignored: in its cooldown after a rejection or an expiry; done: the same one was executed already.
    outcome: Literal["created", "open", "merged", "rejected", "ignored", "done"]


def proposed(*, session: Session, proposal: Proposal, by: str, at: dt.datetime | None = None,
             policy: Policy | None = None, check_caps: bool = True) -> Proposed:
    """`propose`, telling the caller which rule decided (the placement flow acts only on what it stored).
    `check_caps=False` when a person takes up a draft (approvals/drafts.py): caps limit how often agents ask."""
    at = at or now()
    caps = (policy or policy_in_force()).caps
    if proposal.expires_at is None:
        proposal = proposal.model_copy(update={"expires_at": at + dt.timedelta(days=caps.expire_after_days)})
    canonical = json.dumps(proposal.payload, sort_keys=True, separators=(",", ":"), default=str)
    base = stable_id("appr", proposal.use_case, proposal.subject, proposal.action, canonical)
    # The same proposal while one is still open is that one; after it was decided, a new one (base-1, base-2, ...).
    for n in itertools.count():
        approval_id = base if n == 0 else f"{base}-{n}"
        row = session.get(ApprovalRow, approval_id)
        if row is None:
            break
        if row.state in OPEN_STATES and row.expires_at is not None and row.expires_at <= at:
            _expire(session, row, at)  # its time is up though nobody swept it yet: it was ignored
        if row.state in OPEN_STATES:
            return Proposed(Approval.model_validate(row.approval), "open")
        if row.state == State.executed.value:
            return Proposed(Approval.model_validate(row.approval), "done")  # carried out: never twice
        if row.state == State.rejected.value and at - row.updated_at < dt.timedelta(
                days=caps.cooldown_days_after_rejection):
            return Proposed(Approval.model_validate(row.approval), "rejected")  # rejected lately: not asked again
        if row.state == State.expired.value and at - row.updated_at < dt.timedelta(
                days=caps.cooldown_days_after_ignored):
            approval = Approval.model_validate(row.approval)
            if _ignored(approval):
                return Proposed(approval, "ignored")  # left alone lately: not asked again yet
    merged = _merge_near_duplicate(session, proposal, by, at)
    if merged is not None:
        return Proposed(merged, "merged")
    if check_caps:
        _check_caps(session, proposal, caps, at)
    approval = Approval.propose(id=approval_id, proposal=proposal, by=by, at=at)
    session.add(ApprovalRow(id=approval.id, use_case=proposal.use_case, subject=proposal.subject,
                            action=proposal.action, state=approval.state.value, proposed_at=at,
                            expires_at=proposal.expires_at, updated_at=at, version=1,
                            approval=approval.model_dump(mode="json")))
    session.flush()
    _count_proposed(session, proposal.subject, at)
    _audit(session, approval, by)
    return Proposed(approval, "created")


def _ignored(approval: Approval) -> bool:
    """Expired straight from proposed: nobody approved, edited or rejected it. (One that was approved and then
    expired before it ran was acted on; it is not held back.)"""
    states = [d.state for d in approval.history]
    return states[-2:] == [State.proposed, State.expired]


def _expire(session: Session, row: ApprovalRow, at: dt.datetime) -> None:
    approval = Approval.model_validate(row.approval)
    approval = approval.expire(at=max(at, approval.history[-1].at))
    save(session=session, row=row, approval=approval)
    _audit(session, approval, "system")
    session.refresh(row)


# --- near-duplicates ----------------------------------------------------------------------------------------------

TASK_SIMILARITY = 0.8  # token-set Jaccard of two task subjects at or above which they are the same task
TASK_DUE_WINDOW = dt.timedelta(days=7)  # ... if they are also due within a week of each other
_PUNCTUATION = re.compile(r"[^\w\s]+")


def _merge_near_duplicate(session: Session, proposal: Proposal, by: str, at: dt.datetime) -> Approval | None:
    """Fold `proposal` into an open approval on the same record that asks for the same thing in other words,
    if there is one: the open approval is kept as it is (a person may be reading it), its merge count raised,
    and the new reason and sources are appended to the audit log, where the approval's trail already is."""
    rows = session.scalars(select(ApprovalRow).where(
        ApprovalRow.subject == proposal.subject, ApprovalRow.action == proposal.action,
        ApprovalRow.state.in_(OPEN_STATES)).order_by(ApprovalRow.proposed_at, ApprovalRow.id)).all()
    for row in rows:
        if row.expires_at is not None and row.expires_at <= at:
            continue  # its time is up: nothing to merge into
        open_one = Approval.model_validate(row.approval)
        if not near_duplicate(proposal.action, open_one.proposal.payload, proposal.payload):
            continue
        merged = open_one.model_copy(update={"merged": open_one.merged + 1})
        save(session=session, row=row, approval=merged)
        p = merged.proposal
        append(session=session, actor=by, action="approval.merged", subject=p.subject, payload={
            "approval": merged.id, "use_case": p.use_case, "action": p.action, "merged": merged.merged,
            "payload": proposal.payload, "reason": proposal.reason, "sources": proposal.sources})
        return merged
    return None


def near_duplicate(action: str, a: dict, b: dict) -> bool:
    """Whether two payloads of `action` ask for the same thing: a change of the same field to the same value but
    for case and spacing; a task on the same subject (alike after case, punctuation and spacing, or sharing at
    least 80 % of its words) due within a week of the other; any other action, the same payload but for case
    and spacing of its text."""
    if action == "update_field":
        keys = ("object", "record_id", "field")
        return all(a.get(k) == b.get(k) for k in keys) and \
            _loose(a.get("new")) == _loose(b.get("new")) and _loose(a.get("old")) == _loose(b.get("old"))
    if action == "create_task":
        first, second = validate_payload(action, a), validate_payload(action, b)
        if abs(first.due_date - second.due_date) > TASK_DUE_WINDOW:
            return False
        if (first.opportunity_id, first.account_id) != (second.opportunity_id, second.account_id):
            return False
        words_a, words_b = _words(first.subject), _words(second.subject)
        if words_a == words_b:
            return True
        union = set(words_a) | set(words_b)
        return bool(union) and len(set(words_a) & set(words_b)) / len(union) >= TASK_SIMILARITY
    return _loose(a) == _loose(b)


def _words(text: str) -> tuple[str, ...]:
    return tuple(_PUNCTUATION.sub(" ", text.casefold()).split())


def _loose(value):
    """A JSON value with its strings compared without case and spacing."""
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    if isinstance(value, dict):
        return {k: _loose(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_loose(v) for v in value]
    return value


def _check_caps(session: Session, proposal: Proposal, caps, at: dt.datetime) -> None:
    open_here = session.scalar(select(func.count()).select_from(ApprovalRow).where(
        ApprovalRow.subject == proposal.subject, ApprovalRow.state.in_(OPEN_STATES)))
    if open_here >= caps.max_open_approvals_per_record:
        raise ProposalHeld(f"{proposal.subject} already has {open_here} open approvals (the cap is "
                           f"{caps.max_open_approvals_per_record}); decide on those first")
    owner = _owner_of(session, proposal.subject)
    if owner is None:
        return
    mine = _proposed_today(session, at)[owner]
    if mine >= caps.max_new_approvals_per_seller_per_day:
        raise ProposalHeld(f"{owner} already has {mine} new approvals today (the cap is "
                           f"{caps.max_new_approvals_per_seller_per_day}); the rest wait for tomorrow")


PROPOSED_TODAY = "sellerloop.approvals_proposed_today"


def _proposed_today(session: Session, at: dt.datetime) -> Counter:
    """New approvals per record owner on `at`'s day, counted once per session and kept up to date as this session
    proposes (`_count_proposed`): a whole-book placement asks this thousands of times, and reading the day's
    approvals each time made it quadratic. Another session's proposals meanwhile are seen from its next session
    on: the cap is a limit on fatigue, not a lock."""
    day = dt.datetime.combine(at.date(), dt.time())
    kept = session.info.get(PROPOSED_TODAY)
    if kept is None or kept[0] != day:
        subjects = session.scalars(select(ApprovalRow.subject).where(
            ApprovalRow.proposed_at >= day, ApprovalRow.proposed_at < day + dt.timedelta(days=1)))
        kept = session.info[PROPOSED_TODAY] = (day, Counter(_owner_of(session, subject) for subject in subjects))
    return kept[1]


def _count_proposed(session: Session, subject: str, at: dt.datetime) -> None:
    kept = session.info.get(PROPOSED_TODAY)
    if kept is not None and kept[0] == dt.datetime.combine(at.date(), dt.time()):
        kept[1][_owner_of(session, subject)] += 1


def _owner_of(session: Session, subject: str) -> str | None:
    return owner_of(session=session, ref=RecordRef.of(subject))  # a contact's: its account's owner


def get_approval(*, session: Session, approval_id: str, user_id: str | None = None) -> Approval:
    row = session.get(ApprovalRow, approval_id)
    if row is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    if user_id is None:
        return Approval.model_validate(row.approval)
    person = _person(session, user_id)
    _require_subject(session, row.subject, person)
    return _as_seen_by(session, Approval.model_validate(row.approval), person)


def list_approvals(*, session: Session, user_id: str | None = None, state: str | None = None) -> list[Approval]:
    """Approvals on records the user may see (all of them for no user, an admin or RevOps), newest first."""
    stmt = select(ApprovalRow).order_by(ApprovalRow.proposed_at.desc(), ApprovalRow.id)
    if state is not None:
        if state not in State.__members__:
            raise BadInput(f"unknown state {state!r}; states: {', '.join(State.__members__)}")
        stmt = stmt.where(ApprovalRow.state == state)
    rows = session.scalars(stmt).all()
    user = _person(session, user_id) if user_id else None
    if visible_owner_ids(session=session, user=user) is None:
        return [Approval.model_validate(r.approval) for r in rows]
    refs = {r.subject: RecordRef.of(r.subject) for r in rows}
    deals = visible_opportunity_ids(session=session, user=user, opportunity_ids=(
        ref.id for ref in refs.values() if ref.kind == "opportunity"))
    return [_as_seen_by(session, Approval.model_validate(r.approval), user) for r in rows
            if (refs[r.subject].id in deals if refs[r.subject].kind == "opportunity"
                else _may_see(session, r.subject, user))]




def _hidden_field(session: Session, approval: Approval, user: User) -> bool:
    """A field change to a sensitive field this person may not see (access/fields.py)."""
    payload = approval.proposal.payload
    return approval.proposal.action == "update_field" and field_hidden(
        session, user=user, object_type=payload.get("object", ""), record_id=payload.get("record_id"),
        name=payload.get("field", ""))


def _as_seen_by(session: Session, approval: Approval, user: User) -> Approval:
    """The approval with the old and new values of a sensitive field masked, for someone who may not see it."""
    if not _hidden_field(session, approval, user):
        return approval
    masked = {"old": HIDDEN, "new": HIDDEN}
    proposal = approval.proposal.model_copy(update={"payload": approval.proposal.payload | masked})
    history = [d.model_copy(update={"payload": d.payload | masked}) if d.payload else d for d in approval.history]
    return approval.model_copy(update={"proposal": proposal, "history": history})


def _may_see(session: Session, subject: str, user: User) -> bool:
    try:
        _require_subject(session, subject, user)
    except AccessDenied:
        return False
    return True


def approve(*, session: Session, approval_id: str, user_id: str, payload: dict | None = None,
            at: dt.datetime | None = None, policy: Policy | None = None) -> Approval:
    """Approve as `user_id`, as proposed or with an edited `payload`. Every surface comes here, so the rules hold
    whoever asks: the edit changes only what an approver may edit (Approval.approve), the value fits the record
    (a stage from the stage list, a date that is a date), and at L4 or for a high-risk action only the policy's
    approvers decide (`require_approver`)."""
    def move(current: Approval, at: dt.datetime, person: User) -> Approval:
        decided = current.approve(by=user_id, at=at, payload=payload)  # first: may it be approved at all?
        check_writable(action=current.proposal.action, payload=decided.payload)
        require_approver(proposal=current.proposal, payload=decided.payload, person=person,
                         policy=policy or policy_in_force())
        return decided

    return _decide(session, approval_id, user_id, move, at)


def reject(*, session: Session, approval_id: str, user_id: str, reason: str,
           at: dt.datetime | None = None) -> Approval:
    return _decide(session, approval_id, user_id, lambda a, t, _: a.reject(by=user_id, at=t, reason=reason), at)


def approver_needed(*, proposal: Proposal, payload: dict, policy: Policy) -> str | None:
    """Why only the policy's approvers (`approval.approvers`) may approve this, or None when whoever may decide on
    the record may: the use case placed it at L4 or above, or the action is high risk with this payload (a stage,
    amount or close-date change; anything irreversible) under the policy (DESIGN.md §4)."""
    risk = max(risk_of(proposal.action, payload), policy.risk_of(proposal.action))
    if risk is Risk.high:
        return f"{proposal.action} is high risk here"
    if proposal.level in ("L4", "L5"):
        return f"{proposal.use_case} runs {proposal.action} at {proposal.level}"
    return None


def require_approver(*, proposal: Proposal, payload: dict, person: User, policy: Policy) -> None:
    """AccessDenied unless `person` may approve this under the policy's approvers list. A seller never approves
    his own forecast change: a manager, RevOps or an admin does (whoever the team's policy names)."""
    why = approver_needed(proposal=proposal, payload=payload, policy=policy)
    if why is None:
        return
    approvers = policy.approval.approvers if policy.approval else ()
    if person.role not in approvers:
        who = ", ".join(approvers) or "nobody (the policy defines no approvers)"
        raise AccessDenied(f"{person.name} ({person.role}) may not approve this: {why}, and only {who} may approve "
                           "it under the policy")


def approve_by_policy(*, session: Session, approval_id: str, rule: PolicyRule,
                      at: dt.datetime | None = None) -> Approval:
    """The policy's own approval, at L5: no person, and not an agent either (an agent never approves). Only the
    placement flow (pipeline/placement.py) calls it, after judging the level; Approval.approve_by_policy refuses
    anything but a low-risk, reversible action whatever the rule says, and the executor checks it once more."""
    row = session.get(ApprovalRow, approval_id)
    if row is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    current = Approval.model_validate(row.approval)
    approval = current.approve_by_policy(at=max(at or now(), current.history[-1].at), rule=rule)
    save(session=session, row=row, approval=approval)
    _audit(session, approval, approval.approver)
    return approval


def expire_due(*, session: Session, at: dt.datetime | None = None) -> int:
    """Expire every proposed or approved-but-not-executed approval whose time is up. Returns how many."""
    at = at or now()
    rows = session.scalars(select(ApprovalRow).where(
        ApprovalRow.state.in_((State.proposed.value, State.approved.value, State.approved_with_edits.value)),
        ApprovalRow.expires_at.is_not(None), ApprovalRow.expires_at <= at)).all()
    for row in rows:
        _expire(session, row, at)
    return len(rows)


def save(*, session: Session, row: ApprovalRow, approval: Approval) -> None:
    """Write a new state if nobody else wrote one since `row` was read (compare and set on `version`)."""
    result = session.execute(
        update(ApprovalRow).where(ApprovalRow.id == row.id, ApprovalRow.version == row.version)
        .values(state=approval.state.value, approval=approval.model_dump(mode="json"),
                updated_at=approval.history[-1].at, version=row.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise StaleDecision(f"approval {row.id} changed while you were deciding; show it again and decide anew")
    session.expire(row)


def _decide(session: Session, approval_id: str, user_id: str, move, at: dt.datetime | None) -> Approval:
    if user_id.startswith(AGENT_IDENTITY_PREFIX):
        raise InvalidTransition("an agent cannot decide on an approval: a person must")
    row = session.get(ApprovalRow, approval_id)
    if row is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    person = require_decider(session=session, subject=row.subject, user_id=user_id)
    current = Approval.model_validate(row.approval)
    if _hidden_field(session, current, person):  # nobody approves a change they are not allowed to read
        field = current.proposal.payload.get("field")
        raise AccessDenied(f"{person.name} may not see the field {field!r} this approval changes")
    approval = move(current, at or now(), person)
    save(session=session, row=row, approval=approval)
    _audit(session, approval, user_id)
    return approval


def require_decider(*, session: Session, subject: str, user_id: str) -> User:
    """The person, if they may decide on actions on `subject` (approve, reject, undo); AccessDenied otherwise.
    Seeing a record is not deciding on it: the team's Cedar policies say who may approve (access/cedar)."""
    person = _person(session, user_id)
    _require_subject(session, subject, person)
    kind = CEDAR_KINDS.get(RecordRef.of(subject).kind, "Account")
    verdict = decide(principal=person, action="approve", resource_kind=kind, owner_id=_owner_of(session, subject),
                     session=session)
    if not verdict.allowed:
        raise AccessDenied(f"{person.name} may not decide on approvals for {subject}: {verdict.reason}")
    return person



def _audit(session: Session, approval: Approval, actor: str) -> None:
    """Every step of an approval goes to the audit log, in the same transaction as the step itself. An approval
    by the policy is `approval.approved_by_policy`, with the rule it was approved under: it is not a person's
    review, and promotion evidence (autonomy/service.py) counts only those."""
    decision, p = approval.history[-1], approval.proposal
    payload = {"approval": approval.id, "use_case": p.use_case, "action": p.action, "risk": p.risk.value,
               "payload": approval.payload, "reason": p.reason, "sources": p.sources}
    if decision.reason:
        payload["why"] = decision.reason
    action = f"approval.{decision.state.value}"
    if decision.rule is not None:
        action, payload["policy"] = "approval.approved_by_policy", decision.rule.model_dump(mode="json")
    append(session=session, actor=actor, action=action, subject=p.subject, payload=payload)


def _person(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise BadInput(f"no user with id {user_id!r}")
    return user


def _require_subject(session: Session, subject: str, user: User) -> None:
    ref = RecordRef.of(subject)
    if ref.kind == "opportunity":
        require_opportunity(session=session, user=user, opportunity_id=ref.id)
    elif ref.kind == "account":
        require_account(session=session, user=user, account_id=ref.id)
    elif ref.kind == "contact":
        require_contact(session=session, user=user, contact_id=ref.id)
    else:
        raise BadInput(f"approvals act on accounts, opportunities and contacts, not {subject!r}")
