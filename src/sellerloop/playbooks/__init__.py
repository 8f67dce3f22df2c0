"""Playbooks: sales methodologies as data (MEDDICC, BANT, SPIN or a team's own file) and per-deal coverage."""
from sellerloop.playbooks.models import Element, ElementCoverage, Evidence, EvidenceRule, Playbook, StageExit
from sellerloop.playbooks.service import (
    DEFAULT_PLAYBOOK,
    PLAYBOOK_ENV,
    element_coverage,
    exit_gaps,
    get_playbook,
    load_playbook,
    shipped_playbooks,
)

__all__ = ["DEFAULT_PLAYBOOK", "PLAYBOOK_ENV", "Element", "ElementCoverage", "Evidence", "EvidenceRule",
           "Playbook", "StageExit", "element_coverage", "exit_gaps", "get_playbook", "load_playbook",
           "shipped_playbooks"]
