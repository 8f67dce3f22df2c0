"""The JSON shape of an execution in the API (executor/views.py, and the answer to an approval)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sellerloop.executor.models import Execution
from sellerloop.utc import UtcDateTime


class ExecutionOut(BaseModel):
    id: str
    approval_id: str
    action: str
    subject: str = Field(description="the record the approval acted on, e.g. opportunity:ID")
    status: str = Field(description="done or rolled_back")
    diff: dict[str, Any] = Field(description="what changed, exactly enough to undo it: {table, id, "
                                             "field, before, after} for a field, {created: {table, id}} for "
                                             "a new row")
    executed_by: str
    executed_at: UtcDateTime
    rolled_back_by: str | None
    rolled_back_at: UtcDateTime | None

    @classmethod
    def of(cls, execution: Execution, *, diff: dict[str, Any]) -> ExecutionOut:
        return cls(id=execution.id, approval_id=execution.approval_id, action=execution.action,
                   subject=execution.subject, status=execution.status, diff=diff,
                   executed_by=execution.executed_by, executed_at=execution.executed_at,
                   rolled_back_by=execution.rolled_back_by, rolled_back_at=execution.rolled_back_at)
