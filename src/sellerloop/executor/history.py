"""What the executor did, as one person may see it, and undoing it as that person.

An execution is seen by whoever may see its approval (the record it acted on: approvals.service); undoing one
is a decision on that record as much as approving it was, so it takes the same right
(approvals.service.require_decider), as on the pages and the CLI. A field change's before and after are masked
for someone who may not see that field.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.access.fields import HIDDEN, field_hidden
from sellerloop.approvals.service import get_approval, list_approvals, require_decider
from sellerloop.errors import NotFound
from sellerloop.executor.models import Execution
from sellerloop.executor.service import rollback
from sellerloop.records.models import User

CHUNK = 500  # ids per IN (...) list: well under every backend's limit on bound parameters


def list_executions(*, session: Session, user_id: str | None) -> list[Execution]:
    """Executions on records `user_id` may see (all of them for the local operator), newest first."""
    stmt = select(Execution).order_by(Execution.executed_at.desc(), Execution.id)
    if user_id is None:
        return list(session.scalars(stmt))
    visible = [a.id for a in list_approvals(session=session, user_id=user_id)]
    found: list[Execution] = []
    for start in range(0, len(visible), CHUNK):
        found += session.scalars(stmt.where(Execution.approval_id.in_(visible[start:start + CHUNK])))
    found.sort(key=lambda e: e.id)
    found.sort(key=lambda e: e.executed_at, reverse=True)
    return found


def get_execution(*, session: Session, execution_id: str, user_id: str | None) -> Execution:
    execution = session.get(Execution, execution_id)
    if execution is None:
        raise NotFound(f"no execution with id {execution_id!r}")
    if user_id is not None:
        get_approval(session=session, approval_id=execution.approval_id, user_id=user_id)  # 403: a stranger
    return execution


def roll_back(*, session: Session, execution_id: str, user_id: str) -> Execution:
    """Undo an execution as `user_id`, who must be allowed to see and decide on its record."""
    execution = get_execution(session=session, execution_id=execution_id, user_id=user_id)
    require_decider(session=session, subject=execution.subject, user_id=user_id)
    return rollback(session=session, execution_id=execution_id, by=user_id)


def diff_as_seen(*, session: Session, execution: Execution, user: User | None) -> dict:
    """The execution's diff, with a sensitive field's values masked for someone who may not see that field."""
    diff = execution.diff
    if user is None or "field" not in diff:
        return diff
    if not field_hidden(session, user=user, object_type=diff.get("table", ""), record_id=diff.get("id"),
                        name=diff["field"]):
        return diff
    return diff | {"before": HIDDEN, "after": HIDDEN}
