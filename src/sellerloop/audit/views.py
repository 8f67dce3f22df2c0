"""The audit API: read the log and prove it was not changed since (audit/service.py). Admins and RevOps only,
who own the policy and answer for what the agents did; anyone else is refused (403)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from sellerloop.audit.schemas import AuditEntryOut, AuditVerifyOut
from sellerloop.audit.service import LIMITS, Head, find_entries, head, verify
from sellerloop.web.api import ERRORS, Page, Paging, paging, require_governor
from sellerloop.web.deps import get_session

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=ERRORS)
READ_THE_LOG = "read the audit log"


@router.get("", response_model=Page[AuditEntryOut], summary="The audit log, newest first")
def audit_log(actor: str | None = Query(None, max_length=LIMITS["actor"],
                                        description="only what this actor did"),
              action: str | None = Query(None, max_length=LIMITS["action"],
                                         description="only this action, e.g. approval.rejected"),
              pages: Paging = Depends(paging),
              session: Session = Depends(get_session)) -> Page[AuditEntryOut]:
    require_governor(session, to=READ_THE_LOG)
    rows, total = find_entries(session=session, actor=actor, action=action, offset=pages.offset,
                               limit=pages.page_size)
    return Page[AuditEntryOut].of([AuditEntryOut.of(r) for r in rows], total=total, paging=pages)


@router.get("/verify", response_model=AuditVerifyOut, summary="Prove the log was not changed")
def audit_verify(expect_head: str | None = Query(None, alias="head", max_length=200, description=(
                     "a head kept from earlier, SEQ:SHA256: also prove the log still reaches it unchanged")),
                 session: Session = Depends(get_session)) -> AuditVerifyOut:
    """Walks the whole chain and names the first row that was edited, deleted, inserted or moved."""
    require_governor(session, to=READ_THE_LOG)
    anchor = Head.parse(expect_head) if expect_head is not None else None
    return AuditVerifyOut.of(verify(session=session, expect_head=anchor), head(session=session))
