"""`sellerloop policy ...` (being built)."""
from __future__ import annotations

import typer

policy_app = typer.Typer(help="The governance policy: autonomy levels, caps, approvals.", no_args_is_help=True)
