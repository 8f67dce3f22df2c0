"""`sellerloop approvals list|show|propose|approve|reject` and `sellerloop rollback EXECUTION_ID`.

`propose` proposes every action an agent drafted for a person's approval, whatever its level (a person asked for
it); `propose --place` places each by its level instead (pipeline/placement.py), so L5 actions are executed within
policy.

Approving runs the executor right after the approval is committed: the approval is kept even if the execution
then fails or the process dies, and approving again carries out what is left (never twice)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sellerloop.console import open_store

approvals_app = typer.Typer(help="Actions waiting for a person, and what was decided.", no_args_is_help=True)

AsPerson = Annotated[str, typer.Option("--as", help="the user deciding (their record access applies)")]
Json = Annotated[bool, typer.Option("--json", help="print JSON")]


def _show(approvals, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps([a.model_dump(mode="json") for a in approvals], indent=2) + "\n")
        return
    for a in approvals:
        p = a.proposal
        sys.stdout.write(f"{a.id}  {a.state.value:20s} {p.action:14s} {p.subject}  {p.reason[:80]}\n")


@approvals_app.command("list")
def list_command(state: Annotated[str | None, typer.Option("--state", help="only this state")] = None,
                 acting_user: Annotated[str | None, typer.Option("--as", help="only what this user may see")] = None,
                 as_json: Json = False) -> None:
    """Approvals on records you may see, newest first."""
    from sellerloop.approvals.service import list_approvals
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        _show(list_approvals(session=session, user_id=acting_user, state=state), as_json)


@approvals_app.command("show")
def show_command(approval_id: str,
                 acting_user: Annotated[str | None, typer.Option("--as", help="who is looking")] = None,
                 as_json: Json = False) -> None:
    """One approval with its whole history."""
    from sellerloop.approvals.service import get_approval
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        approval = get_approval(session=session, approval_id=approval_id, user_id=acting_user)
    if as_json:
        sys.stdout.write(approval.model_dump_json(indent=2) + "\n")
        return
    p = approval.proposal
    lines = [f"{approval.id}: {p.action} on {p.subject} ({p.use_case}), {approval.state.value}, risk {p.risk.value}",
             f"reason: {p.reason}", f"payload: {json.dumps(approval.payload, sort_keys=True)}"]
    lines += [f"  {d.at:%Y-%m-%d %H:%M} {d.state.value} by {d.by}" + (f": {d.reason}" if d.reason else "")
              for d in approval.history]
    sys.stdout.write("\n".join(lines) + "\n")


@approvals_app.command("propose")
def propose_command(
    use_case: Annotated[str, typer.Argument(help="the agent whose drafts to propose, e.g. hygiene or follow-up")],
    opportunity: Annotated[str, typer.Option("--opportunity", help="the opportunity to run it on")],
    place: Annotated[bool, typer.Option("--place", help="place each action by its level in the policy instead: "
                                        "L1-L3 stay drafts (nothing stored), L4 waits for approval, L5 is "
                                        "executed within policy")] = False,
    as_json: Json = False,
) -> None:
    """Run an agent and propose its field changes and task drafts for approval (by the agent's identity)."""
    from sellerloop.agents.models import Subject
    from sellerloop.pipeline.placement import propose_run
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        placed = propose_run(session=session, use_case=use_case, subject=Subject(type="opportunity", id=opportunity),
                             by_level=place)
    _show(placed.approvals, as_json)
    if placed.drafts:
        sys.stderr.write(f"left as drafts by their level (nothing stored): {len(placed.drafts)}\n")
    for reason in placed.held:
        sys.stderr.write(f"held back: {reason}\n")


@approvals_app.command("approve")
def approve_command(
    approval_id: str, acting_user: AsPerson,
    payload_file: Annotated[Path | None, typer.Option("--payload", help="a JSON file with the edited payload")] = None,
    as_json: Json = False,
) -> None:
    """Approve (optionally with an edited payload) and carry it out."""
    from sellerloop.approvals.models import State
    from sellerloop.approvals.service import approve, get_approval
    from sellerloop.errors import BadInput
    from sellerloop.executor.service import checkpoint, execute
    from sellerloop.store.db import session_scope

    edited = None
    if payload_file is not None:
        try:
            edited = json.loads(payload_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BadInput(f"cannot read the edited payload: {e}", file=str(payload_file)) from None
    engine = open_store()
    with session_scope(engine) as session:  # the decision is committed on its own: it is never lost
        approval = get_approval(session=session, approval_id=approval_id, user_id=acting_user)
        if approval.state is State.proposed:
            approval = approve(session=session, approval_id=approval_id, user_id=acting_user, payload=edited)
    checkpoint("decided")
    with session_scope(engine) as session:
        execution = execute(session=session, approval_id=approval_id)
        result = {"approval": approval_id, "execution": execution.id, "status": execution.status,
                  "diff": execution.diff}
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(f"approved and executed: {execution.id} ({execution.action} on {execution.subject})\n")


@approvals_app.command("reject")
def reject_command(approval_id: str, acting_user: AsPerson,
                   reason: Annotated[str, typer.Option("--reason", help="why: the agent learns from it")]) -> None:
    """Reject, with a reason."""
    from sellerloop.approvals.service import reject
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        reject(session=session, approval_id=approval_id, user_id=acting_user, reason=reason)
    sys.stdout.write(f"rejected: {approval_id}\n")


def rollback_command(execution_id: str, acting_user: AsPerson) -> None:
    """Undo an execution exactly (only if the record still holds what it wrote); audited."""
    from sellerloop.approvals.service import get_approval
    from sellerloop.errors import NotFound
    from sellerloop.executor.models import Execution
    from sellerloop.executor.service import rollback
    from sellerloop.store.db import session_scope

    with session_scope(open_store()) as session:
        execution = session.get(Execution, execution_id)
        if execution is None:
            raise NotFound(f"no execution with id {execution_id!r}")
        get_approval(session=session, approval_id=execution.approval_id, user_id=acting_user)  # may they see it?
        rollback(session=session, execution_id=execution_id, by=acting_user)
    sys.stdout.write(f"rolled back: {execution_id}\n")
