"""The audit log: rows chain by hash, the database refuses to change them, and `verify` (and `sellerloop audit
verify`) names the first row that was edited, deleted, inserted or moved, even after someone dropped the
triggers. A cut-off tail needs an anchor kept elsewhere, and with one it is caught too."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sellerloop.audit import service
from sellerloop.audit.models import GENESIS, AuditEntry
from sellerloop.audit.service import AuditConflict, Head, append, entry_hash, head, list_entries, verify
from sellerloop.errors import BadInput
from sellerloop.store.db import create_store_engine, session_scope


def _append(engine, n: int, start: int = 1) -> None:
    with session_scope(engine) as s:
        for i in range(start, start + n):
            append(session=s, actor="anna-snelling" if i % 2 else "executor", action="execution.done",
                   subject=f"opportunity:OPP{i:03d}",
                   payload={"approver": "anna-snelling", "diff": {"field": "close_date", "before": "2026-12-01",
                                                                   "after": f"2026-12-{i + 1:02d}"},
                            "sources": [{"uri": f"activity:a{i}", "quote": "Let's move the go-live — ça va."}],
                            "score": 0.1 * i, "policy": {"level": "L4", "allowed": True}})


@pytest.fixture
def log(engine):
    """An initialised store holding five audit rows."""
    _append(engine, 5)
    return engine


@contextmanager
def tampering(engine):
    """A connection of someone with rights enough to drop the append-only triggers first."""
    with engine.begin() as c:
        if c.dialect.name == "postgresql":
            c.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))
        yield c


def _rows(c) -> list:
    return list(c.execute(text("SELECT seq, recorded_at, actor, action, subject, payload, prev_hash, hash "
                               "FROM audit_log ORDER BY seq")))


def _payload(value):
    return value if isinstance(value, dict | list) else json.loads(value)


def _move(c, seq: int, to: int) -> None:
    c.execute(text("UPDATE audit_log SET seq = :to WHERE seq = :seq"), {"seq": seq, "to": to})


def _rehash_from(c, seq: int) -> None:
    """What a careful forger does after a change: recompute every hash and link from `seq` on."""
    rows = _rows(c)
    prev = GENESIS if seq == 1 else next(r.hash for r in rows if r.seq == seq - 1)
    for r in (r for r in rows if r.seq >= seq):
        at = r.recorded_at if isinstance(r.recorded_at, dt.datetime) else dt.datetime.fromisoformat(r.recorded_at)
        new = entry_hash(seq=r.seq, recorded_at=at, actor=r.actor, action=r.action, subject=r.subject,
                         payload=_payload(r.payload), prev_hash=prev)
        c.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
                  {"p": prev, "h": new, "s": r.seq})
        prev = new


def _verify(engine, **kwargs):
    with session_scope(engine) as s:
        return verify(session=s, **kwargs)


# --- tampering, each with the row verify must name -----------------------------------------------------------------

def edit_a_payload(c):
    c.execute(text("UPDATE audit_log SET payload = :p WHERE seq = 3"),
              {"p": json.dumps({"approver": "someone-else"})})


def edit_the_actor_and_recompute_its_hash(c):
    r = next(r for r in _rows(c) if r.seq == 3)
    at = r.recorded_at if isinstance(r.recorded_at, dt.datetime) else dt.datetime.fromisoformat(r.recorded_at)
    forged = entry_hash(seq=3, recorded_at=at, actor="executor", action=r.action, subject=r.subject,
                        payload=_payload(r.payload), prev_hash=r.prev_hash)
    c.execute(text("UPDATE audit_log SET actor = 'executor', hash = :h WHERE seq = 3"), {"h": forged})


def delete_a_row(c):
    c.execute(text("DELETE FROM audit_log WHERE seq = 3"))


def delete_the_first_rows(c):
    c.execute(text("DELETE FROM audit_log WHERE seq <= 2"))


def delete_a_row_and_renumber_the_rest(c):
    c.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    for seq in (4, 5):
        _move(c, seq, seq - 1)


def swap_two_rows(c):
    _move(c, 3, 100)
    _move(c, 4, 3)
    _move(c, 100, 4)


def move_a_row_to_the_end(c):
    _move(c, 3, 6)


def swap_two_rows_and_rewrite_every_hash_after(c):
    rows = {r.seq: r for r in _rows(c)}
    for seq, other in ((3, 4), (4, 3)):
        o = rows[other]
        c.execute(text("UPDATE audit_log SET recorded_at = :at, actor = :actor, action = :action, "
                       "subject = :subject, payload = :payload WHERE seq = :seq"),
                  {"at": o.recorded_at, "actor": o.actor, "action": o.action, "subject": o.subject,
                   "payload": json.dumps(_payload(o.payload)), "seq": seq})
    _rehash_from(c, 3)


def insert_a_row_in_the_middle(c):
    for seq in (5, 4):
        _move(c, seq, seq + 1)  # make room; each moved row hashed afresh for its new seq, links untouched
    for r in _rows(c):
        if r.seq in (5, 6):
            at = r.recorded_at if isinstance(r.recorded_at, dt.datetime) else dt.datetime.fromisoformat(r.recorded_at)
            c.execute(text("UPDATE audit_log SET hash = :h WHERE seq = :s"), {"s": r.seq, "h": entry_hash(
                seq=r.seq, recorded_at=at, actor=r.actor, action=r.action, subject=r.subject,
                payload=_payload(r.payload), prev_hash=r.prev_hash)})
    third = next(r for r in _rows(c) if r.seq == 3)
    third_at = third.recorded_at if isinstance(third.recorded_at, dt.datetime) else dt.datetime.fromisoformat(
        third.recorded_at)
    at = third_at + dt.timedelta(microseconds=1)
    forged = entry_hash(seq=4, recorded_at=at, actor="anna-snelling", action="approval.approved",
                        subject="opportunity:OPP999", payload={}, prev_hash=third.hash)
    c.execute(text("INSERT INTO audit_log (seq, recorded_at, actor, action, subject, payload, prev_hash, hash) "
                   "VALUES (4, :at, 'anna-snelling', 'approval.approved', 'opportunity:OPP999', '{}', :p, :h)"),
              {"at": at, "p": third.hash, "h": forged})


TAMPERINGS = {
    "edited": (edit_a_payload, 3, "row 3 was edited: its hash does not match its contents"),
    "edited and re-hashed": (edit_the_actor_and_recompute_its_hash, 3,
                             "row 3 was edited: its hash was recomputed, and row 4 is chained to the old one"),
    "deleted": (delete_a_row, 3, "row 3 is missing (deleted): row 4 follows row 2"),
    "first rows deleted": (delete_the_first_rows, 1, "rows 1-2 are missing (deleted): the log starts at row 3"),
    "deleted and renumbered": (delete_a_row_and_renumber_the_rest, 3,
                               ("row 3 is missing (deleted): the rows after it were renumbered (row 3 holds what "
                                "was recorded as row 4)")),
    "swapped": (swap_two_rows, 3, "row 3 is out of order: its contents were recorded as row 4"),
    "moved to the end": (move_a_row_to_the_end, 3, "row 3 is out of order: it is stored as row 6"),
    "swapped and re-hashed": (swap_two_rows_and_rewrite_every_hash_after, 4, "row 4 is out of order: recorded at"),
    "inserted": (insert_a_row_in_the_middle, 4, "row 4 was inserted: row 5 follows row 3 in the chain"),
}


# --- the chain ----------------------------------------------------------------------------------------------------

def test_appended_rows_read_back_as_written_and_verify_as_an_intact_chain(log):
    with session_scope(log) as s:
        result = verify(session=s)
        entries = list_entries(session=s)
        last = head(session=s)
    assert result.ok and result.checked == 5 and result.first_bad_seq is None and result.problem is None
    assert [e.seq for e in entries] == [5, 4, 3, 2, 1]  # newest first
    assert entries[0].payload["sources"][0]["quote"] == "Let's move the go-live — ça va."
    assert entries[0].payload["score"] == pytest.approx(0.5)
    assert last == Head(5, entries[0].hash)
    assert [e.recorded_at for e in reversed(entries)] == sorted({e.recorded_at for e in entries})


def test_the_hash_is_sha256_of_the_canonical_json_of_seq_time_actor_action_subject_payload_and_the_previous_hash(
        log):
    with session_scope(log) as s:
        entries = list(reversed(list_entries(session=s)))
    prev = GENESIS
    for e in entries:
        canonical = json.dumps([e.seq, e.recorded_at.isoformat(timespec="microseconds"), e.actor, e.action,
                                e.subject, e.payload, prev], sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        assert e.prev_hash == prev
        assert e.hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        prev = e.hash


def test_recorded_at_never_goes_backwards_even_when_the_clock_does(engine, monkeypatch):
    monkeypatch.setattr(service, "now", lambda: dt.datetime(2026, 11, 25, 9, 0))
    _append(engine, 3)
    with session_scope(engine) as s:
        times = [e.recorded_at for e in reversed(list_entries(session=s))]
        assert verify(session=s).ok
    assert times == [dt.datetime(2026, 11, 25, 9, 0, 0, i) for i in range(3)]


def test_the_database_refuses_to_update_or_delete_a_row(log):
    statements = ["UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 5"]
    if log.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), log.begin() as c:
            c.execute(text(statement))
    with session_scope(log) as s:
        assert s.query(AuditEntry).filter_by(actor="someone-else").count() == 0
    assert _verify(log).checked == 5


@pytest.mark.parametrize("name", TAMPERINGS)
def test_verify_names_the_first_row_that_was_tampered_with_after_the_triggers_were_dropped(log, name):
    tamper, first_bad, problem = TAMPERINGS[name]
    with tampering(log) as c:
        tamper(c)
    result = _verify(log)
    assert not result.ok
    assert result.first_bad_seq == first_bad
    assert result.problem.startswith(problem), result.problem


@pytest.mark.parametrize("name", ["edited", "deleted", "swapped"])
def test_audit_verify_exits_1_naming_the_first_bad_row(store, log, cli, name):
    tamper, first_bad, problem = TAMPERINGS[name]
    with tampering(log) as c:
        tamper(c)
    result = cli(store, "audit", "verify")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {problem}"
    assert "Traceback" not in result.stderr
    as_json = cli(store, "audit", "verify", "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert (report["ok"], report["first_bad_seq"], report["problem"]) == (False, first_bad, problem)


def test_audit_verify_exits_0_on_an_intact_log_and_prints_the_head_to_keep(store, log, cli):
    result = cli(store, "audit", "verify")
    assert result.exit_code == 0, result.stderr
    with session_scope(log) as s:
        last = head(session=s)
    assert result.stdout.startswith("5 rows, chain intact")
    assert str(last) in result.stdout
    again = cli(store, "audit", "verify", "--expect-head", str(last), "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout) == {"ok": True, "checked": 5, "first_bad_seq": None, "problem": None,
                                        "head": {"seq": 5, "hash": last.hash}}


def test_audit_verify_refuses_a_malformed_anchor_with_exit_2(store, log, cli):
    result = cli(store, "audit", "verify", "--expect-head", "5:not-a-hash")
    assert result.exit_code == 2
    assert "SEQ:SHA256" in result.stderr


def test_audit_list_shows_the_newest_rows_first(store, log, cli):
    result = cli(store, "audit", "list", "--limit", "2", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["seq"] for r in rows] == [5, 4]
    assert rows[0]["payload"]["approver"] == "anna-snelling" and len(rows[0]["hash"]) == 64
    plain = cli(store, "audit", "list")
    assert plain.exit_code == 0
    assert plain.stdout.splitlines()[0].split()[0] == "5" and "opportunity:OPP005" in plain.stdout
    assert cli(store, "audit", "list", "--limit", "0").exit_code == 2


# --- the tail: only an anchor can tell ------------------------------------------------------------------------------

def test_a_cut_off_tail_passes_the_chain_alone_and_is_caught_with_an_anchor(log):
    with session_scope(log) as s:
        anchor = head(session=s)
    with tampering(log) as c:
        c.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    assert _verify(log).ok  # the limit of a chain: what is left is a valid chain
    result = _verify(log, expect_head=anchor)
    assert not result.ok and result.first_bad_seq == 4
    assert result.problem == "rows 4-5 are missing (cut off): the log ends at row 3, the anchor is row 5"


def test_a_log_rewritten_consistently_from_an_edit_on_is_caught_by_the_anchor(log):
    with session_scope(log) as s:
        anchor = head(session=s)
    with tampering(log) as c:
        c.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2"))
        _rehash_from(c, 2)
    assert _verify(log).ok
    result = _verify(log, expect_head=anchor)
    assert not result.ok and result.first_bad_seq == 5
    assert result.problem == "row 5 does not match the anchor: the log up to it was rewritten"


def test_rows_appended_after_the_anchor_still_verify_against_it(log):
    with session_scope(log) as s:
        anchor = head(session=s)
    _append(log, 2, start=6)
    result = _verify(log, expect_head=anchor)
    assert result.ok and result.checked == 7


# --- what append refuses ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload, where", [
    ({"diff": {"at": dt.datetime(2026, 11, 25)}}, "payload['diff']['at'] is a datetime"),
    ({"sources": [{"uri": "activity:1"}, {1, 2}]}, "payload['sources'][1] is a set"),
    ({"score": float("nan")}, "payload['score'] is nan"),
    ({1: "one"}, "payload has a key 1 that is a int"),
    (object(), "payload is a object"),
])
def test_a_payload_that_is_not_plain_json_is_refused_naming_where_and_nothing_is_written(engine, payload, where):
    with pytest.raises(BadInput, match=r"the audit payload must be JSON: " + where.replace("[", r"\[")), \
            session_scope(engine) as s:
        append(session=s, actor="executor", action="execution.done", subject="opportunity:OPP001", payload=payload)
    with session_scope(engine) as s:
        assert head(session=s) is None


def test_an_entry_without_an_actor_is_refused(engine):
    with pytest.raises(BadInput, match="non-empty actor"), session_scope(engine) as s:
        append(session=s, actor=" ", action="agent.run", subject="account:acme", payload={})


# --- two writers ----------------------------------------------------------------------------------------------------

def test_a_writer_that_read_a_stale_last_row_fails_retryably_and_the_chain_does_not_fork(engine, monkeypatch):
    _append(engine, 1)
    # As if it read the log before the other writer committed row 1: it picks seq 1 too.
    monkeypatch.setattr(service, "_last", lambda session: None)
    with pytest.raises(AuditConflict) as raised, session_scope(engine) as s:
        append(session=s, actor="executor", action="execution.done", subject="opportunity:OPP002", payload={})
    assert raised.value.permanent is False
    assert "try again" in raised.value.one_line()
    monkeypatch.undo()
    _append(engine, 1, start=2)  # the retry
    result = _verify(engine)
    assert result.ok and result.checked == 2


def test_concurrent_writers_append_in_one_order_without_forking(store, engine):
    writers, each = 4, 8
    errors: list[BaseException] = []
    conflicts = 0

    def write(writer: int) -> None:
        nonlocal conflicts
        own = create_store_engine(store.url)
        try:
            for i in range(each):
                while True:
                    try:
                        with session_scope(own) as s:
                            append(session=s, actor=f"writer-{writer}", action="agent.run",
                                   subject=f"account:{writer}", payload={"i": i})
                        break
                    except AuditConflict:
                        conflicts += 1  # retryable by contract: go again
        except BaseException as e:  # noqa: BLE001 (reported by the test below)
            errors.append(e)
        finally:
            own.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert conflicts == 0  # appenders queue on the lock, so none even needed the retry
    with session_scope(engine) as s:
        entries = list(reversed(list_entries(session=s)))
        result = verify(session=s)
    assert result.ok and result.checked == writers * each
    assert [e.seq for e in entries] == list(range(1, writers * each + 1))
    for w in range(writers):  # each writer's own rows in the order it wrote them
        assert [e.payload["i"] for e in entries if e.actor == f"writer-{w}"] == list(range(each))
