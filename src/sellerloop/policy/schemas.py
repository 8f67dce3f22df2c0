"""The JSON shapes of the policy in the API (policy/views.py)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sellerloop.actions.catalogue import Risk
from sellerloop.agents.models import Level, Placement, UseCase
from sellerloop.autonomy.service import LevelEvidence
from sellerloop.policy.models import ActionName, Caps, PromotionBar
from sellerloop.utc import UtcDateTime


class LevelOut(BaseModel):
    use_case: UseCase
    action: str | None = Field(description="a catalogue action; null for the use case's default (its output "
                                           "that is not an action, and every action not named)")
    level: Level = Field(description="the level the policy file sets")
    in_force: Level = Field(description="the level that applies now: the kill switch turns L4 and L5 into L3")
    placement: Placement = Field(description="where the output goes at the level in force")


class ActionPolicyOut(BaseModel):
    action: str
    title: str
    risk: Risk = Field(description="the catalogue's class, raised by the policy; an irreversible one is high")
    reversible: bool


class EvidenceOut(BaseModel):
    """The record of a use case (or one action) at its current level, and whether it may move up one step."""

    use_case: str
    action: str | None
    level: Level
    inherited: bool = Field(description="an action without a level of its own: at the use case's default")
    since: UtcDateTime | None = Field(description="when the level last changed by a promotion (null: ever)")
    reviewed: int
    approved_unedited: int
    approved_with_edits: int
    rejected: int
    rollbacks: int
    unedited_share: float | None
    next_level: Level | None
    promotion_allowed: bool
    reasons: list[str] = Field(description="why not, one per bar or rule missed")

    @classmethod
    def of(cls, e: LevelEvidence) -> EvidenceOut:
        return cls(use_case=e.use_case, action=e.action, level=e.level, inherited=e.inherited, since=e.since,
                   reviewed=e.reviewed, approved_unedited=e.approved_unedited,
                   approved_with_edits=e.approved_with_edits, rejected=e.rejected, rollbacks=e.rollbacks,
                   unedited_share=e.unedited_share, next_level=e.next_level,
                   promotion_allowed=e.promotion_allowed, reasons=list(e.reasons))


class PolicyOut(BaseModel):
    file: str = Field(description="the policy file in force (SELLERLOOP_POLICY, else the shipped default)")
    kill_switch: bool = Field(description="on: nothing is executed, L4 and L5 act as L3 drafts")
    audit_logging: bool
    approvers: list[str] = Field(description="the roles who may approve at L4 (none: nothing above L3)")
    levels: list[LevelOut]
    actions: list[ActionPolicyOut]
    caps: Caps
    promotion: PromotionBar = Field(description="what the work at a level must show before it moves up")
    sensitive_fields: list[str]
    evidence: list[EvidenceOut]


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    use_case: UseCase
    action: ActionName | None = Field(None, description="one catalogue action; leave out for the use case's "
                                                       "default")


class PromoteResult(BaseModel):
    use_case: UseCase
    action: str | None
    from_level: Level
    to_level: Level
    file: str = Field(description="the policy file that was rewritten")
