"""`sellerloop audit ...` (being built)."""
from __future__ import annotations

import typer

audit_app = typer.Typer(help="The audit log: append-only, hash-chained.", no_args_is_help=True)
