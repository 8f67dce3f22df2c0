"""`sellerloop shadow run|report` and the whole-book run's shadow hook: what they print, what they record, and a
one-line exit 2 for bad input."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from sellerloop.audit.models import AuditEntry
from sellerloop.runs import service as runs
from sellerloop.store.db import session_scope
from tests.shadow.conftest import LATE, counts, deals, shadow_actions, team_policy


def test_shadow_run_replays_the_book_and_prints_the_evidence_it_adds_to(cli, store, book):
    before = counts(book)
    result = cli(store, "shadow", "run", "hygiene", "--as-of", "2017-11-15", "--window", "28")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("hygiene in shadow at L4, replayed as of 2017-11-15: 2 deals, ")
    assert "hygiene L3 -> shadow L4: " in result.stdout and "nothing placed" in result.stdout
    assert counts(book) == before
    with session_scope(book) as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "shadow.recorded")).all()
        assert entry.payload["replay"] and entry.payload["recorded"] == len(shadow_actions(book))


def test_shadow_run_json_and_the_report_give_verdicts_with_examples(cli, store, book):
    data = json.loads(cli(store, "shadow", "run", "hygiene", "--as-of", "2017-11-15", "--window", "28",
                          "--json").stdout)
    assert (data["use_case"], data["level"], data["replay"], data["deals"]) == ("hygiene", "L4", True, 2)
    [e] = data["evidence"]
    assert (e["current_level"], e["level"], e["recorded"]) == ("L3", "L4", data["recorded"])
    [section] = json.loads(cli(store, "shadow", "report", "hygiene", "--json").stdout)
    assert sum(section["counts"].values()) == data["recorded"] and section["counts"]["agreed"] >= 1
    agreed = section["examples"]["agreed"][0]
    assert agreed["record"] == "opportunity:o1" and "2018-02-28 → 2018-03-30" in agreed["would_have"]
    assert "changed opportunity.close_date to 2018-03-30" in agreed["person"]
    text = cli(store, "shadow", "report").stdout
    assert text.startswith("hygiene in shadow at L4: ") and "  agreed    opportunity:o1 as of 2017-11-15" in text


def test_a_report_with_nothing_recorded_says_how_to_record(cli, store, book):
    result = cli(store, "shadow", "report")
    assert result.exit_code == 0 and result.stdout.startswith("no shadow actions recorded yet")


@pytest.mark.parametrize("args, message", [
    (("run", "bogus"), "unknown use case 'bogus'"),
    (("run", "research"), "research proposes no action on a deal one level up"),
    (("run", "hygiene", "--as-of", "2017-13-45"), "--as-of: '2017-13-45' is not a date (YYYY-MM-DD)"),
    (("run", "hygiene", "--as-of", "2018-02-01"), "after the book's today (2017-12-31)"),
    (("run", "hygiene", "--window", "0"), "window: between 1 and 365 days, not 0"),
    (("report", "bogus"), "unknown use case 'bogus'"),
])
def test_bad_input_exits_2_with_one_line(cli, store, book, args, message):
    result = cli(store, "shadow", *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr and result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not shadow_actions(book)


def test_a_use_case_at_l5_cannot_run_in_shadow(cli, store, book, tmp_path, monkeypatch):
    team_policy(tmp_path, monkeypatch, replace={"  next-action: L2": "  next-action: {default: L5, update_field: L4, "
                "send_email: L4, add_to_sequence: L4, book_meeting: L4, share_asset: L4, request_intro: L4}"})
    result = cli(store, "shadow", "run", "next-action")
    assert result.exit_code == 2 and result.stderr == (
        "Error: next-action cannot run in shadow: next-action is at L5, the highest level: there is no level above "
        "to run in shadow\n")


def test_run_all_records_the_shadow_of_a_use_case_in_shadow_and_places_nothing(book, tmp_path, monkeypatch):
    team_policy(tmp_path, monkeypatch, replace={"  hygiene: L3": "  hygiene: {default: L3, shadow: true}"})
    before, records = counts(book), deals(book)
    summary = runs.run_all(engine=book, use_cases=["hygiene", "next-action"], workers=1)
    assert summary.totals["hygiene"].records == 2  # o1 and o3 are open now
    assert counts(book) == before and deals(book) == records
    rows = shadow_actions(book)
    assert rows and {r.use_case for r in rows} == {"hygiene"}  # next-action is not in shadow
    assert {r.as_of for r in rows} == {dt.datetime(2017, 12, 31, 23, 59, 59)}  # the book's today
    step = next(r for r in rows if r.subject == "opportunity:o1" and r.proposal["payload"]["field"] == "next_step")
    assert LATE in step.proposal["payload"]["new"]  # now it sees everything: the meeting after DAY too
    with session_scope(book) as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "shadow.recorded")).all()
    assert (entry.payload["shadow_of"], entry.payload["replay"], entry.payload["recorded"]) == ("hygiene", False,
                                                                                                 len(rows))
