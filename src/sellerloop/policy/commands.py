"""`sellerloop policy ...`: check a governance policy file before it is put in force."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sellerloop.policy.models import USE_CASES
from sellerloop.policy.service import POLICY_ENV, PolicyCheck, check_policy

policy_app = typer.Typer(help="The governance policy: autonomy levels, caps, approvals.", no_args_is_help=True)


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="the policy YAML file to check")],
    current: Annotated[Path | None, typer.Option(
        "--current", help=f"the policy in force, from which no level may rise more than one step "
                          f"(default: ${POLICY_ENV}, else the shipped default)")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help='print {"valid": bool, "refusals": [{"path", "reason", "line"}]}')] = False,
) -> None:
    """Check a policy file: exit 0 with a summary when it is valid, exit 2 listing every refusal (file:line,
    path, reason), one per line."""
    result = check_policy(file, current=current)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    elif result.valid:
        sys.stdout.write(_summary(result))
    else:
        sys.stdout.write("".join(r.one_line(result.file) + "\n" for r in result.refusals))
    if not result.valid:
        if not as_json:
            count = len(result.refusals)
            sys.stderr.write(f"Error: {result.file}: policy refused ({count} refusal{'s' * (count != 1)})\n")
        raise typer.Exit(2)


def _summary(result: PolicyCheck) -> str:
    policy = result.policy
    lines = [f"{result.file}: valid policy"]
    for use_case in USE_CASES:
        levels = policy.levels[use_case]
        named = ", ".join(f"{action} {level}" for action, level in sorted(levels.actions.items()))
        lines.append(f"  {use_case:<12} {levels.default}" + (f"  ({named})" if named else ""))
    approvers = ", ".join(policy.approval.approvers) if policy.approval else "none (nothing above L3)"
    caps, bar = policy.caps, policy.promotion
    lines += [
        (f"  kill switch: {'ON (nothing is executed)' if policy.kill_switch else 'off'}; "
        f"audit logging: {'on' if policy.audit_logging else 'off'}; approvers: {approvers}"),
        (f"  caps: {caps.max_open_approvals_per_record} approvals waiting per record, "
         f"{caps.max_new_approvals_per_seller_per_day} new per seller per day, "
         f"{caps.recommendations_per_record} next-best actions per record; "
        f"cooldown {caps.cooldown_days_after_rejection} d after rejection, {caps.cooldown_days_after_ignored} d "
        f"after ignored; expire after {caps.expire_after_days} d"),
        (f"  promotion: >= {bar.min_reviewed} reviewed, >= {bar.min_approved_unedited_share:.0%} approved "
        f"unedited, <= {bar.max_rollbacks} rollbacks"),
    ]
    if result.compared_with:
        lines.append(f"  no level rises more than one step from {result.compared_with}")
    return "\n".join(lines) + "\n"
