"""Fatigue rules on proposals: caps per record and per seller per day, no re-asking after a rejection, expiry."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sellerloop.approvals.models import Proposal, State
from sellerloop.approvals.service import ProposalHeld, expire_due, propose, reject
from sellerloop.policy.service import policy_in_force
from sellerloop.records.models import Opportunity
from sellerloop.store.db import create_store_engine, session_scope

T0 = dt.datetime(2026, 11, 24, 9, 0)


@pytest.fixture
def engine(maven_copy):
    engine = create_store_engine(maven_copy.url)
    yield engine
    engine.dispose()


@pytest.fixture
def deals(engine):
    """Three open deals of one seller."""
    with session_scope(engine) as s:
        first = s.scalars(select(Opportunity).where(Opportunity.stage == "Engaging").order_by(Opportunity.id)).first()
        ids = s.scalars(select(Opportunity.id).where(Opportunity.owner_id == first.owner_id,
                                                     Opportunity.stage == "Engaging").order_by(Opportunity.id)
                        .limit(3)).all()
        return first.owner_id, ids


def _task(deal_id: str, n: int) -> Proposal:
    return Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="create_task",
                    payload={"subject": f"Follow up {n}", "due_date": "2026-11-30", "opportunity_id": deal_id},
                    reason=f"Commitment {n}.")


def _policy(**caps):
    policy = policy_in_force()
    return policy.model_copy(update={"caps": policy.caps.model_copy(update=caps)})


def test_a_record_gets_at_most_its_cap_of_open_approvals(engine, deals):
    _, (deal, *_) = deals
    policy = _policy(max_open_per_record=2)
    with session_scope(engine) as s:
        for n in range(2):
            propose(session=s, proposal=_task(deal, n), by="agent:follow-up", at=T0, policy=policy)
        with pytest.raises(ProposalHeld, match="already has 2 open approvals"):
            propose(session=s, proposal=_task(deal, 2), by="agent:follow-up", at=T0, policy=policy)
        again = propose(session=s, proposal=_task(deal, 0), by="agent:follow-up", at=T0, policy=policy)
        assert again.state is State.proposed  # the same proposal again is the open one: no duplicate, no cap


def test_a_seller_gets_at_most_their_daily_cap_across_records(engine, deals):
    _, ids = deals
    policy = _policy(max_per_seller_per_day=2, max_open_per_record=5)
    with session_scope(engine) as s:
        propose(session=s, proposal=_task(ids[0], 1), by="agent:follow-up", at=T0, policy=policy)
        propose(session=s, proposal=_task(ids[1], 1), by="agent:follow-up", at=T0, policy=policy)
        with pytest.raises(ProposalHeld, match="2 new approvals today"):
            propose(session=s, proposal=_task(ids[2], 1), by="agent:follow-up", at=T0, policy=policy)
        tomorrow = propose(session=s, proposal=_task(ids[2], 1), by="agent:follow-up",
                           at=T0 + dt.timedelta(days=1), policy=policy)
    assert tomorrow.state is State.proposed


def test_a_rejected_proposal_is_not_asked_again_until_its_cooldown_ends(engine, deals):
    owner, (deal, *_) = deals
    policy = _policy(cooldown_days_after_rejection=14)
    with session_scope(engine) as s:
        first = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0, policy=policy)
        reject(session=s, approval_id=first.id, user_id=owner, reason="Already done", at=T0)
        soon = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0 + dt.timedelta(days=3),
                       policy=policy)
        later = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0 + dt.timedelta(days=15),
                        policy=policy)
    assert (soon.id, soon.state) == (first.id, State.rejected)
    assert later.id != first.id and later.state is State.proposed


def test_proposals_expire_after_the_policys_days(engine, deals):
    _, (deal, *_) = deals
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0,
                           policy=_policy(expire_after_days=3))
        assert approval.proposal.expires_at == T0 + dt.timedelta(days=3)
        assert expire_due(session=s, at=T0 + dt.timedelta(days=2)) == 0
        assert expire_due(session=s, at=T0 + dt.timedelta(days=3)) == 1
