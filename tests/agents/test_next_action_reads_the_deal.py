"""Next-best action from one read of the deal (evidence/timeline.py): small books, each a situation a seller knows,
with the judgement a seller would make. Every recommendation is also checked grounded (quotes verbatim, verified).
"""
from __future__ import annotations

import datetime as dt

import pytest

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.records.models import Activity, FieldChange
from tests.agents.test_next_action import _assert_grounded, _recommendations
from tests.support.scenes import MALIK, NADIA, SELLER
from tests.support.scenes import book as _book
from tests.support.scenes import email as _email
from tests.support.scenes import read as _read


def _run(session):
    session.commit()
    run = run_agent(session=session, use_case="next-action", subject=Subject(type="opportunity", id="d1"), limit=10)
    _assert_grounded(session, run)
    return _recommendations(run)


def test_an_inbound_ask_nobody_answered_is_a_reply_owed_not_a_deal_gone_quiet(session, store):
    _book(session)
    _email(session, "e1", 1, "outbound", "Hi Malik, here is the overview we discussed.")
    _email(session, "e2", 3, "inbound", "Thanks Sam. Could we set up a technical session with our architects "
                                       "next week? The team has questions on the API.")
    session.flush()
    read = _read(session)
    assert [(w.on, w.person, w.activity.id) for w in read.waiting] == [("us", "Malik Reyes", "e2")]
    first = _run(session)[0]
    assert first.action == "send_email"
    assert first.label.endswith("reply to Malik Reyes's email of 2018-02-03, 26 days without an answer")
    assert "Could we set up a technical session with our architects next week?" in first.text
    assert not any("gone quiet" in r.label for r in _run(session))


def test_a_meeting_with_the_writer_after_the_ask_answers_it(session, store):
    _book(session)
    _email(session, "e2", 3, "inbound", "Could we set up a technical session with our architects next week?")
    session.add(Activity(id="m1", kind="meeting", opportunity_id="d1", account_id="acme",
                         occurred_at=dt.datetime(2018, 2, 8, 14), subject="Technical session",
                         participants=[dict(SELLER, role="attendee"), dict(MALIK, role="attendee")]))
    session.flush()
    assert _read(session).waiting == []


def test_our_follow_up_with_no_answer_waits_on_them(session, store):
    _book(session)
    _email(session, "e1", 1, "inbound", "Please send the proposal when it is ready.")
    _email(session, "e2", 2, "outbound", "Hi Malik, the proposal is attached. Does it match what you need?")
    session.flush()
    assert [(w.on, w.person, w.days) for w in _read(session).waiting] == [("them", "Malik Reyes", 27)]


def test_a_competitor_named_in_an_email_is_found_and_handled(session, store):
    _book(session)
    _email(session, "e1", 5, "inbound", "Thanks for the call. We are also evaluating Quorum Labs, so a clear "
                                       "comparison would help me make the case internally.", thread="t2")
    _email(session, "e2", 6, "outbound", "Happy to send a comparison.", thread="t2")
    session.flush()
    read = _read(session)
    assert [(m.value, m.statement.speaker) for m in read.competitors] == [("Quorum Labs", "Malik Reyes")]
    handled = next(r for r in _run(session) if "competitor" in r.label)
    assert handled.label.endswith("competitor: Malik Reyes named Quorum Labs on 2018-02-05")
    assert handled.action == "share_asset" and handled.playbook_element in {"competition", "decision_criteria"}


def test_a_budget_below_the_amount_is_flagged_with_both_figures(session, store):
    _book(session, amount=4821.0)
    _email(session, "e1", 5, "inbound", "Honestly, the price is higher than we budgeted. We set aside about "
                                       "$3,000 for this.", thread="t2")
    _email(session, "e2", 6, "outbound", "Understood, let me look at options.", thread="t2")
    session.flush()
    budget, amount, _ = _read(session).budget_gap()
    assert (budget, amount) == (3000.0, 4821.0)
    gap = next(r for r in _run(session) if "budget gap" in r.label)
    assert "a budget of $3,000 against the $4,821 deal" in gap.label


def test_a_budget_that_covers_the_amount_is_no_gap(session, store):
    _book(session, amount=2500.0)
    _email(session, "e1", 5, "inbound", "We set aside about $3,000 for this.", thread="t2")
    session.flush()
    assert _read(session).budget_gap() is None


def test_a_buyers_risk_in_their_own_words_is_escalated(session, store):
    _book(session)
    _email(session, "e1", 5, "inbound", "I have to be straight with you: the budget is frozen until the next "
                                       "quarter.", thread="t2")
    _email(session, "e2", 6, "outbound", "Thanks for telling me.", thread="t2")
    session.flush()
    risk = next(r for r in _run(session) if "buyer risk" in r.label)
    assert 'Malik Reyes said "budget is frozen"' in risk.label and risk.action == "create_task"


def test_a_lost_deal_gets_a_loss_review_and_never_a_meeting(session, store):
    _book(session, stage="Lost")
    _email(session, "e1", 5, "inbound", "I have to be straight with you: Helixor is the front-runner right now, "
                                       "mostly on price.", thread="t2")
    session.flush()
    recommendations = _run(session)
    assert [r.action for r in recommendations] == ["create_task"]
    assert recommendations[0].label.endswith("loss review: lost on 2018-04-30; Malik Reyes named Helixor")


def test_one_deal_never_gets_the_same_action_twice(session, store):
    _book(session)
    session.add(FieldChange(object_type="opportunity", record_id="d1", field="close_date", old_value="2018-03-30",
                            new_value="2018-04-30", changed_at=dt.datetime(2018, 2, 25, 9), changed_by="Sam Seller"))
    _email(session, "e1", 5, "inbound", "We set aside about $3,000 for this.", thread="t2")
    session.flush()
    actions = [r.action for r in _run(session)]
    assert len(actions) == len(set(actions)) and len(actions) >= 2


def test_people_on_the_deal_come_role_holders_and_the_engaged_first_and_the_cfo_holds_the_budget(session, store):
    _book(session)
    session.add(Activity(id="m1", kind="meeting", opportunity_id="d1", account_id="acme",
                         occurred_at=dt.datetime(2018, 2, 8, 14), subject="Pricing review",
                         participants=[dict(SELLER, role="attendee"), dict(NADIA, role="attendee")]))
    session.flush()
    people = _read(session).people
    assert [(p.contact.name, p.met, p.economic_buyer) for p in people] == [
        ("Nadia Okafor", 1, True), ("Malik Reyes", 0, False)]


@pytest.mark.parametrize("text", [
    "We use Excel for this today.",  # a tool, said in passing: "use Excel" is not a vendor in the race
    "Thanks. We are also evaluating options internally.",
])
def test_ordinary_words_are_not_taken_for_a_competitor(session, store, text):
    _book(session)
    _email(session, "e1", 5, "inbound", text, thread="t2")
    session.flush()
    assert _read(session).competitors == []
