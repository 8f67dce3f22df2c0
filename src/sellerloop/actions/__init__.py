"""The action catalogue: the closed list of actions agents may propose (see catalogue.py)."""
from sellerloop.actions.catalogue import (
    ACTION_NAMES,
    CATALOGUE,
    DEAL_ROLES,
    ActionSpec,
    Risk,
    UnknownAction,
    get_action,
    is_reversible,
    risk_of,
    validate_payload,
)

__all__ = ["ACTION_NAMES", "CATALOGUE", "DEAL_ROLES", "ActionSpec", "Risk", "UnknownAction", "get_action",
           "is_reversible", "risk_of", "validate_payload"]
