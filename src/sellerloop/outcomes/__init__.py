"""Outcomes: what became of what the agents proposed (DESIGN.md §2, the station after the executor)."""
