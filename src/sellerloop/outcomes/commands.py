"""`sellerloop outcomes collect|report` and `sellerloop import events FILE`."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sellerloop.console import open_store

outcomes_app = typer.Typer(help="What became of the agents' recommendations: events, and the report.",
                           no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="print JSON")]
Since = Annotated[str | None, typer.Option("--since", help="from this date (or ISO time) on, e.g. 2017-06-01")]


def _since(value: str | None):
    from sellerloop.outcomes.events import as_moment

    return as_moment(value) if value else None


@outcomes_app.command("collect")
def collect_command(since: Since = None, as_json: Json = False) -> None:
    """Record what the CRM's history in the store shows (replies, meetings, stage moves, wins and losses, close
    dates moved, tasks done) as events; running it again adds nothing."""
    from sqlalchemy import func, select

    from sellerloop.outcomes.models import OutcomeEvent
    from sellerloop.pipeline.outcomes import collect_crm_events
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        added = collect_crm_events(session=session, since=_since(since))
        kinds = dict(session.execute(select(OutcomeEvent.kind, func.count()).where(OutcomeEvent.source == "crm")
                                     .group_by(OutcomeEvent.kind).order_by(OutcomeEvent.kind)).all())
    if as_json:
        sys.stdout.write(json.dumps({"added": added, "crm_events": kinds}, indent=2) + "\n")
        return
    sys.stdout.write(f"{added} new events from the CRM history; "
                     f"{sum(kinds.values())} in all: {', '.join(f'{n} {k}' for k, n in kinds.items()) or 'none'}\n")


@outcomes_app.command("report")
def report_command(
    by: Annotated[list[str] | None, typer.Option("--by", help="use-case, action, element or seller (repeatable; "
                                                 "default: all four)")] = None,
    since: Since = None,
    acting_user: Annotated[str | None, typer.Option("--as", help="only records this user may see")] = None,
    as_json: Json = False,
) -> None:
    """Per use case, action type, playbook element and seller: shown, decided, accepted, edited, rejected,
    ignored, acceptance rate, mean edit ratio, executed, converted and conversion rate, won and lost."""
    from sellerloop.outcomes.report import GROUPINGS, outcomes_report
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        report = outcomes_report(session=session, user_id=acting_user, by=by or GROUPINGS, since=_since(since))
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    _print_report(report)


COLUMNS = (("shown", "shown"), ("decided", "decided"), ("accepted", "accepted"), ("edited", "edited"),
           ("rejected", "rejected"), ("rolled_back", "undone"), ("ignored", "ignored"),
           ("acceptance_rate", "accept%"), ("mean_edit_ratio", "edit"), ("executed", "executed"),
           ("converted", "converted"), ("conversion_rate", "conv%"), ("won", "won"), ("lost", "lost"))
GROUP_WIDTH = 32


def _print_report(report) -> None:
    if not report.total.shown:
        sys.stdout.write("no recommendations yet: nothing shown in stored agent output (sellerloop run-all) and "
                         "no approvals\n")
        return
    widths = [max(len(label), 5) for _, label in COLUMNS]
    lines = []
    for grouping, rows in report.groups.items():
        lines.append(f"{('by ' + grouping):<{GROUP_WIDTH}} " + " ".join(
            f"{label:>{w}}" for (_, label), w in zip(COLUMNS, widths)))
        for figures in [*rows, report.total]:
            name = figures.group if len(figures.group) <= GROUP_WIDTH else figures.group[:GROUP_WIDTH - 1] + "…"
            lines.append(f"{name:<{GROUP_WIDTH}} " + " ".join(
                f"{_cell(field, getattr(figures, field)):>{w}}" for (field, _), w in zip(COLUMNS, widths)))
        lines.append("")
    sys.stdout.write("\n".join(lines))


def _cell(name: str, value) -> str:
    if value is None:
        return "-"
    if name.endswith("_rate"):
        return f"{value:.0%}"
    if name == "mean_edit_ratio":
        return f"{value:.2f}"
    return str(value)


def import_events_command(
    file: Annotated[Path, typer.Argument(help="a CSV with a header, or JSON Lines (.jsonl): kind, subject, "
                                         "occurred_at, external_id, and optionally detail (a JSON object)")],
    as_json: Json = False,
) -> None:
    """Import events on records (replies, meetings, stage moves, ...); all or nothing, a bad line is named."""
    from sellerloop.importers.events import import_events
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        done = import_events(session=session, path=file)
    if as_json:
        sys.stdout.write(json.dumps(done.as_dict()) + "\n")
        return
    sys.stdout.write(f"imported {done.read} events: {done.stored} new, {done.already} stored already\n")
