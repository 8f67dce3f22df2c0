"""The executor: one effect per approval whatever happens, conflicts write nothing, rollback is exact, and a process
killed at any step neither loses an approval nor repeats an effect."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sellerloop.access.service import AccessDenied
from sellerloop.approvals.models import InvalidTransition, Proposal, State
from sellerloop.approvals.service import approve, get_approval, propose, reject
from sellerloop.approvals.service import now as approvals_clock
from sellerloop.audit.service import verify as audit_verify
from sellerloop.auth.service import add_user
from sellerloop.errors import BadInput
from sellerloop.executor.models import Execution
from sellerloop.executor.service import CRASH_ENV, ExecutionConflict, NoConnector, execute, rollback
from sellerloop.policy.service import policy_in_force
from sellerloop.records.models import FieldChange, Opportunity, Task, User
from sellerloop.store.db import session_scope
from tests.support.books import maven_copy_engine as engine  # noqa: F401  (the fixture, by the name used here)

T0 = dt.datetime(2026, 11, 24, 9, 0)


@pytest.fixture
def deal(engine):
    """An Engaging Maven deal with an expected close date; who approves its forecast changes (the owner's
    manager: the default policy's approvers are managers, RevOps and admins, never the seller who owns the deal);
    and a manager outside the owner's chain."""
    with session_scope(engine) as s:
        o = s.scalars(select(Opportunity).where(Opportunity.stage == "Engaging").order_by(Opportunity.id)).first()
        o.close_date = dt.date(2018, 3, 1)
        owner = s.get(User, o.owner_id)
        stranger = s.scalars(select(User).where(User.role == "manager", User.id != owner.manager_id)
                             .order_by(User.id)).first()
        return o.id, o.close_date, owner.manager_id, stranger.id


def _close_date_change(deal_id, old, new, *, made_at=T0) -> Proposal:
    return Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                    payload={"object": "opportunity", "record_id": deal_id, "field": "close_date",
                             "old": old.isoformat(), "new": new.isoformat()},
                    reason="Close date moved.", expires_at=made_at + dt.timedelta(days=7))


def _approved(engine, proposal, approver) -> str:
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=T0)
    with session_scope(engine) as s:
        approve(session=s, approval_id=approval.id, user_id=approver, at=T0 + dt.timedelta(minutes=1))
    return approval.id


def test_an_approved_field_change_is_written_once_however_often_it_is_run(engine, deal):
    deal_id, close, approver, _ = deal
    new = close + dt.timedelta(days=30)
    approval_id = _approved(engine, _close_date_change(deal_id, close, new), approver)
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
    deal_id, close, approver, _ = deal
    approval_id = _approved(engine, _close_date_change(deal_id, close, close + dt.timedelta(days=30)), approver)
    with session_scope(engine) as s:
        s.get(Opportunity, deal_id).close_date = close + dt.timedelta(days=1)  # a seller edits it meanwhile
    with session_scope(engine) as s, pytest.raises(ExecutionConflict, match="nothing was written"):
        execute(session=s, approval_id=approval_id)
    with session_scope(engine) as s:
        assert s.get(Opportunity, deal_id).close_date == close + dt.timedelta(days=1)
        assert s.scalar(select(func.count()).select_from(Execution)) == 0
        assert get_approval(session=s, approval_id=approval_id).state is State.approved


def test_only_an_approved_action_runs_and_only_a_person_who_sees_the_record_decides(engine, deal):
    deal_id, close, approver, stranger = deal
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
        reject(session=s, approval_id=approval.id, user_id=approver, reason="Customer confirmed the date",
               at=T0 + dt.timedelta(minutes=1))
    with session_scope(engine) as s, pytest.raises(InvalidTransition):
        execute(session=s, approval_id=approval.id)


def test_a_task_is_created_only_after_approval_and_rolled_back_by_deleting_it(engine, deal):
    deal_id, _, approver, _ = deal
    proposal = Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="create_task",
                        payload={"subject": "Send the security questionnaire", "due_date": "2026-11-27",
                                 "opportunity_id": deal_id}, reason="Seller commitment.")
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=T0)
        assert s.scalar(select(func.count()).select_from(Task).where(Task.opportunity_id == deal_id)) == 0
        approve(session=s, approval_id=approval.id, user_id=approver, at=T0)
        execution = execute(session=s, approval_id=approval.id, at=T0)
        assert s.get(Task, execution.diff["created"]["id"]).subject == "Send the security questionnaire"
    with session_scope(engine) as s:
        rollback(session=s, execution_id=execution.id, by=approver, at=T0 + dt.timedelta(hours=1))
    with session_scope(engine) as s:
        assert s.get(Task, execution.diff["created"]["id"]) is None
        assert get_approval(session=s, approval_id=approval.id).state is State.rolled_back


def test_actions_that_need_the_outside_world_are_refused_without_a_connector(engine, deal):
    deal_id, _, approver, _ = deal
    proposal = Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="send_email",
                        payload={"to": ["dana@acme.example"], "subject": "Recap", "body": "Thanks."},
                        reason="Follow-up email.")
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=T0)
        approve(session=s, approval_id=approval.id, user_id=approver, at=T0)
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
    deal_id, _, approver, _ = deal
    counter = iter(range(10**6))
    policy = policy_in_force()  # a thousand changes to one deal in a day: far past the fatigue caps, on purpose
    uncapped = policy.model_copy(update={"caps": policy.caps.model_copy(update={
        "max_new_approvals_per_seller_per_day": 10**6, "max_open_approvals_per_record": 10**6})})

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
            approve(session=s, approval_id=approval.id, user_id=approver, at=T0)
            execution = execute(session=s, approval_id=approval.id, at=T0)
        with session_scope(engine) as s:
            assert getattr(s.get(Opportunity, deal_id), field) == new
            rollback(session=s, execution_id=execution.id, by=approver, at=T0)
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
    deal_id, close, approver, _ = deal
    new = close + dt.timedelta(days=45)
    # The CLI runs in another process, where no test can move the clock: the proposal is made on the clock it reads.
    made_at = approvals_clock()
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, new, made_at=made_at),
                           by="agent:hygiene", at=made_at)
    env = {**os.environ, "SELLERLOOP_HOME": str(maven_copy.home), "SELLERLOOP_DATABASE_URL": maven_copy.url,
           CRASH_ENV: crash_at}
    command = [str(Path(sys.executable).parent / "sellerloop"), "approvals", "approve", approval.id, "--as", approver]
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
    deal_id, close, approver, stranger = deal
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=9)),
                           by="agent:hygiene")
    listed = cli(maven_copy, "approvals", "list", "--as", approver)
    assert listed.exit_code == 0 and approval.id in listed.stdout
    hidden = cli(maven_copy, "approvals", "list", "--as", stranger)
    assert hidden.exit_code == 0 and approval.id not in hidden.stdout
    refused = cli(maven_copy, "approvals", "approve", approval.id, "--as", stranger)
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    done = cli(maven_copy, "approvals", "approve", approval.id, "--as", approver, "--json")
    assert done.exit_code == 0, done.stderr
    execution = json.loads(done.stdout)["execution"]
    undone = cli(maven_copy, "rollback", execution, "--as", approver)
    assert undone.exit_code == 0, undone.stderr
    with session_scope(engine) as s:
        assert s.get(Opportunity, deal_id).close_date == close
    again = cli(maven_copy, "rollback", execution, "--as", approver)
    assert again.exit_code == 2 and "rolled_back" in again.stderr
    bad = cli(maven_copy, "approvals", "reject", approval.id, "--as", approver, "--reason", "late")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1


def test_a_bad_payload_is_refused_before_anything_is_stored(engine, deal):
    deal_id, _, approver, _ = deal
    with pytest.raises(BadInput, match="update_field payload"):
        Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                 payload={"object": "opportunity", "record_id": deal_id, "field": "close date", "new": "x"},
                 reason="x")


def test_each_step_is_in_the_audit_log_with_its_actor_sources_and_diff(engine, deal):
    from sellerloop.audit.service import list_entries

    deal_id, close, approver, _ = deal
    proposal = _close_date_change(deal_id, close, close + dt.timedelta(days=12)).model_copy(update={
        "sources": [{"uri": f"opportunity:{deal_id}/field/close_date", "quote": "Close date: 2018-03-01"}]})
    approval_id = _approved(engine, proposal, approver)
    with session_scope(engine) as s:
        execution = execute(session=s, approval_id=approval_id, at=T0 + dt.timedelta(minutes=2))
    with session_scope(engine) as s:
        rollback(session=s, execution_id=execution.id, by=approver, at=T0 + dt.timedelta(minutes=3))
    with session_scope(engine) as s:
        entries = sorted(list_entries(session=s), key=lambda e: e.seq)
        assert audit_verify(session=s).ok
    assert [(e.action, e.actor) for e in entries] == [
        ("approval.proposed", "agent:hygiene"), ("approval.approved", approver), ("execution.done", "executor"),
        ("execution.rolled_back", approver)]
    assert entries[0].payload["sources"][0]["quote"] == "Close date: 2018-03-01"
    assert entries[2].payload["approver"] == approver
    assert entries[2].payload["diff"] == {"table": "opportunity", "id": deal_id, "field": "close_date",
                                          "before": "2018-03-01", "after": "2018-03-13"}


def test_a_teams_cedar_policy_decides_who_may_approve(engine, deal, tmp_path, monkeypatch):
    from sellerloop.access.permissions import CEDAR_POLICIES_ENV, SHIPPED_POLICIES

    deal_id, close, manager, _ = deal
    with session_scope(engine) as s:
        admin = add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin").id
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=2)),
                           by="agent:hygiene", at=T0)
    ours = tmp_path / "ours.cedar"
    ours.write_text(SHIPPED_POLICIES.read_text(encoding="utf-8") + '\n@id("managers-do-not-approve")\n'
                    'forbid (principal is User, action == Action::"approve", resource) '
                    'when { principal.role == "manager" };\n', encoding="utf-8")
    monkeypatch.setenv(CEDAR_POLICIES_ENV, str(ours))
    with session_scope(engine) as s, pytest.raises(AccessDenied, match="managers-do-not-approve"):
        approve(session=s, approval_id=approval.id, user_id=manager, at=T0 + dt.timedelta(minutes=1))
    with session_scope(engine) as s:  # the manager still sees it, and an admin may approve
        assert get_approval(session=s, approval_id=approval.id, user_id=manager).state is State.proposed
        approve(session=s, approval_id=approval.id, user_id=admin, at=T0 + dt.timedelta(minutes=1))


def _seller_of(engine, deal_id) -> str:
    with session_scope(engine) as s:
        return s.get(Opportunity, deal_id).owner_id


def test_a_seller_cannot_approve_his_own_close_date_change_but_his_manager_can(engine, deal):
    deal_id, close, manager, _ = deal
    seller = _seller_of(engine, deal_id)
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=5)),
                           by="agent:hygiene", at=T0)
    with session_scope(engine) as s, pytest.raises(AccessDenied, match="high risk.*manager, revops, admin"):
        approve(session=s, approval_id=approval.id, user_id=seller, at=T0 + dt.timedelta(minutes=1))
    with session_scope(engine) as s:
        assert approve(session=s, approval_id=approval.id, user_id=manager,
                       at=T0 + dt.timedelta(minutes=2)).state is State.approved


def test_a_seller_cannot_turn_a_low_risk_change_into_marking_his_deal_won(engine, deal):
    deal_id, _, _, _ = deal
    seller = _seller_of(engine, deal_id)
    proposal = Proposal(use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
                        payload={"object": "opportunity", "record_id": deal_id, "field": "next_step", "old": None,
                                 "new": "Call Ben"}, reason="The call named a next step.",
                        expires_at=T0 + dt.timedelta(days=7))
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=T0)
    edited = proposal.payload | {"field": "stage", "new": "Won"}
    with session_scope(engine) as s, pytest.raises(BadInput, match="field cannot be edited"):
        approve(session=s, approval_id=approval.id, user_id=seller, payload=edited, at=T0 + dt.timedelta(minutes=1))


def test_a_stage_outside_the_stage_list_is_refused_whoever_approves(engine, deal):
    deal_id, _, manager, _ = deal
    with session_scope(engine) as s:
        stage = s.get(Opportunity, deal_id).stage
        approval = propose(session=s, proposal=Proposal(
            use_case="hygiene", subject=f"opportunity:{deal_id}", action="update_field",
            payload={"object": "opportunity", "record_id": deal_id, "field": "stage", "old": stage, "new": "Won"},
            reason="x", expires_at=T0 + dt.timedelta(days=7)), by="agent:hygiene", at=T0)
    with session_scope(engine) as s, pytest.raises(BadInput, match="'Closed won' is not one of"):
        approve(session=s, approval_id=approval.id, user_id=manager, at=T0 + dt.timedelta(minutes=1),
                payload={"object": "opportunity", "record_id": deal_id, "field": "stage", "old": stage,
                         "new": "Closed won"})
    with session_scope(engine) as s:
        assert get_approval(session=s, approval_id=approval.id).state is State.proposed


def test_an_edit_cannot_retarget_a_write_to_another_record(engine, deal):
    deal_id, close, manager, _ = deal
    with session_scope(engine) as s:
        other = s.scalars(select(Opportunity.id).where(Opportunity.id != deal_id).order_by(Opportunity.id)).first()
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=3)),
                           by="agent:hygiene", at=T0)
    edited = approval.proposal.payload | {"record_id": other}
    with session_scope(engine) as s, pytest.raises(BadInput, match="record_id cannot be edited"):
        approve(session=s, approval_id=approval.id, user_id=manager, payload=edited, at=T0 + dt.timedelta(minutes=1))


def test_the_cli_payload_edits_only_what_an_approver_may_edit(cli, maven_copy, engine, deal, tmp_path, time_machine):
    time_machine.move_to(T0 + dt.timedelta(hours=1), tick=False)
    deal_id, close, manager, _ = deal
    with session_scope(engine) as s:
        other = s.scalars(select(Opportunity.id).where(Opportunity.id != deal_id).order_by(Opportunity.id)).first()
        approval = propose(session=s, proposal=_close_date_change(deal_id, close, close + dt.timedelta(days=3)),
                           by="agent:hygiene")
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(approval.proposal.payload | {"record_id": other}))
    refused = cli(maven_copy, "approvals", "approve", approval.id, "--as", manager, "--payload", str(edited))
    assert refused.exit_code == 2 and "record_id cannot be edited" in refused.stderr
    assert refused.stderr.count("\n") == 1
    with session_scope(engine) as s:
        assert get_approval(session=s, approval_id=approval.id).state is State.proposed


def test_undoing_a_task_someone_completed_since_is_a_conflict_and_keeps_the_task(engine, deal):
    deal_id, _, approver, _ = deal
    proposal = Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="create_task",
                        payload={"subject": "Send the deck", "due_date": "2018-03-05", "opportunity_id": deal_id},
                        reason="Promised on the call.")
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=T0)
        approve(session=s, approval_id=approval.id, user_id=approver, at=T0)
        execution = execute(session=s, approval_id=approval.id, at=T0)
        task_id = execution.diff["created"]["id"]
    with session_scope(engine) as s:
        s.get(Task, task_id).status = "done"  # the seller completed it
    with session_scope(engine) as s, pytest.raises(ExecutionConflict, match="status"):
        rollback(session=s, execution_id=execution.id, by=approver, at=T0 + dt.timedelta(hours=1))
    with session_scope(engine) as s:
        assert s.get(Task, task_id).status == "done"
        assert s.get(Execution, execution.id).status == "done"


def test_an_email_approved_unchanged_through_a_form_with_lf_line_endings_is_a_plain_approval(engine, deal):
    deal_id, _, manager, _ = deal
    proposal = Proposal(use_case="follow-up", subject=f"opportunity:{deal_id}", action="send_email",
                        payload={"to": ["ben@example.com"], "subject": "Recap", "body": "Hi Ben,\r\n\r\nThanks.  \r\n",
                                 "opportunity_id": deal_id}, reason="Recap the call.")
    with session_scope(engine) as s:
        approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=T0)
        decided = approve(session=s, approval_id=approval.id, user_id=manager, at=T0,
                          payload=proposal.payload | {"body": "Hi Ben,\n\nThanks.\n"})
    assert decided.state is State.approved
