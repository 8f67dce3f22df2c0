"""One book clock: every agent dates what a person may act on from the book's today (evidence.deals.book_context),
the newest activity's day for a historical book and the wall clock's for a live one."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.drafts import TAKE_UP_DAYS, offer_for
from sellerloop.evidence.deals import LIVE_WITHIN, book_day
from sellerloop.records.models import OPEN_STAGES, Activity, Opportunity, Transcript


def test_a_historical_book_is_judged_on_its_newest_day_and_a_live_one_on_the_wall_clock():
    newest = dt.datetime(2017, 12, 31, 16, 0)
    assert book_day(newest, today=dt.date(2026, 12, 5)) == dt.date(2017, 12, 31)
    assert book_day(dt.datetime(2026, 12, 4, 9, 0), today=dt.date(2026, 12, 5)) == dt.date(2026, 12, 5)
    assert book_day(dt.datetime(2026, 12, 5) - LIVE_WITHIN, today=dt.date(2026, 12, 5)) == dt.date(2026, 12, 5)
    assert book_day(None, today=dt.date(2026, 12, 5)) == dt.date(2026, 12, 5)


def test_next_action_and_follow_up_date_their_tasks_on_the_same_book_clock(demo_engine):
    with Session(demo_engine) as session:
        newest = session.scalar(select(func.max(Activity.occurred_at))).date()
        deal_id = session.scalars(select(Opportunity.id).join(Transcript, Transcript.opportunity_id == Opportunity.id)
                                  .where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id)).first()
        nba = run_agent(session=session, use_case="next-action", subject=Subject(type="opportunity", id=deal_id))
        follow = run_agent(session=session, use_case="follow-up", subject=Subject(type="opportunity", id=deal_id))
        session.rollback()
    assert nba.as_of == follow.as_of == newest  # the demo book is an export: its own last day, not 2026
    item = next(i for i in nba.items if i.kind == "recommendation")
    offer = offer_for(run=nba, item=item, subject=f"opportunity:{deal_id}")
    assert offer.payload["due_date"] == (newest + dt.timedelta(days=TAKE_UP_DAYS)).isoformat()
    dues = [dt.date.fromisoformat(i.due) for i in follow.items if i.artifact == "task"]
    assert dues and all(due.year - newest.year in (0, -1) for due in dues)  # the call's calendar, not 2026
    email = next(i for i in follow.items if i.artifact == "email")
    assert f"{newest.year}" in next(line for line in email.content.splitlines() if line.startswith("Date:"))
