"""The audit log and the policy over the API: admins and RevOps read the log and change levels; anyone reads
the policy; refusals are one line with a 4xx."""
from __future__ import annotations

import pytest
import yaml

from sellerloop.config import get_settings
from sellerloop.policy.service import DEFAULT_POLICY_FILE, POLICY_ENV
from tests.api.conftest import one_line


@pytest.fixture
def team_policy(tmp_path, monkeypatch):
    """A copy of the shipped policy in force, which promotion may rewrite; `write(**changes)` edits it."""
    path = tmp_path / "team-policy.yaml"

    def write(**changes) -> None:
        data = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] |= value
            else:
                data[key] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    write()
    monkeypatch.setenv(POLICY_ENV, str(path))
    get_settings.cache_clear()
    write.path = path
    return write


@pytest.mark.parametrize("who", ["seller", "manager"])
def test_only_admins_and_revops_read_the_audit_log(api, who):
    with api.client(who) as client:
        log, check = client.get("/api/audit"), client.get("/api/audit/verify")
    assert (log.status_code, check.status_code) == (403, 403)
    assert one_line(log).startswith("only an admin or RevOps user may read the audit log; ")


def test_the_audit_log_pages_newest_first_and_filters_by_actor_and_action(api):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("manager") as client:
        client.post(f"/api/approvals/{approval}/approve").raise_for_status()
    with api.client("admin") as client:
        everything = client.get("/api/audit", params={"page_size": 2}).json()
        approved = client.get("/api/audit", params={"action": "approval.approved"}).json()
        by_manager = client.get("/api/audit", params={"actor": api.ids["manager"]}).json()
    assert everything["total"] == 3 and everything["pages"] == 2  # proposed, approved, executed
    assert [e["action"] for e in everything["items"]] == ["execution.done", "approval.approved"]
    assert [e["payload"]["approval"] for e in approved["items"]] == [approval]
    assert [e["actor"] for e in by_manager["items"]] == [api.ids["manager"]]


def test_verifying_the_audit_log_gives_its_head_and_checks_one_kept_from_before(api):
    api.propose_task(on=api.ids["opportunity"])
    with api.client("admin") as client:
        first = client.get("/api/audit/verify").json()
        anchored = client.get("/api/audit/verify", params={"head": first["head"]}).json()
        wrong = client.get("/api/audit/verify", params={"head": f"1:{'0' * 64}"}).json()
        malformed = client.get("/api/audit/verify", params={"head": "²:abc"})
    assert first["ok"] and first["checked"] == 1 and first["head"].startswith("1:")
    assert anchored["ok"] and not wrong["ok"] and "anchor" in wrong["problem"]
    assert malformed.status_code == 400 and "SEQ:SHA256" in one_line(malformed)


def test_anyone_reads_the_policy_with_the_kill_switch_applied_to_the_levels(api, team_policy):
    team_policy(kill_switch=True, levels={"hygiene": {"default": "L3", "update_field": "L4"}})
    with api.client("seller") as client:
        policy = client.get("/api/policy").json()
    assert policy["file"] == str(team_policy.path) and policy["kill_switch"] is True
    row = next(r for r in policy["levels"] if (r["use_case"], r["action"]) == ("hygiene", "update_field"))
    assert (row["level"], row["in_force"], row["placement"]) == ("L4", "L3", "draft")
    assert {"action": "send_email", "title": "Send an email", "risk": "high", "reversible": False} in \
        policy["actions"]
    assert policy["sensitive_fields"] == ["Contact.phone"] and policy["caps"]["max_open_approvals_per_record"] == 3
    assert any(e["use_case"] == "next-action" and e["action"] is None for e in policy["evidence"])


def test_a_seller_may_not_promote_and_the_shipped_default_is_never_rewritten(api):
    with api.client("seller") as client:
        seller = client.post("/api/policy/promote", json={"use_case": "next-action"})
    with api.client("admin") as client:
        admin = client.post("/api/policy/promote", json={"use_case": "next-action"})
    assert seller.status_code == 403 and "only an admin or RevOps user" in one_line(seller)
    assert admin.status_code == 409 and "shipped default policy" in one_line(admin)


def test_an_admin_promotes_a_level_once_its_record_meets_the_bar(api, team_policy):
    team_policy(promotion={"min_reviewed": 1, "min_approved_unedited_share": 0.5})
    with api.client("admin") as client:
        too_early = client.post("/api/policy/promote", json={"use_case": "next-action"})
    with api.client("seller") as client:  # one recommendation taken up as offered: reviewed, unedited
        offer = client.get("/api/recommendations", params={"opportunity": api.ids["opportunity"]}).json()
        client.post("/api/decisions", json={"offer_token": offer["items"][0]["offer_token"],
                                            "decision": "approve"}).raise_for_status()
    with api.client("admin") as client:
        promoted = client.post("/api/policy/promote", json={"use_case": "next-action"})
        policy = client.get("/api/policy").json()
        changed = client.get("/api/audit", params={"action": "policy.changed"}).json()["items"]
        bad = client.post("/api/policy/promote", json={"use_case": "next-action", "action": "launch_rockets"})
    assert too_early.status_code == 409 and "fewer than promotion.min_reviewed" in one_line(too_early)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json() == {"use_case": "next-action", "action": None, "from_level": "L2", "to_level": "L3",
                               "file": str(team_policy.path)}
    assert next(r for r in policy["levels"] if (r["use_case"], r["action"]) == ("next-action", None))["level"] == "L3"
    assert [(e["actor"], e["payload"]["to"]) for e in changed] == [("t-admin", "L3")]
    assert bad.status_code == 400 and "action" in one_line(bad)
