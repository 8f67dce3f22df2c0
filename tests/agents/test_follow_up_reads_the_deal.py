"""Follow-up knows what already happened after the call: a recap that went out is not drafted again."""
from __future__ import annotations

import datetime as dt

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.records.models import Activity, FieldChange, Transcript, Utterance
from tests.agents.test_research_and_prep import _check_grounded
from tests.support.scenes import MALIK, SELLER
from tests.support.scenes import book as _book


def _call(session):
    """A call with Malik on 2018-02-20 in which both sides promise something by a date."""
    session.add(Transcript(id="t1", opportunity_id="d1", account_id="acme", title="Technical session",
                           occurred_at=dt.datetime(2018, 2, 20, 15), source_format="text"))
    session.flush()
    for seq, (speaker, role, text) in enumerate((
            ("Sam Seller", "seller", "Thanks for the time today, Malik."),
            ("Malik Reyes", "customer", "I'll send you the list of systems we need to connect by Friday."),
            ("Sam Seller", "seller", "Great. I will send the integration plan by March 2."),
    ), start=1):
        session.add(Utterance(transcript_id="t1", seq=seq, speaker=speaker, role=role, text=text))


def _follow_up(session):
    session.commit()
    run = run_agent(session=session, use_case="follow-up", subject=Subject(type="opportunity", id="d1"))
    _check_grounded(session, run)
    return [i for i in run.items if i.section == "email"]


def test_a_call_with_no_email_since_gets_a_recap_draft(session, store):
    _book(session)
    _call(session)
    [email] = _follow_up(session)
    assert email.artifact == "email" and email.label.startswith("Follow-up email")


def test_a_call_we_already_recapped_by_email_gets_no_second_draft(session, store):
    _book(session)
    _call(session)
    session.add(Activity(id="recap", kind="email", opportunity_id="d1", account_id="acme", direction="outbound",
                         occurred_at=dt.datetime(2018, 2, 21, 9), subject="Recap and next steps",
                         body="Hi Malik, thanks for the session. Here is what we agreed.",
                         participants=[SELLER, dict(MALIK, role="to")]))
    [item] = _follow_up(session)
    assert item.artifact is None and item.label == "Recap already sent after the call: no new draft"
    assert item.text == "Email on 2018-02-21 09:00. Subject: Recap and next steps."
    assert item.sources[0].uri == "activity:recap"


def test_an_email_of_ours_weeks_later_is_no_recap_of_the_call(session, store):
    _book(session)
    _call(session)
    session.add(Activity(id="later", kind="email", opportunity_id="d1", account_id="acme", direction="outbound",
                         occurred_at=dt.datetime(2018, 2, 28, 9), subject="Checking in",
                         body="Hi Malik, checking in.", participants=[SELLER, dict(MALIK, role="to")]))
    [email] = _follow_up(session)
    assert email.artifact == "email"


def test_the_plan_signs_on_the_date_the_customer_gave_after_the_record_was_set(session, store):
    _book(session)
    _call(session)
    session.add(Utterance(transcript_id="t1", seq=4, speaker="Malik Reyes", role="customer",
                          text="Procurement can't sign before June 15, 2018, so let's move the close to then."))
    plan = _plan(session)
    assert plan.due == "2018-06-15" and plan.label.startswith("Signature · the date the customer gave on 2018-02-20")
    assert "(the record still says 2018-04-30)" in plan.label and plan.text.startswith("Malik Reyes: Procurement")


def test_a_close_date_set_after_the_customer_spoke_is_the_plans_date(session, store):
    _book(session)
    _call(session)
    session.add(Utterance(transcript_id="t1", seq=4, speaker="Malik Reyes", role="customer",
                          text="Procurement can't sign before June 15, 2018."))
    session.add(FieldChange(object_type="opportunity", record_id="d1", field="close_date", old_value="2018-06-15",
                            new_value="2018-04-30", changed_at=dt.datetime(2018, 2, 22, 9), changed_by="Sam Seller"))
    plan = _plan(session)
    assert plan.due == "2018-04-30" and plan.label == "Signature · the deal's close date"


def _plan(session):
    session.commit()
    run = run_agent(session=session, use_case="follow-up", subject=Subject(type="opportunity", id="d1"))
    _check_grounded(session, run)
    return next(i for i in run.items if i.section == "plan" and i.label.startswith("Signature"))
