"""The governance policy file, as pydantic models (DESIGN.md §4–§5).

The models check the file's shape: known keys, known use cases and catalogue actions, levels L1..L5, sane
numbers. The governance rules that need the whole policy (and the level in force) to judge, such as "L5 is
refused for a high-risk action", live in `service.refusals`, so that every broken rule is reported at once.

A use case's levels read either as one level (`research: L2`, the level of everything it produces) or as a
mapping: `default` (the level of its output that is not a catalogue action, and of every action not named)
plus one key per catalogue action that differs (`send_email: L3`).
"""
from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sellerloop.actions.catalogue import ACTION_NAMES, Risk, get_action
from sellerloop.agents.models import Level, UseCase
from sellerloop.policy.fields import SensitiveField
from sellerloop.records.models import Role

USE_CASES: tuple[UseCase, ...] = get_args(UseCase)
LEVELS: tuple[Level, ...] = get_args(Level)
ActionName = Literal[tuple(sorted(ACTION_NAMES))]  # type: ignore[valid-type]
RoleName = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]
DEFAULT_KEY = "default"  # in a use case's levels: its output that is not an action, and every action not named


def rank(level: Level) -> int:
    """1 for L1 ... 5 for L5."""
    return LEVELS.index(level) + 1


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UseCaseLevels(_Strict):
    default: Level
    actions: dict[ActionName, Level] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, value):
        # In the file: `follow-up: L3` or `follow-up: {default: L3, send_email: L3}`; action keys sit next to
        # `default` so that a path reads `levels.follow-up.send_email`.
        if isinstance(value, str):
            return {DEFAULT_KEY: value}
        if isinstance(value, dict) and "actions" not in value:
            shaped = {"actions": {k: v for k, v in value.items() if k != DEFAULT_KEY}}
            if DEFAULT_KEY in value:
                shaped[DEFAULT_KEY] = value[DEFAULT_KEY]
            return shaped
        return value

    def level_of(self, action: str | None = None) -> Level:
        return self.actions.get(action, self.default) if action else self.default


class ApprovalPolicy(_Strict):
    """Who may approve an action placed at L4 (and every high-risk action): roles of the users table."""

    approvers: tuple[RoleName, ...] = Field(min_length=1)


class ActionRisk(_Strict):
    """A policy's view of one catalogue action. It may only make the action riskier than the catalogue says."""

    risk: Risk | None = None
    reversible: bool | None = None


class Caps(_Strict):
    max_open_per_record: int = Field(3, ge=1)
    max_per_seller_per_day: int = Field(20, ge=1)
    cooldown_days_after_rejection: int = Field(14, ge=0)
    cooldown_days_after_ignored: int = Field(7, ge=0)
    expire_after_days: int = Field(14, ge=1)


class PromotionBar(_Strict):
    """What a use case's work at its current level must show before it may move up one level."""

    min_reviewed: int = Field(50, ge=1)
    min_approved_unedited_share: float = Field(0.8, ge=0, le=1)
    max_rollbacks: int = Field(0, ge=0)


class Policy(_Strict):
    kill_switch: bool = False
    audit_logging: bool = True
    approval: ApprovalPolicy | None = None
    levels: dict[UseCase, UseCaseLevels]
    actions: dict[ActionName, ActionRisk] = Field(default_factory=dict)
    caps: Caps = Field(default_factory=Caps)
    promotion: PromotionBar = Field(default_factory=PromotionBar)
    # Fields masked for whoever the Cedar policies do not let see them (policy/fields.py says how).
    sensitive_fields: tuple[SensitiveField, ...] = ("Contact.phone",)

    def level_of(self, use_case: UseCase, action: str | None = None) -> Level:
        """The level the file sets (before the kill switch, which `levels.level_for` applies)."""
        return self.levels[use_case].level_of(action)

    def risk_of(self, action: str) -> Risk:
        """The action's risk class: the catalogue's, raised by this policy; anything irreversible is high."""
        spec, override = get_action(action), self.actions.get(action)
        risk = max(spec.risk, override.risk) if override and override.risk else spec.risk
        return Risk.high if not self.is_reversible(action) else risk

    def is_reversible(self, action: str) -> bool:
        override = self.actions.get(action)
        reversible = get_action(action).reversible
        return reversible and (override is None or override.reversible is None or override.reversible)
