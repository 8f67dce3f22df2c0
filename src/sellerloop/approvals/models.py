"""An approval as typed, serialisable state: what an agent proposed, and every decision taken on it since.

    proposed ──▶ approved ─────────────┐
       │   └───▶ approved_with_edits ──┼──▶ executed ──▶ rolled_back
       ├───────▶ rejected (with reason)│
       └───────▶ expired ◀─────────────┘  (an approval not executed before it expires)

The state is the last decision in `history`; nothing is ever removed from it, so who decided what, when, why,
and with which edited payload stays readable (and goes to the audit log). A transition that the diagram does not
allow is refused with a one-line reason, whoever asks: the web, the CLI or the executor.

The payload is the action's catalogue model (actions/catalogue.py), validated when proposed and again when
edited, so an approver cannot turn a note into an email nor add fields the action does not have.

Who approves: a person (`approve`), or, at L5 only, the policy itself (`approve_by_policy`): a decision of its
own kind, by `policy:L5`, carrying the rule in force (level, risk, reversibility), so that a policy approval can
never be mistaken for a person's nor made by one. It is refused for anything but a low-risk, reversible action.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerloop.actions.catalogue import Risk, get_action, is_reversible, risk_of, validate_payload
from sellerloop.errors import BadInput
from sellerloop.store.db import Base


class State(str, enum.Enum):
    proposed = "proposed"
    approved = "approved"
    approved_with_edits = "approved_with_edits"
    rejected = "rejected"
    expired = "expired"
    executed = "executed"
    rolled_back = "rolled_back"


APPROVED = frozenset({State.approved, State.approved_with_edits})
NEXT: dict[State, frozenset[State]] = {
    State.proposed: frozenset({State.approved, State.approved_with_edits, State.rejected, State.expired}),
    State.approved: frozenset({State.executed, State.expired}),
    State.approved_with_edits: frozenset({State.executed, State.expired}),
    State.executed: frozenset({State.rolled_back}),
    State.rejected: frozenset(),
    State.expired: frozenset(),
    State.rolled_back: frozenset(),
}


class InvalidTransition(BadInput):
    """The approval is not in a state that allows this. Permanent: retrying will not change its state."""

    http_status = 409


POLICY_IDENTITY_PREFIX = "policy:"  # the identity of an approval by the policy itself: policy:L5


class PolicyRule(BaseModel):
    """Why the policy approved an action on its own: the rule in force when it did (DESIGN.md §4, L5)."""

    model_config = ConfigDict(frozen=True)

    level: Literal["L5"]  # the only level at which the policy approves
    path: str  # where the policy file sets that level, e.g. "levels.follow-up.create_task"
    risk: Risk  # the action's risk under the policy, for this payload
    reversible: bool


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: State
    by: str  # a user id, the agent's service identity for `proposed`, policy:L5, the executor for `executed`
    at: dt.datetime
    reason: str | None = None  # required for a rejection; for an approval by the policy, the rule in words
    payload: dict[str, Any] | None = None  # the edited payload of approved_with_edits
    execution_id: str | None = None  # for executed and rolled_back
    rule: PolicyRule | None = None  # set only on an approval by the policy (approve_by_policy)


class Proposal(BaseModel):
    """What an agent proposes: a catalogue action with its payload, on a record, for a reason with sources."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    subject: str  # the record it acts on, as a URI: opportunity:ID
    action: str
    payload: dict[str, Any]
    reason: str  # the recommendation's text, as shown (its sources travel with it)
    sources: list[dict[str, Any]] = Field(default_factory=list)
    expires_at: dt.datetime | None = None
    # The autonomy level its use case and action ran at when it was proposed (None on approvals stored before
    # levels were recorded): the manager dashboard reads acceptance by level from it.
    level: Literal["L1", "L2", "L3", "L4", "L5"] | None = None
    # What it came from, for learning from its outcome (outcomes, scoring): the recommendation's catalogue action
    # (a seller taking up "book a meeting" gets a create_task) and the playbook element it advances.
    recommended_action: str | None = None
    playbook_element: str | None = None

    @model_validator(mode="after")
    def _catalogue_payload(self):
        validate_payload(self.action, self.payload)  # BadInput naming the field when it does not fit
        return self

    @property
    def risk(self) -> Risk:
        return risk_of(self.action, self.payload)


# What an approver may change in each action's payload, on every surface (pages, API, CLI, card): what the action
# says, never where it acts. The record, the field a change is to, its old value, the owner and the recipients stay
# the agent's, so an edit can neither retarget a write to a record the approver may not see nor mail a stranger.
EDITABLE: dict[str, tuple[str, ...]] = {
    "create_task": ("subject", "due_date", "description"),
    "update_field": ("new",),
    "send_email": ("subject", "body"),
    "log_note": ("subject", "body"),
}


def edited_fields(action: str, proposed: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """The fields `payload` changes from `proposed` (both validated as `action`'s payload), compared as text a
    person would read: a form sends LF where a draft had CRLF, and trailing spaces are invisible. BadInput if
    it changes a field an approver may not edit."""
    before = validate_payload(action, proposed).model_dump(mode="json")
    after = validate_payload(action, payload).model_dump(mode="json")
    changed = sorted(name for name in before.keys() | after.keys()
                     if _as_read(before.get(name)) != _as_read(after.get(name)))
    allowed = EDITABLE.get(action, ())
    refused = [name for name in changed if name not in allowed]
    if refused:
        may = f"only {', '.join(allowed)}" if allowed else "nothing"
        raise BadInput(f"payload: {', '.join(refused)} cannot be edited; in {action} an approver may edit {may} "
                       "(reject it and say why to have it proposed otherwise)")
    return changed


def _as_read(value: Any) -> Any:
    if isinstance(value, str):
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()
    return value


class Approval(BaseModel):
    id: str
    proposal: Proposal
    history: list[Decision]
    # Near-duplicate proposals folded into this one while it was open (their sources are in the audit log's
    # approval.merged entries). Not a state: the state machine is the same with or without merges.
    merged: int = 0

    @classmethod
    def propose(cls, *, id: str, proposal: Proposal, by: str, at: dt.datetime) -> Approval:
        get_action(proposal.action)
        return cls(id=id, proposal=proposal, history=[Decision(state=State.proposed, by=by, at=at)])

    @property
    def state(self) -> State:
        return self.history[-1].state

    @property
    def payload(self) -> dict[str, Any]:
        """The payload to execute: the approver's edited one if there is one, else the proposed one."""
        edited = next((d.payload for d in reversed(self.history) if d.state is State.approved_with_edits), None)
        return edited if edited is not None else self.proposal.payload

    @property
    def approver(self) -> str | None:
        return next((d.by for d in reversed(self.history) if d.state in APPROVED), None)

    @property
    def policy_rule(self) -> PolicyRule | None:
        """The rule under which the policy approved this, if the policy did (and not a person)."""
        decision = next((d for d in reversed(self.history) if d.state in APPROVED), None)
        return decision.rule if decision is not None else None

    def _move(self, decision: Decision) -> Approval:
        if decision.state not in NEXT[self.state]:
            allowed = ", ".join(sorted(s.value for s in NEXT[self.state])) or "nothing (it is final)"
            raise InvalidTransition(f"approval {self.id} is {self.state.value}: it cannot become "
                                    f"{decision.state.value} (allowed: {allowed})")
        if decision.at < self.history[-1].at:
            raise InvalidTransition(f"approval {self.id}: a decision cannot predate the last one")
        return self.model_copy(update={"history": [*self.history, decision]})

    def approve(self, *, by: str, at: dt.datetime, payload: dict[str, Any] | None = None) -> Approval:
        """Approve as proposed, or with an edited payload (validated as the action's payload, and changing only
        what an approver may edit: `edited_fields`). Edits that change nothing but line endings and trailing
        spaces are a plain approval."""
        if by.startswith(POLICY_IDENTITY_PREFIX):
            raise InvalidTransition(f"approval {self.id}: {by} is not a person; the policy approves only through "
                                    "approve_by_policy, at L5")
        if self._expired(at):
            raise InvalidTransition(f"approval {self.id} expired at {self.proposal.expires_at:%Y-%m-%d %H:%M}")
        if payload is None or not edited_fields(self.proposal.action, self.proposal.payload, payload):
            return self._move(Decision(state=State.approved, by=by, at=at))
        edited = validate_payload(self.proposal.action, payload).model_dump(mode="json")
        return self._move(Decision(state=State.approved_with_edits, by=by, at=at, payload=edited))

    def approve_by_policy(self, *, at: dt.datetime, rule: PolicyRule) -> Approval:
        """Approve without a person, because the policy places this action at L5. Checked here again, whatever
        the caller worked out: the rule must say low risk and reversible, and so must the catalogue for this
        payload (a stage, amount or close-date change is high risk whatever the policy file says)."""
        if self._expired(at):
            raise InvalidTransition(f"approval {self.id} expired at {self.proposal.expires_at:%Y-%m-%d %H:%M}")
        action, risk = self.proposal.action, max(self.proposal.risk, rule.risk)
        reversible = rule.reversible and is_reversible(action)
        if risk is not Risk.low or not reversible:
            what = "cannot be undone" if not reversible else f"is {risk.value} risk"
            raise InvalidTransition(f"approval {self.id}: the policy may approve only low-risk, reversible actions, "
                                    f"and this {action} {what}; a person must approve it")
        reason = f"executed within policy: {rule.path} is {rule.level}, and {action} is low risk and reversible"
        return self._move(Decision(state=State.approved, by=f"{POLICY_IDENTITY_PREFIX}{rule.level}", at=at,
                                   reason=reason, rule=rule))

    def reject(self, *, by: str, at: dt.datetime, reason: str) -> Approval:
        if not reason or not reason.strip():
            raise BadInput("a rejection needs a reason: say why, so the agent learns from it")
        return self._move(Decision(state=State.rejected, by=by, at=at, reason=" ".join(reason.split())))

    def expire(self, *, at: dt.datetime) -> Approval:
        return self._move(Decision(state=State.expired, by="system", at=at))

    def executed(self, *, by: str, at: dt.datetime, execution_id: str) -> Approval:
        return self._move(Decision(state=State.executed, by=by, at=at, execution_id=execution_id))

    def rolled_back(self, *, by: str, at: dt.datetime, execution_id: str) -> Approval:
        return self._move(Decision(state=State.rolled_back, by=by, at=at, execution_id=execution_id))

    def _expired(self, at: dt.datetime) -> bool:
        return self.proposal.expires_at is not None and at >= self.proposal.expires_at


# --- storage ----------------------------------------------------------------------------------------------------

class ApprovalRow(Base):
    """One approval: the typed state as JSON, plus the columns lists and filters need. `version` is bumped on
    every decision, and a decision is written only if the version it read is still there, so two people deciding
    at once cannot both win."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    use_case: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(24), index=True)
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer)
    approval: Mapped[dict] = mapped_column(JSON)  # Approval.model_dump(mode="json")
