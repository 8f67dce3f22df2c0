"""The shadow switch (`levels.USE_CASE.shadow`): checked by `policy check` (refused at L5 and when the level above
would break a rule of the policy file), changed only by admins and RevOps with `autonomy shadow`, audited without
opening a new evidence window, and never in the shipped default file."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import approve, propose
from sellerloop.audit.models import AuditEntry
from sellerloop.autonomy.service import PolicyChangeRefused, evidence_for, set_shadow
from sellerloop.config import get_settings
from sellerloop.policy.models import DEFAULT_KEY
from sellerloop.policy.service import DEFAULT_POLICY_FILE, POLICY_ENV, check_policy, load_policy
from sellerloop.records.models import Account, Opportunity, User
from sellerloop.store.db import session_scope

SHIPPED = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


@pytest.fixture
def people(engine):
    with session_scope(engine) as s:
        s.add_all([User(id="rita", name="Rita Ops", role="revops"), User(id="ada", name="Ada Admin", role="admin"),
                   User(id="mo", name="Mo Manager", role="manager"),
                   User(id="sam", name="Sam Seller", role="seller", manager_id="mo")])
        s.flush()
        s.add(Account(id="acme", name="Acme", owner_id="sam"))
        s.flush()
        s.add(Opportunity(id="o1", name="Acme renewal", account_id="acme", owner_id="sam", stage="Engaging"))
    return engine


def policy_file(tmp_path: Path, monkeypatch=None, **levels: str) -> Path:
    """The shipped default, comments and all, with some use cases' levels replaced (`hygiene="L4"`); put in force
    when given `monkeypatch`."""
    text = SHIPPED
    for use_case, value in levels.items():
        line = next(line for line in text.splitlines() if line.startswith(f"  {use_case}: "))
        text = text.replace(line, f"  {use_case}: {value}", 1)
    path = tmp_path / "team-policy.yaml"
    path.write_text(text, encoding="utf-8")
    if monkeypatch is not None:
        monkeypatch.setenv(POLICY_ENV, str(path))
        get_settings.cache_clear()
    return path


def refusals(path: Path) -> list[tuple[str, str, int | None]]:
    return [(r.path, r.reason, r.line) for r in check_policy(path, current=path).refusals]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ------------------------------------------------------------------------------------------------ the file


def test_a_use_case_may_run_one_level_up_in_shadow_when_that_level_breaks_no_rule(tmp_path):
    path = policy_file(tmp_path, hygiene="{default: L3, shadow: true}",
                       research="{default: L2, shadow: [default, create_task]}")
    assert refusals(path) == []
    policy = load_policy(path)
    assert policy.levels["hygiene"].shadow == (DEFAULT_KEY,)
    assert policy.in_shadow("hygiene").level_of("hygiene", "update_field") == "L4"
    assert policy.levels["research"].shadow_key("create_task") == "create_task"
    assert policy.levels["research"].shadow_key("send_email") == DEFAULT_KEY
    assert policy.level_of("hygiene") == "L3"  # a shadow changes no level


def test_a_shadow_at_l5_is_refused_as_there_is_no_level_above(tmp_path):
    path = policy_file(tmp_path, **{"next-action": "{default: L5, update_field: L4, send_email: L4, "
                                    "add_to_sequence: L4, book_meeting: L4, share_asset: L4, request_intro: L4, "
                                    "shadow: true}"})
    assert refusals(path) == [("levels.next-action.shadow", "next-action is at L5, the highest level: there is no "
                               "level above to run in shadow", line_of(path, "  next-action: "))]


def test_a_shadow_whose_level_above_breaks_a_rule_is_refused_with_that_rule(tmp_path):
    path = policy_file(tmp_path, hygiene="{default: L4, shadow: true}")
    [(where, why, _), (_, second, _), (_, more, _)] = refusals(path)
    assert where == "levels.hygiene.shadow"
    assert why.startswith("one step up in shadow, levels.hygiene.add_to_sequence: L5 is refused for add_to_sequence: "
                          "it is medium risk")
    assert more == "and 4 more"


def test_a_shadow_above_l3_needs_an_approval_policy_like_the_level_itself(tmp_path):
    text = SHIPPED.replace("approval:\n  approvers: [manager, revops, admin]\n", "") \
        .replace("  next-action: L2", "  next-action: {default: L3, shadow: true}")
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    [(where, why, _)] = refusals(path)
    assert where == "levels.next-action.shadow" and "L4 needs an approval policy" in why


def test_a_shadow_naming_something_that_is_not_a_level_is_refused(tmp_path):
    path = policy_file(tmp_path, hygiene="{default: L3, shadow: [default, send_emails]}")
    [(where, why, _)] = refusals(path)
    assert where == "levels.hygiene.shadow" and why.startswith("cannot shadow 'send_emails': name default")


def test_policy_check_lists_a_refused_shadow_with_its_line_and_exits_2(cli, store, tmp_path):
    path = policy_file(tmp_path, hygiene="{default: L4, shadow: true}")
    result = cli(store, "policy", "check", path, "--current", path)
    assert result.exit_code == 2
    assert f"{path}:{line_of(path, '  hygiene: ')}: levels.hygiene.shadow: one step up in shadow" in result.stdout


# ------------------------------------------------------------------------------------------------ the switch


def shadow(engine, **kwargs):
    with session_scope(engine) as s:
        return set_shadow(session=s, **kwargs)


def refused(engine, **kwargs) -> str:
    with session_scope(engine) as s, pytest.raises(PolicyChangeRefused) as e:
        set_shadow(session=s, **kwargs)
    return e.value.one_line()


def changes(engine) -> list[AuditEntry]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "policy.changed").order_by(AuditEntry.seq)))
        s.expunge_all()
        return rows


def test_turning_a_shadow_on_and_off_rewrites_the_file_keeps_its_comments_and_is_audited(people, tmp_path):
    path = policy_file(tmp_path)
    shadow(people, use_case="hygiene", on=True, by="rita", policy_path=path)
    text = path.read_text(encoding="utf-8")
    assert "  hygiene: {default: L3, shadow: true}" in text and text.count("\n") == SHIPPED.count("\n")
    assert "# The governance policy" in text and load_policy(path).levels["hygiene"].shadow == ("default",)
    shadow(people, use_case="hygiene", action="create_task", on=True, by="ada", policy_path=path)
    assert "  hygiene: {default: L3, shadow: [default, create_task]}" in path.read_text(encoding="utf-8")
    shadow(people, use_case="hygiene", on=False, by="rita", policy_path=path)
    shadow(people, use_case="hygiene", action="create_task", on=False, by="rita", policy_path=path)
    assert "  hygiene: {default: L3, shadow: false}" in path.read_text(encoding="utf-8")
    entries = changes(people)
    assert [(e.actor, e.payload["shadow"]["on"], e.payload["shadow"]["action"]) for e in entries] == [
        ("rita", True, None), ("ada", True, "create_task"), ("rita", False, None), ("rita", False, "create_task")]
    assert entries[0].payload["shadow"] == {"use_case": "hygiene", "action": None, "on": True, "level": "L3",
                                            "shadow_level": "L4"}
    assert all("use_case" not in e.payload for e in entries)  # not a level change: no new evidence window


def test_a_shadow_in_a_block_mapping_gets_a_line_of_its_own(people, tmp_path):
    path = tmp_path / "team-policy.yaml"
    path.write_text(SHIPPED.replace("  follow-up: L3\n", "  follow-up:\n    default: L3  # drafts\n"),
                    encoding="utf-8")
    shadow(people, use_case="follow-up", on=True, by="rita", policy_path=path)
    assert "  follow-up:\n    default: L3  # drafts\n    shadow: true\n" in path.read_text(encoding="utf-8")


def test_only_admins_and_revops_run_a_shadow_and_never_in_the_shipped_file(people, tmp_path):
    path = policy_file(tmp_path)
    for who in ("sam", "mo"):
        assert "only an admin or RevOps user may run a level in shadow or stop it" in refused(
            people, use_case="hygiene", on=True, by=who, policy_path=path)
    assert "is the shipped default policy and is not edited in place" in refused(
        people, use_case="hygiene", on=True, by="rita", policy_path=DEFAULT_POLICY_FILE)
    assert DEFAULT_POLICY_FILE.read_text(encoding="utf-8") == SHIPPED
    assert path.read_text(encoding="utf-8") == SHIPPED and changes(people) == []


def test_a_shadow_the_policy_would_refuse_is_not_written(people, tmp_path):
    path = policy_file(tmp_path, hygiene="L4")
    before = path.read_text(encoding="utf-8")
    message = refused(people, use_case="hygiene", on=True, by="rita", policy_path=path)
    assert message.startswith("hygiene cannot run in shadow: one step up in shadow, levels.hygiene.add_to_sequence:")
    assert path.read_text(encoding="utf-8") == before and changes(people) == []
    # One low-risk, reversible action may run at L5 in shadow.
    shadow(people, use_case="hygiene", action="create_task", on=True, by="rita", policy_path=path)
    assert "  hygiene: {default: L4, shadow: [create_task]}" in path.read_text(encoding="utf-8")
    assert "hygiene create_task is in shadow already" in refused(
        people, use_case="hygiene", action="create_task", on=True, by="rita", policy_path=path)


def test_turning_a_shadow_on_does_not_restart_the_evidence_at_the_current_level(people, tmp_path, monkeypatch):
    path = policy_file(tmp_path, monkeypatch)
    with session_scope(people) as s:
        proposal = Proposal(use_case="hygiene", subject="opportunity:o1", action="create_task", reason="Asked.",
                            payload={"subject": "Call Ana", "due_date": "2017-12-01", "opportunity_id": "o1"})
        approval = propose(session=s, proposal=proposal, by="agent:hygiene", at=dt.datetime(2017, 11, 1))
        approve(session=s, approval_id=approval.id, user_id="rita", at=dt.datetime(2017, 11, 1, 1))
    shadow(people, use_case="hygiene", on=True, by="rita", policy_path=path)
    with session_scope(people) as s:
        assert evidence_for(session=s, use_case="hygiene", action="create_task", policy=load_policy(path)).reviewed == 1


def test_autonomy_shadow_on_the_command_line(cli, store, people, tmp_path, monkeypatch):
    path = policy_file(tmp_path, monkeypatch)
    ok = cli(store, "autonomy", "shadow", "next-action", "--on", "--as", "rita")
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout == (f"next-action: in shadow at L3 in {path} (nothing it would do is done; `run-all` records "
                         "it); audited as policy.changed\n")
    for args, message in ((("next-action", "--on", "--as", "sam"), "only an admin or RevOps user"),
                          (("bogus", "--on", "--as", "rita"), "unknown use case 'bogus'"),
                          (("hygiene", "--as", "rita"), "say --on or --off"),
                          (("next-action", "--on", "--as", "rita"), "next-action is in shadow already")):
        result = cli(store, "autonomy", "shadow", *args)
        assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1, args
