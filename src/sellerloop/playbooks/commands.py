"""CLI commands for playbooks (registered in cli.py as `sellerloop playbook show`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sellerloop.actions.catalogue import get_action
from sellerloop.playbooks.models import Playbook
from sellerloop.playbooks.service import PLAYBOOK_ENV, get_playbook


def playbook_show(
    file: Annotated[Path | None, typer.Option(
        "--file", help=f"a playbook YAML file, or a shipped name (meddicc, bant, spin); "
                       f"default ${PLAYBOOK_ENV}, else MEDDICC")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the playbook as JSON")] = False,
) -> None:
    """Show the playbook: its elements, the evidence each needs, qualifying questions, stage exit criteria and
    the actions that advance each element."""
    playbook = get_playbook(file)  # a shipped name, else a path; None means $SELLERLOOP_PLAYBOOK or MEDDICC
    if as_json:
        sys.stdout.write(json.dumps(playbook.model_dump(mode="json"), indent=2) + "\n")
        return
    print_playbook(playbook, Console(soft_wrap=True))


def print_playbook(playbook: Playbook, out: Console) -> None:
    out.print(f"[bold]{escape(playbook.name)}[/bold] ({playbook.key})")
    if playbook.description:
        out.print(escape(playbook.description))
    for element in playbook.elements:
        out.print()
        out.rule(f"[bold]{escape(element.name)}[/bold] [dim]({element.key})[/dim]", align="left")
        out.print(escape(element.description))
        out.print("[bold]Evidence[/bold] (any of):")
        for rule in element.evidence:
            out.print(f"  • [cyan]{rule.source}[/cyan]: {escape(rule.summary())}", highlight=False)
            out.print(f"    [dim]{escape(rule.detail())}[/dim]", highlight=False)
        out.print("[bold]Ask[/bold]:")
        for question in element.questions:
            out.print(f"  ? {escape(question)}", highlight=False)
        actions = ", ".join(f"{name} [dim]({get_action(name).risk.value})[/dim]" for name in element.actions)
        out.print(f"[bold]Advance with[/bold]: {actions}")
    if playbook.stages:
        out.print()
        table = Table("stage", "exits to", "needs evidence for", title="Stage exit criteria",
                      title_justify="left")
        for exit_ in playbook.stages:
            names = ", ".join(escape(playbook.element(key).name) for key in exit_.requires) or "(nothing)"
            table.add_row(exit_.stage, exit_.exits_to, names)
        out.print(table)
