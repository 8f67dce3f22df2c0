"""Lowering a level and the kill switch (autonomy/service.py demote, set_kill_switch), the two changes the policy page
offers next to promotion: one step at a time, never below L1, only by admins and RevOps, never in the shipped
default, the file rewritten in place with its comments, and each change audited as `policy.changed`."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from sellerloop.audit.models import AuditEntry
from sellerloop.audit.service import verify
from sellerloop.autonomy.service import PolicyChangeRefused, demote, evidence_for, set_kill_switch
from sellerloop.config import get_settings
from sellerloop.policy.levels import level_for
from sellerloop.policy.service import DEFAULT_POLICY_FILE, POLICY_ENV, load_policy
from sellerloop.records.models import User
from sellerloop.store.db import session_scope

SHIPPED = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


@pytest.fixture
def people(engine):
    with session_scope(engine) as s:
        s.add_all([User(id="rita", name="Rita Ops", role="revops"), User(id="ada", name="Ada Admin", role="admin"),
                   User(id="mo", name="Mo Manager", role="manager")])
    return engine


@pytest.fixture
def team_policy(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped default, comments and all, in force."""
    path = tmp_path / "team-policy.yaml"
    path.write_text(SHIPPED, encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(path))
    get_settings.cache_clear()
    return path


def changes(engine) -> list[AuditEntry]:
    with session_scope(engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "policy.changed")
                              .order_by(AuditEntry.seq)))


def test_lowering_a_level_rewrites_one_value_keeps_the_comments_and_audits_it(people, team_policy):
    with session_scope(people) as s:
        demote(session=s, use_case="follow-up", by="rita")
    text = team_policy.read_text(encoding="utf-8")
    assert text == SHIPPED.replace("  follow-up: L3\n", "  follow-up: L2\n")
    assert load_policy(team_policy).level_of("follow-up") == "L2"
    [entry] = changes(people)
    assert entry.actor == "rita" and entry.subject == f"policy:{team_policy.resolve()}"
    assert entry.payload == {"use_case": "follow-up", "action": None, "from": "L3", "to": "L2",
                             "file": str(team_policy.resolve())}
    with session_scope(people) as s:
        assert verify(session=s).ok


def test_lowering_an_action_that_inherits_its_level_gives_it_a_level_of_its_own(people, team_policy):
    with session_scope(people) as s:
        demote(session=s, use_case="hygiene", action="create_task", by="ada", to="L2")
    policy = load_policy(team_policy)
    assert policy.level_of("hygiene") == "L3" and policy.level_of("hygiene", "create_task") == "L2"
    assert "hygiene: {default: L3, create_task: L2}" in team_policy.read_text(encoding="utf-8")


def test_a_level_goes_down_one_step_at_a_time_and_never_below_l1(people, team_policy):
    with session_scope(people) as s, pytest.raises(PolicyChangeRefused, match="goes to L1, not L3"):
        demote(session=s, use_case="research", by="rita", to="L3")
    with session_scope(people) as s:
        demote(session=s, use_case="research", by="rita", to="L1")
    with session_scope(people) as s, pytest.raises(PolicyChangeRefused, match="research is at L1, the lowest level"):
        demote(session=s, use_case="research", by="rita")
    assert load_policy(team_policy).level_of("research") == "L1" and len(changes(people)) == 1


def test_lowering_a_level_starts_a_new_evidence_window_at_the_lower_level(people, team_policy):
    with session_scope(people) as s:
        assert evidence_for(session=s, use_case="prep").since is None
        demote(session=s, use_case="prep", by="rita")
    with session_scope(people) as s:
        row = evidence_for(session=s, use_case="prep", policy=load_policy(team_policy))
    assert row.level == "L1" and row.since is not None and row.reviewed == 0


def test_only_admins_and_revops_change_the_policy_and_never_the_shipped_default(people, team_policy, monkeypatch):
    with session_scope(people) as s, pytest.raises(PolicyChangeRefused, match="Mo Manager is a manager"):
        demote(session=s, use_case="research", by="mo")
    with session_scope(people) as s, pytest.raises(PolicyChangeRefused, match="Mo Manager is a manager"):
        set_kill_switch(session=s, on=True, by="mo")
    monkeypatch.delenv(POLICY_ENV)
    get_settings.cache_clear()
    for change in (lambda s: demote(session=s, use_case="research", by="rita"),
                   lambda s: set_kill_switch(session=s, on=True, by="rita")):
        with session_scope(people) as s, pytest.raises(PolicyChangeRefused, match="shipped default policy"):
            change(s)
    assert DEFAULT_POLICY_FILE.read_text(encoding="utf-8") == SHIPPED
    assert team_policy.read_text(encoding="utf-8") == SHIPPED and changes(people) == []


def test_the_kill_switch_turns_l4_and_l5_into_drafts_and_back_and_each_turn_is_audited(people, team_policy):
    team_policy.write_text(SHIPPED.replace("  hygiene: L3\n", "  hygiene: L4\n"), encoding="utf-8")
    assert level_for("hygiene") == "L4"
    with session_scope(people) as s:
        set_kill_switch(session=s, on=True, by="rita")
    assert "\nkill_switch: true\n" in team_policy.read_text(encoding="utf-8")
    assert level_for("hygiene") == "L3" and level_for("research") == "L2"
    with session_scope(people) as s, pytest.raises(PolicyChangeRefused, match="kill switch is on already"):
        set_kill_switch(session=s, on=True, by="rita")
    with session_scope(people) as s:
        set_kill_switch(session=s, on=False, by="ada")
    assert level_for("hygiene") == "L4"
    assert [(e.actor, e.payload["from"], e.payload["to"]) for e in changes(people)] == [
        ("rita", False, True), ("ada", True, False)]
    assert all("use_case" not in e.payload for e in changes(people))  # no level's evidence window restarts


def test_the_kill_switch_is_added_before_the_first_setting_when_the_file_has_none(people, team_policy):
    without = SHIPPED.replace("kill_switch: false\n", "")
    team_policy.write_text(without, encoding="utf-8")
    with session_scope(people) as s:
        set_kill_switch(session=s, on=True, by="rita")
    text = team_policy.read_text(encoding="utf-8")
    assert load_policy(team_policy).kill_switch is True
    assert text.replace("kill_switch: true\n", "", 1) == without
