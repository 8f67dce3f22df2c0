"""Placement by level: where each action an agent proposes goes, under the policy in force (DESIGN.md §4).

    L1–L3  nothing is stored: the action stays a draft in the agent's output, for a person to take up;
    L4     a pending approval, under the fatigue rules (caps, cooldowns, merging: approvals/service.propose);
    L5     executed within policy: proposed, approved by the policy itself (not by a person, never by an agent),
           and executed by the executor, all in the caller's transaction and audited, so it can be undone.

The level comes from `policy.levels.level_for`, per use case and action, which applies the kill switch (L4 and
L5 fall back to L3: nothing is stored, nothing executed). `sellerloop policy check` refuses L5 for an action that
is not low-risk and reversible, but a policy can still reach here without that check (built in code, or a
payload the file's rules cannot see, such as a stage change), so L5 is judged again for each proposal: one the
policy may not execute on its own is placed at L4 instead, pending a person, and the audit log says why
(`approval.escalated`). The same goes for an L5 action that fails to execute (no connector, a conflict): its
execution is undone to a savepoint and it waits for a person.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import Risk
from sellerloop.agents.models import AgentRun, Level, Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.drafts import proposals_from_run
from sellerloop.approvals.models import Approval, ApprovalRow, PolicyRule, Proposal, State
from sellerloop.approvals.service import (
    AGENT_IDENTITY_PREFIX,
    ProposalHeld,
    approve_by_policy,
    now,
    propose,
    proposed,
)
from sellerloop.audit.service import append
from sellerloop.errors import SellerloopError
from sellerloop.executor.models import Execution
from sellerloop.executor.service import EFFECTS, NoConnector, execute
from sellerloop.policy.levels import level_for
from sellerloop.policy.models import DEFAULT_KEY, Policy
from sellerloop.policy.service import policy_in_force

DRAFT_LEVELS: frozenset[Level] = frozenset({"L1", "L2", "L3"})


@dataclass
class Placed:
    """Where each proposal went: approvals stored (pending, executed, or returned by a fatigue rule), drafts
    left unstored (L1–L3), and one line for each proposal a cap held back."""

    approvals: list[Approval] = field(default_factory=list)
    drafts: list[Proposal] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def place_run(*, session: Session, run: AgentRun, policy: Policy | None = None,
              at: dt.datetime | None = None) -> list[Approval]:
    """Place every action an agent run proposes by its level; the approvals stored or found (see `place`)."""
    return place(session=session, proposals=proposals_from_run(run), by=f"{AGENT_IDENTITY_PREFIX}{run.use_case}",
                 policy=policy, at=at).approvals


def propose_run(*, session: Session, use_case: str, subject: Subject, by_level: bool) -> Placed:
    """Run an agent on a record and put its field changes and tasks in front of people, as the agent: placed by
    their level (`by_level`: L1–L3 stay drafts, L4 waits, L5 is carried out within policy), or else proposed for
    approval whatever the level. A proposal a cap holds back is listed, never stopping the others."""
    run = run_agent(session=session, use_case=use_case, subject=subject)
    proposals, by = proposals_from_run(run), f"{AGENT_IDENTITY_PREFIX}{use_case}"
    if by_level:
        return place(session=session, proposals=proposals, by=by)
    placed = Placed()
    for proposal in proposals:
        try:
            placed.approvals.append(propose(session=session, proposal=proposal, by=by))
        except ProposalHeld as e:  # a cap: the rest of the drafts wait, and the person is told why
            placed.held.append(e.one_line())
    return placed


def place(*, session: Session, proposals: Iterable[Proposal], by: str, policy: Policy | None = None,
          at: dt.datetime | None = None) -> Placed:
    """Place each proposal by the level of its use case and action, in the caller's transaction. A proposal a
    fatigue cap holds back is skipped (and listed), never stopping the others."""
    policy, at, placed = policy or policy_in_force(), at or now(), Placed()
    for proposal in proposals:
        level = level_for(proposal.use_case, proposal.action, policy)
        proposal = proposal.model_copy(update={"level": level})
        if level in DRAFT_LEVELS:
            placed.drafts.append(proposal)
            continue
        try:
            outcome = proposed(session=session, proposal=proposal, by=by, at=at, policy=policy)
        except ProposalHeld as e:
            placed.held.append(e.one_line())
            continue
        approval = outcome.approval
        # Merged into an open approval of another use case: that one's level decides what the policy may do.
        if level == "L5" and approval.proposal.use_case != proposal.use_case:
            level = level_for(approval.proposal.use_case, approval.proposal.action, policy)
        if level == "L5" and approval.state is State.proposed:
            approval = _execute_within_policy(session, approval, policy, at, created=outcome.outcome == "created")
        placed.approvals.append(approval)
    return placed


def policy_rule(policy: Policy, proposal: Proposal) -> PolicyRule:
    """The rule in force for this proposal at L5: where the level is set, and the action's risk (the catalogue's
    for this payload, raised by the policy's `actions`) and reversibility under the policy."""
    levels = policy.levels[proposal.use_case]
    key = proposal.action if proposal.action in levels.actions else DEFAULT_KEY
    return PolicyRule(level="L5", path=f"levels.{proposal.use_case}.{key}",
                      risk=max(proposal.risk, policy.risk_of(proposal.action)),
                      reversible=policy.is_reversible(proposal.action))


def needs_a_person(policy: Policy, proposal: Proposal) -> tuple[PolicyRule, str | None]:
    """The rule in force for `proposal` and why, at L5, it still needs a person (None: the policy may carry it
    out on its own). Shadow mode asks the same question without doing anything (shadow/service.py)."""
    rule, action = policy_rule(policy, proposal), proposal.action
    if not rule.reversible:
        return rule, f"{action} cannot be undone under the policy; an irreversible action needs a person at every level"
    if rule.risk is not Risk.low:
        return rule, f"{action} is {rule.risk.value} risk here; L5 executes only low-risk, reversible actions"
    if action not in EFFECTS:
        return rule, f"{action} needs a connector to the outside world, and none is set up"
    return rule, None


def _execute_within_policy(session: Session, approval: Approval, policy: Policy, at: dt.datetime, *,
                           created: bool) -> Approval:
    rule, why = needs_a_person(policy, approval.proposal)
    action = approval.proposal.action
    if why is None:
        try:
            with session.begin_nested():  # a failed execution leaves the approval pending, not half-done
                decided = approve_by_policy(session=session, approval_id=approval.id, rule=rule, at=at)
                execute(session=session, approval_id=approval.id, at=decided.history[-1].at)
        except SellerloopError as e:
            why = f"executing it within policy failed: {e.one_line()}"
        else:
            return Approval.model_validate(session.get(ApprovalRow, approval.id).approval)
    if created:  # said once, when it is placed; a re-run finds it pending and says nothing new
        p = approval.proposal
        append(session=session, actor=f"policy:{rule.level}", action="approval.escalated", subject=p.subject,
               payload={"approval": approval.id, "use_case": p.use_case, "action": action, "level": rule.level,
                        "placed_as": "L4", "rule": rule.path, "risk": rule.risk.value,
                        "reversible": rule.reversible, "why": why})
    return approval


@dataclass(frozen=True)
class CarriedOut:
    """What became of an approved action: executed, or waiting (why) because nothing here can carry it out."""

    execution: Execution | None
    waiting: str | None = None


def carry_out(*, session: Session, approval_id: str, at: dt.datetime | None = None) -> CarriedOut:
    """Execute what a person approved, in the caller's transaction. The caller commits the decision first (the
    CLI, the pages and the API all do), so a failed execution never loses the decision. An action that needs a
    connector to the outside world (send_email, book_meeting, ...) stays approved, waiting for one, and says so;
    anything else that fails (a conflict: the record changed since) is raised for the caller to show."""
    try:
        with session.begin_nested():
            return CarriedOut(execute(session=session, approval_id=approval_id, at=at))
    except NoConnector as e:
        return CarriedOut(None, f"approved; not carried out: {e.one_line()}")
