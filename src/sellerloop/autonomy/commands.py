"""`sellerloop autonomy status|evidence|promote|shadow`: the record of each use case at its level (and, with
`evidence`, what its level up did in shadow), moving up one step, and running a level up in shadow.

The lead registers `autonomy_app` in cli.py as `sellerloop autonomy`. Errors are one line on stderr with the
error's exit code (2 for a refused promotion or bad input), also when the app runs on its own.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from sellerloop.console import open_store

autonomy_app = typer.Typer(help="Autonomy levels: the evidence at each level, and promotion one step at a time.",
                           no_args_is_help=True)


def _one_line_errors(run: Callable[[], None]) -> None:
    from sellerloop.errors import SellerloopError

    try:
        run()
    except SellerloopError as e:
        sys.stderr.write(f"Error: {e.one_line()}\n")
        raise typer.Exit(e.exit_code) from None


@autonomy_app.command("status")
def status_command(
    use_case: Annotated[str | None, typer.Argument(help="one use case (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Per use case and action type: the level in force, what was reviewed at it (count, share approved
    unedited, rollbacks), whether the next level is allowed (and why not), and the shadow evidence of the level
    above: what it would have done, compared with what people did (agreed, edited, disagreed, pending). Shadow
    evidence supports a promotion; the bar is met at the current level."""

    def run() -> None:
        from sellerloop.autonomy.service import _check_names, evidence
        from sellerloop.policy.service import policy_file_in_force, policy_in_force
        from sellerloop.store.db import session_scope

        if use_case is not None:
            _check_names(use_case, None)
        policy, file = policy_in_force(), policy_file_in_force()
        with session_scope(open_store()) as session:
            rows = [r for r in evidence(session=session, policy=policy, with_shadow=True)
                    if use_case in (None, r.use_case)]
        bar = policy.promotion
        if as_json:
            sys.stdout.write(json.dumps({"policy": str(file), "kill_switch": policy.kill_switch,
                                         "bar": bar.model_dump(mode="json"),
                                         "levels": [r.as_dict() for r in rows]}, indent=2) + "\n")
            return
        sys.stdout.write(_table(rows))
        shadows = [_shadow_line(r) for r in rows if r.shadow is not None]
        if shadows:
            sys.stdout.write("\nin shadow (support for a promotion, not its bar):\n" + "\n".join(shadows) + "\n")
        sys.stdout.write(f"\npolicy: {file}\nbar: >= {bar.min_reviewed} reviewed, >= "
                         f"{bar.min_approved_unedited_share:.0%} approved unedited, <= {bar.max_rollbacks} "
                         "rollbacks, counted since the level last changed\n")
        if policy.kill_switch:
            sys.stdout.write("kill switch: ON (L4 and L5 act as L3 drafts until it is off)\n")

    _one_line_errors(run)


# `evidence` is the name the shadow-mode docs use for the same view.
autonomy_app.command("evidence", help="The same as `status`: levels, their evidence and shadow evidence.")(
    status_command)


def _shadow_line(r) -> str:
    s = r.shadow
    share = f" ({s.agreement_share:.0%} of compared)" if s.compared else ""
    verdict = "would meet the bar" if s.meets_bar else f"would not meet the bar: {'; '.join(s.reasons)}"
    return (f"{r.label}: shadow at {s.level} ({'on' if s.on else 'off'}): {s.recorded} recorded, {s.compared} "
            f"compared, {s.agreed} agreed{share}, {s.edited} edited, {s.disagreed} disagreed, {s.pending} pending; "
            f"{verdict}")


def _table(rows) -> str:
    head = ("use case", "action", "level", "reviewed", "unedited", "rollbacks", "next level")
    body = []
    for r in rows:
        share = f"{r.approved_unedited}/{r.reviewed} {r.unedited_share:.0%}" if r.reviewed else "-"
        if r.next_level is None:
            following = "- (highest level)"
        elif r.promotion_allowed:
            following = f"{r.next_level}: allowed"
        else:
            following = f"{r.next_level}: no, {r.reason}"
        body.append((r.use_case, r.action or "(default)", r.level + (" (default)" if r.inherited else ""),
                     str(r.reviewed), share, str(r.rollbacks), following))
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in [head, *body]]
    return "\n".join(line.rstrip() for line in lines) + "\n"


@autonomy_app.command("promote")
def promote_command(
    use_case: Annotated[str, typer.Argument(help="the use case, e.g. hygiene or follow-up")],
    acting_user: Annotated[str, typer.Option("--as", help="who promotes (an admin or RevOps user); audited")],
    action: Annotated[str | None, typer.Option(
        "--action", help="one catalogue action of the use case (default: the use case's own level)")] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="the level expected next; refused unless it is one step up")] = None,
) -> None:
    """Raise a use case's level (or one action's) by one step, if its record at the current level meets the
    promotion bar; writes the policy file in force and the audit log. Exit 2 with the reason when refused."""

    def run() -> None:
        from sellerloop.autonomy.service import evidence_for, promote
        from sellerloop.policy.service import load_policy, policy_file_in_force
        from sellerloop.store.db import session_scope

        file = policy_file_in_force()
        with session_scope(open_store()) as session:
            before = evidence_for(session=session, use_case=use_case, action=action, policy=load_policy(file))
            promote(session=session, use_case=use_case, action=action, by=acting_user, policy_path=file, to=to)
        sys.stdout.write(f"{before.label}: {before.level} -> {before.next_level} in {file} "
                         f"({before.reviewed} reviewed, {before.approved_unedited} approved unedited, "
                         f"{before.rollbacks} rollbacks); audited as policy.changed\n")

    _one_line_errors(run)


@autonomy_app.command("shadow")
def shadow_command(
    use_case: Annotated[str, typer.Argument(help="the use case, e.g. next-action or hygiene")],
    acting_user: Annotated[str, typer.Option("--as", help="who changes it (an admin or RevOps user); audited")],
    on: Annotated[bool | None, typer.Option("--on/--off", help="run the level above in shadow, or stop")] = None,
    action: Annotated[str | None, typer.Option(
        "--action", help="one catalogue action of the use case (default: the use case's own level)")] = None,
) -> None:
    """Run a use case's level (or one action's) one step up in shadow, or stop: `run-all` then records what the
    level above would have done, never doing it. Writes the policy file in force and the audit log."""

    def run() -> None:
        from sellerloop.autonomy.service import set_shadow
        from sellerloop.errors import BadInput
        from sellerloop.policy.service import policy_file_in_force
        from sellerloop.store.db import session_scope

        if on is None:
            raise BadInput("say --on or --off")
        file = policy_file_in_force()
        with session_scope(open_store()) as session:
            changed = set_shadow(session=session, use_case=use_case, action=action, on=on, by=acting_user,
                                 policy_path=file)
        label = use_case if action is None else f"{use_case} {action}"
        if on:
            level = changed.in_shadow(use_case).level_of(use_case, action)
            sys.stdout.write(f"{label}: in shadow at {level} in {file} (nothing it would do is done; "
                             "`run-all` records it); audited as policy.changed\n")
        else:
            sys.stdout.write(f"{label}: shadow off in {file}; audited as policy.changed\n")

    _one_line_errors(run)
