"""The scale generator (`sellerloop generate`): exact sizes, synthetic rows, determinism, a clear refusal on a
seed already generated, and bad arguments as usage errors. Small sizes, real stores on each backend."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from sellerloop.errors import BadInput
from sellerloop.records.models import (
    RECORD_TYPES,
    Account,
    Activity,
    Contact,
    Opportunity,
    OpportunityContact,
    StageChange,
    User,
)
from sellerloop.sample import generator
from sellerloop.sample.generator import generate_book
from sellerloop.store.db import create_store_engine
from sellerloop.store.service import init_store

GENERATED = (User, Account, Contact, Opportunity, OpportunityContact, StageChange, Activity)


def _count(engine, model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _dump(engine) -> dict[str, list[tuple]]:
    """Every generated row of every table, without database-assigned integer ids, in a stable order."""
    dump = {}
    with engine.connect() as conn:
        for model in GENERATED:
            table = model.__table__
            columns = [c for c in table.columns if not (model is StageChange and c.name == "id")]
            sortable = [c for c in columns if c.name != "participants"]  # PostgreSQL cannot order by json
            rows = conn.execute(select(*columns).order_by(*sortable)).all()
            dump[table.name] = [tuple(r) for r in rows]
    return dump


def test_it_writes_exactly_the_accounts_and_activities_asked_for(engine):
    result = generate_book(engine=engine, accounts=60, activities=777, seed=11)

    assert _count(engine, Account) == result.counts["accounts"] == 60
    assert _count(engine, Activity) == result.counts["activities"] == 777
    for name in ("users", "contacts", "opportunities", "stage_history", "opportunity_contacts"):
        assert result.counts[name] == _count(engine, RECORD_TYPES.get(name, OpportunityContact)), name
    # about one seller per 40 accounts, never fewer than a few; every seller has a manager
    assert _count(engine, User, role="seller") == 3
    assert _count(engine, User, role="manager") >= 1
    with engine.connect() as conn:
        assert conn.execute(select(User.id).where(User.role == "seller", User.manager_id.is_(None))).first() is None
    assert 2 * 60 <= result.counts["contacts"] <= 4 * 60
    assert 60 <= result.counts["opportunities"] <= 3 * 60
    assert result.seconds > 0 and result.rows == sum(result.counts.values())
    assert "777 activities" in result.summary()


def test_every_generated_row_is_marked_synthetic(engine):
    generate_book(engine=engine, accounts=20, activities=300, seed=5)

    for model in GENERATED:
        assert _count(engine, model, synthetic=False) == 0, model.__tablename__
        assert _count(engine, model, synthetic=True) > 0, model.__tablename__


def test_generated_rows_are_consistent_and_readable(engine):
    generate_book(engine=engine, accounts=30, activities=400, seed=8)

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # checks were off during the load: prove nothing dangles
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # restored afterwards
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        else:  # the constraints dropped for the load are back
            n = conn.execute(text("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                                  " AND conrelid = 'activities'::regclass")).scalar()
            assert n == 3
        stages = set(conn.execute(select(Opportunity.stage).distinct()).scalars())
        assert stages == {"Prospecting", "Engaging", "Won", "Lost"}
        kinds = set(conn.execute(select(Activity.kind).distinct()).scalars())
        assert kinds == {"email", "meeting", "call", "note"}
    from sqlalchemy.orm import Session

    with Session(engine) as session:  # the ORM reads what the bulk load wrote: dates, JSON, numbers
        for activity in session.scalars(select(Activity).limit(50)):
            assert activity.occurred_at.year in (2024, 2025)
            assert activity.subject and activity.body
            assert isinstance(activity.participants, list) and activity.participants
            assert all(p["role"] in ("from", "to", "attendee") for p in activity.participants)
            assert activity.direction in (("inbound", "outbound") if activity.kind in ("email", "call")
                                          else (None,))
            if activity.opportunity_id:
                assert session.get(Opportunity, activity.opportunity_id).account_id == activity.account_id
        won = session.scalars(select(Opportunity).where(Opportunity.stage == "Won")).first()
        assert won.close_value == won.amount > 0 and won.close_date >= won.engage_date


def test_the_same_seed_gives_the_same_book_in_two_fresh_stores(store, tmp_path):
    engines = []
    for n in (1, 2):
        url = store.url if n == 1 else f"sqlite:///{tmp_path / 'second.db'}"
        engine = create_store_engine(url)
        init_store(engine=engine)
        generate_book(engine=engine, accounts=25, activities=250, seed=42)
        engines.append(engine)
    try:
        assert _dump(engines[0]) == _dump(engines[1])
    finally:
        for engine in engines:
            engine.dispose()


def test_the_child_process_makes_the_same_rows_as_this_one(engine, tmp_path, monkeypatch):
    """Big runs make rows in a child process: its book must be the one made in-process."""
    monkeypatch.setattr(generator, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(generator, "REBUILD_MIN_ROWS", 1)  # and exercise the index rebuild on the way
    generate_book(engine=engine, accounts=25, activities=250, seed=42)
    reference = create_store_engine(f"sqlite:///{tmp_path / 'inline.db'}")
    init_store(engine=reference)
    monkeypatch.setattr(generator, "PARALLEL_MIN_ROWS", 10**12)
    generate_book(engine=reference, accounts=25, activities=250, seed=42)
    try:
        assert _dump(engine) == _dump(reference)
        with engine.connect() as conn:  # the dropped indexes are back
            if engine.dialect.name == "sqlite":
                names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'"
                                             " AND tbl_name = 'activities'").scalars().all()
            else:
                names = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'activities'"
                                          " AND schemaname = current_schema()")).scalars().all()
            assert "ix_activities_occurred_at" in names and len(names) == 5
            if engine.dialect.name == "sqlite":  # back in WAL mode if the load left it
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        reference.dispose()


def test_another_seed_adds_a_second_book_beside_the_first(engine):
    first = generate_book(engine=engine, accounts=10, activities=100, seed=1)
    second = generate_book(engine=engine, accounts=12, activities=120, seed=12)  # ids g12-*, not g1-*

    assert _count(engine, Account) == 22 and _count(engine, Activity) == 220
    assert first.products_reused is False and second.products_reused is True
    assert "products" not in {k for k, v in second.counts.items() if v}


def test_it_refuses_a_seed_the_store_already_holds_and_changes_nothing(engine):
    generate_book(engine=engine, accounts=10, activities=50, seed=3)

    with pytest.raises(BadInput, match="seed 3 was already generated"):
        generate_book(engine=engine, accounts=10, activities=50, seed=3)
    assert _count(engine, Account) == 10 and _count(engine, Activity) == 50


def test_the_generate_command_builds_the_book_and_stats_counts_it(store, cli):
    result = cli(store, "generate", "--accounts", "50", "--activities", "500", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    assert "500 activities" in result.stdout and "50 accounts" in result.stdout

    stats = cli(store, "stats", "--json")
    counts = json.loads(stats.stdout)
    assert counts["accounts"] == {"real": 0, "synthetic": 50, "total": 50}
    assert counts["activities"] == {"real": 0, "synthetic": 500, "total": 500}
    assert counts["contacts"]["synthetic"] > 0 and counts["opportunities"]["synthetic"] > 0


def test_the_generate_command_refuses_a_repeated_seed_in_one_line(store, cli):
    assert cli(store, "generate", "--accounts", "5", "--activities", "10", "--seed", "9").exit_code == 0

    again = cli(store, "generate", "--accounts", "5", "--activities", "10", "--seed", "9")
    assert again.exit_code == 2
    assert again.stderr.strip().count("\n") == 0 and "seed 9 was already generated" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize("args", [("--accounts", "0"), ("--accounts", "-5"), ("--activities", "-1"),
                                  ("--accounts", "many")])
def test_bad_arguments_are_a_usage_error_without_a_traceback(store, cli, args):
    result = cli(store, "generate", *args)

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    # click's usage error: the reason, naming the option, on one line
    assert any(args[0] in line and ("Invalid value" in line or "is not" in line)
               for line in result.stderr.splitlines())


@pytest.mark.parametrize("accounts, activities", [(0, 10), (-5, 10), (10, -1)])
def test_generate_book_rejects_bad_sizes_itself(engine, accounts, activities):
    with pytest.raises(BadInput):
        generate_book(engine=engine, accounts=accounts, activities=activities, seed=1)
