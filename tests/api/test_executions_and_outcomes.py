"""Executions and rollback over the API, and the outcomes read back from the approvals: what became of each
proposal (accepted, edited, rejected, expired, rolled back), on the records I may see."""
from __future__ import annotations

import datetime as dt

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import expire_due, propose
from sellerloop.records.models import Opportunity
from sellerloop.store.db import session_scope
from tests.api.conftest import one_line

BEFORE = "Send the security questionnaire answers before Friday's review."  # seed_records' next step


def approved_task(api, who: str = "manager", **task) -> dict:
    """An L4 task approved (by the seller's manager: the policy's approvers decide at L4) and carried out."""
    approval = api.propose_task(on=api.ids["opportunity"], **task)
    with api.client(who) as client:
        decided = client.post(f"/api/approvals/{approval}/approve")
    assert decided.status_code == 200, decided.text
    return decided.json()


def test_rolling_back_a_task_removes_it_from_the_deal_exactly_once(api):
    execution = approved_task(api)["execution"]
    with api.client("seller") as client:
        listed = client.get("/api/executions").json()
        shown = client.get(f"/api/executions/{execution['id']}").json()
        undone = client.post(f"/api/executions/{execution['id']}/rollback")
        twice = client.post(f"/api/executions/{execution['id']}/rollback")
        tasks = client.get(f"/api/opportunities/{api.ids['opportunity']}").json()["tasks"]
        approval = client.get(f"/api/approvals/{execution['approval_id']}").json()
    assert [e["id"] for e in listed["items"]] == [execution["id"]] and shown == execution
    assert undone.status_code == 200 and undone.json()["status"] == "rolled_back"
    assert undone.json()["rolled_back_by"] == api.ids["seller"]
    assert twice.status_code == 409 and "rolled_back" in one_line(twice)
    assert tasks == [] and approval["state"] == "rolled_back"


def _next_step_change(api, deal: str) -> str:
    """A pending hygiene change of the deal's next step, from BEFORE to "Book the security review"."""
    with session_scope(api.engine) as s:
        return propose(session=s, by="agent:hygiene", proposal=Proposal(
            use_case="hygiene", subject=f"opportunity:{deal}", action="update_field", reason="The notes say so.",
            payload={"object": "opportunity", "record_id": deal, "field": "next_step", "old": BEFORE,
                     "new": "Book the security review"})).id


def test_a_field_change_is_rolled_back_to_exactly_what_was_there(api):
    deal = api.ids["opportunity"]
    approval = _next_step_change(api, deal)
    with api.client("manager") as client:
        execution = client.post(f"/api/approvals/{approval}/approve").json()["execution"]
        changed = client.get(f"/api/opportunities/{deal}").json()["next_step"]
        client.post(f"/api/executions/{execution['id']}/rollback").raise_for_status()
        restored = client.get(f"/api/opportunities/{deal}").json()["next_step"]
    assert execution["diff"] == {"table": "opportunity", "id": deal, "field": "next_step", "before": BEFORE,
                                 "after": "Book the security review"}
    assert (changed, restored) == ("Book the security review", BEFORE)


def test_a_rollback_after_someone_changed_the_field_again_is_a_conflict_and_writes_nothing(api):
    deal = api.ids["opportunity"]
    approval = _next_step_change(api, deal)
    with api.client("seller") as client:
        execution = client.post(f"/api/approvals/{approval}/approve").json()["execution"]
        with session_scope(api.engine) as s:
            s.get(Opportunity, deal).next_step = "Changed by hand in the CRM"
        conflict = client.post(f"/api/executions/{execution['id']}/rollback")
        after = client.get(f"/api/opportunities/{deal}").json()["next_step"]
    assert conflict.status_code == 409 and "nothing was rolled back" in one_line(conflict)
    assert after == "Changed by hand in the CRM"


def test_a_seller_of_another_team_can_neither_see_nor_roll_back_an_execution(api):
    execution = approved_task(api)["execution"]
    with api.client("stranger") as client:
        listed = client.get("/api/executions").json()
        shown = client.get(f"/api/executions/{execution['id']}")
        undone = client.post(f"/api/executions/{execution['id']}/rollback")
        unknown = client.post("/api/executions/x-nope/rollback")
    with api.client("admin") as client:
        still = client.get(f"/api/executions/{execution['id']}").json()
    assert listed["total"] == 0 and (shown.status_code, undone.status_code, unknown.status_code) == (403, 403, 404)
    assert still["status"] == "done"


def test_outcomes_say_what_became_of_each_decided_proposal(api):
    deal = api.ids["opportunity"]
    with session_scope(api.engine) as s:  # one nobody answered in time
        ignored = propose(session=s, by="agent:follow-up", proposal=Proposal(
            use_case="follow-up", subject=f"opportunity:{deal}", action="log_note",
            payload={"body": "Called Ben.", "opportunity_id": deal}, reason="A call happened.",
            expires_at=dt.datetime(2026, 1, 1))).id
        expire_due(session=s, at=dt.datetime(2026, 1, 2))
    accepted = approved_task(api, subject="Send the pricing sheet")["approval"]["id"]
    undone = approved_task(api, subject="Share the case study", due="2026-12-20")["execution"]
    edited = api.propose_task(on=deal, subject="Book the demo", use_case="hygiene")
    rejected = api.propose_task(on=deal, subject="Ask for the budget")
    with api.client("manager") as client:
        client.post(f"/api/approvals/{edited}/approve", json={"payload": {"subject": "Book the live demo"}})
    with api.client("seller") as client:
        client.post(f"/api/approvals/{rejected}/reject", json={"reason": "Asked last week."}).raise_for_status()
        client.post(f"/api/executions/{undone['id']}/rollback").raise_for_status()
    pending = api.propose_task(on=deal, subject="Invite the CFO", due="2027-01-20")
    foreign = api.propose_task(on=api.ids["foreign"])
    with api.client("stranger") as client:
        client.post(f"/api/approvals/{foreign}/reject", json={"reason": "Not now."}).raise_for_status()
    with api.client("seller") as client:
        outcomes = client.get("/api/outcomes").json()
        hygiene = client.get("/api/outcomes", params={"use_case": "hygiene"}).json()
        rolled_back = client.get("/api/outcomes", params={"kind": "rolled_back"}).json()
    kinds = {o["approval_id"]: o["kind"] for o in outcomes["items"]}
    assert kinds == {accepted: "accepted", edited: "edited", rejected: "rejected",
                     undone["approval_id"]: "rolled_back", ignored: "expired"}
    assert pending not in kinds and foreign not in kinds  # undecided; another team's
    by_id = {o["approval_id"]: o for o in outcomes["items"]}
    assert by_id[rejected]["reason"] == "Asked last week." and by_id[ignored]["decided_by"] is None
    assert by_id[edited]["use_case"] == "hygiene" and by_id[edited]["level"] == "L4"
    assert by_id[accepted]["owner_id"] == api.ids["seller"] and by_id[accepted]["decided_by"] == api.ids["manager"]
    assert [o["approval_id"] for o in hygiene["items"]] == [edited]
    assert [o["approval_id"] for o in rolled_back["items"]] == [undone["approval_id"]]
