"""The verifier: a claim reaches a person only when its cited quotes support it (DESIGN.md §5)."""
from sellerloop.verifier.models import Claim, SourceRef, Verdict
from sellerloop.verifier.service import verify_claim, verify_claims

__all__ = ["Claim", "SourceRef", "Verdict", "verify_claim", "verify_claims"]
