"""The approval state machine: every allowed path, every refused one, and the state survives a round trip."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from sellerloop.approvals.models import NEXT, Approval, InvalidTransition, Proposal, State
from sellerloop.errors import BadInput

T0 = dt.datetime(2026, 11, 24, 9, 0)


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _approval(**proposal) -> Approval:
    fields = {"use_case": "next-action", "subject": "opportunity:d1", "action": "create_task",
              "payload": {"subject": "Book the security review", "due_date": "2026-11-27", "opportunity_id": "d1"},
              "reason": "Engaging since 2026-09-01.", "expires_at": _at(24 * 60)} | proposal
    return Approval.propose(id="a1", proposal=Proposal(**fields), by="agent:next-action", at=T0)


def test_an_approval_goes_from_proposed_to_executed_to_rolled_back_keeping_who_and_when():
    approval = _approval().approve(by="u-manager", at=_at(5))
    approval = approval.executed(by="executor", at=_at(6), execution_id="x1")
    approval = approval.rolled_back(by="u-manager", at=_at(9), execution_id="x1")
    assert [d.state for d in approval.history] == [State.proposed, State.approved, State.executed,
                                                    State.rolled_back]
    assert [d.by for d in approval.history] == ["agent:next-action", "u-manager", "executor", "u-manager"]
    assert approval.approver == "u-manager" and approval.state is State.rolled_back


def test_edits_are_validated_kept_and_executed_instead_of_the_proposal():
    edited = {"subject": "Book the security review", "due_date": "2026-12-01", "opportunity_id": "d1"}
    approval = _approval().approve(by="u1", at=_at(1), payload=edited)
    assert approval.state is State.approved_with_edits
    assert approval.payload["due_date"] == "2026-12-01" and approval.proposal.payload["due_date"] == "2026-11-27"
    with pytest.raises(BadInput, match="create_task payload"):
        _approval().approve(by="u1", at=_at(1), payload={"subject": "x", "due_date": "soon"})
    with pytest.raises(BadInput, match="create_task payload"):
        _approval().approve(by="u1", at=_at(1), payload={**edited, "send_to": "everyone@example.com"})


def test_edits_that_change_nothing_are_a_plain_approval():
    approval = _approval()
    assert approval.approve(by="u1", at=_at(1), payload=dict(approval.proposal.payload)).state is State.approved


def test_a_rejection_needs_a_reason_and_is_final():
    with pytest.raises(BadInput, match="needs a reason"):
        _approval().reject(by="u1", at=_at(1), reason="  ")
    rejected = _approval().reject(by="u1", at=_at(1), reason="Wrong   contact")
    assert rejected.history[-1].reason == "Wrong contact"
    with pytest.raises(InvalidTransition, match="rejected: it cannot become approved"):
        rejected.approve(by="u1", at=_at(2))


def test_an_expired_proposal_cannot_be_approved():
    with pytest.raises(InvalidTransition, match="expired"):
        _approval().approve(by="u1", at=_at(24 * 60))
    assert _approval().expire(at=_at(24 * 60)).state is State.expired


@pytest.mark.parametrize(("start", "target"), [
    # Nothing has a method that moves back to proposed, so that target cannot even be asked for.
    (start, target) for start, target in itertools.product(State, State)
    if target not in NEXT[start] and target is not State.proposed
])
def test_every_transition_the_diagram_does_not_allow_is_refused(start, target):
    approval = _in_state(start)
    move = {State.approved: lambda a: a.approve(by="u1", at=_at(50)),
            State.approved_with_edits: lambda a: a.approve(by="u1", at=_at(50), payload={
                **a.proposal.payload, "due_date": "2026-12-02"}),
            State.rejected: lambda a: a.reject(by="u1", at=_at(50), reason="no"),
            State.expired: lambda a: a.expire(at=_at(50)),
            State.executed: lambda a: a.executed(by="executor", at=_at(50), execution_id="x"),
            State.rolled_back: lambda a: a.rolled_back(by="u1", at=_at(50), execution_id="x")}[target]
    with pytest.raises(InvalidTransition):
        move(approval)


def _in_state(state: State) -> Approval:
    a = _approval()
    paths = {
        State.proposed: [],
        State.approved: [lambda a: a.approve(by="u1", at=_at(1))],
        State.approved_with_edits: [lambda a: a.approve(by="u1", at=_at(1), payload={
            **a.proposal.payload, "due_date": "2026-12-01"})],
        State.rejected: [lambda a: a.reject(by="u1", at=_at(1), reason="no")],
        State.expired: [lambda a: a.expire(at=_at(1))],
        State.executed: [lambda a: a.approve(by="u1", at=_at(1)),
                         lambda a: a.executed(by="executor", at=_at(2), execution_id="x")],
        State.rolled_back: [lambda a: a.approve(by="u1", at=_at(1)),
                            lambda a: a.executed(by="executor", at=_at(2), execution_id="x"),
                            lambda a: a.rolled_back(by="u1", at=_at(3), execution_id="x")],
    }
    for step in paths[state]:
        a = step(a)
    assert a.state is state
    return a


def test_the_state_survives_a_json_round_trip():
    approval = _approval().approve(by="u1", at=_at(1), payload={
        "subject": "Book the security review", "due_date": "2026-12-01", "opportunity_id": "d1"})
    again = Approval.model_validate_json(approval.model_dump_json())
    assert again == approval and again.state is State.approved_with_edits and again.payload == approval.payload


def test_a_proposal_outside_the_catalogue_or_with_a_bad_payload_is_refused():
    with pytest.raises(BadInput, match="unknown action|not in the action catalogue"):
        _approval(action="mark_closed_won", payload={})
    with pytest.raises(BadInput, match="update_field payload"):
        _approval(action="update_field", payload={"object": "opportunity", "record_id": "d1", "field": "stage",
                                                  "old": "Engaging", "new": "Engaging"})


def test_risk_comes_from_the_catalogue_and_the_payload():
    stage = _approval(action="update_field", payload={"object": "opportunity", "record_id": "d1", "field": "stage",
                                                      "old": "Engaging", "new": "Won"})
    assert stage.proposal.risk.value == "high" and _approval().proposal.risk.value == "low"
