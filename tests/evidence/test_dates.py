"""Dates as written in sales text, resolved against the day they were written (evidence/dates.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from sellerloop.evidence.dates import add_workdays, date_mentions, resolve_due

THURSDAY = dt.date(2017, 12, 14)


def _only(text: str, today: dt.date | None = THURSDAY):
    mention, = date_mentions(text, today=today)
    return mention


@pytest.mark.parametrize("words, due", [
    ("by Friday", "2017-12-15"),
    ("by Thursday", "2017-12-21"),  # said on a Thursday: the next one, not today
    ("this Monday", "2017-12-18"),
    ("next Friday", "2017-12-22"),  # the Friday of next week, not tomorrow
])
def test_a_weekday_is_the_first_one_after_the_day_it_was_said(words, due):
    assert resolve_due(words, THURSDAY) == dt.date.fromisoformat(due)


def test_next_week_is_its_working_days_and_its_deadline_the_friday():
    week = _only("let's talk next week")
    assert (week.first, week.last, week.precision) == (dt.date(2017, 12, 18), dt.date(2017, 12, 22), "week")
    assert resolve_due("early next week", THURSDAY) == dt.date(2017, 12, 18)


def test_this_week_said_on_a_weekend_is_the_coming_one():
    assert resolve_due("this week", dt.date(2017, 12, 16)) == dt.date(2017, 12, 22)


def test_the_end_of_a_period_is_its_last_day():
    assert (_only("by the end of the quarter").day, _only("end of March").day, _only("EOM").day) == (
        dt.date(2017, 12, 31), dt.date(2018, 3, 31), dt.date(2017, 12, 31))


def test_a_quarter_without_a_year_is_the_next_one_not_over():
    q2, q4 = _only("only in Q2"), _only("in Q4")
    assert (q2.first, q2.last, q2.precision, q2.year_given) == (dt.date(2018, 4, 1), dt.date(2018, 6, 30),
                                                                "quarter", False)
    assert (q4.first, q4.last) == (dt.date(2017, 10, 1), dt.date(2017, 12, 31))  # December is still in it
    assert _only("Q2 2019").last == dt.date(2019, 6, 30)


@pytest.mark.parametrize("text, day", [
    ("push it to March 15", "2018-03-15"),  # no year: the next March 15
    ("December 20", "2017-12-20"),
    ("the 3rd of May", "2018-05-03"),
    ("Monday, December 18", "2017-12-18"),  # the weekday belongs to the date
    ("3/15", "2018-03-15"),  # US order
    ("30/4/2018", "2018-04-30"),  # the first number cannot be a month
    ("2018-02-01", "2018-02-01"),
    ("the 5th", "2018-01-05"),  # this month's has passed
])
def test_an_explicit_date_is_that_day_and_without_a_year_the_next_one(text, day):
    assert _only(text).day == dt.date.fromisoformat(day)


@pytest.mark.parametrize("words, due", [
    ("in 2 weeks", "2017-12-28"),
    ("in 3 business days", "2017-12-19"),  # Friday, Monday, Tuesday
    ("within a couple of days", "2017-12-16"),
    ("in a month", "2018-01-14"),
])
def test_in_so_many_days_counts_from_the_day_it_was_said(words, due):
    assert resolve_due(words, THURSDAY) == dt.date.fromisoformat(due)


@pytest.mark.parametrize("text", ["February 30", "13/45/2018", "the 32nd", "May I ask a question?",
                                  "we will march on", "we review the month's numbers"])
def test_days_that_do_not_exist_and_words_that_only_look_like_dates_are_no_dates(text):
    assert date_mentions(text, today=THURSDAY) == []


def test_a_mention_keeps_its_words_and_where_they_are():
    text = "Legal can't sign before April 30, 2018, so let's aim for Q3."
    mentions = date_mentions(text, today=THURSDAY)
    assert [m.text for m in mentions] == ["April 30, 2018", "Q3"]
    assert all(text[m.start:m.end] == m.text for m in mentions)


def test_a_month_name_stands_alone_only_capitalised_and_after_a_word_that_places_it_in_time():
    assert _only("before April").last == dt.date(2018, 4, 30)
    assert date_mentions("before april", today=THURSDAY) == []
    assert _only("send it march 3").day == dt.date(2018, 3, 3)  # next to a number, any case


def test_a_date_does_not_run_across_a_line_break():
    assert _only("sign in Q2\n2019 budget").last == dt.date(2018, 6, 30)


def test_without_the_day_it_was_said_only_dates_with_a_year_resolve():
    friday, dated = date_mentions("by Friday or by March 3, 2018", today=None)
    assert (friday.text, friday.first, friday.last) == ("Friday", None, None)  # kept as words, not guessed
    assert dated.day == dt.date(2018, 3, 3)
    assert resolve_due("March 3", None) is None


def test_workdays_skip_the_weekend():
    assert add_workdays(dt.date(2017, 12, 15), 1) == dt.date(2017, 12, 18)
