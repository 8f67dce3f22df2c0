"""Won and lost events reach the win-probability model as they arrive (outcomes/events.py -> scoring/win.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sellerloop.outcomes.events import EventContradictsRecord, list_events
from sellerloop.pipeline.outcomes import record_event
from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.scoring.win import model_info, rebuild
from sellerloop.store.db import create_store_engine, session_scope


def closed_deals(engine) -> int:
    with session_scope(engine) as s:
        return model_info(session=s).closed_deals


def test_a_win_after_the_last_rebuild_counts_at_once_and_only_once(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        info = rebuild(session=s)
        deal = s.scalar(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id))
        s.get(Opportunity, deal).stage = "Won"  # the CRM closed it, then sent the event
    later = info.rebuilt_at + dt.timedelta(minutes=5)
    for _ in range(2):  # the same event sent twice is one event, counted once
        with session_scope(engine) as s:
            record_event(session=s, kind="won", subject=f"opportunity:{deal}", occurred_at=later, source="api",
                         external_id="crm-42")
    assert closed_deals(engine) == info.closed_deals + 1
    engine.dispose()


def test_an_event_from_before_the_rebuild_is_not_counted_again(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        info = rebuild(session=s)
        won = s.scalar(select(Opportunity.id).where(Opportunity.stage == "Won").order_by(Opportunity.id))
        record_event(session=s, kind="won", subject=f"opportunity:{won}", occurred_at=dt.datetime(2017, 6, 1),
                     source="import", external_id="old-win")
    assert closed_deals(engine) == info.closed_deals
    engine.dispose()


def test_events_before_any_model_is_built_are_stored_and_left_for_the_first_rebuild(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        deal = s.scalar(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id))
        s.get(Opportunity, deal).stage = "Lost"
        stored = record_event(session=s, kind="lost", subject=f"opportunity:{deal}",
                              occurred_at=dt.datetime(2026, 11, 1), source="api", external_id="first")
        assert stored.kind == "lost"
    engine.dispose()


def test_a_lost_event_on_a_deal_the_record_says_is_open_is_refused_and_moves_nothing(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        info = rebuild(session=s)
        deal = s.scalar(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id))
    with session_scope(engine) as s, pytest.raises(EventContradictsRecord, match="so it was not lost"):
        record_event(session=s, kind="lost", subject=f"opportunity:{deal}",
                     occurred_at=info.rebuilt_at + dt.timedelta(minutes=5), source="api", external_id="skew-1")
    assert closed_deals(engine) == info.closed_deals
    with session_scope(engine) as s:
        assert list_events(session=s) == []
    engine.dispose()
