"""Shadow evidence for promotion: the figures, the bar counted on compared items, shown with the record at each
level, recorded with a promotion, and never standing in for the record at the current level (DESIGN.md §4)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import approve, propose
from sellerloop.audit.models import AuditEntry
from sellerloop.autonomy.service import PromotionRefused, evidence, promote
from sellerloop.executor.service import execute
from sellerloop.policy.service import load_policy
from sellerloop.shadow.service import shadow_evidence
from sellerloop.store.db import session_scope
from tests.shadow.conftest import at, team_policy
from tests.shadow.test_comparison import _run, close_date, email, next_step, record, task

FOLLOW_UP_IN_SHADOW = {"  follow-up: L3": "  follow-up: {default: L3, shadow: true}"}


@pytest.fixture
def policy_path(tmp_path, monkeypatch):
    return team_policy(tmp_path, monkeypatch, replace=FOLLOW_UP_IN_SHADOW)


def _shadow(engine, path, *items):
    record(engine, load_policy(path), _run("follow-up", "o1", *items, level="L3"))


def _evidence(engine, path):
    with session_scope(engine) as s:
        return shadow_evidence(session=s, use_case="follow-up", policy=load_policy(path))


def test_the_figures_count_each_verdict_and_the_bar_is_met_on_compared_items_only(book, policy_path):
    # agreed: the same task, the recap email, the close date Sam set; edited: another task; pending: next step.
    _shadow(book, policy_path, task("Call Ana about the procurement"), email(), close_date("2018-03-30"),
            task("Send the pricing proposal to Ana"), next_step("Ana to share the budget plan."))
    e = _evidence(book, policy_path)
    assert (e.current_level, e.level, e.on) == ("L3", "L4", True)
    assert (e.recorded, e.compared, e.agreed, e.edited, e.disagreed, e.pending) == (5, 4, 3, 1, 0, 1)
    assert e.agreement_share == 0.75 and e.meets_bar and e.reasons == ()


def test_below_the_share_or_the_count_it_says_why(book, policy_path):
    _shadow(book, policy_path, task("Call Ana about the procurement"), email(), close_date("2018-03-30"))
    assert _evidence(book, policy_path).reasons == (
        "3 compared in shadow at L4, fewer than promotion.min_reviewed (4)",)
    record(book, load_policy(policy_path), _run("follow-up", "o2", task("Send the pricing proposal"), level="L3"))
    record(book, load_policy(policy_path), _run("follow-up", "o2", task("Send the contract"), level="L3"))
    e = _evidence(book, policy_path)
    assert (e.agreed, e.disagreed, e.meets_bar) == (3, 2, False)
    assert e.reasons == ("3/5 agreed in shadow at L4 (60.0%), below promotion.min_approved_unedited_share (75%)",)


def test_only_shadow_actions_at_the_level_above_the_current_one_count(book, policy_path, tmp_path, monkeypatch):
    _shadow(book, policy_path, task("Call Ana about the procurement"))
    assert _evidence(book, policy_path).recorded == 1
    raised = team_policy(tmp_path, monkeypatch, replace={"  follow-up: L3": "  follow-up: L4"})
    e = _evidence(book, raised)
    assert (e.current_level, e.level, e.recorded, e.on) == ("L4", "L5", 0, False)


def test_the_record_at_each_level_carries_its_shadow_evidence(book, policy_path):
    _shadow(book, policy_path, task("Call Ana about the procurement"), email())
    with session_scope(book) as s:
        rows = {(r.use_case, r.action): r for r in evidence(session=s, policy=load_policy(policy_path),
                                                             with_shadow=True)}
    row = rows[("follow-up", None)]
    assert (row.reviewed, row.shadow.agreed, row.shadow.on) == (0, 2, True)
    assert rows[("hygiene", None)].shadow is None
    assert row.as_dict()["shadow"]["agreed"] == 2


def _decided(engine, n: int) -> None:
    """n follow-up tasks a person approved at L3 (carried out by the executor), before DAY."""
    with session_scope(engine) as s:
        for i in range(n):
            when = at("2017-10-01") + dt.timedelta(days=i)
            proposal = Proposal(use_case="follow-up", subject="opportunity:o1", action="create_task",
                                payload={"subject": f"Quarterly check-in {i}", "due_date": "2017-10-20",
                                         "opportunity_id": "o1"}, reason="Agreed on the call.", level="L3")
            approval = propose(session=s, proposal=proposal, by="agent:follow-up", at=when)
            approve(session=s, approval_id=approval.id, user_id="rita", at=when)
            execute(session=s, approval_id=approval.id, at=when)


def test_shadow_evidence_never_replaces_the_bar_at_the_current_level(book, policy_path):
    _shadow(book, policy_path, task("Call Ana about the procurement"), email(), close_date("2018-03-30"),
            task("Send the pricing proposal to Ana"))
    assert _evidence(book, policy_path).meets_bar
    with session_scope(book) as s, pytest.raises(PromotionRefused) as refused:
        promote(session=s, use_case="follow-up", by="rita", policy_path=policy_path)
    assert "0 reviewed at L3, fewer than promotion.min_reviewed (4)" in refused.value.one_line()


def test_a_promotion_records_the_shadow_figures_and_ends_the_shadow(book, policy_path):
    _shadow(book, policy_path, task("Call Ana about the procurement"), email(), close_date("2018-03-30"),
            task("Send the pricing proposal to Ana"))
    _decided(book, 4)
    with session_scope(book) as s:
        promote(session=s, use_case="follow-up", by="rita", policy_path=policy_path)
    text = policy_path.read_text(encoding="utf-8")
    assert "  follow-up: {default: L4, shadow: false}" in text and "# The governance policy" in text
    with session_scope(book) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "policy.changed")).one()
        payload = entry.payload
    assert (payload["from"], payload["to"], payload["evidence"]["reviewed"]) == ("L3", "L4", 4)
    assert {k: payload["shadow"][k] for k in ("level", "recorded", "compared", "agreed", "edited", "meets_bar")} == {
        "level": "L4", "recorded": 4, "compared": 4, "agreed": 3, "edited": 1, "meets_bar": True}
    assert not load_policy(policy_path).levels["follow-up"].shadow


def test_autonomy_evidence_shows_the_shadow_figures_in_text_and_json(cli, store, book, policy_path):
    _shadow(book, policy_path, task("Call Ana about the procurement"), email())
    text = cli(store, "autonomy", "evidence", "follow-up")
    assert text.exit_code == 0, text.stderr
    assert "follow-up: shadow at L4 (on): 2 recorded, 2 compared, 2 agreed (100% of compared)" in text.stdout
    data = json.loads(cli(store, "autonomy", "evidence", "--json").stdout)
    [row] = [r for r in data["levels"] if (r["use_case"], r["action"]) == ("follow-up", None)]
    assert (row["shadow"]["agreed"], row["shadow"]["level"], row["promotion_allowed"]) == (2, "L4", False)
