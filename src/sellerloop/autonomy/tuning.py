"""The playbook tuning report: what converts, what people ignore, and which autonomy levels to change.

Two halves, each resting on figures a RevOps admin can check elsewhere:

- Recommendation types and playbook elements (outcomes/report.py rows, by recommended action and by element): a
  verdict per row, from its acceptance, ignored share and conversion against the whole book's. A row with fewer
  than MIN_EVIDENCE decided or linked recommendations gets "too little evidence" rather than a verdict.
- Autonomy (autonomy/service.py evidence at the current level, shadow/service.py evidence one level up): a
  suggestion to promote where the bar is met (the promotion itself stays the audited `autonomy promote`), to
  demote where, of at least the policy's `feedback.min_reviewed_to_demote` reviewed items, people rejected at
  least DEMOTE_REJECTED_SHARE or the executor had to undo more than the bar allows, and a note where shadow
  evidence supports a promotion the current level has not earned yet. Each suggestion carries the evidence
  behind it, in figures.

The report suggests; it never changes the policy. Changing a level is a person's decision, audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from sellerloop.autonomy import service as autonomy
from sellerloop.outcomes.report import Figures, outcomes_report
from sellerloop.policy.models import LEVELS, Policy, rank
from sellerloop.policy.service import policy_in_force
from sellerloop.shadow.service import ShadowEvidence, shadow_evidence

MIN_EVIDENCE = 10  # decided or linked recommendations before a row gets a verdict
IGNORED_SHARE = 0.5  # ignored at least this often: people do not act on it
REJECTED_SHARE = 0.5  # rejected at least this often, of those decided
CONVERTS_LIFT = 1.2  # converts at least 20 % more often than the book: it works
DEMOTE_REJECTED_SHARE = 0.5

Verdict = Literal["converts", "ignored", "rejected", "steady", "too little evidence"]


@dataclass(frozen=True)
class RowVerdict:
    row: Figures
    verdict: Verdict
    why: str


@dataclass(frozen=True)
class LevelSuggestion:
    use_case: str
    action: str | None
    level: str
    suggestion: Literal["promote", "demote", "shadow supports"]
    to: str
    why: str
    evidence: dict  # the figures behind it: the current level's, and the shadow run's when there is one

    @property
    def label(self) -> str:
        return self.use_case if self.action is None else f"{self.use_case} {self.action}"


@dataclass(frozen=True)
class TuningReport:
    book: Figures
    by_action: list[RowVerdict] = field(default_factory=list)
    by_element: list[RowVerdict] = field(default_factory=list)
    levels: list[LevelSuggestion] = field(default_factory=list)


def tuning_report(*, session: Session, user_id: str | None = None, policy: Policy | None = None) -> TuningReport:
    report = outcomes_report(session=session, user_id=user_id)
    book = report.total
    return TuningReport(book=book,
                        by_action=[judge(r, book=book) for r in report.groups["action"]],
                        by_element=[judge(r, book=book) for r in report.groups["element"]],
                        levels=level_suggestions(session=session, policy=policy or policy_in_force()))


def judge(row: Figures, *, book: Figures) -> RowVerdict:
    """One verdict per row, the first that holds: too little evidence, rejected, ignored, converts, steady."""
    seen = row.decided + row.ignored
    if seen < MIN_EVIDENCE:
        return RowVerdict(row, "too little evidence", f"{seen} decided or ignored, fewer than {MIN_EVIDENCE}")
    if row.decided and row.rejected / row.decided >= REJECTED_SHARE:
        return RowVerdict(row, "rejected", f"{row.rejected} of {row.decided} decided were rejected")
    if row.ignored / seen >= IGNORED_SHARE:
        return RowVerdict(row, "ignored", f"{row.ignored} of {seen} were left unanswered until they ran out")
    if row.conversion_rate is not None and book.conversion_rate and \
            row.conversion_rate >= CONVERTS_LIFT * book.conversion_rate:
        return RowVerdict(row, "converts", f"{row.conversion_rate:.0%} converted, against "
                                           f"{book.conversion_rate:.0%} across the book")
    return RowVerdict(row, "steady", "accepted and converting about as often as the rest of the book")


def level_suggestions(*, session: Session, policy: Policy) -> list[LevelSuggestion]:
    out = []
    for row in autonomy.evidence(session=session, policy=policy):
        shadow = shadow_evidence(session=session, use_case=row.use_case, action=row.action)
        figures = {"current": row.figures(), "shadow": shadow.as_dict() if shadow.recorded else None}
        if row.promotion_allowed:
            out.append(LevelSuggestion(row.use_case, row.action, row.level, "promote", row.next_level,
                                       _promote_why(row, shadow), figures))
        elif (why := _demote_why(row, policy)) is not None:
            out.append(LevelSuggestion(row.use_case, row.action, row.level, "demote", LEVELS[rank(row.level) - 2],
                                       why, figures))
        elif row.next_level and shadow.meets_bar:
            out.append(LevelSuggestion(
                row.use_case, row.action, row.level, "shadow supports", row.next_level,
                f"in shadow at {shadow.level}, {shadow.agreed} of {shadow.compared} would-be actions matched what "
                f"people did ({shadow.agreement_share:.0%}); at {row.level}: {row.reason}", figures))
    return out


def _promote_why(row: autonomy.LevelEvidence, shadow: ShadowEvidence) -> str:
    why = (f"{row.approved_unedited} of {row.reviewed} reviewed at {row.level} approved unedited "
           f"({row.unedited_share:.0%}), {row.rollbacks} rolled back")
    if shadow.compared:
        why += (f"; in shadow at {shadow.level}, {shadow.agreed} of {shadow.compared} would-be actions matched "
                f"({shadow.agreement_share:.0%})")
    return why


def _demote_why(row: autonomy.LevelEvidence, policy: Policy) -> str | None:
    # Below the policy's sample (feedback.min_reviewed_to_demote) nothing is suggested: one undo is not a trend.
    if rank(row.level) == 1 or row.reviewed < policy.feedback.min_reviewed_to_demote:
        return None
    if row.rollbacks > policy.promotion.max_rollbacks:
        return (f"{row.rollbacks} rolled back at {row.level}, more than promotion.max_rollbacks "
                f"({policy.promotion.max_rollbacks})")
    if row.rejected / row.reviewed >= DEMOTE_REJECTED_SHARE:
        return f"{row.rejected} of {row.reviewed} reviewed at {row.level} rejected ({row.rejected / row.reviewed:.0%})"
    return None
