"""Do not skip levels (DESIGN.md §4): `autonomy status` shows the record of each use case and action at its current
level, counted from real approvals and rollbacks, and `autonomy promote` moves one step at a time, only when that
record meets the promotion bar and the next level breaks no rule of the policy file; a promotion is written to
the policy file in force (comments kept) and audited, and the shipped default is never edited in place."""
from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import approve, expire_due, propose, reject
from sellerloop.audit.models import AuditEntry
from sellerloop.audit.service import verify as audit_verify
from sellerloop.autonomy.commands import autonomy_app
from sellerloop.autonomy.service import PromotionRefused, evidence, evidence_for, promote
from sellerloop.config import get_settings
from sellerloop.errors import BadInput
from sellerloop.executor.service import execute, rollback
from sellerloop.policy.service import DEFAULT_POLICY_FILE, POLICY_ENV, check_policy, load_policy
from sellerloop.records.models import Account, Opportunity, User
from sellerloop.store.db import session_scope

SHIPPED = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
T0 = dt.datetime(2026, 11, 24, 9, 0)
_counter = itertools.count()


@pytest.fixture
def book(engine):
    """A deal owned by a seller, a RevOps user who may see and decide everything, and a manager."""
    with session_scope(engine) as s:
        s.add_all([User(id="rita", name="Rita Ops", role="revops"), User(id="mo", name="Mo Manager", role="manager"),
                   User(id="sam", name="Sam Seller", role="seller", manager_id="mo")])
        s.flush()
        s.add(Account(id="acme", name="Acme", owner_id="sam"))
        s.flush()
        s.add(Opportunity(id="o1", name="Acme renewal", account_id="acme", owner_id="sam", stage="Engaging"))
    return engine


def policy_file(tmp_path: Path, monkeypatch, *, min_reviewed=4, share="0.75", max_rollbacks=0,
                replace: dict[str, str] | None = None) -> Path:
    """The shipped default, comments and all, with a small promotion bar; put in force."""
    text = SHIPPED.replace("min_reviewed: 50 ", f"min_reviewed: {min_reviewed} ") \
        .replace("min_approved_unedited_share: 0.8 ", f"min_approved_unedited_share: {share} ") \
        .replace("max_rollbacks: 0 ", f"max_rollbacks: {max_rollbacks} ")
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "team-policy.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(path))
    get_settings.cache_clear()
    return path


def decide(engine, *, approved=0, edited=0, rejected=0, rolled_back=0, expired=0,
           use_case="hygiene", action_name="create_task") -> None:
    """Real approvals through the approvals service, decided by Rita; the approved ones are carried out by the
    executor (and `rolled_back` ones undone). One proposal a day, so the fatigue caps never hold one back."""
    last = T0
    with session_scope(engine) as s:
        for kind in ["approved"] * approved + ["edited"] * edited + ["rejected"] * rejected + \
                ["rolled_back"] * rolled_back + ["expired"] * expired:
            n = next(_counter)
            at = last = T0 + dt.timedelta(days=n)
            payload = {"subject": f"Call back about the renewal ({n})", "due_date": "2026-12-01",
                       "opportunity_id": "o1"}
            proposal = Proposal(use_case=use_case, subject="opportunity:o1", action=action_name, payload=payload,
                                reason="The customer asked for a call back.", expires_at=at + dt.timedelta(days=7))
            a = propose(session=s, proposal=proposal, by=f"agent:{use_case}", at=at)
            if kind == "expired":
                continue
            if kind == "rejected":
                reject(session=s, approval_id=a.id, user_id="rita", reason="not needed", at=at)
                continue
            edits = {**payload, "subject": "Call Ana"} if kind == "edited" else None
            approve(session=s, approval_id=a.id, user_id="rita", payload=edits, at=at)
            execution = execute(session=s, approval_id=a.id, at=at)
            if kind == "rolled_back":
                rollback(session=s, execution_id=execution.id, by="rita", at=at)
        if expired:
            assert expire_due(session=s, at=last + dt.timedelta(days=8)) == expired


def row(engine, use_case, action=None):
    with session_scope(engine) as s:
        return evidence_for(session=s, use_case=use_case, action=action, policy=load_policy(
            get_settings().policy or DEFAULT_POLICY_FILE))


def refused(engine, **kwargs) -> str:
    with session_scope(engine) as s, pytest.raises(PromotionRefused) as e:
        promote(session=s, by=kwargs.pop("by", "rita"), **kwargs)
    return e.value.one_line()


def changes(engine) -> list[AuditEntry]:
    with session_scope(engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "policy.changed")
                              .order_by(AuditEntry.seq)))


# ------------------------------------------------------------------------------------------------ status


def test_status_counts_reviewed_items_the_unedited_share_and_rollbacks_from_real_approvals(book, tmp_path,
                                                                                           monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=3, edited=1, rejected=1, rolled_back=1, expired=2)
    with session_scope(book) as s:
        rows = {(r.use_case, r.action): r for r in evidence(session=s, policy=load_policy(get_settings().policy))}
    task = rows[("hygiene", "create_task")]
    assert (task.level, task.inherited) == ("L3", True)
    # The rolled-back one was approved unedited too; expired ones were never reviewed.
    assert (task.reviewed, task.approved_unedited, task.approved_with_edits, task.rejected, task.rollbacks) == \
        (6, 4, 1, 1, 1)
    assert task.unedited_share == pytest.approx(4 / 6)
    assert not task.promotion_allowed
    assert "4/6 approved unedited at L3 (66.7%), below promotion.min_approved_unedited_share (75%)" in task.reason
    assert "1 rollback at L3, more than promotion.max_rollbacks (0)" in task.reason
    # The use case's default level covers every action it does not name, so it counts the same decisions.
    assert rows[("hygiene", None)].reviewed == 6
    assert rows[("research", None)].reviewed == 0 and rows[("research", None)].level == "L2"
    assert "0 reviewed at L2, fewer than promotion.min_reviewed (4)" in rows[("research", None)].reason
    assert ("research", "create_task") not in rows  # only actions a use case names or has decisions for


def test_every_use_case_has_a_row_at_the_level_the_file_sets(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch, replace={"follow-up: L3": "follow-up: {default: L3, send_email: L2}"})
    with session_scope(book) as s:
        rows = evidence(session=s, policy=load_policy(get_settings().policy))
    assert [(r.use_case, r.action, r.level) for r in rows] == [
        ("research", None, "L2"), ("prep", None, "L2"), ("next-action", None, "L2"), ("follow-up", None, "L3"),
        ("follow-up", "send_email", "L2"), ("coaching", None, "L2"), ("hygiene", None, "L3")]


def test_status_prints_a_table_and_json_with_whether_the_next_level_is_allowed(book, store, tmp_path,
                                                                              monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=4)
    result = run_cli(store, monkeypatch, "status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["use", "case", "action", "level", "reviewed", "unedited"]
    task = next(line for line in lines if line.startswith("hygiene") and "create_task" in line)
    assert task.split()[:7] == ["hygiene", "create_task", "L3", "(default)", "4", "4/4", "100%"]
    assert task.endswith("L4: allowed")
    research = next(line for line in lines if line.startswith("research"))
    assert "L3: no, 0 reviewed at L2, fewer than promotion.min_reviewed (4)" in research
    data = json.loads(run_cli(store, monkeypatch, "status", "--json").stdout)
    assert data["bar"] == {"min_reviewed": 4, "min_approved_unedited_share": 0.75, "max_rollbacks": 0}
    hygiene = next(r for r in data["levels"] if r["use_case"] == "hygiene" and r["action"] is None)
    assert hygiene | {"since": None} == hygiene and hygiene["reviewed"] == 4
    assert hygiene["next_level"] == "L4" and hygiene["promotion_allowed"] is True and hygiene["reason"] is None


# ------------------------------------------------------------------------------------------------ refusals


def test_promotion_is_refused_below_the_reviewed_count(book, tmp_path, monkeypatch):
    path = policy_file(tmp_path, monkeypatch)
    decide(book, approved=3)
    reason = refused(book, use_case="hygiene")
    assert reason == "cannot promote hygiene from L3 to L4: 3 reviewed at L3, fewer than promotion.min_reviewed (4)"
    assert path.read_text(encoding="utf-8") == SHIPPED.replace("50 ", "4 ").replace("0.8 ", "0.75 ")
    assert changes(book) == []


def test_promotion_is_refused_below_the_unedited_share(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=2, edited=1, rejected=1)
    assert refused(book, use_case="hygiene", action="create_task") == (
        "cannot promote hygiene create_task from L3 to L4: 2/4 approved unedited at L3 (50.0%), below "
        "promotion.min_approved_unedited_share (75%)")


def test_promotion_is_refused_with_more_rollbacks_than_the_bar_allows(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch, max_rollbacks=1)
    decide(book, approved=3, rolled_back=2)
    assert refused(book, use_case="hygiene") == (
        "cannot promote hygiene from L3 to L4: 2 rollbacks at L3, more than promotion.max_rollbacks (1)")


def test_promotion_is_refused_when_it_skips_a_level(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=10, use_case="research")
    assert refused(book, use_case="research", to="L4") == (
        "L2 -> L4 skips a level: research rises one step at a time, to L3 first")
    assert refused(book, use_case="hygiene", to="L5") == (
        "L3 -> L5 skips a level: hygiene rises one step at a time, to L4 first")
    assert refused(book, use_case="hygiene", to="L3").startswith("hygiene is at L3 already")
    assert changes(book) == []


def test_promotion_to_l4_is_refused_without_approvers_in_the_policy(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch, replace={"approval:\n  approvers: [manager, revops, admin]\n": ""})
    decide(book, approved=5)
    reason = refused(book, use_case="hygiene")
    assert reason.startswith("cannot promote hygiene from L3 to L4: levels.hygiene.default: L4 needs an approval "
                             "policy: none is defined")


def test_promotion_to_l5_is_refused_for_a_high_risk_action_whatever_its_record(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch, min_reviewed=1,
                replace={"follow-up: L3": "follow-up:\n    default: L3\n    send_email: L4"})
    reason = refused(book, use_case="follow-up", action="send_email")
    assert "levels.follow-up.send_email: L5 is refused for send_email: it cannot be undone" in reason


def test_promotion_is_refused_on_the_shipped_default_file(book, monkeypatch):
    monkeypatch.delenv(POLICY_ENV, raising=False)
    get_settings.cache_clear()
    decide(book, approved=60)
    reason = refused(book, use_case="hygiene")
    assert "shipped default policy and is not edited in place" in reason and POLICY_ENV in reason
    assert DEFAULT_POLICY_FILE.read_text(encoding="utf-8") == SHIPPED
    assert changes(book) == []


def test_only_an_admin_or_revops_user_may_promote(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=4)
    assert refused(book, use_case="hygiene", by="mo") == (
        "only an admin or RevOps user may change an autonomy level; Mo Manager is a manager")
    with session_scope(book) as s, pytest.raises(BadInput, match="no user with id 'agent:hygiene'"):
        promote(session=s, use_case="hygiene", by="agent:hygiene")


# ------------------------------------------------------------------------------------------------ promotion


def test_a_promotion_with_enough_evidence_moves_one_step_writes_the_file_and_is_audited(book, tmp_path,
                                                                                       monkeypatch):
    path = policy_file(tmp_path, monkeypatch)
    before = path.read_text(encoding="utf-8")
    decide(book, approved=4, edited=1)
    with session_scope(book) as s:
        policy = promote(session=s, use_case="hygiene", by="rita", to="L4")
    assert policy.level_of("hygiene") == "L4"
    # One line changed, comments and everything else kept; the file is valid and in force.
    after = path.read_text(encoding="utf-8")
    diff = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert diff == [("  hygiene: L3", "  hygiene: L4")] and len(before.splitlines()) == len(after.splitlines())
    assert check_policy(path, compare=False).valid
    assert load_policy(path).level_of("hygiene") == "L4"
    assert not list(tmp_path.glob(".team-policy.yaml.*"))  # no temp file left behind
    [entry] = changes(book)
    assert (entry.actor, entry.subject) == ("rita", f"policy:{path.resolve()}")
    assert entry.payload["use_case"] == "hygiene" and entry.payload["action"] is None
    assert (entry.payload["from"], entry.payload["to"]) == ("L3", "L4")
    assert entry.payload["evidence"] | {"since": None} == {
        "reviewed": 5, "approved_unedited": 4, "approved_with_edits": 1, "rejected": 0, "unedited_share": 0.8,
        "rollbacks": 0, "since": None}
    with session_scope(book) as s:
        assert audit_verify(session=s).ok


def test_after_a_promotion_only_decisions_at_the_new_level_count(book, tmp_path, monkeypatch):
    policy_file(tmp_path, monkeypatch)
    decide(book, approved=4)
    with session_scope(book) as s:
        promote(session=s, use_case="hygiene", by="rita")
    at_l4 = row(book, "hygiene")
    assert (at_l4.level, at_l4.reviewed, at_l4.next_level) == ("L4", 0, "L5")
    assert at_l4.since is not None
    decide(book, approved=1, rejected=1)  # decided after the change: at L4
    assert (row(book, "hygiene").reviewed, row(book, "hygiene").approved_unedited) == (2, 1)
    # create_task inherits L4 from the default, so its window starts at the same change.
    assert refused(book, use_case="hygiene", action="create_task") == (
        "cannot promote hygiene create_task from L4 to L5: 2 reviewed at L4, fewer than promotion.min_reviewed (4)")


def test_promoting_one_action_gives_it_a_level_of_its_own_and_leaves_the_rest(book, tmp_path, monkeypatch):
    path = policy_file(tmp_path, monkeypatch)
    decide(book, approved=4)
    with session_scope(book) as s:
        promote(session=s, use_case="hygiene", action="create_task", by="rita")
    assert "  hygiene: {default: L3, create_task: L4}\n" in path.read_text(encoding="utf-8")
    policy = load_policy(path)
    assert (policy.level_of("hygiene"), policy.level_of("hygiene", "create_task")) == ("L3", "L4")
    assert policy.level_of("hygiene", "update_field") == "L3"
    # The default's own window did not move; the action's did.
    assert row(book, "hygiene", "create_task").reviewed == 0
    assert row(book, "hygiene").reviewed == 0  # create_task is no longer at the default level


def test_a_block_mapping_gets_the_new_action_on_a_line_of_its_own(book, tmp_path, monkeypatch):
    path = policy_file(tmp_path, monkeypatch, replace={
        "  hygiene: L3\n": "  hygiene:\n    default: L3   # drafts only\n    update_field: L3\n"})
    decide(book, approved=4)
    with session_scope(book) as s:
        promote(session=s, use_case="hygiene", action="create_task", by="rita")
    assert "  hygiene:\n    default: L3   # drafts only\n    update_field: L3\n    create_task: L4\n" in \
        path.read_text(encoding="utf-8")
    assert load_policy(path).level_of("hygiene", "create_task") == "L4"


def test_promote_on_the_command_line_exits_2_with_the_reason_or_reports_the_step(book, store, tmp_path,
                                                                                monkeypatch):
    path = policy_file(tmp_path, monkeypatch)
    decide(book, approved=4)
    skipped = run_cli(store, monkeypatch, "promote", "hygiene", "--to", "L5", "--as", "rita")
    assert skipped.exit_code == 2
    assert skipped.stderr == "Error: L3 -> L5 skips a level: hygiene rises one step at a time, to L4 first\n"
    short = run_cli(store, monkeypatch, "promote", "research", "--as", "rita")
    assert short.exit_code == 2 and "fewer than promotion.min_reviewed (4)" in short.stderr
    done = run_cli(store, monkeypatch, "promote", "hygiene", "--to", "L4", "--as", "rita")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"hygiene: L3 -> L4 in {path} (4 reviewed, 4 approved unedited, 0 rollbacks)")
    assert load_policy(path).level_of("hygiene") == "L4"
    assert len(changes(book)) == 1


def run_cli(store, monkeypatch, *args):
    for key, value in store.env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    app = typer.Typer()
    app.add_typer(autonomy_app, name="autonomy")
    return CliRunner().invoke(app, ["autonomy", *args])
