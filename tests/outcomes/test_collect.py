"""Reading the CRM's own history as events (outcomes.events.collect_crm_events), on the demo book. Each test
works inside one transaction that is rolled back, so the shared demo store is left as it was."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sellerloop.outcomes.events import list_events
from sellerloop.pipeline.outcomes import collect_crm_events
from sellerloop.records.models import Activity, FieldChange, Opportunity, StageChange, Task


@pytest.fixture
def demo(demo_engine):
    with demo_engine.connect() as connection, connection.begin() as transaction:
        yield Session(bind=connection)
        transaction.rollback()


def test_it_finds_every_kind_of_event_the_demo_book_holds_and_collecting_again_adds_nothing(demo):
    added = collect_crm_events(session=demo)
    events = list_events(session=demo)
    kinds = Counter(e.kind for e in events)
    # The demo book has replies, meetings, stage moves with wins and losses, and pushed close dates; its tasks are
    # all open, so none is completed.
    assert set(kinds) == {"email_replied", "meeting_booked", "stage_moved", "won", "lost", "close_date_moved"}
    assert added == len(events) and all(e.source == "crm" for e in events)
    # Every deal that entered Won or Lost on a known day is won or lost once; every meeting is one; every change
    # of a close date that was set before is a move.
    closed = Counter(demo.scalars(select(StageChange.stage).where(StageChange.entered_on.is_not(None))))
    assert (kinds["won"], kinds["lost"]) == (closed["Won"], closed["Lost"]) and closed["Won"] > 1000
    assert kinds["meeting_booked"] == _count(demo, select(Activity).where(Activity.kind == "meeting"))
    assert kinds["close_date_moved"] == _count(demo, select(FieldChange).where(
        FieldChange.field == "close_date", FieldChange.old_value.is_not(None)))

    assert collect_crm_events(session=demo) == 0
    assert len(list_events(session=demo)) == len(events)


def _count(session, stmt) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


def test_a_win_is_a_stage_move_from_where_the_deal_was_on_the_day_it_closed(demo):
    collect_crm_events(session=demo)
    deal = demo.scalars(select(Opportunity).where(Opportunity.stage == "Won", Opportunity.close_date.is_not(None),
                                                  Opportunity.engage_date.is_not(None))
                        .order_by(Opportunity.id)).first()
    events = list_events(session=demo, subjects=[f"opportunity:{deal.id}"], kinds=["stage_moved", "won"])
    closing = dt.datetime.combine(deal.close_date, dt.time())
    assert sorted((e.occurred_at, e.kind, e.detail) for e in events) == [
        (dt.datetime.combine(deal.engage_date, dt.time()), "stage_moved", {"from": "Prospecting", "to": "Engaging"}),
        (closing, "stage_moved", {"from": "Engaging", "to": "Won"}),
        (closing, "won", {})]


def test_a_reply_is_an_inbound_email_in_a_thread_we_wrote_in_first(demo):
    collect_crm_events(session=demo)
    for reply in list_events(session=demo, kinds=["email_replied"])[:50]:
        email = demo.get(Activity, reply.detail["activity_id"])
        earlier = demo.scalars(select(Activity.direction).where(
            Activity.thread_id == email.thread_id, Activity.occurred_at < email.occurred_at)).all()
        assert email.direction == "inbound" and "outbound" in earlier
        assert (reply.occurred_at, reply.subject) == (email.occurred_at, f"opportunity:{email.opportunity_id}")
    inbound_first = demo.scalars(select(Activity).where(Activity.kind == "email", Activity.direction == "inbound")
                                 .order_by(Activity.thread_id, Activity.occurred_at)).all()
    replied = {e.detail["activity_id"] for e in list_events(session=demo, kinds=["email_replied"])}
    openers = [a for a in inbound_first if not demo.scalars(select(Activity.id).where(
        Activity.thread_id == a.thread_id, Activity.direction == "outbound",
        Activity.occurred_at < a.occurred_at)).first()]
    assert openers and not replied & {a.id for a in openers}  # a buyer writing first has replied to nothing


def test_a_moved_close_date_says_from_what_to_what(demo):
    collect_crm_events(session=demo)
    moved = list_events(session=demo, kinds=["close_date_moved"])[0]
    change = demo.scalars(select(FieldChange).where(
        FieldChange.record_id == moved.subject.partition(":")[2], FieldChange.field == "close_date",
        FieldChange.old_value.is_not(None))).one()
    assert moved.detail == {"old": change.old_value, "new": change.new_value}
    assert moved.occurred_at == change.changed_at


def test_a_task_done_is_dated_by_its_due_date_and_never_before_it_was_made(demo):
    deal = demo.scalars(select(Opportunity.id).where(Opportunity.stage == "Engaging").order_by(Opportunity.id)).first()
    created = dt.datetime(2017, 11, 20, 9, 30)
    demo.add_all([
        Task(id="t-due", opportunity_id=deal, subject="Send the quote", due_date=dt.date(2017, 12, 1),
             status="done", created_at=created),
        Task(id="t-overdue", opportunity_id=deal, subject="Call back", due_date=dt.date(2017, 11, 1),
             status="done", created_at=created),
        Task(id="t-open", opportunity_id=deal, subject="Not yet", due_date=dt.date(2017, 12, 1), status="open",
             created_at=created)])
    demo.flush()
    collect_crm_events(session=demo)
    done = {e.detail["task_id"]: e.occurred_at for e in list_events(session=demo, kinds=["task_completed"])}
    assert done == {"t-due": dt.datetime(2017, 12, 1), "t-overdue": created}


def test_collecting_since_a_day_takes_only_what_happened_from_then_on(demo):
    since = dt.datetime(2017, 12, 1)
    collect_crm_events(session=demo, since=since)
    events = list_events(session=demo)
    assert events and min(e.occurred_at for e in events) >= since
    later = collect_crm_events(session=demo)  # the rest, and nothing twice
    assert later > 0 and len(list_events(session=demo)) == len(events) + later
