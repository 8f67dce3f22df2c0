"""The governance policy file: the shipped default is valid and gives today's levels, every rule refuses a
policy that breaks it (naming the path, the line and the reason), `sellerloop policy check` lists every
refusal, and placement by level is decided in one place."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml

from sellerloop.actions.catalogue import CATALOGUE
from sellerloop.config import get_settings
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.policy.levels import DEFAULT_LEVELS, level_for, placement_for
from sellerloop.policy.service import (
    DEFAULT_POLICY_FILE,
    POLICY_ENV,
    check_policy,
    load_policy,
    policy_in_force,
)

SHIPPED = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
TODAY = {"research": "L2", "prep": "L2", "next-action": "L2", "follow-up": "L3", "coaching": "L2", "hygiene": "L3"}


@pytest.fixture(autouse=True)
def _default_policy_in_force(monkeypatch):
    monkeypatch.delenv(POLICY_ENV, raising=False)


def policy(**changes) -> dict:
    """The shipped default with top-level keys replaced; `levels_<use case>=...` replaces one use case's levels,
    and a value of None removes the key."""
    data = copy.deepcopy(SHIPPED)
    for key, value in changes.items():
        target, key = (data["levels"], key.removeprefix("levels_").replace("_", "-")) \
            if key.startswith("levels_") else (data, key)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return data


def write(tmp_path: Path, data, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def refusals(path: Path, current: Path | None = None) -> list[tuple[str, str, int | None]]:
    """(path, reason, line) of every refusal, measuring jumps from `current` (default: the file itself, so that
    no jump is refused unless a test asks)."""
    result = check_policy(path, current=current or path)
    return [(r.path, r.reason, r.line) for r in result.refusals]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ------------------------------------------------------------------------------------------------ the default


def test_the_shipped_default_is_valid_and_gives_todays_levels():
    result = check_policy(DEFAULT_POLICY_FILE)
    assert result.valid, result.refusals
    assert dict(DEFAULT_LEVELS) == TODAY
    assert {use_case: level_for(use_case) for use_case in TODAY} == TODAY
    assert level_for("follow-up", "send_email") == "L3"
    assert level_for("research", "create_task") == "L2"


def test_the_shipped_default_states_each_catalogue_action_as_the_catalogue_does():
    shipped = policy_in_force()
    assert set(shipped.actions) == set(CATALOGUE)
    for name, spec in CATALOGUE.items():
        assert (shipped.actions[name].risk, shipped.actions[name].reversible) == (spec.risk, spec.reversible)
        assert shipped.risk_of(name) == spec.risk and shipped.is_reversible(name) == spec.reversible
    assert shipped.caps.max_open_approvals_per_record == 3
    assert shipped.promotion.min_reviewed == 50 and shipped.promotion.min_approved_unedited_share == 0.8
    assert shipped.kill_switch is False and shipped.audit_logging is True


def test_policy_check_of_the_shipped_default_exits_0_with_a_summary(cli, store):
    result = cli(store, "policy", "check", DEFAULT_POLICY_FILE)
    assert result.exit_code == 0, result.stderr
    assert "valid policy" in result.stdout
    assert "follow-up    L3" in result.stdout
    assert result.stderr == ""


# ------------------------------------------------------------------------------------------------ one test per rule


def test_a_level_above_l3_without_an_approval_policy_is_refused(tmp_path):
    path = write(tmp_path, policy(approval=None, levels_follow_up={"default": "L3", "create_task": "L4"}))
    assert refusals(path) == [(
        "levels.follow-up.create_task",
        "L4 needs an approval policy: none is defined (add approval.approvers, the roles who may approve)",
        line_of(path, "create_task: L4"))]


def test_l5_for_a_high_risk_action_is_refused(tmp_path):
    # route_lead is low risk in the catalogue; this team raises it to high, so it needs approval at every level.
    path = write(tmp_path, policy(levels_hygiene={"default": "L3", "route_lead": "L5"},
                                  actions={"route_lead": {"risk": "high"}}))
    assert refusals(path) == [(
        "levels.hygiene.route_lead",
        "L5 is refused for route_lead: it is high risk, and a high-risk action needs approval at every level",
        line_of(path, "route_lead: L5"))]


def test_l5_for_an_irreversible_action_is_refused(tmp_path):
    path = write(tmp_path, policy(levels_follow_up={"default": "L3", "send_email": "L5"}))
    assert refusals(path) == [(
        "levels.follow-up.send_email",
        ("L5 is refused for send_email: it cannot be undone, and an irreversible action needs approval at every "
        "level"),
        line_of(path, "send_email: L5"))]


def test_l5_for_a_medium_risk_action_is_refused_as_l5_allows_only_low_risk_reversible_ones(tmp_path):
    path = write(tmp_path, policy(levels_next_action={"default": "L2", "add_to_sequence": "L5"}))
    assert refusals(path) == [(
        "levels.next-action.add_to_sequence",
        "L5 is refused for add_to_sequence: it is medium risk, and L5 allows only low-risk, reversible actions",
        line_of(path, "add_to_sequence: L5"))]


def test_l5_inherited_from_a_use_cases_default_is_refused_for_each_risky_action_it_would_reach(tmp_path):
    path = write(tmp_path, policy(levels_hygiene="L5"))
    found = {p: reason for p, reason, _ in refusals(path)}
    risky = {name for name, spec in CATALOGUE.items() if spec.risk.value != "low" or not spec.reversible}
    assert set(found) == {f"levels.hygiene.{name}" for name in risky}
    assert found["levels.hygiene.send_email"].endswith(
        "(inherited from levels.hygiene.default; set send_email to L4 or lower)")


def test_a_low_risk_reversible_action_may_be_l5_with_approvals_and_audit_logging(tmp_path):
    path = write(tmp_path, policy(levels_hygiene={"default": "L3", "log_note": "L4", "route_lead": "L5"}))
    assert refusals(path) == []
    assert level_for("hygiene", "route_lead", policy=load_policy(path)) == "L5"


def test_a_jump_of_more_than_one_level_from_the_level_in_force_is_refused(tmp_path):
    path = write(tmp_path, policy(levels_research="L4", levels_follow_up={"default": "L3", "create_task": "L5"}))
    assert refusals(path, current=DEFAULT_POLICY_FILE) == [
        ("levels.research.default", ("L2 -> L4 skips a level: a level rises one step at a time from the level in "
         f"force (L2 in {DEFAULT_POLICY_FILE})"), line_of(path, "research: L4")),
        ("levels.follow-up.create_task", ("L3 -> L5 skips a level: a level rises one step at a time from the level "
         f"in force (L3 in {DEFAULT_POLICY_FILE})"), line_of(path, "create_task: L5")),
    ]


def test_one_step_up_from_the_level_in_force_is_allowed(tmp_path):
    path = write(tmp_path, policy(levels_research="L3", levels_follow_up={"default": "L3", "create_task": "L4"}))
    assert refusals(path, current=DEFAULT_POLICY_FILE) == []


def test_the_level_in_force_is_the_file_at_sellerloop_policy_when_no_current_is_given(tmp_path, monkeypatch):
    in_force = write(tmp_path, policy(levels_follow_up={"default": "L3", "create_task": "L4"}), "in-force.yaml")
    proposed = write(tmp_path, policy(levels_follow_up={"default": "L3", "create_task": "L5"}), "proposed.yaml")
    assert check_policy(proposed).valid is False  # the shipped default has create_task at L3
    monkeypatch.setenv(POLICY_ENV, str(in_force))
    get_settings.cache_clear()  # settings are read once per process; a changed variable needs a fresh read
    result = check_policy(proposed)
    assert result.valid and result.compared_with == str(in_force)


def test_l4_or_l5_while_audit_logging_is_off_is_refused(tmp_path):
    path = write(tmp_path, policy(audit_logging=False, levels_hygiene={"default": "L4", "route_lead": "L5"}))
    assert refusals(path) == [
        ("levels.hygiene.default", "L4 needs audit logging, and audit_logging is false",
         line_of(path, "default: L4")),
        ("levels.hygiene.route_lead", "L5 needs audit logging, and audit_logging is false",
         line_of(path, "route_lead: L5")),
    ]


def test_a_policy_may_not_lower_an_actions_risk(tmp_path):
    path = write(tmp_path, policy(actions={"update_field": {"risk": "low"}}))
    assert refusals(path) == [(
        "actions.update_field.risk",
        "update_field is medium risk in the catalogue; a policy may raise an action's risk, never lower it",
        line_of(path, "risk: low"))]


def test_a_policy_may_not_make_an_irreversible_action_reversible(tmp_path):
    path = write(tmp_path, policy(actions={"share_asset": {"reversible": True}}))
    assert refusals(path) == [(
        "actions.share_asset.reversible",
        ("share_asset cannot be undone (A shared document cannot be unshared once it has been read); a policy "
        "cannot make it reversible"),
        line_of(path, "reversible: true"))]


def test_a_policy_may_raise_an_actions_risk_and_an_irreversible_action_is_high_risk(tmp_path):
    path = write(tmp_path, policy(actions={"create_task": {"risk": "medium"}, "book_meeting": {"reversible": False}}))
    assert refusals(path) == []
    raised = load_policy(path)
    assert raised.risk_of("create_task").value == "medium"
    assert raised.risk_of("book_meeting").value == "high" and not raised.is_reversible("book_meeting")


def test_every_use_case_needs_a_level(tmp_path):
    path = write(tmp_path, policy(levels_coaching=None))
    assert refusals(path) == [("levels.coaching", "missing: every use case needs a level (L1, L2, L3, L4, L5)",
                               line_of(path, "levels:"))]


def test_a_key_given_twice_is_refused_rather_than_silently_overridden(tmp_path):
    text = DEFAULT_POLICY_FILE.read_text().replace("  hygiene: L3\n", "  hygiene: L3\n  hygiene: L2\n")
    path = write(tmp_path, text)
    assert refusals(path) == [("levels.hygiene", (f"duplicate key (first on line {line_of(path, 'hygiene: L3')}); "
                               "the later one would silently win"), line_of(path, "hygiene: L2"))]


def test_shape_problems_name_the_path_and_line(tmp_path):
    path = write(tmp_path, "levels:\n  research: L7\n  resarch: L2\n  follow-up: {default: L3, send_emial: L3}\n"
                           "caps: {max_open_approvals_per_record: 0, colour: red}\n")
    found = {p: (reason, line) for p, reason, line in refusals(path)}
    assert found["levels.research"] == ("not a level 'L7': use one of L1, L2, L3, L4, L5", 2)
    assert found["levels.resarch"][0].startswith("unknown use case; the use cases are: research, prep")
    assert found["levels.follow-up.send_emial"] == (
        f"unknown action; the catalogue has: {', '.join(CATALOGUE)}", 4)
    assert found["caps.max_open_approvals_per_record"] == ("Input should be greater than or equal to 1", 5)
    assert found["caps.colour"][0].startswith("unknown key; expected one of: max_open_approvals_per_record")


# ------------------------------------------------------------------------------------------------ the command


BROKEN = """\
audit_logging: false
levels:
  research: L2
  prep: L2
  next-action: L2
  follow-up:
    default: L3
    send_email: L5
  coaching: L2
  hygiene: L3
actions:
  update_field: {risk: low}
"""


def test_several_refusals_in_one_file_are_all_reported_one_per_line(cli, store, tmp_path):
    path = write(tmp_path, BROKEN)
    result = cli(store, "policy", "check", path)
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        (f"{path}:8: levels.follow-up.send_email: L5 needs an approval policy: none is defined (add "
        "approval.approvers, the roles who may approve)"),
        f"{path}:8: levels.follow-up.send_email: L5 needs audit logging, and audit_logging is false",
        (f"{path}:8: levels.follow-up.send_email: L5 is refused for send_email: it cannot be undone, and an "
        "irreversible action needs approval at every level"),
        (f"{path}:8: levels.follow-up.send_email: L3 -> L5 skips a level: a level rises one step at a time from "
        f"the level in force (L3 in {DEFAULT_POLICY_FILE})"),
        (f"{path}:12: actions.update_field.risk: update_field is medium risk in the catalogue; a policy may raise "
        "an action's risk, never lower it"),
    ]
    assert result.stderr == f"Error: {path}: policy refused (5 refusals)\n"


def test_policy_check_json_gives_valid_and_every_refusal_with_path_reason_and_line(cli, store, tmp_path):
    path = write(tmp_path, BROKEN)
    current = write(tmp_path, policy(levels_follow_up={"default": "L3", "send_email": "L4"}), "current.yaml")
    result = cli(store, "policy", "check", path, "--current", current, "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["compared_with"] == str(current)
    assert [set(r) for r in data["refusals"]] == [{"path", "reason", "line"}] * 4  # no jump: L4 -> L5
    assert {(r["path"], r["line"]) for r in data["refusals"]} == {
        ("levels.follow-up.send_email", 8), ("actions.update_field.risk", 12)}

    valid = cli(store, "policy", "check", DEFAULT_POLICY_FILE, "--json")
    assert valid.exit_code == 0
    assert json.loads(valid.stdout)["valid"] is True and json.loads(valid.stdout)["refusals"] == []


def test_bad_yaml_is_one_line_naming_file_and_line_with_exit_2(cli, store, tmp_path):
    path = write(tmp_path, "levels:\n  research: [L2\n")
    result = cli(store, "policy", "check", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}:3: not valid YAML")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


@pytest.mark.parametrize("text, message", [(None, "no such policy file"),
                                           ("- L2\n", "not a policy: expected a YAML mapping")])
def test_a_missing_file_or_one_that_is_not_a_mapping_is_one_line_with_exit_2(cli, store, tmp_path, text, message):
    path = tmp_path / "policy.yaml" if text is None else write(tmp_path, text)
    result = cli(store, "policy", "check", path)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


# ------------------------------------------------------------------------------------------------ levels in force


@pytest.mark.parametrize("level, placement", [("L1", "reply"), ("L2", "shown"), ("L3", "draft"),
                                              ("L4", "pending_approval"), ("L5", "executed")])
def test_each_level_has_one_placement(level, placement):
    assert placement_for(level) == placement


def test_the_levels_in_force_follow_sellerloop_policy_and_an_edited_file_is_read_again(tmp_path, monkeypatch):
    path = write(tmp_path, policy(levels_research="L3"))
    monkeypatch.setenv(POLICY_ENV, str(path))
    assert DEFAULT_LEVELS["research"] == "L3"
    write(tmp_path, policy(levels_research="L1"))
    stamp = path.stat().st_mtime + 5
    os.utime(path, (stamp, stamp))
    assert DEFAULT_LEVELS["research"] == "L1" and placement_for(level_for("research")) == "reply"


def test_the_kill_switch_turns_l4_and_l5_into_l3_drafts(tmp_path):
    levels = {"default": "L3", "create_task": "L4", "route_lead": "L5", "log_note": "L2"}
    on = load_policy(write(tmp_path, policy(kill_switch=True, levels_hygiene=levels)))
    assert [level_for("hygiene", a, policy=on) for a in ("create_task", "route_lead", "log_note")] == \
        ["L3", "L3", "L2"]
    off = load_policy(write(tmp_path, policy(levels_hygiene=levels), "off.yaml"))
    assert [level_for("hygiene", a, policy=off) for a in ("create_task", "route_lead")] == ["L4", "L5"]


def test_a_refused_policy_is_never_put_in_force(tmp_path, monkeypatch):
    path = write(tmp_path, BROKEN)
    monkeypatch.setenv(POLICY_ENV, str(path))
    with pytest.raises(BadInput) as refused:
        level_for("research")
    assert refused.value.one_line() == (
        f"{path}:8: policy refused: levels.follow-up.send_email: L5 needs an approval policy: none is defined "
        f"(add approval.approvers, the roles who may approve) (and 3 more; see `sellerloop policy check {path}`)")


def test_an_action_outside_the_catalogue_gets_no_level():
    with pytest.raises(SellerloopError, match="unknown action 'wire_money'"):
        level_for("follow-up", "wire_money")


def test_a_policy_written_with_the_caps_former_names_reads_the_same(tmp_path):
    shipped = copy.deepcopy(SHIPPED)
    shipped["caps"] = {"max_open_per_record": 2, "max_per_seller_per_day": 9}
    caps = load_policy(write(tmp_path, shipped)).caps
    assert (caps.max_open_approvals_per_record, caps.max_new_approvals_per_seller_per_day) == (2, 9)


def test_the_recommendation_limit_comes_from_the_policy_beside_the_approval_caps(tmp_path):
    assert load_policy(DEFAULT_POLICY_FILE).caps.recommendations_per_record == 3
    refused = {p: reason for p, reason, _ in refusals(write(tmp_path, "caps: {recommendations_per_record: 11}\n"))}
    assert refused["caps.recommendations_per_record"] == "Input should be less than or equal to 10"

