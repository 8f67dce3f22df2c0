"""The approval inbox over the API: listing what I may see, approving (as proposed or edited), rejecting with
a reason, and the refusals, each the same as on the pages and the CLI."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import propose
from sellerloop.config import get_settings
from sellerloop.policy.service import DEFAULT_POLICY_FILE, POLICY_ENV
from sellerloop.records.models import Account
from sellerloop.store.db import session_scope
from tests.api.conftest import one_line


def ids_of(page: dict) -> set[str]:
    return {a["id"] for a in page["items"]}


def test_the_inbox_holds_approvals_on_records_i_may_see_filtered_by_state_use_case_and_mine(api):
    mine = api.propose_task(on=api.ids["opportunity"])
    tidy = api.propose_task(on=api.ids["opportunity"], subject="Log the call notes", use_case="hygiene")
    foreign = api.propose_task(on=api.ids["foreign"])
    with api.client("seller") as client:
        seen = client.get("/api/approvals").json()
        hygiene = client.get("/api/approvals", params={"use_case": "hygiene"}).json()
        own = client.get("/api/approvals", params={"mine": "true", "state": "proposed"}).json()
        rejected = client.get("/api/approvals", params={"state": "rejected"}).json()
    with api.client("manager") as client:
        team, managers_own = client.get("/api/approvals").json(), client.get("/api/approvals?mine=1").json()
    with api.client("admin") as client:
        everyone = client.get("/api/approvals", params={"page_size": 2}).json()
    assert ids_of(seen) == ids_of(own) == ids_of(team) == {mine, tidy}
    assert ids_of(hygiene) == {tidy} and rejected["total"] == 0 and managers_own["total"] == 0
    assert everyone["total"] == 3 and everyone["pages"] == 2 and foreign not in ids_of(seen)
    first = next(a for a in seen["items"] if a["id"] == mine)
    assert first["state"] == "proposed" and first["owner_id"] == api.ids["seller"] and first["risk"] == "low"
    assert first["status"] == "pending approval on " + first["history"][0]["at"][:10]


def test_approving_with_edits_carries_out_the_edited_task_once(api):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("manager") as client:
        decided = client.post(f"/api/approvals/{approval}/approve",
                              json={"payload": {"subject": "Send the pricing sheet and the SOC 2 report",
                                                "due_date": "2026-12-03"}}).json()
        again = client.post(f"/api/approvals/{approval}/approve")
        tasks = client.get(f"/api/opportunities/{api.ids['opportunity']}").json()["tasks"]
    assert decided["state"] == "executed" and decided["approval"]["payload"]["due_date"] == "2026-12-03"
    assert [s["state"] for s in decided["approval"]["history"]] == ["proposed", "approved_with_edits", "executed"]
    assert [(t["subject"], t["due_date"]) for t in tasks] == [("Send the pricing sheet and the SOC 2 report",
                                                               "2026-12-03")]
    assert again.status_code == 409 and "executed" in one_line(again)


def test_approving_as_proposed_needs_no_body(api):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("manager") as client:
        decided = client.post(f"/api/approvals/{approval}/approve").json()
    assert [s["state"] for s in decided["approval"]["history"]] == ["proposed", "approved", "executed"]
    assert decided["execution"]["diff"]["created"]["table"] == "tasks"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 2001}, {"reason": None},
                                  {"reason": "fine", "extra": 1}, {"reason": "nul \u0000 byte"}])
def test_a_rejection_needs_a_reason_of_1_to_2000_characters(api, body):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("seller") as client:
        refused = client.post(f"/api/approvals/{approval}/reject", json=body)
        still = client.get(f"/api/approvals/{approval}").json()
    assert refused.status_code == 400 and one_line(refused)
    assert still["state"] == "proposed"


def test_a_rejection_is_kept_with_its_reason_and_is_final(api):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("seller") as client:
        rejected = client.post(f"/api/approvals/{approval}/reject", json={"reason": "They have it already."})
        late = client.post(f"/api/approvals/{approval}/approve")
    assert rejected.json()["state"] == "rejected" and rejected.json()["execution"] is None
    assert rejected.json()["approval"]["history"][-1]["reason"] == "They have it already."
    assert late.status_code == 409 and "rejected" in one_line(late)


def test_another_teams_approval_is_403_to_read_and_to_decide_and_an_unknown_one_is_404(api):
    foreign = api.propose_task(on=api.ids["foreign"])
    with api.client("seller") as client:
        answers = [client.get(f"/api/approvals/{foreign}"), client.post(f"/api/approvals/{foreign}/approve"),
                   client.post(f"/api/approvals/{foreign}/reject", json={"reason": "not mine"})]
        unknown = [client.get("/api/approvals/appr-nope"), client.post("/api/approvals/appr-nope/approve"),
                   client.post("/api/approvals/appr-nope/reject", json={"reason": "no"})]
    with api.client("stranger") as client:
        own = client.get(f"/api/approvals/{foreign}").json()
    assert [a.status_code for a in answers] == [403, 403, 403] and all("may not see" in one_line(a) for a in answers)
    assert [a.status_code for a in unknown] == [404, 404, 404]
    assert own["state"] == "proposed"


@pytest.fixture
def website_is_sensitive(tmp_path, monkeypatch):
    """A policy in force that marks Account.website sensitive (the default marks only Contact.phone)."""
    data = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    data["sensitive_fields"] = ["Contact.phone", "Account.website"]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(path))
    get_settings.cache_clear()


def test_a_change_to_a_field_i_may_not_see_is_shown_masked_and_i_cannot_decide_on_it(api, website_is_sensitive):
    # The seller sees the account only through their deal there: its sensitive fields are the owner's.
    with session_scope(api.engine) as s:
        old = s.get(Account, api.ids["account"]).website
        approval = propose(session=s, by="agent:hygiene", proposal=Proposal(
            use_case="hygiene", subject=f"account:{api.ids['account']}", action="update_field",
            payload={"object": "account", "record_id": api.ids["account"], "field": "website", "old": old,
                     "new": "https://cancity.example"}, reason="Their emails say so.",
            expires_at=dt.datetime(2099, 1, 1))).id
    with api.client("seller") as client:
        listed = client.get("/api/approvals").json()["items"]
        refused = client.post(f"/api/approvals/{approval}/approve")
    with api.client("admin") as client:
        shown = client.get(f"/api/approvals/{approval}").json()
    assert [(a["payload"]["old"], a["payload"]["new"], a["risk"]) for a in listed] == [("(hidden)", "(hidden)",
                                                                                       "medium")]
    assert refused.status_code == 403 and "may not" in one_line(refused)
    assert shown["payload"]["new"] == "https://cancity.example"
