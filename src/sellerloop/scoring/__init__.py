"""Scoring: models fed by outcomes (win probability, next-best-action feedback) and their backtests."""
