"""The night's run places what the policy puts at L4 and above, as a single run does: the inboxes the demo opens on
are not empty, and running the night again asks nobody twice. The demo runs on a writable policy of its own."""
from __future__ import annotations

from sqlalchemy import func, select

from sellerloop.approvals.models import ApprovalRow
from sellerloop.auth.service import add_user
from sellerloop.autonomy.service import set_kill_switch
from sellerloop.config import get_settings
from sellerloop.policy.service import HOME_POLICY_FILE, load_policy, policy_file_in_force, write_demo_policy
from sellerloop.runs.service import placed_use_cases, run_all
from sellerloop.store.db import create_store_engine, session_scope


def _approvals(engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return dict(s.execute(select(ApprovalRow.use_case, func.count()).where(ApprovalRow.state == "proposed")
                              .group_by(ApprovalRow.use_case)).all())


def _demo_book(maven_copy, monkeypatch):
    from sellerloop.sample.layer import build_sample_layer

    monkeypatch.setenv("SELLERLOOP_HOME", str(maven_copy.home))
    get_settings.cache_clear()
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        build_sample_layer(session=s, seed=get_settings().sample_seed)
    return engine


def test_run_all_places_l4_outputs_for_a_person_and_a_second_night_adds_none(maven_copy, monkeypatch):
    engine = _demo_book(maven_copy, monkeypatch)
    assert write_demo_policy(home=maven_copy.home) == maven_copy.home / HOME_POLICY_FILE
    assert placed_use_cases(load_policy(policy_file_in_force()), ("follow-up", "next-action", "hygiene")) == \
        {"follow-up", "hygiene"}
    first = run_all(engine=engine, use_cases=("follow-up", "next-action"), workers=1)
    pending = _approvals(engine)
    assert first.totals["follow-up"].pending == pending["follow-up"] > 0
    assert "next-action" not in pending  # L2: shown on the record, nothing stored
    again = run_all(engine=engine, use_cases=("follow-up", "next-action"), restart=True, workers=1)
    assert _approvals(engine) == pending and again.totals["follow-up"].pending == pending["follow-up"]
    engine.dispose()


def test_on_the_shipped_policy_the_night_places_nothing(maven_copy, monkeypatch):
    engine = _demo_book(maven_copy, monkeypatch)
    summary = run_all(engine=engine, use_cases=("follow-up", "hygiene"), workers=1)
    assert _approvals(engine) == {} and summary.totals["follow-up"].pending == 0
    engine.dispose()


def test_the_demo_policy_is_the_data_folders_own_and_an_admin_can_pull_the_kill_switch(maven_copy, monkeypatch):
    engine = _demo_book(maven_copy, monkeypatch)
    path = write_demo_policy(home=maven_copy.home)
    assert policy_file_in_force() == path and write_demo_policy(home=maven_copy.home) is None  # kept once there
    with session_scope(engine) as s:
        admin = add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin").id
    with session_scope(engine) as s:
        set_kill_switch(session=s, on=True, by=admin)
    assert load_policy(path).kill_switch is True
    engine.dispose()
