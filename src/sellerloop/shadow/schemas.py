"""The JSON shapes of shadow mode (`sellerloop shadow run|report --json`)."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from sellerloop.shadow.replay import ShadowRun
from sellerloop.shadow.service import VERDICTS, ReportSection, ShadowEvidence
from sellerloop.utc import UtcDateTime


class ShadowEvidenceOut(BaseModel):
    use_case: str
    action: str | None = Field(description="a catalogue action; null for the use case's default level")
    current_level: str
    level: str | None = Field(description="the shadow level, one above the current one (null at L5)")
    on: bool = Field(description="the policy runs this level in shadow now")
    recorded: int
    compared: int = Field(description="agreed + edited + disagreed")
    agreed: int
    edited: int
    disagreed: int
    pending: int = Field(description="not comparable (yet): never counted as agreement")
    agreement_share: float | None = Field(description="agreed / compared")
    meets_bar: bool = Field(description="the compared ones meet promotion.min_reviewed and "
                                        "min_approved_unedited_share; support for a promotion, never its bar")
    reasons: list[str]
    since: UtcDateTime | None
    until: UtcDateTime | None

    @classmethod
    def of(cls, e: ShadowEvidence) -> ShadowEvidenceOut:
        return cls.model_validate(e.as_dict())


class ShadowRunOut(BaseModel):
    use_case: str
    level: str = Field(description="the shadow level of the use case's default")
    as_of: dt.date
    window_days: int
    replay: bool = Field(description="as of a day before the book's today")
    deals: int
    items: int
    recorded: int
    already_recorded: int
    failed: int
    errors: list[str]
    seconds: float
    evidence: list[ShadowEvidenceOut]

    @classmethod
    def of(cls, run: ShadowRun, evidence: list[ShadowEvidence]) -> ShadowRunOut:
        return cls(use_case=run.use_case, level=run.level, as_of=run.as_of, window_days=run.window_days,
                   replay=run.replay, deals=run.deals, items=run.items, recorded=run.recorded,
                   already_recorded=run.already_recorded, failed=run.failed, errors=run.errors,
                   seconds=round(run.seconds, 1), evidence=[ShadowEvidenceOut.of(e) for e in evidence])


class ExampleOut(BaseModel):
    record: str = Field(description="the record, e.g. opportunity:ID")
    would_have: str = Field(description="the would-be action and where the level above would have put it")
    person: str = Field(description="what the person did, or why it is not comparable (yet)")
    as_of: UtcDateTime


class ReportOut(BaseModel):
    use_case: str
    levels: list[str]
    counts: dict[str, int] = Field(description="agreed, edited, disagreed, pending")
    examples: dict[str, list[ExampleOut]]

    @classmethod
    def of(cls, section: ReportSection) -> ReportOut:
        return cls(use_case=section.use_case, levels=list(section.levels), counts=section.counts,
                   examples={v: [ExampleOut(record=e.record, would_have=e.would_have, person=e.person,
                                            as_of=e.as_of) for e in section.examples[v]] for v in VERDICTS})
