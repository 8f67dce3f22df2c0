"""The whole book in one run: one stored output per record and use case, resumable, scoped to the acting user."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from sellerloop.agents.models import AgentRun
from sellerloop.agents.outputs import AgentBatch, AgentOutput
from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.runs import service as runs
from sellerloop.store.db import session_scope
from tests.support.books import maven_copy_engine as engine  # noqa: F401  (the fixture, by the name used here)


def _open_deals(engine) -> set[str]:
    with session_scope(engine) as s:
        return set(s.scalars(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES))))


def test_it_stores_one_supported_output_per_open_deal_and_reports_totals(engine):
    summary = runs.run_all(engine=engine, use_cases=["next-action"], workers=1)
    open_deals = _open_deals(engine)
    totals = summary.totals["next-action"]
    assert (totals.records, totals.failed, totals.dropped_unsupported) == (len(open_deals), 0, 0)
    with session_scope(engine) as s:
        outputs = s.scalars(select(AgentOutput).where(AgentOutput.use_case == "next-action")).all()
        batch = s.get(AgentBatch, summary.batch_id)
        assert batch.finished_at is not None and batch.done == batch.total == len(open_deals)
    assert {o.subject_id for o in outputs} == open_deals
    assert sum(o.items for o in outputs) == totals.items == totals.recommendations
    run = AgentRun.model_validate_json(outputs[0].output)
    assert run.use_case == "next-action" and len(run.items) <= 3


def test_an_interrupted_run_continues_where_it_stopped(engine, monkeypatch):
    monkeypatch.setattr(runs, "CHUNK", 400)
    calls = []

    def stop_after_the_first_chunk(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runs.run_all(engine=engine, use_cases=["next-action"], workers=1, progress=stop_after_the_first_chunk)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(AgentOutput)) == 400
        assert s.scalar(select(AgentBatch.finished_at)) is None
    again = runs.run_all(engine=engine, use_cases=["next-action"], workers=1)
    assert again.resumed and again.skipped == 400
    assert again.totals["next-action"].records == len(_open_deals(engine)) - 400
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(AgentOutput)) == len(_open_deals(engine))
    fresh = runs.run_all(engine=engine, use_cases=["next-action"], workers=1)
    assert not fresh.resumed and fresh.skipped == 0  # the batch finished: a new run starts a new batch


def test_two_worker_processes_give_the_same_outputs_as_one(engine, monkeypatch):
    monkeypatch.setattr(runs, "PARALLEL_MIN_RECORDS", 0)
    runs.run_all(engine=engine, use_cases=["next-action"], workers=1)
    with session_scope(engine) as s:
        one = {o.subject_id: [i["text"] for i in json.loads(o.output)["items"]] for o in s.scalars(select(AgentOutput))}
    summary = runs.run_all(engine=engine, use_cases=["next-action"], workers=2)
    with session_scope(engine) as s:
        two = {o.subject_id: [i["text"] for i in json.loads(o.output)["items"]] for o in s.scalars(select(AgentOutput))}
        assert set(s.scalars(select(AgentOutput.batch_id))) == {summary.batch_id}
    assert one == two


def test_a_seller_refreshes_only_their_own_deals(engine):
    with session_scope(engine) as s:
        owner = s.scalar(select(Opportunity.owner_id).where(Opportunity.stage == "Engaging").limit(1))
        own = set(s.scalars(select(Opportunity.id).where(Opportunity.owner_id == owner,
                                                         Opportunity.stage.in_(OPEN_STAGES))))
    summary = runs.run_all(engine=engine, use_cases=["next-action"], acting_user=owner, workers=1)
    with session_scope(engine) as s:
        stored = set(s.scalars(select(AgentOutput.subject_id)))
    assert stored == own and summary.totals["next-action"].records == len(own)


def test_the_cli_prints_a_summary_and_rejects_an_unknown_use_case(cli, maven_copy):
    result = cli(maven_copy, "run-all", "--use-case", "next-action", "--workers", "1", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["use_cases"]["next-action"]["dropped_unsupported"] == 0
    assert out["use_cases"]["next-action"]["records"] > 0
    bad = cli(maven_copy, "run-all", "--use-case", "forecasting")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "forecasting" in bad.stderr
