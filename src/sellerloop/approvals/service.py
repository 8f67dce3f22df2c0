"""Approvals in the store: propose, list, decide, expire. Every surface (CLI, web, batch) decides through here.

Rules kept here, whoever asks:
- only a person decides: the agent's own identity cannot approve or reject;
- a person who may not see the record cannot see, approve or reject its approval (policy.access);
- two people deciding at once cannot both win: a decision is written only if the approval's version is the one
  that person read (compare and set);
- the same proposal made again while it is still open is the same approval (its id comes from what it proposes),
  so re-running an agent does not pile up duplicates.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sellerloop.agents.models import AgentRun, Item
from sellerloop.approvals.models import Approval, ApprovalRow, InvalidTransition, Proposal, State
from sellerloop.audit.service import append
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.policy.access import AccessDenied, require_account, require_opportunity, visible_owner_ids
from sellerloop.policy.models import Policy
from sellerloop.policy.permissions import decide
from sellerloop.policy.service import policy_in_force
from sellerloop.records.ids import stable_id
from sellerloop.records.models import Account, Contact, Opportunity, User

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
    - at most `max_open_per_record` open approvals per record and `max_per_seller_per_day` new ones per seller
      (the record's owner) per day: more raise ProposalHeld;
    - a proposal expires after `expire_after_days` unless it says otherwise."""
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
        if row.state in OPEN_STATES:
            return Approval.model_validate(row.approval)
        if row.state == State.rejected.value and at - row.updated_at < dt.timedelta(
                days=caps.cooldown_days_after_rejection):
            return Approval.model_validate(row.approval)  # rejected lately: not asked again yet
    _check_caps(session, proposal, caps, at)
    approval = Approval.propose(id=approval_id, proposal=proposal, by=by, at=at)
    session.add(ApprovalRow(id=approval.id, use_case=proposal.use_case, subject=proposal.subject,
                            action=proposal.action, state=approval.state.value, proposed_at=at,
                            expires_at=proposal.expires_at, updated_at=at, version=1,
                            approval=approval.model_dump(mode="json")))
    session.flush()
    _audit(session, approval, by)
    return approval


def _check_caps(session: Session, proposal: Proposal, caps, at: dt.datetime) -> None:
    open_here = session.scalar(select(func.count()).select_from(ApprovalRow).where(
        ApprovalRow.subject == proposal.subject, ApprovalRow.state.in_(OPEN_STATES)))
    if open_here >= caps.max_open_per_record:
        raise ProposalHeld(f"{proposal.subject} already has {open_here} open approvals (the cap is "
                           f"{caps.max_open_per_record}); decide on those first")
    owner = _owner_of(session, proposal.subject)
    if owner is None:
        return
    day = dt.datetime.combine(at.date(), dt.time())
    today = session.scalars(select(ApprovalRow.subject).where(ApprovalRow.proposed_at >= day,
                                                              ApprovalRow.proposed_at < day + dt.timedelta(days=1)))
    mine = sum(_owner_of(session, subject) == owner for subject in today)
    if mine >= caps.max_per_seller_per_day:
        raise ProposalHeld(f"{owner} already has {mine} new approvals today (the cap is "
                           f"{caps.max_per_seller_per_day}); the rest wait for tomorrow")


def _owner_of(session: Session, subject: str) -> str | None:
    kind, _, record_id = subject.partition(":")
    if kind == "contact":
        contact = session.get(Contact, record_id)
        kind, record_id = "account", contact.account_id if contact else None
    model = {"opportunity": Opportunity, "account": Account}.get(kind)
    row = session.get(model, record_id) if model and record_id else None
    return row.owner_id if row is not None else None


def proposals_from_run(run: AgentRun) -> list[Proposal]:
    """The actions an agent's output proposes: each field change as update_field, each task draft as create_task."""
    subject = f"{run.subject.type}:{run.subject.id}"
    out = []
    for item in run.items:
        sources = [s.model_dump(mode="json") for s in item.sources]
        if item.kind == "field_change" and item.field:
            obj, _, record_id = (item.target or subject).partition(":")
            payload = {"object": obj, "record_id": record_id, "field": item.field, "old": item.old or None,
                       "new": item.new}
            out.append(Proposal(use_case=run.use_case, subject=subject, action="update_field", payload=payload,
                                reason=item.text, sources=sources))
        elif item.artifact == "task" and item.due:
            payload = {"subject": _task_subject(item), "due_date": item.due,
                       "opportunity_id": run.subject.id if run.subject.type == "opportunity" else None}
            out.append(Proposal(use_case=run.use_case, subject=subject, action="create_task", payload=payload,
                                reason=item.text, sources=sources))
    return out


def _task_subject(item: Item) -> str:
    return " ".join(item.text.split())[:500]


def get_approval(*, session: Session, approval_id: str, user_id: str | None = None) -> Approval:
    row = session.get(ApprovalRow, approval_id)
    if row is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    if user_id is not None:
        _require_subject(session, row.subject, _person(session, user_id))
    return Approval.model_validate(row.approval)


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
    return [Approval.model_validate(r.approval) for r in rows if _may_see(session, r.subject, user)]


def _may_see(session: Session, subject: str, user: User) -> bool:
    try:
        _require_subject(session, subject, user)
    except AccessDenied:
        return False
    return True


def approve(*, session: Session, approval_id: str, user_id: str, payload: dict | None = None,
            at: dt.datetime | None = None) -> Approval:
    return _decide(session, approval_id, user_id, lambda a, t: a.approve(by=user_id, at=t, payload=payload), at)


def reject(*, session: Session, approval_id: str, user_id: str, reason: str,
           at: dt.datetime | None = None) -> Approval:
    return _decide(session, approval_id, user_id, lambda a, t: a.reject(by=user_id, at=t, reason=reason), at)


def expire_due(*, session: Session, at: dt.datetime | None = None) -> int:
    """Expire every proposed or approved-but-not-executed approval whose time is up. Returns how many."""
    at = at or now()
    rows = session.scalars(select(ApprovalRow).where(
        ApprovalRow.state.in_((State.proposed.value, State.approved.value, State.approved_with_edits.value)),
        ApprovalRow.expires_at.is_not(None), ApprovalRow.expires_at <= at)).all()
    for row in rows:
        approval = Approval.model_validate(row.approval).expire(at=at)
        save(session=session, row=row, approval=approval)
        _audit(session, approval, "system")
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
    person = _person(session, user_id)
    _require_subject(session, row.subject, person)
    # Seeing a record is not deciding on it: the team's Cedar policies say who may approve (policy/cedar).
    kind = row.subject.partition(":")[0]
    verdict = decide(principal=person, action="approve", resource_kind=CEDAR_KINDS.get(kind, "Account"),
                     owner_id=_owner_of(session, row.subject), session=session)
    if not verdict.allowed:
        raise AccessDenied(f"{person.name} may not decide on approvals for {row.subject}: {verdict.reason}")
    approval = move(Approval.model_validate(row.approval), at or now())
    save(session=session, row=row, approval=approval)
    _audit(session, approval, user_id)
    return approval


def _audit(session: Session, approval: Approval, actor: str) -> None:
    """Every step of an approval goes to the audit log, in the same transaction as the step itself."""
    decision, p = approval.history[-1], approval.proposal
    payload = {"approval": approval.id, "use_case": p.use_case, "action": p.action, "risk": p.risk.value,
               "payload": approval.payload, "reason": p.reason, "sources": p.sources}
    if decision.reason:
        payload["why"] = decision.reason
    append(session=session, actor=actor, action=f"approval.{decision.state.value}", subject=p.subject,
           payload=payload)


def _person(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise BadInput(f"no user with id {user_id!r}")
    return user


def _require_subject(session: Session, subject: str, user: User) -> None:
    kind, _, record_id = subject.partition(":")
    if kind == "opportunity":
        require_opportunity(session=session, user=user, opportunity_id=record_id)
    elif kind == "account":
        require_account(session=session, user=user, account_id=record_id)
    elif kind == "contact":
        contact = session.get(Contact, record_id)
        if contact is None or contact.account_id is None:
            raise BadInput(f"no account for {subject!r}")
        require_account(session=session, user=user, account_id=contact.account_id)
    else:
        raise BadInput(f"approvals act on accounts, opportunities and contacts, not {subject!r}")
