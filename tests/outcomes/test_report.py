"""The outcomes report (outcomes/report.py, `sellerloop outcomes report`), on a small history whose figures are
worked out by hand below."""
from __future__ import annotations

import json

import pytest

from sellerloop.executor.service import execute
from sellerloop.outcomes.report import outcomes_report
from sellerloop.store.db import session_scope
from tests.outcomes.conftest import T0, days

EDIT_RATIO = len(" to Ben") / len("Send the ROI case study to Ben")


@pytest.fixture
def history(book):
    """Five recommendations, four by next-action and one by follow-up:

        R1 deal a (seller)  book_meeting / champion   accepted, carried out; a meeting 5 days on, won 100 days on
        R2 deal d (seller)  share_asset / metrics     edited (7 of 30 characters); a reply 20 days on: too late
        R3 deal b (seller)  follow-up's own task      rejected; moved Prospecting → Engaging 10 days on
        R4 deal c (other)   book_meeting / champion   expired unanswered; lost 30 days on
        S  deal c (other)   share_asset / metrics     shown 60 days on, nobody took it up: ignored
    """
    r1 = book.decide("a", decision="accepted", recommended="book_meeting", element="champion")
    with session_scope(book.engine) as s:
        execute(session=s, approval_id=r1, at=T0)
    book.decide("d", decision="edited", recommended="share_asset", element="metrics",
                subject="Send the ROI case study", edited="Send the ROI case study to Ben")
    book.decide("b", decision="rejected", use_case="follow-up")
    book.expire("c", recommended="book_meeting", element="champion")
    book.shown("c", [("share_asset", "metrics")], at=T0 + days(60))
    book.event("meeting_booked", on="a", at=T0 + days(5))
    book.event("won", on="a", at=T0 + days(100))
    book.event("email_replied", on="d", at=T0 + days(20))
    book.event("stage_moved", on="b", at=T0 + days(10), **{"from": "Prospecting", "to": "Engaging"})
    book.event("close_date_moved", on="b", at=T0 + days(3), old="2017-04-01", new="2017-05-01")
    book.event("lost", on="c", at=T0 + days(30))
    return book


FIGURES = ("shown", "decided", "accepted", "edited", "rejected", "rolled_back", "ignored", "executed", "converted",
           "won", "lost")


def figures(rows) -> dict[str, tuple]:
    return {row.group: tuple(getattr(row, name) for name in FIGURES) for row in rows}


def test_each_grouping_counts_each_recommendation_once_with_the_figures_worked_out_by_hand(history):
    with session_scope(history.engine) as s:
        report = outcomes_report(session=s, user_id=None)
    by = report.groups
    #                                shown dec acc edit rej undo ign exe conv won lost
    assert figures(by["use-case"]) == {"next-action": (4, 2, 1, 1, 0, 0, 2, 1, 1, 1, 1),
                                       "follow-up": (1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0)}
    assert figures(by["action"]) == {"book_meeting": (2, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1),
                                     "share_asset": (2, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0),
                                     "create_task": (1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0)}
    assert figures(by["element"]) == {"champion": (2, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1),
                                      "metrics": (2, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0),
                                      "(no element)": (1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0)}
    assert figures(by["seller"]) == {history.seller: (3, 3, 1, 1, 1, 0, 0, 1, 2, 1, 0),
                                     history.other: (2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1)}
    assert figures([report.total]) == {"all": (5, 3, 1, 1, 1, 0, 2, 1, 2, 1, 1)}

    seller = next(row for row in by["seller"] if row.group == history.seller)
    assert seller.acceptance_rate == pytest.approx(2 / 3) and seller.conversion_rate == pytest.approx(2 / 3)
    assert seller.mean_edit_ratio == pytest.approx(EDIT_RATIO)
    other = next(row for row in by["seller"] if row.group == history.other)
    assert (other.acceptance_rate, other.mean_edit_ratio, other.conversion_rate) == (None, None, 0.0)
    assert [row.group for row in by["use-case"]] == ["next-action", "follow-up"]  # the most shown first


def test_a_seller_gets_the_report_on_their_own_records(history):
    with session_scope(history.engine) as s:
        report = outcomes_report(session=s, user_id=history.seller, by=["seller"])
    assert list(report.groups) == ["seller"] and [row.group for row in report.groups["seller"]] == [history.seller]
    assert report.total.shown == 3


def test_the_command_prints_every_grouping_or_the_ones_asked_for(history, cli, maven_copy):
    printed = cli(maven_copy, "outcomes", "report")
    assert printed.exit_code == 0, printed.stderr
    assert [line.split()[:2] for line in printed.stdout.splitlines() if line.startswith("by ")] == [
        ["by", "use-case"], ["by", "action"], ["by", "element"], ["by", "seller"]]
    assert "next-action" in printed.stdout and "(no element)" in printed.stdout

    as_json = cli(maven_copy, "outcomes", "report", "--by", "element", "--by", "action", "--json")
    report = json.loads(as_json.stdout)
    assert list(report["groups"]) == ["element", "action"]
    champion = next(row for row in report["groups"]["element"] if row["group"] == "champion")
    assert (champion["shown"], champion["converted"], champion["acceptance_rate"]) == (2, 1, 1.0)
    assert report["total"]["mean_edit_ratio"] == round(EDIT_RATIO, 4)

    since = json.loads(cli(maven_copy, "outcomes", "report", "--since", "2017-03-02", "--json").stdout)
    assert since["total"]["shown"] == 1  # only S, shown 60 days on


@pytest.mark.parametrize(("args", "message"), [
    (("--by", "region"), "--by region: group by one of use-case, action, element, seller"),
    (("--since", "last week"), "not a date or time: 'last week'"),
])
def test_the_command_refuses_a_bad_grouping_or_date_with_one_line(cli, maven_copy, args, message):
    refused = cli(maven_copy, "outcomes", "report", *args)
    assert refused.exit_code == 2 and message in refused.stderr and len(refused.stderr.splitlines()) == 1
