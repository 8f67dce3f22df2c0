"""The playbook tuning report: verdicts per recommendation type and element, and level suggestions with their
evidence, from real approvals (the autonomy tests' book and helpers)."""
from __future__ import annotations

import pytest

from sellerloop.autonomy.tuning import MIN_EVIDENCE, judge, level_suggestions, tuning_report
from sellerloop.config import get_settings
from sellerloop.outcomes.report import Figures
from sellerloop.policy.service import load_policy
from sellerloop.store.db import session_scope
from tests.autonomy import test_autonomy
from tests.autonomy.test_autonomy import decide, policy_file

book = test_autonomy.book  # the autonomy tests' fixture: a deal, its seller, a manager and a RevOps user


def figures(group="book_meeting", *, shown=0, decided=0, accepted=0, rejected=0, ignored=0, converted=0):
    return Figures(group=group, shown=shown, decided=decided, accepted=accepted, rejected=rejected, ignored=ignored,
                   converted=converted)


BOOK = figures("all", shown=200, decided=100, accepted=60, rejected=40, ignored=20, converted=20)  # converts 10 %


@pytest.mark.parametrize(("row", "verdict"), [
    (figures(shown=9, decided=5, accepted=5, ignored=4), "too little evidence"),
    (figures(shown=20, decided=20, accepted=8, rejected=12), "rejected"),
    (figures(shown=30, decided=4, accepted=4, ignored=26), "ignored"),
    (figures(shown=40, decided=20, accepted=18, rejected=2, converted=8), "converts"),
    (figures(shown=40, decided=20, accepted=18, rejected=2, converted=4), "steady"),
])
def test_each_row_gets_the_first_verdict_that_holds(row, verdict):
    assert judge(row, book=BOOK).verdict == verdict


def test_a_verdict_says_its_figures():
    assert judge(figures(shown=30, decided=4, accepted=4, ignored=26), book=BOOK).why == \
        "26 of 30 were left unanswered until they ran out"
    assert str(MIN_EVIDENCE) in judge(figures(shown=3, decided=3, accepted=3), book=BOOK).why


def suggestions(engine):
    with session_scope(engine) as s:
        return {(x.use_case, x.action): x for x in level_suggestions(session=s, policy=load_policy(
            get_settings().policy))}


def test_a_level_whose_record_meets_the_bar_is_suggested_for_promotion_with_its_evidence(book, tmp_path,
                                                                                         monkeypatch):
    policy_file(tmp_path, monkeypatch, min_reviewed=4)
    decide(book, approved=4)
    found = suggestions(book)[("hygiene", "create_task")]
    assert (found.suggestion, found.level, found.to) == ("promote", "L3", "L4")
    assert found.why.startswith("4 of 4 reviewed at L3 approved unedited (100%)")
    assert found.evidence["current"]["reviewed"] == 4


def test_a_level_people_mostly_reject_is_suggested_for_demotion_and_one_short_of_evidence_is_not(book, tmp_path,
                                                                                                monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=2, rejected=17)
    assert ("hygiene", "create_task") not in suggestions(book)  # 19 reviewed: not enough to judge
    decide(book, rejected=1)
    found = suggestions(book)[("hygiene", "create_task")]
    assert (found.suggestion, found.to) == ("demote", "L2")
    assert found.why == "18 of 20 reviewed at L3 rejected (90%)"


def test_the_report_reads_outcomes_by_action_and_element(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=6, rejected=6)
    with session_scope(book) as s:
        report = tuning_report(session=s)
    (task,) = [v for v in report.by_action if v.row.group == "create_task"]
    assert (task.row.decided, task.row.accepted, task.row.rejected) == (12, 6, 6)
    assert task.verdict == "rejected"


def test_one_undo_suggests_no_demotion_until_the_policys_sample_is_reviewed(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=1, rolled_back=1)
    assert ("hygiene", "create_task") not in suggestions(book)  # 2 reviewed, one undone: noise, not a trend
    decide(book, approved=18)
    found = suggestions(book)[("hygiene", "create_task")]
    assert (found.suggestion, found.to) == ("demote", "L2") and "1 rolled back" in found.why
