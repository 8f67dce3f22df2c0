"""The executions API: what was carried out on the records you may see, and undoing it.

Executions happen when an approval is approved (approvals/views.py, agents/views.py); here they are read and
rolled back. Rolling back is a decision on the record, so it needs a person who may decide there
(executor/history.py).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.executor.history import diff_as_seen, get_execution, list_executions, roll_back
from sellerloop.executor.models import Execution
from sellerloop.executor.schemas import ExecutionOut
from sellerloop.web.api import ERRORS, Page, Paging, acting_person, paging
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api/executions", tags=["executions"], responses=ERRORS)

EXECUTION_ID = Path(max_length=80, description="the execution's id (x-APPROVAL_ID)")


def _out(session: Session, execution: Execution) -> ExecutionOut:
    return ExecutionOut.of(execution, diff=diff_as_seen(session=session, execution=execution,
                                                         user=served_user(session)))


def _user_id(session: Session) -> str | None:
    user = served_user(session)
    return user.id if user is not None else None


@router.get("", response_model=Page[ExecutionOut], summary="Executions on records you may see")
def executions(pages: Paging = Depends(paging),
               session: Session = Depends(get_session)) -> Page[ExecutionOut]:
    """Newest first."""
    return Page[ExecutionOut].cut(list_executions(session=session, user_id=_user_id(session)), paging=pages,
                    shape=lambda e: _out(session, e))


@router.get("/{execution_id}", response_model=ExecutionOut, summary="One execution, with its diff")
def execution(execution_id: str = EXECUTION_ID, session: Session = Depends(get_session)) -> ExecutionOut:
    return _out(session, get_execution(session=session, execution_id=execution_id, user_id=_user_id(session)))


@router.post("/{execution_id}/rollback", response_model=ExecutionOut, summary="Undo an execution exactly")
def rollback_execution(execution_id: str = EXECUTION_ID,
                       session: Session = Depends(get_session)) -> ExecutionOut:
    """Writes back exactly what was there before (deletes the task or note it created), only if the record
    still holds what the execution wrote (409 otherwise, nothing written); audited. You must be allowed to see
    and decide on the record."""
    person = acting_person(session)
    undone = roll_back(session=session, execution_id=execution_id, user_id=person.id)
    session.commit()  # before the answer says it was undone
    return _out(session, undone)
