"""The JSON shape of an outcome in the API (outcomes/views.py)."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from sellerloop.agents.models import Level
from sellerloop.outcomes.service import Kind, Outcome


class OutcomeOut(BaseModel):
    approval_id: str
    kind: Kind = Field(description="accepted (approved as proposed), edited (approved with edits), rejected, "
                                   "expired (ignored) or rolled_back")
    use_case: str
    level: Level | None = Field(description="the autonomy level it was proposed at")
    action: str
    subject: str = Field(description="the record, e.g. opportunity:ID")
    owner_id: str | None = Field(description="who owns that record")
    decided_by: str | None = Field(description="who approved or rejected it (policy:L5 for the policy)")
    at: dt.datetime = Field(description="when it came to this")
    reason: str | None = Field(description="why, for a rejection")

    @classmethod
    def of(cls, o: Outcome) -> OutcomeOut:
        return cls(approval_id=o.approval_id, kind=o.kind, use_case=o.use_case, level=o.level,
                   action=o.action, subject=o.subject, owner_id=o.owner_id, decided_by=o.decided_by, at=o.at,
                   reason=o.reason)
