"""Fatigue rules on proposals: caps per record and per seller per day, no re-asking after a rejection nor after
being ignored, near-duplicates merged into the open one, expiry."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sellerloop.approvals.models import Proposal, State
from sellerloop.approvals.service import (
    ProposalHeld,
    approve,
    expire_due,
    get_approval,
    near_duplicate,
    propose,
    reject,
)
from sellerloop.audit.models import AuditEntry
from sellerloop.audit.service import verify as audit_verify
from sellerloop.policy.service import policy_in_force
from sellerloop.records.models import Opportunity
from sellerloop.store.db import session_scope

T0 = dt.datetime(2026, 11, 24, 9, 0)


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
    policy = _policy(max_open_approvals_per_record=2)
    with session_scope(engine) as s:
        for n in range(2):
            propose(session=s, proposal=_task(deal, n), by="agent:follow-up", at=T0, policy=policy)
        with pytest.raises(ProposalHeld, match="already has 2 open approvals"):
            propose(session=s, proposal=_task(deal, 2), by="agent:follow-up", at=T0, policy=policy)
        again = propose(session=s, proposal=_task(deal, 0), by="agent:follow-up", at=T0, policy=policy)
        assert again.state is State.proposed  # the same proposal again is the open one: no duplicate, no cap


def test_a_seller_gets_at_most_their_daily_cap_across_records(engine, deals):
    _, ids = deals
    policy = _policy(max_new_approvals_per_seller_per_day=2, max_open_approvals_per_record=5)
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


def _field(deal_id: str, new: str, *, field: str = "next_step", reason: str = "Next step.") -> Proposal:
    return Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                    payload={"object": "opportunity", "record_id": deal_id, "field": field, "old": None,
                             "new": new}, reason=reason, sources=[{"uri": f"note:{reason}", "quote": new}])


def _named_task(deal_id: str, subject: str, due: str) -> Proposal:
    return Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="create_task",
                    payload={"subject": subject, "due_date": due, "opportunity_id": deal_id},
                    reason=f"Commitment: {subject}", sources=[{"uri": "activity:a1", "quote": subject}])


def test_a_field_change_differing_only_in_case_and_spacing_is_merged_into_the_open_one(engine, deals):
    _, (deal, *_) = deals
    with session_scope(engine) as s:
        first = propose(session=s, proposal=_field(deal, "Send pricing to Dana"), by="agent:hygiene", at=T0)
        again = propose(session=s, proposal=_field(deal, "  send PRICING to   dana ", reason="Second run."),
                        by="agent:hygiene", at=T0 + dt.timedelta(hours=1))
        other = propose(session=s, proposal=_field(deal, "Book the demo"), by="agent:hygiene", at=T0)
        assert (again.id, again.state, again.merged) == (first.id, State.proposed, 1)
        assert get_approval(session=s, approval_id=first.id).merged == 1  # kept in the store
        assert get_approval(session=s, approval_id=first.id).payload["new"] == "Send pricing to Dana"
        assert other.id != first.id and other.merged == 0
        merged = s.scalars(select(AuditEntry).where(AuditEntry.action == "approval.merged")).all()
        assert [(e.payload["approval"], e.payload["merged"], e.payload["reason"]) for e in merged] == [
            (first.id, 1, "Second run.")]
        assert merged[0].payload["sources"] == [{"uri": "note:Second run.", "quote": "  send PRICING to   dana "}]
        assert audit_verify(session=s).ok


def test_a_task_worded_alike_and_due_within_a_week_is_merged_into_the_open_one(engine, deals):
    _, (deal, *_) = deals
    policy = _policy(max_open_approvals_per_record=10)
    with session_scope(engine) as s:
        first = propose(session=s, proposal=_named_task(deal, "Send the security questionnaire to procurement",
                                                        "2026-11-30"), by="agent:follow-up", at=T0, policy=policy)
        same = [propose(session=s, proposal=_named_task(deal, subject, due), by="agent:follow-up", at=T0,
                        policy=policy) for subject, due in [
            ("send the Security-Questionnaire to procurement!", "2026-12-03"),  # punctuation, case
            ("Send the security questionnaire to procurement today", "2026-12-07"),  # 6 of 7 words
        ]]
        different = [propose(session=s, proposal=_named_task(deal, subject, due), by="agent:follow-up", at=T0,
                             policy=policy) for subject, due in [
            ("Send the security questionnaire to procurement", "2026-12-08"),  # due 8 days later
            ("Send the pricing sheet to procurement", "2026-11-30"),  # 4 of 8 words
        ]]
    assert [a.id for a in same] == [first.id, first.id] and same[-1].merged == 2
    assert len({a.id for a in different} | {first.id}) == 3


def test_near_duplicates_need_the_same_field_and_a_task_on_the_same_record():
    change = {"object": "opportunity", "record_id": "d1", "field": "next_step", "old": None, "new": "Call"}
    assert near_duplicate("update_field", change, {**change, "new": " call "})
    assert not near_duplicate("update_field", change, {**change, "field": "description"})
    assert not near_duplicate("update_field", change, {**change, "record_id": "d2"})
    task = {"subject": "Call the CFO", "due_date": "2026-11-30", "opportunity_id": "d1"}
    assert near_duplicate("create_task", task, {**task, "subject": "call the cfo.", "due_date": "2026-12-07"})
    assert not near_duplicate("create_task", task, {**task, "opportunity_id": "d2"})
    note = {"body": "Dana  asked for pricing", "opportunity_id": "d1"}
    assert near_duplicate("log_note", note, {**note, "body": "dana asked for PRICING"})


def test_an_ignored_proposal_is_not_asked_again_until_its_cooldown_ends(engine, deals):
    _, (deal, *_) = deals
    policy = _policy(expire_after_days=3, cooldown_days_after_ignored=7)
    with session_scope(engine) as s:
        first = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0, policy=policy)
        assert expire_due(session=s, at=T0 + dt.timedelta(days=3)) == 1
        soon = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0 + dt.timedelta(days=9),
                       policy=policy)
        later = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0 + dt.timedelta(days=10),
                        policy=policy)
    assert (soon.id, soon.state) == (first.id, State.expired)
    assert later.id == f"{first.id}-1" and later.state is State.proposed


def test_a_proposal_past_its_expiry_counts_as_ignored_even_before_the_sweep(engine, deals):
    _, (deal, *_) = deals
    policy = _policy(expire_after_days=3, cooldown_days_after_ignored=7)
    with session_scope(engine) as s:
        first = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0, policy=policy)
        again = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0 + dt.timedelta(days=4),
                        policy=policy)
        assert (again.id, again.state) == (first.id, State.expired)
        assert get_approval(session=s, approval_id=first.id).state is State.expired
        assert audit_verify(session=s).ok


def test_an_approval_that_expired_after_a_person_approved_it_was_not_ignored(engine, deals):
    owner, (deal, *_) = deals
    policy = _policy(expire_after_days=3, cooldown_days_after_ignored=7)
    with session_scope(engine) as s:
        first = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0, policy=policy)
        approve(session=s, approval_id=first.id, user_id=owner, at=T0 + dt.timedelta(days=1))
        expire_due(session=s, at=T0 + dt.timedelta(days=3))
        again = propose(session=s, proposal=_task(deal, 1), by="agent:follow-up", at=T0 + dt.timedelta(days=4),
                        policy=policy)
    assert again.id != first.id and again.state is State.proposed


def test_the_ignored_cooldown_is_read_from_the_policy_file():
    assert policy_in_force().caps.cooldown_days_after_ignored == 7
