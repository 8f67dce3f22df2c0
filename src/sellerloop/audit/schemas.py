"""The JSON shapes of the audit log in the API (audit/views.py)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from sellerloop.audit.models import AuditEntry
from sellerloop.audit.service import Head, VerifyResult
from sellerloop.utc import UtcDateTime


class AuditEntryOut(BaseModel):
    seq: int = Field(description="the row's position in the log: 1, 2, 3, ... with no gaps")
    recorded_at: UtcDateTime = Field(description="UTC")
    actor: str = Field(description="a user id, or a service identity such as executor or agent:hygiene")
    action: str = Field(description="e.g. approval.approved, execution.done, policy.changed")
    subject: str = Field(description="the record (or policy file) it was about")
    payload: Any = Field(description="the evidence: sources, decision, diff, policy rule ...")
    prev_hash: str
    hash: str = Field(description="sha256 of the row's canonical form, chained to the row before")

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(seq=e.seq, recorded_at=e.recorded_at, actor=e.actor, action=e.action, subject=e.subject,
                   payload=e.payload, prev_hash=e.prev_hash, hash=e.hash)


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int = Field(description="rows found intact (all of them when ok)")
    first_bad_seq: int | None
    problem: str | None = Field(description="the first bad row and what is wrong with it, in one line")
    head: str | None = Field(description="the last row as SEQ:SHA256: keep it outside the database and "
                                         "pass it back as `head` later to prove nothing up to it was "
                                         "rewritten or cut")

    @classmethod
    def of(cls, result: VerifyResult, head: Head | None) -> AuditVerifyOut:
        return cls(ok=result.ok, checked=result.checked, first_bad_seq=result.first_bad_seq,
                   problem=result.problem, head=str(head) if head else None)
