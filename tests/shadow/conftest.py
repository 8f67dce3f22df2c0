"""A small book whose history straddles a day (DAY): what happened up to it, and what people did after it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from sellerloop.approvals.models import ApprovalRow
from sellerloop.audit.models import AuditEntry
from sellerloop.executor.models import Execution
from sellerloop.records.models import (
    Account,
    Activity,
    Contact,
    FieldChange,
    Opportunity,
    OpportunityContact,
    StageChange,
    Task,
    Transcript,
    User,
    Utterance,
)
from sellerloop.shadow.models import ShadowAction
from sellerloop.store.db import session_scope
from tests.autonomy.test_autonomy import policy_file

DAY = dt.date(2017, 11, 15)  # the day the book is replayed as of (a Wednesday)
LATE = "Zebra"  # a word only in what happened after DAY


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day} {time}")


def _people(s) -> None:
    s.add_all([User(id="rita", name="Rita Ops", role="revops"), User(id="mo", name="Mo Manager", role="manager"),
               User(id="sam", name="Sam Seller", role="seller", manager_id="mo", email="sam@ours.example")])
    s.flush()
    s.add(Account(id="acme", name="Acme", owner_id="sam"))
    s.flush()
    s.add(Contact(id="ana", account_id="acme", name="Ana Lima", title="CFO", email="ana@acme.example",
                  role_in_deal="economic_buyer"))


@pytest.fixture
def book(engine):
    """Three deals of Acme, owned by Sam:
    o1  Engaging since 2017-09-01, open now; its close date was 2018-02-28 on DAY (moved to 2018-03-30 by Sam after
        it); a meeting and Ana's email asking to push the close before DAY, a call on DAY, and after DAY: a meeting
        naming a new next step, Sam's recap email, Sam's task;
    o2  Engaging on DAY, won since (2017-12-20);
    o3  engaged after DAY, with nothing recorded before it."""
    with session_scope(engine) as s:
        _people(s)
        s.flush()
        s.add_all([
            Opportunity(id="o1", name="Acme renewal", account_id="acme", owner_id="sam", stage="Engaging",
                        amount=5000, close_date=dt.date(2018, 3, 30), next_step="Send the proposal"),
            Opportunity(id="o2", name="Acme expansion", account_id="acme", owner_id="sam", stage="Won",
                        amount=8000, close_value=8000, close_date=dt.date(2017, 12, 20)),
            Opportunity(id="o3", name="Acme pilot", account_id="acme", owner_id="sam", stage="Engaging",
                        amount=1000, close_date=dt.date(2018, 4, 30)),
        ])
        s.flush()
        s.add_all([OpportunityContact(opportunity_id=o, contact_id="ana") for o in ("o1", "o2", "o3")])
        s.add_all([
            StageChange(opportunity_id="o1", stage="Prospecting"),
            StageChange(opportunity_id="o1", stage="Engaging", entered_on=dt.date(2017, 9, 1)),
            StageChange(opportunity_id="o2", stage="Prospecting"),
            StageChange(opportunity_id="o2", stage="Engaging", entered_on=dt.date(2017, 10, 1)),
            StageChange(opportunity_id="o2", stage="Won", entered_on=dt.date(2017, 12, 20)),
            StageChange(opportunity_id="o3", stage="Prospecting"),
            StageChange(opportunity_id="o3", stage="Engaging", entered_on=dt.date(2017, 12, 1)),
            FieldChange(object_type="opportunity", record_id="o1", field="close_date", old_value=None,
                        new_value="2018-02-28", changed_at=at("2017-09-01"), changed_by="Sam Seller"),
            FieldChange(object_type="opportunity", record_id="o1", field="close_date", old_value="2018-02-28",
                        new_value="2018-03-30", changed_at=at("2017-11-25"), changed_by="Sam Seller"),
        ])
        seller, ana = ({"name": "Sam Seller", "email": "sam@ours.example", "user_id": "sam"},
                       {"name": "Ana Lima", "email": "ana@acme.example", "contact_id": "ana"})
        common = {"account_id": "acme", "owner_id": "sam"}
        s.add_all([
            Activity(id="a-meeting", kind="meeting", opportunity_id="o1", occurred_at=at("2017-11-10"),
                     subject="Renewal review", body="Good session with Ana.\nNext step: Ana to share the budget "
                     "plan.", participants=[seller | {"role": "attendee"}, ana | {"role": "attendee"}], **common),
            Activity(id="a-push", kind="email", direction="inbound", opportunity_id="o1", occurred_at=at("2017-11-13"),
                     subject="Timeline", body="Hi Sam,\n\nWe have to push the close to March 30 because procurement "
                     "needs more time.\n\nAna Lima\nCFO",
                     participants=[ana | {"role": "from"}, seller | {"role": "to"}], **common),
            Activity(id="a-call", kind="call", direction="outbound", opportunity_id="o1",
                     occurred_at=at("2017-11-15", "14:00"), subject="Renewal call", body="Recorded call.",
                     participants=[seller | {"role": "attendee"}, ana | {"role": "attendee"}], **common),
            Activity(id="a-late", kind="meeting", opportunity_id="o1", occurred_at=at("2017-11-20"),
                     subject=f"{LATE} workshop", body=f"Next step: {LATE} rollout plan with the board.\nWe have to "
                     "push the close to April 30.", participants=[seller | {"role": "attendee"}], **common),
            Activity(id="a-recap", kind="email", direction="outbound", opportunity_id="o1",
                     occurred_at=at("2017-11-21"), subject="Recap", body="Hi Ana, here is the recap.",
                     participants=[seller | {"role": "from"}, ana | {"role": "to"}], **common),
            Activity(id="a-o2", kind="email", direction="inbound", opportunity_id="o2", occurred_at=at("2017-10-05"),
                     subject="Expansion", body="Hi Sam, we would like to expand.",
                     participants=[ana | {"role": "from"}, seller | {"role": "to"}], **common),
            Activity(id="a-o3", kind="email", direction="outbound", opportunity_id="o3", occurred_at=at("2017-12-02"),
                     subject="Pilot", body="Hi Ana, about the pilot.",
                     participants=[seller | {"role": "from"}, ana | {"role": "to"}], **common),
            Activity(id="a-last", kind="note", opportunity_id="o3", occurred_at=at("2017-12-31"), subject="Note",
                     body="Quiet week.", **common),
        ])
        s.flush()
        s.add(Transcript(id="t1", opportunity_id="o1", account_id="acme", activity_id="a-call", title="Renewal call",
                         occurred_at=at("2017-11-15", "14:00"), source_format="text"))
        s.flush()
        s.add_all([Utterance(transcript_id="t1", seq=i, speaker=speaker, text=text) for i, (speaker, text) in
                   enumerate([("Sam Seller", "Thanks for your time today, Ana."),
                              ("Ana Lima", "Happy to help. I'll send the signed security review by Friday."),
                              ("Sam Seller", "Great. I'll send you the pricing proposal by Monday.")], 1)])
        s.add(Task(id="task-by-sam", opportunity_id="o1", account_id="acme", owner_id="sam",
                   subject="Call Ana about procurement", due_date=dt.date(2017, 11, 24), created_at=at("2017-11-16")))
    return engine


team_policy = policy_file  # the shipped default with a small promotion bar, put in force (tests/policy)


def counts(engine) -> dict[str, int]:
    """What shadow mode must never add to: approvals, executions, tasks, activities, field and stage history, and
    audit entries other than its own."""
    with session_scope(engine) as s:
        def n(model, *where):
            return s.scalar(select(func.count()).select_from(model).where(*where))
        return {"approvals": n(ApprovalRow), "executions": n(Execution), "tasks": n(Task), "activities": n(Activity),
                "field_history": n(FieldChange), "stage_history": n(StageChange),
                "audit": n(AuditEntry, AuditEntry.action != "shadow.recorded")}


def deals(engine) -> dict[str, tuple]:
    with session_scope(engine) as s:
        return {o.id: (o.stage, o.close_date, o.close_value, o.next_step) for o in s.scalars(select(Opportunity))}


def shadow_actions(engine, use_case: str | None = None) -> list[ShadowAction]:
    with session_scope(engine) as s:
        stmt = select(ShadowAction).order_by(ShadowAction.subject, ShadowAction.id)
        if use_case:
            stmt = stmt.where(ShadowAction.use_case == use_case)
        rows = list(s.scalars(stmt))
        s.expunge_all()
        return rows
