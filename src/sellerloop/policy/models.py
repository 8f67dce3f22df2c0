"""The governance policy file, as pydantic models (DESIGN.md §4–§5).

The models check the file's shape: known keys, known use cases and catalogue actions, levels L1..L5, sane
numbers. The governance rules that need the whole policy (and the level in force) to judge, such as "L5 is
refused for a high-risk action", live in `service.refusals`, so that every broken rule is reported at once.

A use case's levels read either as one level (`research: L2`, the level of everything it produces) or as a
mapping: `default` (the level of its output that is not a catalogue action, and of every action not named)
plus one key per catalogue action that differs (`send_email: L3`), and optionally `shadow`: `true` runs the use
case's default level one step up in shadow (shadow/: what it would have done is recorded, never done), a list
(`[default, create_task]`) names which of its levels do, `false` or nothing runs none.
"""
from __future__ import annotations

import enum
from typing import ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sellerloop.actions.catalogue import ACTION_NAMES, Risk, get_action


class Role(str, enum.Enum):
    """Who a user is to the policy: who may approve, promote, see sensitive fields (records/models.py: User.role)."""

    seller = "seller"
    manager = "manager"
    admin = "admin"
    revops = "revops"


# The vocabulary the policy is written in; agents' output carries it too (agents/models.py).
UseCase = Literal["research", "prep", "next-action", "follow-up", "coaching", "hygiene"]
Level = Literal["L1", "L2", "L3", "L4", "L5"]
Placement = Literal["reply", "shown", "draft", "pending_approval", "executed"]  # where an output goes, by level

# The fields a policy may mark sensitive. Ids, names, owners and stages are what a record *is*: whoever may see
# the record sees them. Contact.email is left out on purpose: the same address travels in the headers of every
# email activity (evidence, governed by record access), so masking the field alone would hide nothing.
SensitiveField = Literal[
    "Account.revenue_musd", "Account.employees", "Account.website",
    "Contact.phone", "Contact.title",
    "Opportunity.amount", "Opportunity.close_value", "Opportunity.next_step",
]
MASKABLE: tuple[str, ...] = get_args(SensitiveField)
USE_CASES: tuple[UseCase, ...] = get_args(UseCase)
LEVELS: tuple[Level, ...] = get_args(Level)
ActionName = Literal[tuple(sorted(ACTION_NAMES))]  # type: ignore[valid-type]
RoleName = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]
DEFAULT_KEY = "default"  # in a use case's levels: its output that is not an action, and every action not named
SHADOW_KEY = "shadow"  # in a use case's levels: which of them run one step up in shadow


def rank(level: Level) -> int:
    """1 for L1 ... 5 for L5."""
    return LEVELS.index(level) + 1


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UseCaseLevels(_Strict):
    default: Level
    actions: dict[ActionName, Level] = Field(default_factory=dict)
    # The levels that run one step up in shadow: DEFAULT_KEY (the use case's own level, and every action that
    # inherits it) and/or catalogue actions: the same keys `promote` raises.
    shadow: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, value):
        # In the file: `follow-up: L3` or `follow-up: {default: L3, send_email: L3}`; action keys sit next to
        # `default` so that a path reads `levels.follow-up.send_email`.
        if isinstance(value, str):
            return {DEFAULT_KEY: value}
        if isinstance(value, dict) and "actions" not in value:
            shaped = {"actions": {k: v for k, v in value.items() if k not in (DEFAULT_KEY, SHADOW_KEY)}}
            for key in (DEFAULT_KEY, SHADOW_KEY):
                if key in value:
                    shaped[key] = value[key]
            return shaped
        return value

    @field_validator("shadow", mode="before")
    @classmethod
    def _shadow_from_file(cls, value):
        if value is None or value is False:
            return ()
        if value is True:
            return (DEFAULT_KEY,)
        keys = [value] if isinstance(value, str) else value
        if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
            raise ValueError("expected true, false or a list of what runs in shadow (default and/or actions)")
        unknown = [k for k in keys if k != DEFAULT_KEY and k not in ACTION_NAMES]
        if unknown:
            raise ValueError(f"cannot shadow {unknown[0]!r}: name {DEFAULT_KEY} (the use case's own level) or "
                             f"catalogue actions ({', '.join(sorted(ACTION_NAMES))})")
        return tuple(dict.fromkeys(keys))

    def level_of(self, action: str | None = None) -> Level:
        return self.actions.get(action, self.default) if action else self.default

    def shadow_key(self, action: str | None = None) -> str | None:
        """Which shadowed level `action` (None: output that is no action) runs one step up from, if any: its own
        (an action named in shadow without a level of its own runs one step above the default it inherits, as
        `promote --action` would put it), or the default it inherits."""
        if action in self.shadow:
            return action
        if action in self.actions:
            return None
        return DEFAULT_KEY if DEFAULT_KEY in self.shadow else None


class ApprovalPolicy(_Strict):
    """Who may approve an action placed at L4 (and every high-risk action): roles of the users table."""

    approvers: tuple[RoleName, ...] = Field(min_length=1)


class ActionRisk(_Strict):
    """A policy's view of one catalogue action. It may only make the action riskier than the catalogue says."""

    risk: Risk | None = None
    reversible: bool | None = None


MAX_RECOMMENDATIONS = 10  # the most next-best actions one record may show, whatever the policy or `--limit` say


class Caps(_Strict):
    """How much is put in front of people: what waits for them, and how much an agent shows on one record."""

    # Approvals waiting for a decision on one record at a time, and new ones for one seller in a day.
    max_open_approvals_per_record: int = Field(3, ge=1)
    max_new_approvals_per_seller_per_day: int = Field(20, ge=1)
    # Next-best actions shown on one record (`--limit` and the API's `limit` choose otherwise for one run).
    recommendations_per_record: int = Field(3, ge=1, le=MAX_RECOMMENDATIONS)
    cooldown_days_after_rejection: int = Field(14, ge=0)
    cooldown_days_after_ignored: int = Field(7, ge=0)
    expire_after_days: int = Field(14, ge=1)

    # Their names before they said what they count; a policy file written with them still reads the same.
    RENAMED: ClassVar[dict[str, str]] = {"max_open_per_record": "max_open_approvals_per_record",
                                         "max_per_seller_per_day": "max_new_approvals_per_seller_per_day"}

    @model_validator(mode="before")
    @classmethod
    def _former_names(cls, data):
        if isinstance(data, dict):
            data = {cls.RENAMED.get(key, key): value for key, value in data.items()}
        return data


class PromotionBar(_Strict):
    """What a use case's work at its current level must show before it may move up one level."""

    min_reviewed: int = Field(50, ge=1)
    min_approved_unedited_share: float = Field(0.8, ge=0, le=1)
    max_rollbacks: int = Field(0, ge=0)


class FeedbackSample(_Strict):
    """How much evidence outcomes need before they move anything: a couple of clicks or one undo is noise."""

    # decisions on an action type before acceptance and conversion re-rank it (scoring/feedback.py)
    min_decisions_to_rank: int = Field(10, ge=1)
    # items reviewed at a level before the tuning report suggests lowering it (autonomy/tuning.py)
    min_reviewed_to_demote: int = Field(20, ge=1)


class Policy(_Strict):
    kill_switch: bool = False
    audit_logging: bool = True
    approval: ApprovalPolicy | None = None
    levels: dict[UseCase, UseCaseLevels]
    actions: dict[ActionName, ActionRisk] = Field(default_factory=dict)
    caps: Caps = Field(default_factory=Caps)
    promotion: PromotionBar = Field(default_factory=PromotionBar)
    feedback: FeedbackSample = Field(default_factory=FeedbackSample)
    # Fields masked for whoever the Cedar policies do not let see them (access/fields.py says how).
    sensitive_fields: tuple[SensitiveField, ...] = ("Contact.phone",)

    def level_of(self, use_case: UseCase, action: str | None = None) -> Level:
        """The level the file sets (before the kill switch, which `levels.level_for` applies)."""
        return self.levels[use_case].level_of(action)

    def with_level(self, use_case: UseCase, action: str | None, level: Level) -> Policy:
        """This policy with one level changed: the use case's default (action None) or one action's."""
        data = self.model_dump(mode="json")
        if action is None:
            data["levels"][use_case]["default"] = level
        else:
            data["levels"][use_case]["actions"][action] = level
        return Policy.model_validate(data)

    def with_shadow(self, use_case: UseCase, keys: tuple[str, ...]) -> Policy:
        """This policy with the use case's shadowed levels set to `keys`."""
        data = self.model_dump(mode="json")
        data["levels"][use_case]["shadow"] = list(keys)
        return Policy.model_validate(data)

    def without_shadows(self) -> Policy:
        data = self.model_dump(mode="json")
        for levels in data["levels"].values():
            levels["shadow"] = []
        return Policy.model_validate(data)

    def in_shadow(self, use_case: UseCase) -> Policy:
        """The policy a use case's shadow runs under: each of its shadowed levels one step up (none is raised
        past L5), and no shadows, so that judging it never asks about a shadow of a shadow."""
        levels = self.levels[use_case]
        data = self.without_shadows().model_dump(mode="json")
        target = data["levels"][use_case]
        for key in levels.shadow:
            level = levels.level_of(None if key == DEFAULT_KEY else key)
            if rank(level) < len(LEVELS):
                if key == DEFAULT_KEY:
                    target["default"] = LEVELS[rank(level)]
                else:
                    target["actions"][key] = LEVELS[rank(level)]
        return Policy.model_validate(data)

    def risk_of(self, action: str) -> Risk:
        """The action's risk class: the catalogue's, raised by this policy; anything irreversible is high."""
        spec, override = get_action(action), self.actions.get(action)
        risk = max(spec.risk, override.risk) if override and override.risk else spec.risk
        return Risk.high if not self.is_reversible(action) else risk

    def is_reversible(self, action: str) -> bool:
        override = self.actions.get(action)
        reversible = get_action(action).reversible
        return reversible and (override is None or override.reversible is None or override.reversible)
