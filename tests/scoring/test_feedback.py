"""The next-best-action feedback factor: smoothed acceptance and conversion per action type × segment."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from sellerloop.records.models import Account
from sellerloop.scoring.feedback import MAX_FACTOR, MIN_FACTOR, ActionFeedback, segment_of


@dataclass(frozen=True)
class Seen:
    recommended_action: str | None
    segment: str | None
    decision: str | None
    converted: bool = False


def history(*runs: tuple[int, str, str, str, bool]) -> list[Seen]:
    return [Seen(action, segment, decision, converted) for n, action, segment, decision, converted in runs
            for _ in range(n)]


def test_with_no_history_every_factor_is_one():
    assert ActionFeedback.of([]).factor("book_meeting", "smb") == pytest.approx(1.0)


def test_a_run_of_rejections_lowers_that_action_and_leaves_the_others_alone():
    feedback = ActionFeedback.of(history((10, "book_meeting", "smb", "rejected", False)))
    assert feedback.factor("book_meeting", "smb") < 0.5
    assert feedback.factor("create_task", "smb") == pytest.approx(1.0)


def test_acceptances_after_the_rejections_bring_it_back():
    rejected = history((10, "book_meeting", "smb", "rejected", False))
    recovered = ActionFeedback.of(rejected + history((10, "book_meeting", "smb", "accepted", False)))
    assert ActionFeedback.of(rejected).factor("book_meeting", "smb") < recovered.factor("book_meeting", "smb")
    assert recovered.factor("book_meeting", "smb") == pytest.approx(1.0, abs=0.05)


def test_a_segment_without_history_borrows_what_the_action_type_did_in_the_others():
    feedback = ActionFeedback.of(history((10, "book_meeting", "enterprise", "rejected", False),
                                         (10, "book_meeting", "smb", "accepted", False)))
    smb, mid, enterprise = (feedback.factor("book_meeting", s) for s in ("smb", "mid-market", "enterprise"))
    assert smb > mid > enterprise
    assert mid == pytest.approx(1.0)  # half accepted elsewhere: no reason to move it either way


def test_without_any_outcome_event_conversion_moves_nothing():
    feedback = ActionFeedback.of(history((10, "book_meeting", "smb", "accepted", False)))
    assert feedback.adjustment("book_meeting", "smb").conversion is None
    assert feedback.factor("book_meeting", "smb") > 1


def test_accepted_recommendations_that_led_somewhere_rank_above_those_that_did_not():
    feedback = ActionFeedback.of(history((8, "book_meeting", "smb", "accepted", True),
                                         (8, "create_task", "smb", "accepted", False)))
    assert feedback.factor("book_meeting", "smb") > 1 > feedback.factor("create_task", "smb")


def test_edits_count_as_acceptance_and_expiry_as_not():
    edited = ActionFeedback.of(history((6, "log_note", "smb", "edited", False),
                                       (6, "create_task", "smb", "expired", False)))
    assert edited.factor("log_note", "smb") > 1 > edited.factor("create_task", "smb")


def test_the_factor_stays_within_its_bounds_whatever_the_history():
    low = ActionFeedback.of(history((500, "book_meeting", "smb", "rejected", False),
                                    (500, "create_task", "smb", "accepted", True)))
    assert low.factor("book_meeting", "smb") == MIN_FACTOR
    assert low.factor("create_task", "smb") <= MAX_FACTOR


def test_outcomes_without_a_recommended_action_are_not_counted():
    assert ActionFeedback.of(history((20, None, "smb", "rejected", False))).book.decided == 0


@pytest.mark.parametrize(("employees", "segment"), [(None, "unknown"), (12, "smb"), (999, "smb"),
                                                    (1000, "mid-market"), (4999, "mid-market"),
                                                    (5000, "enterprise")])
def test_segments_follow_head_count(employees, segment):
    assert segment_of(Account(id="a", name="A", employees=employees)) == segment
