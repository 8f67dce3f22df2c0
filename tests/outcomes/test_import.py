"""`sellerloop import events FILE` (importers/events.py): CSV or JSON Lines, all or nothing, a bad line named."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from sellerloop.outcomes.events import list_events
from sellerloop.records.models import Opportunity
from sellerloop.store.db import session_scope


def stored(book) -> list[tuple]:
    with session_scope(book.engine) as s:
        return [(e.source, e.external_id, e.kind, e.subject, e.occurred_at, e.detail) for e in list_events(session=s)]


def csv_file(tmp_path, *rows: str):
    path = tmp_path / "events.csv"
    path.write_text("kind,subject,occurred_at,external_id,detail\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_a_csv_of_events_is_stored_once_however_often_it_is_imported(cli, maven_copy, book, tmp_path):
    a, b = book.subject("a"), book.subject("b")
    path = csv_file(tmp_path, f"email_replied,{a},2017-06-20T10:00:00Z,crm-1,",
                    f'stage_moved,{b},2017-06-21,crm-2,"{{""from"": ""Prospecting"", ""to"": ""Engaging""}}"')
    first = cli(maven_copy, "import", "events", path, "--json")
    again = cli(maven_copy, "import", "events", path, "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {"read": 2, "stored": 2, "already": 0}
    assert json.loads(again.stdout) == {"read": 2, "stored": 0, "already": 2}
    assert stored(book) == [
        ("import", "crm-1", "email_replied", a, dt.datetime(2017, 6, 20, 10, 0), {}),
        ("import", "crm-2", "stage_moved", b, dt.datetime(2017, 6, 21), {"from": "Prospecting", "to": "Engaging"})]


def test_json_lines_work_the_same(cli, maven_copy, book, tmp_path):
    with session_scope(book.engine) as s:  # the CRM closed the deal before it sent the event
        s.get(Opportunity, book.deals["a"]).stage = "Won"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [
        {"kind": "won", "subject": book.subject("a"), "occurred_at": "2017-07-01", "external_id": "w-1"},
        {"kind": "meeting_booked", "subject": f"account:{book.account}", "occurred_at": "2017-06-02T09:00",
         "external_id": "m-1", "detail": {"title": "Kick-off"}}]) + "\n\n")
    done = cli(maven_copy, "import", "events", path)
    assert done.exit_code == 0 and "imported 2 events: 2 new, 0 stored already" in done.stdout
    assert [(e[2], e[5]) for e in stored(book)] == [("meeting_booked", {"title": "Kick-off"}), ("won", {})]


@pytest.mark.parametrize(("bad_row", "message"), [
    ("signed,{a},2017-06-20,x-3,", "unknown event kind 'signed'"),
    ("won,opportunity:NOPE,2017-06-20,x-3,", "no opportunity with id 'NOPE'"),
    ("won,{a},20/06/2017,x-3,", "not a date or time: '20/06/2017'"),
    ("won,{a},2017-06-20,x-3,{{not json", "detail: not JSON"),
    ("won,{a},2017-06-20,x-1,", "stored already as email_replied"),  # x-1 again, as another event
    ("won,{a},2017-06-20", "expected 5 fields, found 3"),
    ("lost,{a},2017-06-20,x-3,", "in the record, so it was not lost"),  # a deal the record says is open
])
def test_a_bad_line_exits_2_naming_file_and_line_and_stores_nothing(cli, maven_copy, book, tmp_path, bad_row,
                                                                     message):
    a = book.subject("a")
    path = csv_file(tmp_path, f"email_replied,{a},2017-06-20,x-1,", f"meeting_booked,{a},2017-06-21,x-2,",
                    bad_row.format(a=a))
    refused = cli(maven_copy, "import", "events", path)
    assert refused.exit_code == 2 and len(refused.stderr.splitlines()) == 1
    assert f"{path}:4: " in refused.stderr and message in refused.stderr, refused.stderr
    assert stored(book) == []


def test_a_bad_json_line_is_named_too(cli, maven_copy, book, tmp_path):
    path = tmp_path / "events.jsonl"
    good = {"kind": "won", "subject": book.subject("a"), "occurred_at": "2017-07-01", "external_id": "w-1"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "external_id": "w-2", "when": "today"}) + "\n")
    refused = cli(maven_copy, "import", "events", path)
    assert refused.exit_code == 2 and f"{path}:2: unknown key(s) when" in refused.stderr
    assert stored(book) == []


def test_a_missing_column_is_named_before_anything_is_read(cli, maven_copy, book, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(f"kind,subject,occurred_at\nwon,{book.subject('a')},2017-06-20\n")
    refused = cli(maven_copy, "import", "events", path)
    assert refused.exit_code == 2 and "missing column(s) external_id" in refused.stderr
