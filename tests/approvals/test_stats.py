"""Acceptance and edit rates (approvals/stats.py), on approvals made, decided, executed, rolled back and expired
through the real approvals service and executor, on both stores."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from sellerloop.actions.catalogue import Risk
from sellerloop.approvals.models import PolicyRule, Proposal
from sellerloop.approvals.service import approve, approve_by_policy, expire_due, propose, reject
from sellerloop.approvals.stats import NOT_RECORDED, acceptance
from sellerloop.executor.service import execute, rollback
from sellerloop.records.models import Opportunity, User
from sellerloop.store.db import session_scope

T0 = dt.datetime(2026, 11, 2, 9, 0)
LATER = T0 + dt.timedelta(days=200)  # when the counts are read: every proposal's own time is up by then
_n = itertools.count()


@pytest.fixture
def book(engine):
    """RevOps user Rita, who may decide on anything, and two sellers of different teams with their deals."""
    with session_scope(engine) as s:
        s.add(User(id="rita", name="Rita Ops", role="revops"))
        sellers = s.scalars(select(User).where(User.role == "seller").order_by(User.id)).all()
        first = sellers[0]
        second = next(u for u in sellers if u.manager_id != first.manager_id)
        deals = {u.id: s.scalars(select(Opportunity.id).where(Opportunity.owner_id == u.id)
                                 .order_by(Opportunity.id).limit(12)).all() for u in (first, second)}
        return {"engine": engine, "a": first.id, "a_name": first.name, "b": second.id, "deals": deals}


def make(book, seller: str, outcome: str, *, use_case: str = "hygiene", level: str | None = "L4") -> str:
    """One approval on one of `seller`'s deals (a deal each, a day each: no fatigue cap holds one back), taken to
    `outcome` through the service: approved, edited, rejected, executed, rolled_back, approved_then_expired,
    pending, expired, by_policy."""
    n = next(_n)
    at = T0 + dt.timedelta(days=n % 60, minutes=n)
    deal = book["deals"][seller][n % len(book["deals"][seller])]
    payload = {"subject": f"Call back about the renewal ({n})", "due_date": "2026-12-01", "opportunity_id": deal}
    expires = dt.datetime(2099, 1, 1) if outcome == "pending" else at + dt.timedelta(days=7)
    proposal = Proposal(use_case=use_case, subject=f"opportunity:{deal}", action="create_task", payload=payload,
                        reason="The customer asked for a call back.", expires_at=expires, level=level)
    with session_scope(book["engine"]) as s:
        a = propose(session=s, proposal=proposal, by=f"agent:{use_case}", at=at)
        if outcome in ("approved", "executed", "rolled_back", "approved_then_expired"):
            approve(session=s, approval_id=a.id, user_id="rita", at=at)
        elif outcome == "edited":
            approve(session=s, approval_id=a.id, user_id="rita", payload={**payload, "subject": "Call Ana"}, at=at)
        elif outcome == "rejected":
            reject(session=s, approval_id=a.id, user_id="rita", reason="not needed", at=at)
        elif outcome == "by_policy":
            approve_by_policy(session=s, approval_id=a.id, at=at, rule=PolicyRule(
                level="L5", path=f"levels.{use_case}.create_task", risk=Risk.low, reversible=True))
        if outcome in ("executed", "rolled_back"):
            execution = execute(session=s, approval_id=a.id, at=at)
            if outcome == "rolled_back":
                rollback(session=s, execution_id=execution.id, by="rita", at=at)
        if outcome in ("expired", "approved_then_expired"):
            assert expire_due(session=s, at=at + dt.timedelta(days=8)) >= 1
    return a.id


def stats(book, owners=None):
    with session_scope(book["engine"]) as s:
        return acceptance(session=s, owners=owners, at=LATER)


def test_each_approval_counts_by_the_decision_a_person_took_whatever_happened_after(book):
    for outcome in ["approved", "executed", "rolled_back", "approved_then_expired", "edited", "edited",
                    "rejected", "rejected", "pending", "expired"]:
        make(book, book["a"], outcome)
    total = stats(book).total
    # approved 4 (one only approved, one executed, one rolled back, one expired before it ran), edited 2
    assert (total.approved, total.approved_with_edits, total.rejected) == (4, 2, 2)
    assert total.decided == 8 and (total.pending, total.expired, total.by_policy) == (1, 1, 0)
    assert total.acceptance_rate == pytest.approx(6 / 8)
    assert total.edit_rate == pytest.approx(2 / 6)


def test_rates_are_none_rather_than_zero_when_nothing_was_decided(book):
    make(book, book["a"], "pending")
    make(book, book["a"], "expired")
    total = stats(book).total
    assert total.decided == 0 and total.acceptance_rate is None and total.edit_rate is None
    make(book, book["a"], "rejected")
    total = stats(book).total
    assert total.acceptance_rate == 0 and total.edit_rate is None  # rejected everything: nothing approved to edit


def test_a_proposal_still_open_after_its_time_is_up_counts_as_expired_not_pending(book):
    make(book, book["a"], "pending")  # expires in 2099
    with session_scope(book["engine"]) as s:
        assert acceptance(session=s, owners=None, at=dt.datetime(2100, 1, 1)).total.expired == 1
        assert acceptance(session=s, owners=None, at=LATER).total.pending == 1


def test_rates_are_split_by_use_case_by_level_and_by_seller(book):
    make(book, book["a"], "approved", use_case="hygiene", level="L3")
    make(book, book["a"], "edited", use_case="hygiene", level="L4")
    make(book, book["b"], "rejected", use_case="next-action", level=None)
    make(book, book["b"], "approved", use_case="next-action", level="L4")
    result = stats(book)
    by_use_case = {r.key: (r.approved, r.approved_with_edits, r.rejected) for r in result.by_use_case}
    assert by_use_case == {"hygiene": (1, 1, 0), "next-action": (1, 0, 1)}
    assert [r.key for r in result.by_use_case] == ["next-action", "hygiene"]  # the order of USE_CASES
    by_level = {r.key: (r.approved, r.approved_with_edits, r.rejected) for r in result.by_level}
    assert by_level == {"L3": (1, 0, 0), "L4": (1, 1, 0), NOT_RECORDED: (0, 0, 1)}
    assert [r.key for r in result.by_level] == ["L3", "L4", NOT_RECORDED]
    sellers = {r.key: r for r in result.by_seller}
    assert set(sellers) == {book["a"], book["b"]} and sellers[book["a"]].label == book["a_name"]
    assert sellers[book["a"]].acceptance_rate == 1 and sellers[book["a"]].edit_rate == pytest.approx(0.5)
    assert sellers[book["b"]].acceptance_rate == pytest.approx(0.5) and sellers[book["b"]].edit_rate == 0


def test_owners_restrict_the_counts_to_their_records(book):
    make(book, book["a"], "approved")
    make(book, book["b"], "rejected")
    mine = stats(book, owners={book["a"]})
    assert [r.key for r in mine.by_seller] == [book["a"]]
    assert (mine.total.approved, mine.total.rejected) == (1, 0)
    assert stats(book, owners=set()).total.decided == 0


def test_an_approval_by_the_policy_is_no_persons_verdict_and_is_counted_apart(book):
    make(book, book["a"], "by_policy", level="L5")
    make(book, book["a"], "rejected", level="L5")
    total = stats(book).total
    assert total.by_policy == 1 and total.decided == 1 and total.acceptance_rate == 0
