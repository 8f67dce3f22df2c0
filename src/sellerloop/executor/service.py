"""The executor: carries out approved actions on the store, once, and undoes them exactly.

One transaction per execution holds everything: the claim on the idempotency key (the `executions` row), the
effect, the approval's new state and the audit entry. The store is the CRM here, so its own transaction is the
outbox: a crash at any point before the commit leaves none of it, after the commit all of it, and the
approval itself was committed before (so it is never lost). Running the same approval again finds its
execution and does nothing: approving twice, retrying, or restarting after a crash gives one effect.

A field change writes only if the field still holds the approved `old` value; otherwise it is a conflict and
nothing is written (someone changed the record since the agent looked). Rollback writes the exact previous value
back, under the same rule: only if the field still holds what the execution wrote.

An action approved by the policy (L5, no person) runs only if it is low-risk and reversible, checked again here;
its audit entry carries the rule it ran under (level, risk, reversibility).

Actions that reach outside the store (send_email, book_meeting, share_asset, request_intro, add_to_sequence)
need a connector, which does not exist yet: they are refused, permanently, with a reason.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import Risk, is_reversible, validate_payload
from sellerloop.approvals.models import (
    APPROVED,
    POLICY_IDENTITY_PREFIX,
    Approval,
    ApprovalRow,
    InvalidTransition,
)
from sellerloop.approvals.service import now, save
from sellerloop.audit.service import append as audit
from sellerloop.errors import NotFound, SellerloopError
from sellerloop.executor.models import Execution
from sellerloop.records.models import Account, Activity, FieldChange, Opportunity, Task
from sellerloop.records.writable import column_of, in_domain, value_for

EXECUTOR = "executor"
CRASH_ENV = "SELLERLOOP_CRASH_AT"  # tests only: a checkpoint name at which the process dies on the spot


class ExecutionConflict(SellerloopError):
    """The record changed since the action was approved; nothing was written. Permanent: propose it again."""

    exit_code = 1
    http_status = 409
    permanent = True


class NoConnector(SellerloopError):
    exit_code = 2
    http_status = 422
    permanent = True


WRITER_MARK = "sellerloop ("  # how the field history names a change the executor wrote, not a person


def written_by(by: str) -> str:
    return f"{WRITER_MARK}{by})"


def checkpoint(name: str) -> None:
    """Die here if a test asked to (crash tests inject kills at every step of an execution)."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def execution_id_for(approval_id: str) -> str:
    return f"x-{approval_id}"


def execute(*, session: Session, approval_id: str, by: str = EXECUTOR, at: dt.datetime | None = None) -> Execution:
    """Carry out an approved action in the caller's transaction (commit it to make it happen)."""
    at = at or now()
    row = session.get(ApprovalRow, approval_id)
    if row is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    key = execution_id_for(approval_id)
    done = session.get(Execution, key)
    if done is not None:
        return done  # idempotent: this approval was carried out already
    approval = Approval.model_validate(row.approval)
    if approval.state not in APPROVED:
        raise InvalidTransition(f"approval {approval_id} is {approval.state.value}: only an approved action runs")
    rule = approval.policy_rule
    if approval.approver.startswith(POLICY_IDENTITY_PREFIX) and not _within_policy(approval):
        # Approve_by_policy refuses this already; checked again here, whoever wrote the stored approval.
        raise InvalidTransition(f"approval {approval_id} was approved by {approval.approver}, but the policy may "
                                "execute only low-risk, reversible actions at L5; a person must approve it")
    checkpoint("claimed")
    effect = EFFECTS.get(approval.proposal.action)
    if effect is None:
        raise NoConnector(f"{approval.proposal.action} needs a connector to the outside world, and none is set up")
    diff = effect(session, approval.payload, key, at)
    checkpoint("effect")
    execution = Execution(id=key, approval_id=approval_id, action=approval.proposal.action,
                          subject=approval.proposal.subject, status="done", diff=diff, executed_by=by, executed_at=at)
    session.add(execution)
    save(session=session, row=row, approval=approval.executed(by=by, at=at, execution_id=key))
    checkpoint("approval")
    audit(session=session, actor=by, action="execution.done", subject=approval.proposal.subject,
          payload={"approval": approval_id, "execution": key, "action": approval.proposal.action,
                   "approver": approval.approver, "diff": diff, "sources": approval.proposal.sources}
          | ({"policy": rule.model_dump(mode="json")} if rule is not None else {}))
    checkpoint("audit")
    session.flush()
    return execution


def _within_policy(approval: Approval) -> bool:
    rule = approval.policy_rule
    return (rule is not None and rule.level == "L5" and rule.risk is Risk.low and rule.reversible
            and approval.proposal.risk is Risk.low and is_reversible(approval.proposal.action))


def rollback(*, session: Session, execution_id: str, by: str, at: dt.datetime | None = None) -> Execution:
    """Undo an execution exactly, in the caller's transaction; audited like the execution."""
    at = at or now()
    execution = session.get(Execution, execution_id)
    if execution is None:
        raise NotFound(f"no execution with id {execution_id!r}")
    if execution.status != "done":
        raise InvalidTransition(f"execution {execution_id} is {execution.status}: only a done execution rolls back")
    _undo(session, execution.diff, at, by)
    execution.status, execution.rolled_back_by, execution.rolled_back_at = "rolled_back", by, at
    row = session.get(ApprovalRow, execution.approval_id)
    save(session=session, row=row, approval=Approval.model_validate(row.approval).rolled_back(
        by=by, at=at, execution_id=execution_id))
    audit(session=session, actor=by, action="execution.rolled_back", subject=execution.subject,
          payload={"execution": execution_id, "approval": execution.approval_id, "diff": execution.diff})
    session.flush()
    return execution


# --- effects ------------------------------------------------------------------------------------------------------

def _update_field(session: Session, payload: dict, key: str, at: dt.datetime) -> dict:
    change = validate_payload("update_field", payload)
    model, column = column_of(change.object, change.field)
    record = session.get(model, change.record_id, with_for_update=True)
    if record is None:
        raise ExecutionConflict(f"{change.object} {change.record_id} no longer exists; nothing was written")
    before, expected = getattr(record, change.field), value_for(column, change.old)
    if before != expected:
        raise ExecutionConflict(f"{change.object} {change.record_id} {change.field} is now {before!r}, not the "
                                f"approved old value {expected!r}; nothing was written")
    after = in_domain(change.object, change.field, value_for(column, change.new))
    _write(session, record, change.object, change.field, after, at, key)
    return {"table": change.object, "id": change.record_id, "field": change.field,
            "before": _json(column, before), "after": _json(column, after)}


def _create_task(session: Session, payload: dict, key: str, at: dt.datetime) -> dict:
    task = validate_payload("create_task", payload)
    task_id = f"task-{key}"  # from the idempotency key: a second attempt could not make a second task
    # A task nobody was named for is the record owner's, as in a CRM: the seller who works the deal does it.
    owner_id = task.owner_id or _record_owner(session, task.opportunity_id, task.account_id)
    row = Task(id=task_id, subject=task.subject, due_date=task.due_date, owner_id=owner_id,
               opportunity_id=task.opportunity_id, account_id=task.account_id, description=task.description,
               status="open", created_at=at)
    session.add(row)
    return {"created": {"table": "tasks", "id": task_id, "as_written": _as_written(row)}}


def _record_owner(session: Session, opportunity_id: str | None, account_id: str | None) -> str | None:
    record = (session.get(Opportunity, opportunity_id) if opportunity_id
              else session.get(Account, account_id) if account_id else None)
    return record.owner_id if record is not None else None


def _log_note(session: Session, payload: dict, key: str, at: dt.datetime) -> dict:
    note = validate_payload("log_note", payload)
    note_id = f"note-{key}"
    row = Activity(id=note_id, kind="note", opportunity_id=note.opportunity_id, account_id=note.account_id,
                   occurred_at=at, subject=note.subject or "Note", body=note.body, participants=[])
    session.add(row)
    return {"created": {"table": "activities", "id": note_id, "as_written": _as_written(row)}}


EFFECTS: dict[str, Callable[[Session, dict, str, dt.datetime], dict]] = {
    "update_field": _update_field, "create_task": _create_task, "log_note": _log_note,
}
CREATED = {"tasks": Task, "activities": Activity}
# The columns of a created row a person may change afterwards: undo deletes the row only while they hold what the
# execution wrote, so completing, re-dating or editing a task (or a note) is never wiped out by an undo.
AS_WRITTEN = {"tasks": ("subject", "description", "due_date", "status", "owner_id"),
              "activities": ("subject", "body", "occurred_at")}


def _as_written(row) -> dict:
    columns = row.__table__.c
    return {name: _json(columns[name], getattr(row, name)) for name in AS_WRITTEN[row.__tablename__]}


def _undo(session: Session, diff: dict, at: dt.datetime, by: str) -> None:
    if "created" in diff:
        created = diff["created"]
        row = session.get(CREATED[created["table"]], created["id"], with_for_update=True)
        if row is None:
            raise ExecutionConflict(f"{created['table']} {created['id']} no longer exists; nothing was rolled back")
        # Executions from before the snapshot was kept: a task is as it was left only while it is still open.
        expected = created.get("as_written") or ({"status": "open"} if created["table"] == "tasks" else {})
        now_there = _as_written(row)
        changed = sorted(name for name, value in expected.items() if now_there.get(name) != value)
        if changed:
            raise ExecutionConflict(f"{created['table']} {created['id']} was changed since it was created "
                                    f"({', '.join(changed)}); nothing was rolled back")
        session.delete(row)
        return
    model, column = column_of(diff["table"], diff["field"])
    record = session.get(model, diff["id"], with_for_update=True)
    after, before = value_for(column, diff["after"]), value_for(column, diff["before"])
    if record is None or getattr(record, diff["field"]) != after:
        now_value = None if record is None else getattr(record, diff["field"])
        raise ExecutionConflict(f"{diff['table']} {diff['id']} {diff['field']} is now {now_value!r}, not what the "
                                f"execution wrote ({after!r}); nothing was rolled back")
    _write(session, record, diff["table"], diff["field"], before, at, by)


def _write(session: Session, record, table: str, field: str, value, at: dt.datetime, by: str) -> None:
    old = getattr(record, field)
    setattr(record, field, value)
    column = record.__table__.c[field]
    session.add(FieldChange(object_type=table, record_id=record.id, field=field, old_value=_text(column, old),
                            new_value=_text(column, value), changed_at=at, changed_by=written_by(by)))


def _json(column, value):
    """The column's value in a form JSON keeps exactly, and value_for reads back to the same value."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _text(column, value) -> str | None:
    return None if value is None else str(_json(column, value))
