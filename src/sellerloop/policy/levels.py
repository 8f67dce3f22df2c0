"""Autonomy levels and where each level puts an agent's output (DESIGN.md §4). Decided here and nowhere else.

The level of a use case (and of each catalogue action it proposes) comes from the policy in force
(`policy/service.py`: `SELLERLOOP_POLICY`, else the shipped `policy/data/default.yaml`). The kill switch is
applied here: while it is on, nothing is executed, and L4 and L5 fall back to L3 drafts.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from sellerloop.actions.catalogue import get_action
from sellerloop.policy.models import USE_CASES, Level, Placement, Policy, UseCase, rank
from sellerloop.policy.service import policy_in_force

PLACEMENT_BY_LEVEL: dict[Level, Placement] = {
    "L1": "reply",  # answer when asked; nothing persists on the record
    "L2": "shown",  # shown on the record
    "L3": "draft",  # drafts, never executed
    "L4": "pending_approval",  # executed after a named person approves
    "L5": "executed",  # executed within policy
}
KILL_SWITCH_LEVEL: Level = "L3"  # the highest level while the kill switch is on: drafts, nothing executed


def level_for(use_case: UseCase, action: str | None = None, policy: Policy | None = None) -> Level:
    """The level of `use_case`'s output, or of one catalogue `action` it proposes, under `policy` (default:
    the policy in force)."""
    policy = policy or policy_in_force()
    if action is not None:
        get_action(action)  # an unknown name is refused, never given a level
    if use_case not in policy.levels:
        raise KeyError(use_case)
    level = policy.level_of(use_case, action)
    if policy.kill_switch and rank(level) > rank(KILL_SWITCH_LEVEL):
        return KILL_SWITCH_LEVEL
    return level


def placement_for(level: Level) -> Placement:
    return PLACEMENT_BY_LEVEL[level]


class _LevelsInForce(Mapping):
    """`DEFAULT_LEVELS[use_case]`: the level of each use case under the policy in force, read at each lookup
    (the policy file is cached by modification time, so an edit takes effect without a restart)."""

    def __getitem__(self, use_case: UseCase) -> Level:
        if use_case not in USE_CASES:
            raise KeyError(use_case)
        return level_for(use_case)

    def __iter__(self) -> Iterator[UseCase]:
        return iter(USE_CASES)

    def __len__(self) -> int:
        return len(USE_CASES)

    def __repr__(self) -> str:
        return f"DEFAULT_LEVELS({dict(self)!r})"


DEFAULT_LEVELS: Mapping[UseCase, Level] = _LevelsInForce()
