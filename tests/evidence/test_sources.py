"""Source URIs resolve to the full text behind them, and `sellerloop source show` prints exactly that text."""
from __future__ import annotations

import datetime as dt

import pytest

from sellerloop.evidence.sources import resolve_source, source_exists
from sellerloop.records.models import Activity, Signal, Ticket, Transcript, UsageMetric, Utterance
from sellerloop.store.db import create_store_engine, session_scope

OPP = "1C1I7A6R"


@pytest.fixture
def book(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        s.add(Activity(id="a-1", kind="email", account_id="cancity", opportunity_id=OPP,
                       occurred_at=dt.datetime(2017, 2, 1, 9, 30), subject="Pricing follow-up",
                       body="Hi Moses,\nBudget is approved up to $12,000.\nDana Whitfield\nCFO, Cancity",
                       direction="inbound", participants=[
                           {"name": "Dana Whitfield", "email": "dana@cancity.example", "role": "from"},
                           {"name": "Moses Frase", "email": "moses.frase@maventech.example", "role": "to"}]))
        s.add(Transcript(id="tr-1", opportunity_id=OPP, account_id="cancity", title="Discovery call",
                         source_format="vtt", utterances=[
                             Utterance(seq=1, speaker="Moses Frase", start_s=0.0, end_s=4.5,
                                       text="Who signs off on this purchase?"),
                             Utterance(seq=2, speaker="Dana Whitfield", start_s=4.5, end_s=12.5,
                                       text="I do, once IT has finished the security review."),
                             Utterance(seq=3, speaker="Moses Frase", start_s=12.5, end_s=18.0,
                                       text="I'll send the security questionnaire by Friday.")]))
        s.add(Ticket(id="tk-1", account_id="cancity", subject="Printer driver crash", body="Crashes on login.",
                     severity="high", status="open", opened_at=dt.datetime(2017, 3, 2, 8, 0)))
        s.add(Signal(id="sg-1", account_id="cancity", kind="news", title="Cancity opens a Berlin office",
                     url="https://news.example/cancity/berlin", published_at=dt.datetime(2017, 11, 2),
                     body="Cancity will hire 40 engineers in Berlin."))
        s.add_all([UsageMetric(account_id="cancity", metric="active_users", period_start=dt.date(2017, m, 1),
                               value=100 + m) for m in (10, 11, 12)])
    yield maven_copy
    engine.dispose()


@pytest.fixture
def engine(book):
    engine = create_store_engine(book.url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("uri, expected", [
    (f"opportunity:{OPP}/field/close_date", "Close date: 2017-03-01"),
    (f"opportunity:{OPP}", "Stage: Won"),
    ("account:cancity/field/sector", "Sector: retail"),
    (f"stage_history:{OPP}", "Engaging: 2016-10-20"),
    (f"opportunity:{OPP}/field/owner_id", "Owner: Moses Frase"),
    ("account:cancity/field/revenue_musd", "Annual revenue (M USD): 718.62"),
    ("activity:a-1", "Budget is approved up to $12,000."),
    ("activity:a-1", "From: Dana Whitfield <dana@cancity.example>"),
    ("transcript:tr-1", "[00:04] Dana Whitfield: I do, once IT has finished the security review."),
    ("transcript:tr-1#t=12.5-18.0", "Moses Frase: I'll send the security questionnaire by Friday."),
    ("transcript:tr-1#u=1-2", "Who signs off on this purchase?"),
    ("ticket:tk-1", "Printer driver crash"),
    ("signal:sg-1", "Cancity will hire 40 engineers in Berlin."),
    ("https://news.example/cancity/berlin", "Cancity opens a Berlin office"),
    ("usage:cancity/active_users", "2017-12-01: 112 active users"),
])
def test_each_kind_of_uri_resolves_to_its_text(book, engine, uri, expected):
    with session_scope(engine) as s:
        assert expected in resolve_source(session=s, uri=uri).text


def test_a_transcript_span_holds_only_the_utterances_it_overlaps(book, engine):
    with session_scope(engine) as s:
        source = resolve_source(session=s, uri="transcript:tr-1#t=5.0-12.0")
    assert source.text == "[00:04] Dana Whitfield: I do, once IT has finished the security review."
    assert (source.record_type, source.record_id, source.anchor) == ("transcript", "tr-1", "u-2")


@pytest.mark.parametrize("uri", ["activity:nope", "transcript:tr-1#t=99-120", "opportunity:1C1I7A6R/field/colour",
                                 "https://news.example/nowhere", "usage:cancity/seats"])
def test_a_uri_that_names_nothing_does_not_exist(book, engine, uri):
    with session_scope(engine) as s:
        assert not source_exists(session=s, uri=uri)


def test_source_show_prints_the_full_text(book, cli):
    result = cli(book, "source", "show", "activity:a-1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("Dana Whitfield\nCFO, Cancity\n")
    assert "Subject: Pricing follow-up" in result.stdout


@pytest.mark.parametrize("uri, reason", [
    ("activity:nope", "no activity with id 'nope'"),
    ("nonsense", "not a source URI"),
    ("widget:1", "unknown source kind 'widget'"),
    ("transcript:tr-1#t=abc", "bad transcript span"),
])
def test_source_show_of_a_bad_uri_exits_2_with_one_line(book, cli, uri, reason):
    result = cli(book, "source", "show", uri)
    assert result.exit_code == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_read_only_session_that_remembers_sources_reads_each_one_once(book, engine):
    from sqlalchemy import event

    from sellerloop.evidence.sources import remember_resolved

    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session_scope(engine) as s:
        remember_resolved(s)
        first = resolve_source(session=s, uri="activity:a-1")
        s.expunge_all()  # not even the identity map holds the row now
        read = len(statements)
        again = resolve_source(session=s, uri="activity:a-1")
        assert again is first and len(statements) == read
    with session_scope(engine) as s:  # a session that has not asked for it reads the record every time
        resolve_source(session=s, uri="activity:a-1")
        s.expunge_all()
        read = len(statements)
        resolve_source(session=s, uri="activity:a-1")
        assert len(statements) > read
