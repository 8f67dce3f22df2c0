"""The deal page shows an open deal's win probability once a model is built, and none for a closed deal."""
from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.scoring.win import rebuild
from sellerloop.store.db import create_store_engine, session_scope
from tests.web.conftest import serve


def test_an_open_deal_shows_its_win_probability_after_a_rebuild_and_a_closed_deal_none(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        open_deal = s.scalar(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id))
        won_deal = s.scalar(select(Opportunity.id).where(Opportunity.stage == "Won").order_by(Opportunity.id))
    with serve(engine) as live, httpx.Client(base_url=live.base_url, timeout=20) as http:
        assert 'id="win-probability"' not in http.get(f"/opportunities/{open_deal}").text
        with session_scope(engine) as s:
            info = rebuild(session=s)
        page = http.get(f"/opportunities/{open_deal}").text
        shown = re.search(r'id="win-probability"><dt>Win probability</dt><dd><strong>(\d+)%</strong>', page)
        assert shown is not None
        # On the Maven book no field predicts the outcome over time, so the model says the base rate, and why.
        assert int(shown.group(1)) == round(100 * info.base_rate)
        assert f"learnt from {info.closed_deals:,} closed deals" in page and "no field predicted" in page
        assert 'id="win-probability"' not in http.get(f"/opportunities/{won_deal}").text
    engine.dispose()
