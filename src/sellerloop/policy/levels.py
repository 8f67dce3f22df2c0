"""Autonomy levels and where each level puts an agent's output (DESIGN.md §4). Decided here and nowhere else."""
from __future__ import annotations

from sellerloop.agents.models import Level, Placement, UseCase

PLACEMENT_BY_LEVEL: dict[Level, Placement] = {
    "L1": "reply",  # answer when asked; nothing persists on the record
    "L2": "shown",  # shown on the record
    "L3": "draft",  # drafts, never executed
    "L4": "pending_approval",  # executed after a named person approves
    "L5": "executed",  # executed within policy
}
# Until a team's policy file says otherwise (the governance work), every use case starts low.
DEFAULT_LEVELS: dict[UseCase, Level] = {
    "research": "L2", "prep": "L2", "next-action": "L2", "follow-up": "L3", "coaching": "L2", "hygiene": "L3",
}


def placement_for(level: Level) -> Placement:
    return PLACEMENT_BY_LEVEL[level]
