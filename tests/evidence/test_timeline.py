"""The deal read (evidence/timeline.py) on small hand-built situations: what a seller would read off the deal."""
from __future__ import annotations

import datetime as dt

import pytest

from sellerloop.records.models import Activity, StageChange
from tests.support.scenes import MALIK, NADIA, SELLER, book, call, email, read


def _meeting(session, id, day, *people, body=None):
    session.add(Activity(id=id, kind="meeting", opportunity_id="d1", account_id="acme",
                         occurred_at=dt.datetime(2018, 2, day, 14), subject="Meeting", body=body,
                         participants=[dict(SELLER, role="attendee"), *(dict(p, role="attendee") for p in people)]))


def test_an_ask_we_answered_and_the_customer_thanked_for_waits_on_nobody(session, store):
    book(session)
    email(session, "e1", 3, "inbound", "Could you send the security questionnaire?")
    email(session, "e2", 4, "outbound", "Here it is, attached.")
    email(session, "e3", 5, "inbound", "Thanks, received.")
    session.flush()
    assert read(session).waiting == []


def test_threads_are_read_apart(session, store):
    book(session)
    email(session, "a1", 3, "inbound", "Can you send pricing?", thread="ta")
    email(session, "b1", 4, "outbound", "Sharing the case study we discussed.", thread="tb")
    session.flush()
    waiting = {(w.on, w.activity.id) for w in read(session).waiting}
    # Our email in another thread is no answer to the pricing ask; the customer's ask is no answer to ours.
    assert ("us", "a1") not in waiting and ("them", "b1") in waiting


def test_a_meeting_with_someone_else_does_not_answer_the_writers_ask(session, store):
    book(session)
    email(session, "e1", 3, "inbound", "Could we set up a technical session?")
    _meeting(session, "m1", 8, NADIA)
    session.flush()
    assert [(w.on, w.person) for w in read(session).waiting] == [("us", "Malik Reyes")]


def test_a_stage_moved_back_is_a_slip(session, store):
    book(session)
    session.add(StageChange(opportunity_id="d1", stage="Prospecting", entered_on=dt.date(2018, 2, 25)))
    session.flush()
    slips = read(session).slips
    assert [(s.field, s.old, s.new, s.on) for s in slips] == [("stage", "Engaging", "Prospecting",
                                                                dt.date(2018, 2, 25))]


def test_a_won_deal_reads_as_closed(session, store):
    book(session, stage="Won")
    session.flush()
    assert read(session).closed == "Won"


@pytest.mark.parametrize("text, name", [
    ("We had a demo from Helixor last week. It looked solid.", "Helixor"),
    ("To be honest, Northgate Technologies offered us a lower price and a faster start.", "Northgate Technologies"),
    ("I have to be straight with you: Stratavue is the front-runner right now.", "Stratavue"),
    ("Yes, Brightlane is on the list. Some of the team used them before.", "Brightlane"),
    ("We are comparing you with Corvane on price.", "Corvane"),
])
def test_a_competitor_is_read_from_the_customers_competing_words(session, store, text, name):
    book(session)
    email(session, "e1", 5, "inbound", text)
    session.flush()
    assert [m.value for m in read(session).competitors] == [name]


def test_a_competitor_our_side_compares_itself_with_counts_too(session, store):
    book(session)
    email(session, "e1", 5, "outbound", "Where we usually differ from Quorum Labs is the time to go live.")
    session.flush()
    [mention] = read(session).competitors
    assert (mention.value, mention.statement.speaker) == ("Quorum Labs", "Sam Seller")


def test_our_side_praising_a_partner_is_no_competitor(session, store):
    book(session)
    email(session, "e1", 5, "outbound", "We already use Snowflake for our own reporting, so the export is simple.")
    session.flush()
    assert read(session).competitors == []


@pytest.mark.parametrize("text, risk", [
    ("Finance has frozen new spend until the next quarter.", "frozen new spend"),
    ("The budget is frozen for now.", "budget is frozen"),
    ("Honestly, probably not this year.", "not this year"),
    ("We have put the project on hold while we reorganise.", "put the project on hold"),
    ("I have to be straight with you: another vendor is the front-runner.", "front-runner"),
])
def test_a_buyers_risk_is_read_in_their_words(session, store, text, risk):
    book(session)
    email(session, "e1", 5, "inbound", text)
    session.flush()
    assert [m.value for m in read(session).risks] == [risk]


def test_our_own_words_are_no_buyer_risk(session, store):
    book(session)
    email(session, "e1", 5, "outbound", "I hope this is not on hold on your side.")
    session.flush()
    assert read(session).risks == []


@pytest.mark.parametrize("text, budget", [
    ("We set aside about $3,000 for this.", 3000.0),
    ("Our budget for the project is $12k this year.", 12000.0),
    ("The $40,000 budget has to cover training too.", 40000.0),
])
def test_a_budget_is_read_as_a_number(session, store, text, budget):
    book(session, amount=50000.0)
    email(session, "e1", 5, "inbound", text)
    session.flush()
    found, amount, _ = read(session).budget_gap()
    assert (found, amount) == (budget, 50000.0)


def test_a_promise_we_delivered_later_is_done(session, store):
    book(session)
    call(session, ("Sam Seller", "seller", "I'll send the updated proposal by Friday."), day=12)
    email(session, "e1", 15, "outbound", "Hi Malik, attached is the updated proposal we discussed.")
    session.flush()
    [tracked] = read(session).commitments()
    assert tracked.status == "done" and tracked.done_in.uri == "activity:e1"


def test_a_promise_whose_day_passed_with_nothing_sent_is_overdue(session, store):
    book(session)
    call(session, ("Malik Reyes", "customer", "I'll send you the list of systems we need to connect by Friday."),
          day=12)
    session.flush()
    [tracked] = read(session).commitments()
    assert (tracked.status, tracked.commitment.who, tracked.commitment.due) == (
        "overdue", "Malik Reyes", dt.date(2018, 2, 16))


def test_a_promise_due_after_today_is_open(session, store):
    book(session)
    call(session, ("Sam Seller", "seller", "I will send the integration plan by March 20."), day=26)
    session.flush()
    [tracked] = read(session).commitments()
    assert tracked.status == "open"


def test_the_same_promise_said_again_is_not_its_delivery(session, store):
    book(session)
    call(session, ("Sam Seller", "seller", "I'll send the updated proposal by Friday."), day=12)
    _meeting(session, "m1", 20, MALIK, body="Next step: Sam Seller to send the updated proposal by Friday.")
    session.flush()
    statuses = {t.commitment.statement.uri.split(":")[0]: t.status for t in read(session).commitments()}
    # Not done: promised again on the 20th (for the Friday after), which is the promise that now counts.
    assert statuses == {"transcript": "moved", "activity": "overdue"}


def test_the_customers_delivery_does_not_close_our_promise(session, store):
    book(session)
    call(session, ("Sam Seller", "seller", "I'll send the updated proposal by Friday."), day=12)
    email(session, "e1", 15, "inbound", "Attached is the updated proposal from our procurement team.")
    session.flush()
    [tracked] = read(session).commitments()
    assert tracked.status == "overdue"


def test_a_signature_date_the_customer_gave_is_read_with_its_day(session, store):
    book(session)
    email(session, "e1", 20, "inbound", "Legal needs another round, so we are looking at June 4, 2018 for signature.")
    session.flush()
    said = read(session).signature_date()
    assert said.day == dt.date(2018, 6, 4) and said.value == "June 4, 2018"


def test_a_signature_date_equal_to_the_record_is_no_news(session, store):
    book(session)
    email(session, "e1", 20, "inbound", "We are on track to sign on April 30, 2018.")
    session.flush()
    assert read(session).signature_date() is None
