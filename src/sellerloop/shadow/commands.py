"""`sellerloop shadow run|report`: run a use case one level up in shadow over the book (now or as of a past day),
and what it would have done compared with what people did.

Registered in cli.py as `sellerloop shadow`. Errors are one line on stderr with the error's exit code (2 for bad
input: an unknown use case, one that cannot run in shadow, a bad date or window).
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer

from sellerloop.console import open_store
from sellerloop.errors import BadInput

shadow_app = typer.Typer(help="Shadow mode: a use case one level up, nothing placed, compared with what people did.",
                         no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="print JSON")]


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--as-of: {value!r} is not a date (YYYY-MM-DD)") from None


@shadow_app.command("run")
def run_command(
    use_case: Annotated[str, typer.Argument(help="next-action, hygiene or follow-up")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="DATE", help="replay the book as it stood at the end of DATE (YYYY-MM-DD); default: "
                                        "the book's today")] = None,
    window: Annotated[int | None, typer.Option(
        "--window", metavar="DAYS", help="how many days after DATE what people did is compared (default: the "
                                         "policy's caps.expire_after_days)")] = None,
    playbook: Annotated[str | None, typer.Option("--playbook", help="a shipped playbook or a YAML file")] = None,
    as_json: Json = False,
) -> None:
    """Run USE_CASE one level above its own over the open deals of the book and record what it would have done;
    nothing is placed, approved, executed or written to a record. Prints the shadow evidence it adds to."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sellerloop.policy.service import policy_in_force
    from sellerloop.shadow.replay import run_shadow
    from sellerloop.shadow.schemas import ShadowRunOut
    from sellerloop.shadow.service import evidence_by_level
    from sellerloop.store.db import session_scope

    day = _day(as_of)
    engine, err = open_store(), Console(stderr=True)
    with Progress(TextColumn("deals"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("deals", total=None)
        run = run_shadow(engine=engine, use_case=use_case, as_of=day, window_days=window, playbook=playbook,
                         progress=lambda done, total: bar.update(task, completed=done, total=total))
    policy = policy_in_force()
    with session_scope(engine) as session:
        evidence = list(evidence_by_level(session=session, policy=policy, use_case=use_case).values())
    if as_json:
        sys.stdout.write(ShadowRunOut.of(run, evidence).model_dump_json(indent=2) + "\n")
        return
    what = f"replayed as of {run.as_of}" if run.replay else f"as of the book's today, {run.as_of}"
    lines = [f"{use_case} in shadow at {run.level}, {what}: {run.deals} deals, {run.items} items, "
             f"{run.recorded} would-be actions recorded ({run.already_recorded} recorded already), nothing placed; "
             f"compared over the {run.window_days} days after"]
    lines += [f"  {e}" for e in run.errors] + [_evidence_line(e) for e in evidence]
    if run.failed:
        lines.append(f"{run.failed} deals failed (the first are listed above)")
    sys.stdout.write("\n".join(lines) + "\n")


def _evidence_line(e) -> str:
    share = f" ({e.agreement_share:.0%} of compared)" if e.compared else ""
    bar = "would meet the promotion bar" if e.meets_bar else f"would not meet the bar: {'; '.join(e.reasons)}"
    return (f"{e.label} {e.current_level} -> shadow {e.level}: {e.recorded} recorded, {e.compared} compared, "
            f"{e.agreed} agreed{share}, {e.edited} edited, {e.disagreed} disagreed, {e.pending} pending; {bar}")


@shadow_app.command("report")
def report_command(
    use_case: Annotated[str | None, typer.Argument(help="one use case (default: every one with shadow actions)")]
    = None,
    examples: Annotated[int, typer.Option("--examples", min=0, max=50, help="examples per verdict")] = 3,
    as_json: Json = False,
) -> None:
    """Each shadow action compared with what people did: agreed, edited, disagreed or pending, with examples
    (the record, the would-be action, what the person did)."""
    from sellerloop.shadow.schemas import ReportOut
    from sellerloop.shadow.service import VERDICTS, report
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        sections = report(session=session, use_case=use_case, examples=examples)
    if as_json:
        data = [ReportOut.of(s).model_dump(mode="json") for s in sections]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if not sections:
        sys.stdout.write("no shadow actions recorded yet: run `sellerloop shadow run USE_CASE` or put a use case in "
                         "shadow (`sellerloop autonomy shadow USE_CASE --on`) before `run-all`\n")
        return
    lines = []
    for section in sections:
        counts = ", ".join(f"{section.counts[v]} {v}" for v in VERDICTS)
        lines.append(f"{section.use_case} in shadow at {', '.join(section.levels)}: {counts}")
        for verdict in VERDICTS:
            for e in section.examples[verdict]:
                lines.append(f"  {verdict:<9} {e.record} as of {e.as_of:%Y-%m-%d}: would {e.would_have}; "
                             f"the person: {e.person}")
    sys.stdout.write("\n".join(lines) + "\n")
