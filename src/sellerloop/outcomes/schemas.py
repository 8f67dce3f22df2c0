"""The JSON shapes of the outcomes API (outcomes/views.py): outcomes, downstream events and the report."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from sellerloop.agents.models import Level
from sellerloop.outcomes.events import EVENT_KINDS, MAX_EXTERNAL_ID, EventKind, EventSource
from sellerloop.outcomes.report import Grouping, Report
from sellerloop.outcomes.service import Kind, Outcome
from sellerloop.utc import UtcDateTime
from sellerloop.web.api import StorableJson


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
    at: UtcDateTime = Field(description="when it came to this")
    reason: str | None = Field(description="why, for a rejection")

    @classmethod
    def of(cls, o: Outcome) -> OutcomeOut:
        return cls(approval_id=o.approval_id, kind=o.kind, use_case=o.use_case, level=o.level,
                   action=o.action, subject=o.subject, owner_id=o.owner_id, decided_by=o.decided_by, at=o.at,
                   reason=o.reason)


# --- downstream events (outcomes/events.py) ------------------------------------------------------------------

class EventIn(BaseModel):
    """One event on a record, as a sender reports it. `kind` and `occurred_at` are checked by
    outcomes.events.record_event, so a bad one is refused with the same one line as on `import events`."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=24, json_schema_extra={"enum": list(EVENT_KINDS)},
                      description="what happened: " + ", ".join(EVENT_KINDS))
    subject: str = Field(max_length=200, description="the record: opportunity:ID or account:ID")
    occurred_at: str = Field(max_length=40, examples=["2017-06-20T10:00:00Z"],
                             description="when it happened, ISO 8601 (a date alone is its midnight, UTC)")
    external_id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID,
                             description="your id for the event: sending it again stores it once")
    detail: StorableJson | None = Field(None, description='e.g. {"from": "Engaging", "to": "Won"}')


# One event, or a list of them. Told apart by shape before validating, so a bad one is refused naming only what is
# wrong with it ("events.2.kind: Field required"), not also why it is not the other shape.
EventsIn = Annotated[EventIn, Tag("event")] | Annotated[list[EventIn], Tag("events")]
ONE_OR_MANY = Discriminator(lambda body: "events" if isinstance(body, list) else "event")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: EventKind
    subject: str
    occurred_at: UtcDateTime
    source: EventSource = Field(description="how it arrived: api, import, or crm (read off the CRM's history)")
    external_id: str
    detail: dict[str, Any]
    recorded_at: UtcDateTime


# --- the report (outcomes/report.py) -------------------------------------------------------------------------

class FiguresOut(BaseModel):
    group: str = Field(description="the use case, action, playbook element or seller (all: the total)")
    shown: int
    decided: int = Field(description="accepted + edited + rejected + rolled back")
    accepted: int
    edited: int
    rejected: int
    rolled_back: int
    ignored: int = Field(description="expired, or shown, undecided and past the policy's expiry")
    executed: int
    converted: int = Field(description="followed in its window by a reply, meeting, task done, forward stage "
                                       "move or win")
    won: int
    lost: int
    acceptance_rate: float | None
    mean_edit_ratio: float | None = Field(description="over the edited ones: the share of the text rewritten")
    conversion_rate: float | None = Field(description="converted / shown")


class ReportOut(BaseModel):
    total: FiguresOut
    groups: dict[Grouping, list[FiguresOut]]

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        return cls.model_validate(report.as_dict())
