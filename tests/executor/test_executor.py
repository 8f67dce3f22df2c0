"""The executor: one effect per approval whatever happens, conflicts write nothing, rollback is exact, and a process
killed at any step neither loses an approval nor repeats an effect."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sellerloop.approvals.models import InvalidTransition, Proposal, State
from sellerloop.approvals.service import approve, get_approval, propose, reject
from sellerloop.approvals.service import now as approvals_clock
from sellerloop.audit.service import verify as audit_verify
from sellerloop.errors import BadInput
from sellerloop.executor.models import Execution
from sellerloop.executor.service import CRASH_ENV, ExecutionConflict, NoConnector, execute, rollback
from sellerloop.policy.access import AccessDenied
from sellerloop.policy.service import policy_in_force
from sellerloop.records.models import FieldChange, Opportunity, Task, User
from sellerloop.store.db import create_store_engine, session_scope

T0 = dt.datetime(2026, 11, 24, 9, 0)


@pytest.fixture
def engine(maven_copy):
    engine = create_store_engine(maven_copy.url)
    yield engine
    engine.dispose()


@pytest.fixture
def deal(engine):
    """An Engaging Maven deal with an expected close date, its owner, and a manager outside the owner's chain."""
    with session_scope(engine) as s:
        o = s.scalars(select(Opportunity).where(Opportunity.stage == "Engaging").order_by(Opportunity.id)).first()
        o.close_date = dt.date(2018, 3, 1)
        owner = s.get(User, o.owner_id)
        stranger = s.scalars(select(User).where(User.role == "manager", User.id != owner.manager_id)
                             .order_by(User.id)).first()
        return o.id, o.close_date, owner.id, stranger.id


def _close_date_change(deal_id, old, new, *, made_at=T0) -> Proposal:
    return Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                    payload={"object": "opportunity", "record_id": deal_id, "field": "close_date",
                             "old": old.isoformat(), "new": new.isoformat()},
                    reason="Close date moved.", expires_at=made_at + dt.timedelta(days=7))


def _approved(engine, proposal, owner) -> str:
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=T0)
    with session_scope(engine) as s:
        approve(session=s, approval_id=approval.id, user_id=owner, at=T0 + dt.timedelta(minutes=1))
    return approval.id


def test_an_approved_field_change_is_written_once_however_often_it_is_run(engine, deal):
    deal_id, close, owner, _ = deal
    new = close + dt.timedelta(days=30)
    approval_id = _approved(engine, _close_date_change(deal_id, close, new), owner)
    for _ in range(3):
        with session_scope(engine) as s:
            execute(session=s, approval_id=approval_id, at=T0 + dt.timedelta(minutes=2))
    with session_scope(engine) as s:
        assert s.get(Opportunity, deal_id).close_date == new
        assert s.scalar(select(func.count()).select_from(Execution)) == 1
        assert s.scalar(select(func.count()).select_from(FieldChange).where(
            FieldChange.record_id == deal_id, FieldChange.changed_by.like("sellerloop%"))) == 1
        approval = get_approval(session=s, approval_id=approval_id)
        assert [d.state for d in approval.history].count(State.executed) == 1
        assert audit_verify(session=s).ok


def test_a_field_that_changed_since_the_approval_is_a_conflict_and_nothing_is_written(engine, deal):
    deal_id, close, owner, _ = deal
    approval_id = _approved(engine, _close_date_change(deal_id, close, close + dt.timedelta(days=30)), owner)
    with session_scope(engine) as s:
        s.get(Opportunity, deal_id).close_date = close + dt.timedelta(days=1)  # a seller edits it meanwhile
    with session_scope(engine) as s, pytest.raises(ExecutionConflict, match="nothing was written"):
        execute(session=s, approval_id=approval_id)
    with session_scope(engine) as s:
        assert s.get(Opportunity, deal_id).close_date == close + dt.timedelta(days=1)
        assert s.scalar(select(func.count()).select_from(Execution)) == 0
        assert get_approval(session=s, approval_id=approval_id).state is State.approved


def test_only_an_approved_action_runs_and_only_a_person_who_sees_the_record_decides(engine, deal):
    deal_id, close, owner, stranger = deal
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=3)),
                           by="agent:hygiene", at=T0)
    with session_scope(engine) as s, pytest.raises(InvalidTransition, match="only an approved action runs"):
        execute(session=s, approval_id=approval.id)
    with session_scope(engine) as s, pytest.raises(AccessDenied):
        approve(session=s, approval_id=approval.id, user_id=stranger)
    with session_scope(engine) as s, pytest.raises(InvalidTransition, match="a person must"):
        approve(session=s, approval_id=approval.id, user_id="agent:hygiene")
    with session_scope(engine) as s:
        reject(session=s, approval_id=approval.id, user_id=owner, reason="Customer confirmed the date",
               at=T0 + dt.timedelta(minutes=1))
    with session_scope(engine) as s, pytest.raises(InvalidTransition):
        execute(session=s, approval_id=approval.id)


def test_a_task_is_created_only_after_approval_and_rolled_back_by_deleting_it(engine, deal):
    deal_id, _, owner, _ = deal
    proposal = Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="create_task",
                        payload={"subject": "Send the security questionnaire", "due_date": "2026-11-27",
                                 "opportunity_id": deal_id}, reason="Seller commitment.")
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=T0)
        assert s.scalar(select(func.count()).select_from(Task).where(Task.opportunity_id == deal_id)) == 0
        approve(session=s, approval_id=approval.id, user_id=owner, at=T0)
        execution = execute(session=s, approval_id=approval.id, at=T0)
        assert s.get(Task, execution.diff["created"]["id"]).subject == "Send the security questionnaire"
    with session_scope(engine) as s:
        rollback(session=s, execution_id=execution.id, by=owner, at=T0 + dt.timedelta(hours=1))
    with session_scope(engine) as s:
        assert s.get(Task, execution.diff["created"]["id"]) is None
        assert get_approval(session=s, approval_id=approval.id).state is State.rolled_back


def test_actions_that_need_the_outside_world_are_refused_without_a_connector(engine, deal):
    deal_id, _, owner, _ = deal
    proposal = Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="send_email",
                        payload={"to": ["dana@acme.example"], "subject": "Recap", "body": "Thanks."},
                        reason="Follow-up email.")
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=T0)
        approve(session=s, approval_id=approval.id, user_id=owner, at=T0)
        with pytest.raises(NoConnector, match="needs a connector"):
            execute(session=s, approval_id=approval.id)


FIELDS = {  # opportunity fields of each column type, with values of that type
    "close_date": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    "engage_date": st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    "amount": st.floats(0.01, 1e9, allow_nan=False).map(lambda x: round(x, 2)),
    "next_step": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60),
    "name": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60),
}


@pytest.mark.slow
def test_rollback_restores_the_exact_previous_value_over_a_thousand_random_diffs(engine, deal):
    deal_id, _, owner, _ = deal
    counter = iter(range(10**6))
    policy = policy_in_force()  # a thousand changes to one deal in a day: far past the fatigue caps, on purpose
    uncapped = policy.model_copy(update={"caps": policy.caps.model_copy(update={
        "max_per_seller_per_day": 10**6, "max_open_per_record": 10**6})})

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(field=st.sampled_from(sorted(FIELDS)), data=st.data())
    def check(field, data):
        new = data.draw(FIELDS[field])
        n = next(counter)
        with session_scope(engine) as s:
            before = getattr(s.get(Opportunity, deal_id), field)
        if new == before:
            return
        as_json = new.isoformat() if isinstance(new, dt.date) else new
        old_json = before.isoformat() if isinstance(before, dt.date) else before
        proposal = Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                            payload={"object": "opportunity", "record_id": deal_id, "field": field,
                                     "old": old_json, "new": as_json}, reason=f"change {n}")
        with session_scope(engine) as s:
            approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=T0, policy=uncapped)
            approve(session=s, approval_id=approval.id, user_id=owner, at=T0)
            execution = execute(session=s, approval_id=approval.id, at=T0)
        with session_scope(engine) as s:
            assert getattr(s.get(Opportunity, deal_id), field) == new
            rollback(session=s, execution_id=execution.id, by=owner, at=T0)
        with session_scope(engine) as s:
            restored = getattr(s.get(Opportunity, deal_id), field)
            assert restored == before and type(restored) is type(before)

    check()
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Execution).where(Execution.status == "rolled_back")) >= 900
        assert audit_verify(session=s).ok


CHECKPOINTS = ["decided", "claimed", "effect", "approval", "audit"]


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", CHECKPOINTS)
def test_a_process_killed_at_any_step_neither_loses_the_approval_nor_repeats_the_effect(engine, deal, maven_copy,
                                                                                          crash_at):
    deal_id, close, owner, _ = deal
    new = close + dt.timedelta(days=45)
    # The CLI runs in another process, where no test can move the clock: the proposal is made on the clock it reads.
    made_at = approvals_clock()
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, new, made_at=made_at),
                           by="agent:hygiene", at=made_at)
    env = {**os.environ, "SELLERLOOP_HOME": str(maven_copy.home), "SELLERLOOP_DATABASE_URL": maven_copy.url,
           CRASH_ENV: crash_at}
    command = [str(Path(sys.executable).parent / "sellerloop"), "approvals", "approve", approval.id, "--as", owner]
    killed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr
    env.pop(CRASH_ENV)
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    once_more = subprocess.run(command, env=env, capture_output=True, text=True)  # approving twice: one effect
    assert once_more.returncode == 0, once_more.stderr
    with session_scope(engine) as s:
        assert s.get(Opportunity, deal_id).close_date == new
        assert s.scalar(select(func.count()).select_from(Execution)) == 1
        assert s.scalar(select(func.count()).select_from(FieldChange).where(
            FieldChange.record_id == deal_id, FieldChange.changed_by.like("sellerloop%"))) == 1
        history = get_approval(session=s, approval_id=approval.id).history
        assert [d.state for d in history] == [State.proposed, State.approved, State.executed]
        assert audit_verify(session=s).ok


def test_the_cli_lists_shows_approves_and_rolls_back(cli, maven_copy, engine, deal, time_machine):
    time_machine.move_to(T0 + dt.timedelta(hours=1), tick=False)  # the in-process CLI reads the same clock
    deal_id, close, owner, stranger = deal
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=9)),
                           by="agent:hygiene")
    listed = cli(maven_copy, "approvals", "list", "--as", owner)
    assert listed.exit_code == 0 and approval.id in listed.stdout
    hidden = cli(maven_copy, "approvals", "list", "--as", stranger)
    assert hidden.exit_code == 0 and approval.id not in hidden.stdout
    refused = cli(maven_copy, "approvals", "approve", approval.id, "--as", stranger)
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    done = cli(maven_copy, "approvals", "approve", approval.id, "--as", owner, "--json")
    assert done.exit_code == 0, done.stderr
    import json
    execution = json.loads(done.stdout)["execution"]
    undone = cli(maven_copy, "rollback", execution, "--as", owner)
    assert undone.exit_code == 0, undone.stderr
    with session_scope(engine) as s:
        assert s.get(Opportunity, deal_id).close_date == close
    again = cli(maven_copy, "rollback", execution, "--as", owner)
    assert again.exit_code == 2 and "rolled_back" in again.stderr
    bad = cli(maven_copy, "approvals", "reject", approval.id, "--as", owner, "--reason", "late")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1


def test_a_bad_payload_is_refused_before_anything_is_stored(engine, deal):
    deal_id, _, owner, _ = deal
    with pytest.raises(BadInput, match="update_field payload"):
        Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                 payload={"object": "opportunity", "record_id": deal_id, "field": "close date", "new": "x"},
                 reason="x")


def test_each_step_is_in_the_audit_log_with_its_actor_sources_and_diff(engine, deal):
    from sellerloop.audit.service import list_entries

    deal_id, close, owner, _ = deal
    proposal = _close_date_change(deal_id, close, close + dt.timedelta(days=12)).model_copy(update={
        "sources": [{"uri": f"opportunity:{deal_id}/field/close_date", "quote": "Close date: 2018-03-01"}]})
    approval_id = _approved(engine, proposal, owner)
    with session_scope(engine) as s:
        execution = execute(session=s, approval_id=approval_id, at=T0 + dt.timedelta(minutes=2))
    with session_scope(engine) as s:
        rollback(session=s, execution_id=execution.id, by=owner, at=T0 + dt.timedelta(minutes=3))
    with session_scope(engine) as s:
        entries = sorted(list_entries(session=s), key=lambda e: e.seq)
        assert audit_verify(session=s).ok
    assert [(e.action, e.actor) for e in entries] == [
        ("approval.proposed", "agent:hygiene"), ("approval.approved", owner), ("execution.done", "executor"),
        ("execution.rolled_back", owner)]
    assert entries[0].payload["sources"][0]["quote"] == "Close date: 2018-03-01"
    assert entries[2].payload["approver"] == owner
    assert entries[2].payload["diff"] == {"table": "opportunity", "id": deal_id, "field": "close_date",
                                          "before": "2018-03-01", "after": "2018-03-13"}


def test_a_teams_cedar_policy_decides_who_may_approve(engine, deal, tmp_path, monkeypatch):
    from sellerloop.policy.permissions import CEDAR_POLICIES_ENV, SHIPPED_POLICIES

    deal_id, close, owner, _ = deal
    with session_scope(engine) as s:
        from sellerloop.records.models import User
        manager = s.get(User, owner).manager_id
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=2)),
                           by="agent:hygiene", at=T0)
    ours = tmp_path / "ours.cedar"
    ours.write_text(SHIPPED_POLICIES.read_text(encoding="utf-8") + '\n@id("managers-do-not-approve")\n'
                    'forbid (principal is User, action == Action::"approve", resource) '
                    'when { principal.role == "manager" };\n', encoding="utf-8")
    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(ours))
    with session_scope(engine) as s, pytest.raises(AccessDenied, match="managers-do-not-approve"):
        approve(session=s, approval_id=approval.id, user_id=manager, at=T0 + dt.timedelta(minutes=1))
    with session_scope(engine) as s:  # the manager still sees it, and the owner may approve
        assert get_approval(session=s, approval_id=approval.id, user_id=manager).state is State.proposed
        approve(session=s, approval_id=approval.id, user_id=owner, at=T0 + dt.timedelta(minutes=1))
