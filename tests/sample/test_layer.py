"""The sample layer: what it writes, that it is deterministic and idempotent, that it leaves the real book
alone, and that the open deals get the material the agents need (emails, meetings, transcripts with
questions, objections, dated commitments, and on some deals a close date the evidence contradicts)."""
from __future__ import annotations

import datetime as dt
import re
import string
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from sellerloop.config import BUNDLED_MAVEN_DIR
from sellerloop.importers.maven import import_maven
from sellerloop.records.models import (
    OPEN_STAGES,
    RECORD_TYPES,
    Account,
    Activity,
    Contact,
    FieldChange,
    Opportunity,
    OpportunityContact,
    Product,
    Signal,
    StageChange,
    Task,
    Ticket,
    Transcript,
    UsageMetric,
    User,
    Utterance,
)
from sellerloop.sample import texts as tx
from sellerloop.sample.layer import BOOK_DATE, build_sample_layer
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.store.service import init_store
from tests.conftest import BACKENDS, make_store

# -------------------------------------------------------------------------------------------------- fixtures

SEED = 7

# What a snapshot compares, per table: the columns. Integer surrogate ids are left out: a rerun writes
# utterances, usage points and field-history rows again, and their ids are the database's.
SNAPSHOT = {
    "users": (User, "id name email role synthetic"),
    "opportunities": (Opportunity, "id stage close_date next_step"),
    "contacts": (Contact, "id account_id name title email phone role_in_deal synthetic"),
    "opportunity_contacts": (OpportunityContact, "opportunity_id contact_id role_in_deal synthetic"),
    "activities": (Activity, "id kind account_id opportunity_id owner_id occurred_at subject body direction "
                             "thread_id participants synthetic"),
    "transcripts": (Transcript, "id opportunity_id account_id activity_id title occurred_at source_format "
                                "source_name synthetic"),
    "utterances": (Utterance, "transcript_id seq speaker start_s end_s text synthetic"),
    "tickets": (Ticket, "id account_id contact_id subject body severity status opened_at closed_at "
                        "synthetic"),
    "usage_metrics": (UsageMetric, "account_id metric period_start product_id value synthetic"),
    "signals": (Signal, "id account_id kind title url published_at body source_name synthetic"),
    "tasks": (Task, "id account_id opportunity_id owner_id subject description due_date status created_at "
                    "synthetic"),
    "field_history": (FieldChange, "object_type record_id field changed_at old_value new_value changed_by "
                                   "synthetic"),
}

# The real records' columns (id first), read before the layer runs, to show it changes only what it may.
# For opportunities the last two are the ones the layer fills in on open deals.
REAL_FIELDS = {
    "opportunities": (Opportunity, "id stage amount close_value owner_id account_id engage_date product_id "
                                   "name close_date next_step"),
    "accounts": (Account, "id name sector employees owner_id parent_id"),
    "users": (User, "id name email role manager_id"),
}


def _columns(model, names: str):
    return [model.__table__.c[name] for name in names.split()]


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    out = {}
    with session_scope(engine) as s:
        for name, (model, columns) in SNAPSHOT.items():
            rows = s.execute(select(*_columns(model, columns))).all()
            # Sorted in Python: the two databases collate strings differently.
            out[name] = sorted((tuple(repr(v) for v in r) for r in rows))
    return out


@dataclass
class SampleBook:
    backend: str
    engine: Engine
    counts: dict[str, int]
    before: dict[str, list[tuple]]  # the real records as imported, before the layer ran
    snapshot: dict[str, list[tuple]] | None = None


def _build(backend: str, tmp_path_factory, *, take_snapshot: bool) -> Iterator[SampleBook]:
    for handle in make_store(backend, tmp_path_factory.mktemp("sample")):
        engine = create_store_engine(handle.url)
        init_store(engine=engine)
        with session_scope(engine) as s:
            import_maven(session=s, folder=BUNDLED_MAVEN_DIR)
        with session_scope(engine) as s:
            real = {name: [tuple(r) for r in s.execute(select(*_columns(model, columns)))]
                    for name, (model, columns) in REAL_FIELDS.items()}
        with session_scope(engine) as s:
            counts = build_sample_layer(session=s, seed=SEED)
        book = SampleBook(handle.backend, engine, counts, real)
        if take_snapshot:
            book.snapshot = snapshot(engine)
        yield book
        engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    """One parameter for both books, so a test that uses both gets them on the same database."""
    return request.param


@pytest.fixture(scope="module")
def sample_book(backend, tmp_path_factory) -> Iterator[SampleBook]:
    """The Maven book with the sample layer for seed 7. Read it; do not write to it."""
    yield from _build(backend, tmp_path_factory, take_snapshot=False)


@pytest.fixture(scope="module")
def second_book(backend, tmp_path_factory) -> Iterator[SampleBook]:
    """Another fresh store with the same seed, for determinism and rerun tests."""
    yield from _build(backend, tmp_path_factory, take_snapshot=True)


END_OF_BOOK_DATE = dt.datetime.combine(BOOK_DATE, dt.time.max)
REAL_COUNTS = {"users": 41, "accounts": 85, "products": 7, "opportunities": 8800, "stage_history": 23811}
LONG_DATE = re.compile(r"\b(" + "|".join(tx.MONTHS) + r") (\d{1,2}), (\d{4})\b")
COMMITMENT = re.compile(r"\bI'll [^.]*\bby (" + "|".join(tx.WEEKDAYS) + r"), (" + "|".join(tx.MONTHS)
                        + r") \d{1,2}\b")


def _count(s, model, *where) -> int:
    return s.scalar(select(func.count()).select_from(model).where(*where))


def _open_ids(s) -> set[str]:
    return set(s.scalars(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES))))


def _fragment(template: str) -> str:
    """The longest literal piece of a text template (between its {slots})."""
    pieces = [literal for literal, *_ in string.Formatter().parse(template)]
    return max(pieces, key=len).strip()


# -------------------------------------------------------------------------------------------- what it writes


def test_it_writes_rows_of_every_type(sample_book):
    counts = sample_book.counts
    for key in ("users", "contacts", "opportunity_contacts", "activities", "transcripts", "utterances",
                "tickets", "usage_metrics", "signals", "tasks", "field_history", "opportunities_updated"):
        assert counts[key] > 0, key
    assert counts["opportunities_updated"] == 2089
    with session_scope(sample_book.engine) as s:
        for key, model in (("contacts", Contact), ("activities", Activity), ("transcripts", Transcript),
                           ("utterances", Utterance), ("tickets", Ticket), ("usage_metrics", UsageMetric),
                           ("signals", Signal), ("tasks", Task), ("field_history", FieldChange),
                           ("opportunity_contacts", OpportunityContact)):
            assert _count(s, model) == counts[key], key
        for kind in ("email", "meeting", "call", "note"):
            assert _count(s, Activity, Activity.kind == kind) > 0, kind


def test_every_row_it_writes_is_synthetic_and_no_real_row_is_lost(sample_book):
    with session_scope(sample_book.engine) as s:
        for name, model in RECORD_TYPES.items():
            real = _count(s, model, model.synthetic.is_(False))
            assert real == REAL_COUNTS.get(name, 0), name
        assert _count(s, OpportunityContact, OpportunityContact.synthetic.is_(False)) == 0
        assert _count(s, User, User.synthetic.is_(True)) == 2
        roles = {u.role for u in s.scalars(select(User).where(User.synthetic.is_(True)))}
        assert roles == {"admin", "revops"}
        assert _count(s, Product) == 7
        assert _count(s, StageChange, StageChange.synthetic.is_(True)) == 0


def test_it_changes_only_the_real_fields_it_may_change(sample_book):
    """Closed deals keep their recorded dates; open deals gain a close date and a next step; accounts and
    users are untouched."""
    with session_scope(sample_book.engine) as s:
        after = {name: {r[0]: tuple(r) for r in s.execute(select(*_columns(model, columns)))}
                 for name, (model, columns) in REAL_FIELDS.items()}
    for name, rows in sample_book.before.items():
        assert len(rows) == REAL_COUNTS[name]
        for old in rows:
            new = after[name][old[0]]
            if name != "opportunities":
                assert new == old
                continue
            assert new[:-2] == old[:-2], old[0]
            if old[1] in OPEN_STAGES:
                assert old[-2:] == (None, None) and new[-2] > BOOK_DATE and new[-1]
            else:
                assert new[-2:] == old[-2:], old[0]


# ----------------------------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_it_is_deterministic_for_a_seed(sample_book, second_book):
    """Two fresh stores, the same seed: the same rows, whatever order each database returns them in."""
    assert second_book.counts == sample_book.counts
    assert second_book.snapshot == snapshot(sample_book.engine)


@pytest.mark.slow
def test_running_it_twice_leaves_the_same_rows_and_another_seed_replaces_them(second_book):
    with session_scope(second_book.engine) as s:
        again = build_sample_layer(session=s, seed=SEED)
    assert again == second_book.counts
    assert snapshot(second_book.engine) == second_book.snapshot

    with session_scope(second_book.engine) as s:
        other = build_sample_layer(session=s, seed=SEED + 1)
    assert other != second_book.counts  # a different book, not only different words
    changed = snapshot(second_book.engine)
    for name in ("contacts", "opportunity_contacts", "activities", "transcripts", "utterances", "tickets",
                 "usage_metrics", "signals", "tasks", "field_history"):
        assert changed[name] != second_book.snapshot[name], name
        # Nothing of the first seed's layer is left over: the tables hold exactly what the second run wrote.
        assert len(changed[name]) == other[name], name
    assert len(changed["users"]) == 43


# -------------------------------------------------------------------------------------------------- coverage


def test_nearly_every_open_deal_has_emails_and_a_meeting_and_most_have_a_transcript(sample_book):
    with session_scope(sample_book.engine) as s:
        open_ids = _open_ids(s)
        with_kind = defaultdict(set)
        for kind, oid in s.execute(select(Activity.kind, Activity.opportunity_id).distinct()):
            with_kind[kind].add(oid)
        with_transcript = set(s.scalars(select(Transcript.opportunity_id)))
        closed_with_transcript = _count(s, Transcript, Transcript.opportunity_id.notin_(open_ids))
    assert len(open_ids) == 2089
    both = open_ids & with_kind["email"] & with_kind["meeting"]
    assert len(both) >= 0.9 * len(open_ids)
    assert len(open_ids & with_transcript) >= 0.7 * len(open_ids)
    assert 0.05 * 6711 <= closed_with_transcript <= 0.15 * 6711


def test_email_threads_alternate_and_carry_a_signature(sample_book):
    with session_scope(sample_book.engine) as s:
        emails = s.execute(select(Activity).where(Activity.kind == "email")
                           .order_by(Activity.thread_id, Activity.occurred_at, Activity.id)).scalars().all()
        names = {c.id: (c.name, c.title) for c in s.scalars(select(Contact))}
    threads = defaultdict(list)
    for e in emails:
        threads[e.thread_id].append(e)
    assert len(threads) == 2089
    for thread in threads.values():
        assert 2 <= len(thread) <= 5
        assert len({e.opportunity_id for e in thread}) == 1
        directions = [e.direction for e in thread]
        assert all(a != b for a, b in zip(directions, directions[1:])), directions
        for e in thread:
            sender = [p for p in e.participants if p["role"] == "from"]
            assert len(sender) == 1 and any(p["role"] == "to" for p in e.participants)
            assert all(set(p) >= {"name", "email", "role"} and ("contact_id" in p or "user_id" in p)
                       for p in e.participants)
            if e.direction == "inbound":
                name, title = names[sender[0]["contact_id"]]
                assert e.body.endswith(f"{name}\n{title}\n" + e.body.rsplit("\n", 1)[-1])
                assert "contact_id" in sender[0]
            else:
                assert e.body.endswith("\nMavenTech") and "user_id" in sender[0]
        assert thread[0].subject and all(e.subject == f"Re: {thread[0].subject}" for e in thread[1:])


def test_transcripts_hold_questions_objections_and_dated_commitments(sample_book):
    raised = [_fragment(t) for kind in tx.OBJECTIONS.values() for t in kind[0]]
    unhandled = set(tx.UNHANDLED)
    with session_scope(sample_book.engine) as s:
        transcripts = {t.id: t for t in s.scalars(select(Transcript))}
        sellers = set(s.scalars(select(User.name)))
        lines = defaultdict(list)
        for u in s.execute(select(*_columns(Utterance, "transcript_id seq speaker start_s end_s text"))
                           .order_by(Utterance.transcript_id, Utterance.seq)):
            lines[u.transcript_id].append(u)
    assert lines.keys() == transcripts.keys()
    left_unhandled = 0
    for tid, utterances in lines.items():
        assert transcripts[tid].source_format == "sample" and transcripts[tid].activity_id
        assert 20 <= len(utterances) <= 45, tid
        assert [u.seq for u in utterances] == list(range(1, len(utterances) + 1))
        times = [(u.start_s, u.end_s) for u in utterances]
        assert all(0 <= a < b for a, b in times)
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(times, times[1:]))
        speakers = {u.speaker for u in utterances}
        assert speakers & sellers and speakers - sellers, tid
        text = [u.text for u in utterances]
        assert sum(t.endswith("?") for t, u in zip(text, utterances) if u.speaker in sellers) >= 3
        assert any(fragment in t for t in text for fragment in raised), tid
        assert len([t for t in text if COMMITMENT.search(t)]) >= 2, tid
        left_unhandled += any(t in unhandled for t in text)
    assert 0.2 * len(lines) < left_unhandled < 0.9 * len(lines)


def test_transcripts_belong_to_a_call_on_the_same_deal(sample_book):
    with session_scope(sample_book.engine) as s:
        rows = s.execute(select(Transcript.opportunity_id, Transcript.occurred_at, Activity.kind,
                                Activity.opportunity_id, Activity.occurred_at)
                         .join(Activity, Activity.id == Transcript.activity_id)).all()
        assert len(rows) == _count(s, Transcript)
    for t_opp, t_at, kind, a_opp, a_at in rows:
        assert kind == "call" and t_opp == a_opp and t_at == a_at


def test_all_dates_are_on_or_before_the_book_date_except_expected_close_dates(sample_book):
    with session_scope(sample_book.engine) as s:
        for column in (Activity.occurred_at, Transcript.occurred_at, Ticket.opened_at, Ticket.closed_at,
                       Signal.published_at, Task.created_at, FieldChange.changed_at):
            latest = s.scalar(select(func.max(column)))
            assert latest is not None and latest <= END_OF_BOOK_DATE, column
        assert s.scalar(select(func.max(UsageMetric.period_start))) <= BOOK_DATE
        earliest_close = s.scalar(select(func.min(Opportunity.close_date))
                                  .where(Opportunity.stage.in_(OPEN_STAGES)))
        assert earliest_close > BOOK_DATE
        for ticket in s.scalars(select(Ticket).where(Ticket.closed_at.is_not(None))):
            assert ticket.closed_at >= ticket.opened_at and ticket.status == "closed"


def test_some_deals_have_evidence_of_a_later_close_date_than_the_field(sample_book):
    with session_scope(sample_book.engine) as s:
        close = dict(s.execute(select(Opportunity.id, Opportunity.close_date)
                               .where(Opportunity.stage.in_(OPEN_STAGES))).all())
        texts = defaultdict(list)
        for oid, body in s.execute(select(Activity.opportunity_id, Activity.body)
                                   .where(Activity.kind == "email")):
            texts[oid].append(body)
        for oid, text in s.execute(select(Transcript.opportunity_id, Utterance.text)
                                   .join(Utterance, Utterance.transcript_id == Transcript.id)):
            texts[oid].append(text)
        history = dict(s.execute(select(FieldChange.record_id, func.max(FieldChange.new_value))
                                 .where(FieldChange.field == "close_date")
                                 .group_by(FieldChange.record_id)).all())
    later, agreeing = 0, 0
    for oid, field_date in close.items():
        mentioned = {dt.date(int(y), tx.MONTHS.index(m) + 1, int(d))
                     for body in texts[oid] for m, d, y in LONG_DATE.findall(body)}
        if any(day > field_date for day in mentioned):
            later += 1
        elif field_date in mentioned:
            agreeing += 1
        assert history[oid] == field_date.isoformat()  # the field history ends at the field's value
    assert 0.2 * len(close) <= later <= 0.4 * len(close)
    assert agreeing > 0.3 * len(close)


def test_contacts_of_deals_without_an_account_are_linked_only_through_the_deal(sample_book):
    with session_scope(sample_book.engine) as s:
        orphan_deals = set(s.scalars(select(Opportunity.id).where(Opportunity.account_id.is_(None),
                                                                  Opportunity.stage.in_(OPEN_STAGES))))
        links = s.execute(select(OpportunityContact.opportunity_id, Contact.account_id, Contact.email)
                          .join(Contact, Contact.id == OpportunityContact.contact_id)).all()
        per_account = s.execute(select(Contact.account_id, func.count())
                                .where(Contact.account_id.is_not(None)).group_by(Contact.account_id)).all()
        roles = set(s.scalars(select(OpportunityContact.role_in_deal).distinct()))
    assert len(orphan_deals) == 1425
    linked = defaultdict(list)
    for oid, account_id, email in links:
        linked[oid].append(account_id)
        assert email.endswith(".example")
    for oid in orphan_deals:
        assert 1 <= len(linked[oid]) <= 3 and all(a is None for a in linked[oid])
    assert len(per_account) == 85 and all(3 <= n <= 7 for _, n in per_account)
    assert {"champion", "economic_buyer"} <= roles <= set(tx.ROLES)


def test_customers_have_tickets_usage_and_signals_on_example_domains(sample_book):
    with session_scope(sample_book.engine) as s:
        severities = set(s.scalars(select(Ticket.severity).distinct()))
        open_urgent = _count(s, Ticket, Ticket.status != "closed", Ticket.severity.in_(("high", "critical")))
        kinds = set(s.scalars(select(Signal.kind).distinct()))
        urls = s.scalars(select(Signal.url)).all()
        metrics = set(s.scalars(select(UsageMetric.metric).distinct()))
        series = defaultdict(list)
        seats_used = (select(UsageMetric.account_id, UsageMetric.value)
                      .where(UsageMetric.metric == "seats_used")
                      .order_by(UsageMetric.account_id, UsageMetric.period_start))
        for account_id, value in s.execute(seats_used):
            series[account_id].append(value)
        tasks_open = _count(s, Task, Task.status == "open")
    assert severities == {"low", "medium", "high", "critical"}
    assert open_urgent > 0
    assert kinds == {"news", "job_posting", "web_page"}
    assert all(re.match(r"https://[a-z0-9.-]+\.example/", u) for u in urls)
    assert len(set(urls)) == len(urls)
    assert {"active_users", "seats_used", "seats_purchased"} <= metrics
    assert len(series) == 85 and all(6 <= len(v) <= 52 for v in series.values())
    growing = sum(v[-1] > 1.3 * v[0] for v in series.values())
    declining = sum(v[-1] < 0.75 * v[0] for v in series.values())
    assert growing > 0 and declining > 0
    assert tasks_open > 0
