"""The agent registry: one entry per use case carries everything the surfaces say about it (agents/service.py)."""
from __future__ import annotations

import typing

from sellerloop.agents.models import UseCase
from sellerloop.agents.service import AGENTS, page_panels


def test_every_use_case_has_one_entry_and_shows_only_on_records_it_runs_on():
    assert set(AGENTS) == set(typing.get_args(UseCase))
    for spec in AGENTS.values():
        assert set(spec.pages) <= set(spec.subject_types), spec.use_case
        assert spec.walks in spec.subject_types or spec.walks == "opportunity", spec.use_case
        assert spec.title and spec.blurb and spec.empty


def test_a_deal_page_shows_what_to_do_next_first_and_a_call_page_coaching_first():
    assert [s.use_case for s in page_panels("opportunity")] == ["next-action", "prep", "follow-up", "hygiene"]
    assert [s.use_case for s in page_panels("account")] == ["research", "next-action"]
    assert [s.use_case for s in page_panels("transcript")] == ["coaching", "follow-up"]
