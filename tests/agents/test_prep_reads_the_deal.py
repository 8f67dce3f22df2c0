"""Meeting prep from the read of the deal: the deal math, and this deal's own questions before the playbook's."""
from __future__ import annotations

import datetime as dt

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.records.models import FieldChange
from tests.agents.test_research_and_prep import _check_grounded
from tests.support.scenes import book as _book
from tests.support.scenes import call
from tests.support.scenes import email as _email


def _prep(session):
    session.commit()
    run = run_agent(session=session, use_case="prep", subject=Subject(type="opportunity", id="d1"))
    _check_grounded(session, run)
    return run.items


def test_a_budget_below_the_amount_is_on_the_agenda_and_asked_of_the_cfo(session, store):
    _book(session, amount=4821.0)
    _email(session, "e1", 5, "inbound", "Honestly, the price is higher than we budgeted. We set aside about "
                                       "$3,000 for this.")
    items = _prep(session)
    math = next(i for i in items if i.section == "agenda" and i.label.startswith("Deal math"))
    assert math.label == "Deal math: a $3,000 budget against $4,821, $1,821 short"
    question = next(i for i in items if i.section == "questions")
    assert question.label == "Budget below the amount"
    assert question.text.startswith("For Nadia Okafor (Chief Financial Officer): The budget named is $3,000 and the "
                                    "deal is $4,821")


def test_a_competitor_named_by_email_is_asked_about_and_not_listed_as_no_evidence(session, store):
    _book(session)
    _email(session, "e1", 5, "inbound", "We are also evaluating Quorum Labs, so a clear comparison would help.")
    items = _prep(session)
    labels = [i.label for i in items if i.section == "questions"]
    assert "Competitor: Quorum Labs" in labels and "Competition · no evidence yet" not in labels


def test_a_moved_close_date_raises_the_question_of_what_changed(session, store):
    _book(session)
    session.add(FieldChange(object_type="opportunity", record_id="d1", field="close_date", old_value="2018-03-30",
                            new_value="2018-04-30", changed_at=dt.datetime(2018, 2, 25, 9), changed_by="Sam Seller"))
    items = _prep(session)
    moved = next(i for i in items if i.label == "Close date moved")
    assert "The close date moved from 2018-03-30 to 2018-04-30: what changed" in moved.text


def test_prep_chases_overdue_commitments_with_who_made_them_and_skips_the_done_ones(session, store):
    _book(session)
    call(session, ("Sam Seller", "seller", "I'll send the updated proposal by Friday."),
          ("Malik Reyes", "customer", "I'll send you the list of systems we need to connect by Friday."), day=12)
    _email(session, "e1", 15, "outbound", "Hi Malik, attached is the updated proposal we discussed.")
    agenda = [i for i in _prep(session) if i.section == "agenda"]
    labels = [i.label for i in agenda]
    assert "Commitment overdue since 2018-02-16 · Malik Reyes" in labels
    assert not any("Sam Seller" in label for label in labels)  # delivered on the 15th


def test_a_promise_moved_to_a_later_day_is_chased_on_its_new_day(session, store):
    _book(session)
    call(session, ("Malik Reyes", "customer", "I'll share the procurement checklist by February 16."),
          ("Malik Reyes", "customer", "Actually, I'll share the procurement checklist by March 9."), day=12)
    labels = [i.label for i in _prep(session) if i.section == "agenda"]
    assert "Commitment due 2018-03-09 · Malik Reyes" in labels
    assert not any("overdue" in label for label in labels)


def test_prep_on_a_lost_deal_chases_nothing_and_asks_no_qualifying_questions(session, store):
    _book(session, stage="Lost", amount=4821.0)
    _email(session, "e1", 5, "inbound", "We had a demo from Helixor last week. We set aside about $3,000 for this.")
    items = _prep(session)
    assert [i.label for i in items if i.section == "agenda"] == ["Closed lost on 2018-04-30"]
    assert not [i for i in items if i.section == "questions"]
