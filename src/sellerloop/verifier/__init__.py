"""The verifier: a claim reaches a person only when its cited quotes support it (DESIGN.md §5).

`models` (Claim, SourceRef, Verdict) has no dependencies, so every station can import it; `service` checks
claims against the store."""
