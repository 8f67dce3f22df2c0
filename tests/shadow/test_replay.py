"""A shadow run over the book, now or replayed as of a past day: the agent sees only what was recorded up to that
day, the deals as they stood then, nothing is placed and nothing is written to a record."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.evidence.deals import BookContext, days_in_stage_norms, load_deals
from sellerloop.records.models import Opportunity
from sellerloop.shadow.replay import open_at, rewind, run_shadow
from tests.shadow.conftest import DAY, LATE, counts, deals, shadow_actions


def _replayed_hygiene(engine, deal_id: str):
    """The hygiene agent on one deal as of DAY, exactly as a replay runs it; the session is never committed."""
    with Session(engine) as s:
        s.info["book_context"] = BookContext(DAY, days_in_stage_norms(session=s, until=DAY))
        [deal] = load_deals(session=s, opportunities=[s.get(Opportunity, deal_id)], as_of=DAY)
        rewind(session=s, deals=[deal], as_of=DAY)
        run = run_agent(session=s, use_case="hygiene", subject=Subject(type="opportunity", id=deal_id), deal=deal)
        s.rollback()
    return run


def test_a_replay_sees_nothing_recorded_after_the_day(book):
    run = _replayed_hygiene(book, "o1")
    text = " ".join([i.text for i in run.items] + [s.quote for i in run.items for s in i.sources])
    uris = {s.uri for i in run.items for s in i.sources}
    assert LATE not in text and "activity:a-late" not in uris
    # What was known then: Ana asked to push the close to March 30, and the record said February 28.
    [close] = [i for i in run.items if i.field == "close_date"]
    assert (close.old, close.new) == ("2018-02-28", "2018-03-30")
    assert "activity:a-push" in uris


def test_the_same_agent_now_sees_what_came_later(book):
    with Session(book) as s:
        run = run_agent(session=s, use_case="hygiene", subject=Subject(type="opportunity", id="o1"))
    assert LATE in " ".join(i.text for i in run.items)


def test_deals_are_replayed_as_they_stood_on_the_day_and_nothing_is_written_back(book):
    before = deals(book)
    with Session(book) as s:
        opportunities = [s.get(Opportunity, i) for i in ("o1", "o2")]
        loaded = load_deals(session=s, opportunities=opportunities, as_of=DAY)
        rewind(session=s, deals=loaded, as_of=DAY)
        o1, o2 = opportunities
        assert (o1.stage, o1.close_date) == ("Engaging", dt.date(2018, 2, 28))  # from the field history
        assert (o2.stage, o2.close_date, o2.close_value) == ("Engaging", None, None)  # won only later
        assert o1.next_step is None  # the book keeps no history of it: what it says now may be newer
        assert not s.dirty
        s.commit()  # even a commit writes nothing: the values were set as loaded, not changed
    assert deals(book) == before


def test_only_deals_open_and_known_on_the_day_are_replayed(book):
    with Session(book) as s:
        assert open_at(session=s, as_of=DAY) == {"o1", "o2"}  # o3 was engaged later, with nothing before


def test_a_shadow_run_records_what_the_level_above_would_do_and_places_nothing(book):
    before, records = counts(book), deals(book)
    run = run_shadow(engine=book, use_case="hygiene", as_of=DAY, window_days=28)
    assert (run.replay, run.level, run.deals, run.failed) == (True, "L4", 2, 0)
    assert counts(book) == before and deals(book) == records
    rows = shadow_actions(book, "hygiene")
    assert run.recorded == len(rows) > 0
    close = next(r for r in rows if r.proposal["payload"]["field"] == "close_date")
    assert (close.subject, close.level, close.placement, close.action) == ("opportunity:o1", "L4",
                                                                           "pending_approval", "update_field")
    assert close.as_of == dt.datetime(2017, 11, 15, 23, 59, 59) and close.window_days == 28
    assert all(LATE not in str(r.proposal) for r in rows)


def test_running_the_same_day_again_records_nothing_new(book):
    first = run_shadow(engine=book, use_case="next-action", as_of=DAY, window_days=28)
    again = run_shadow(engine=book, use_case="next-action", as_of=DAY, window_days=28)
    assert first.recorded > 0 and (again.recorded, again.already_recorded) == (0, first.recorded)
    rows = shadow_actions(book, "next-action")
    assert len(rows) == first.recorded
    assert {(r.level, r.placement, r.action) for r in rows} == {("L3", "draft", "create_task")}


def test_a_follow_up_is_shadowed_for_the_calls_of_the_day_as_of_the_call(book):
    run = run_shadow(engine=book, use_case="follow-up", as_of=DAY, window_days=14)
    rows = shadow_actions(book, "follow-up")
    assert run.deals == 1 and rows and {r.subject for r in rows} == {"opportunity:o1"}
    assert {r.as_of for r in rows} == {dt.datetime(2017, 11, 15, 14, 0)}
    assert {(r.action, r.placement) for r in rows} == {("create_task", "pending_approval"), ("send_email", "draft")}
    none_the_day_before = run_shadow(engine=book, use_case="follow-up", as_of=DAY - dt.timedelta(days=1))
    assert (none_the_day_before.deals, none_the_day_before.recorded) == (0, 0)
