"""Agent runs, recommendations and drafts over the API, and deciding on them: each offer goes through the one
state machine (approvals/drafts.take_up), is committed, then carried out."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import httpx

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import expire_due, propose
from sellerloop.store.db import session_scope
from tests.api.conftest import NEXT_STEP, one_line
from tests.web.conftest import serve


def recommendations(client: httpx.Client, deal: str) -> list[dict]:
    response = client.get("/api/recommendations", params={"opportunity": deal})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_run_answers_the_agent_run_shape_of_the_cli(api):
    with api.client("seller") as client:
        run = client.post("/api/runs", json={"use_case": "next-action", "opportunity": api.ids["opportunity"],
                                             "limit": 2}).json()
    assert run["use_case"] == "next-action" and run["subject"] == {"type": "opportunity",
                                                                   "id": api.ids["opportunity"]}
    assert run["autonomy_level"] == "L2" and run["placement"] == "shown"
    recommended = [i for i in run["items"] if i["kind"] == "recommendation"]
    assert 0 < len(recommended) <= 2 and all(i["sources"] and i["action"] for i in recommended)


def test_a_run_follows_up_on_one_call_of_a_deal(api):
    with api.client("seller") as client:
        run = client.post("/api/runs", json={"use_case": "follow-up", "opportunity": api.ids["opportunity"],
                                             "transcript": api.ids["timed_transcript"]}).json()
    assert run["inputs"] == {"transcript": api.ids["timed_transcript"]}
    assert any(i.get("artifact") == "email" for i in run["items"])


def test_a_run_is_refused_on_another_teams_deal_and_on_the_wrong_kind_of_record(api):
    with api.client("seller") as client:
        foreign = client.post("/api/runs", json={"use_case": "prep", "opportunity": api.ids["foreign"]})
        wrong_kind = client.post("/api/runs", json={"use_case": "prep", "account": api.ids["account"]})
        two = client.post("/api/runs", json={"use_case": "prep", "account": api.ids["account"],
                                             "opportunity": api.ids["opportunity"]})
        unknown = client.post("/api/runs", json={"use_case": "prep", "opportunity": "no-such-deal"})
        no_agent = client.post("/api/runs", json={"use_case": "fortune-telling", "opportunity": "x"})
    assert foreign.status_code == 403 and "may not see" in one_line(foreign)
    assert wrong_kind.status_code == 400 and "prep runs on an opportunity" in one_line(wrong_kind)
    assert two.status_code == 400 and "exactly one" in one_line(two)
    assert unknown.status_code == 404
    assert no_agent.status_code == 400 and "use_case" in one_line(no_agent)


def test_recommendations_are_offered_as_tasks_with_a_sealed_token_and_nothing_decided_yet(api):
    with api.client("seller") as client:
        items = recommendations(client, api.ids["opportunity"])
    assert items and all(i["item"]["kind"] == "recommendation" for i in items)
    first = items[0]
    assert first["offer"]["action"] == "create_task" and first["offer"]["subject"] == \
        f"opportunity:{api.ids['opportunity']}"
    assert first["offer"]["risk"] == "low" and first["offer"]["level"] == "L2"
    assert first["offer"]["editable"] == ["subject", "due_date", "description"]
    assert first["offer_token"] and first["decision"] is None


def test_taking_up_a_recommendation_with_an_edited_subject_creates_that_task_on_the_deal(api):
    deal = api.ids["opportunity"]
    with api.client("seller") as client:
        offered = recommendations(client, deal)[0]
        decided = client.post("/api/decisions", json={"offer_token": offered["offer_token"],
                                                      "decision": "approve",
                                                      "payload": {"subject": "Call Ben about the SOC 2 review"}})
        assert decided.status_code == 200, decided.text
        result = decided.json()
        tasks = client.get(f"/api/opportunities/{deal}").json()["tasks"]
        again = recommendations(client, deal)[0]
    history = [step["state"] for step in result["approval"]["history"]]
    assert history == ["proposed", "approved_with_edits", "executed"] and result["state"] == "executed"
    assert result["approval"]["history"][1]["by"] == api.ids["seller"]
    created = result["execution"]["diff"]["created"]
    assert created["table"] == "tasks" and result["waiting"] is None
    assert [(t["id"], t["subject"], t["owner_id"]) for t in tasks] == \
        [(created["id"], "Call Ben about the SOC 2 review", api.ids["seller"])]
    assert again["decision"]["state"] == "executed" and "approved with edits" in again["decision"]["status"]


def test_the_same_offer_cannot_be_decided_twice(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
        first = client.post("/api/decisions", json={"offer_token": token, "decision": "approve"})
        second = client.post("/api/decisions", json={"offer_token": token, "decision": "approve"})
    assert first.json()["approval"]["history"][1]["state"] == "approved"
    assert second.status_code == 409 and "decided already" in one_line(second)


def test_rejecting_an_offer_needs_a_reason_and_keeps_it(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
        silent = client.post("/api/decisions", json={"offer_token": token, "decision": "reject"})
        blank = client.post("/api/decisions", json={"offer_token": token, "decision": "reject", "reason": "  "})
        rejected = client.post("/api/decisions", json={"offer_token": token, "decision": "reject",
                                                       "reason": "We met them last week."}).json()
        outcomes = client.get("/api/outcomes", params={"kind": "rejected"}).json()["items"]
    assert silent.status_code == 400 and "reason" in one_line(silent)
    assert blank.status_code == 400
    assert rejected["state"] == "rejected" and rejected["execution"] is None
    assert rejected["approval"]["history"][-1]["reason"] == "We met them last week."
    assert [(o["kind"], o["reason"], o["decided_by"]) for o in outcomes] == \
        [("rejected", "We met them last week.", api.ids["seller"])]


def test_a_tampered_offer_token_is_refused_with_400_and_nothing_is_stored(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
        tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
        refused = client.post("/api/decisions", json={"offer_token": tampered, "decision": "approve"})
        garbage = client.post("/api/decisions", json={"offer_token": "not a token", "decision": "approve"})
        approvals = client.get("/api/approvals").json()
    assert refused.status_code == 400 and "altered" in one_line(refused)
    assert garbage.status_code == 400
    assert approvals["total"] == 0


def test_an_edit_may_change_what_the_task_says_but_not_which_record_it_is_on(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
        moved = client.post("/api/decisions", json={"offer_token": token, "decision": "approve",
                                                    "payload": {"opportunity_id": api.ids["foreign"]}})
        bad_date = client.post("/api/decisions", json={"offer_token": token, "decision": "approve",
                                                       "payload": {"due_date": "next Tuesday"}})
        too_long = client.post("/api/decisions", json={"offer_token": token, "decision": "approve",
                                                       "payload": {"subject": "x" * 501}})
        tasks = client.get(f"/api/opportunities/{api.ids['opportunity']}").json()["tasks"]
    assert moved.status_code == 400 and "opportunity_id cannot be edited" in one_line(moved)
    assert bad_date.status_code == 400 and "due_date" in one_line(bad_date)
    assert too_long.status_code == 400 and "subject" in one_line(too_long)
    assert tasks == []


def test_a_seller_of_another_team_cannot_decide_on_an_offer_for_this_deal(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
    with api.client("stranger") as client:
        refused = client.post("/api/decisions", json={"offer_token": token, "decision": "approve"})
        offers = client.get("/api/recommendations", params={"opportunity": api.ids["opportunity"]})
    with api.client("admin") as client:
        stored = client.get("/api/approvals").json()
    assert refused.status_code == 403 and offers.status_code == 403
    assert stored["total"] == 0  # the proposal take_up stored went with the refused decision


def test_a_manager_decides_on_an_offer_for_their_sellers_deal(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
    with api.client("manager") as client:
        decided = client.post("/api/decisions", json={"offer_token": token, "decision": "approve"})
    assert decided.status_code == 200 and decided.json()["approval"]["history"][1]["by"] == api.ids["manager"]


def drafts(client: httpx.Client, **params) -> dict:
    response = client.get("/api/drafts", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_drafts_after_a_call_offer_the_email_and_a_task_and_an_approved_email_waits_for_a_connector(api):
    with api.client("seller") as client:
        found = drafts(client, transcript=api.ids["untimed_transcript"])
        email = next(i for i in found["items"] if i["item"]["artifact"] == "email")
        task = next(i for i in found["items"] if i["item"]["artifact"] == "task")
        own = client.post("/api/decisions", json={"offer_token": email["offer_token"], "decision": "approve"})
    with api.client("manager") as client:  # external email is high risk: the policy's approvers decide
        decided = client.post("/api/decisions", json={"offer_token": email["offer_token"], "decision": "approve",
                                                      "payload": {"subject": "Thanks, and next steps"}}).json()
    assert own.status_code == 403 and "high risk" in one_line(own)
    assert found["record"] == f"opportunity:{api.ids['opportunity']}"  # a call's offers act on its deal
    assert email["offer"]["action"] == "send_email" and email["offer"]["risk"] == "high"
    assert email["offer"]["payload"]["to"] == ["ben.ortiz@cancity.example"]
    assert task["offer"]["action"] == "create_task" and task["offer"]["payload"]["due_date"] == task["item"]["due"]
    assert decided["state"] == "approved_with_edits" and decided["execution"] is None
    assert "connector" in decided["waiting"]


def test_a_field_change_approved_with_an_edited_value_is_written_and_shown_as_a_diff(api):
    deal = api.ids["opportunity"]
    with api.client("seller") as client:
        found = drafts(client, opportunity=deal, transcript=api.ids["timed_transcript"])
        change = next(i for i in found["items"] if i["item"]["kind"] == "field_change")
        moved = client.post("/api/decisions", json={"offer_token": change["offer_token"], "decision": "approve",
                                                    "payload": {"record_id": api.ids["foreign"]}})
        decided = client.post("/api/decisions", json={"offer_token": change["offer_token"], "decision": "approve",
                                                      "payload": {"new": "Send the SOC 2 report on Monday"}}).json()
        after = client.get(f"/api/opportunities/{deal}").json()
    assert change["offer"]["action"] == "update_field" and change["offer"]["editable"] == ["new"]
    assert change["offer"]["payload"]["field"] == "next_step" and change["offer"]["payload"]["new"] == f"{NEXT_STEP}."
    assert moved.status_code == 400 and "record_id cannot be edited" in one_line(moved)
    assert decided["execution"]["diff"] == {
        "table": "opportunity", "id": deal, "field": "next_step",
        "before": "Send the security questionnaire answers before Friday's review.",
        "after": "Send the SOC 2 report on Monday"}
    assert after["next_step"] == "Send the SOC 2 report on Monday"


def test_drafts_on_a_deal_without_a_call_say_the_follow_up_was_skipped(api):
    with api.client("seller") as client:
        own = client.get("/api/opportunities", params={"owner": api.ids["seller"], "stage": "Engaging",
                                                       "page_size": 200}).json()["items"]
        quiet = next(o["id"] for o in own if o["id"] != api.ids["opportunity"])
        drafts = client.get("/api/drafts", params={"opportunity": quiet}).json()
        neither = client.get("/api/drafts")
    assert drafts["skipped"] and drafts["skipped"][0].startswith("follow-up: ")
    assert neither.status_code == 400 and "exactly one" in one_line(neither)


@contextmanager
def operator_client(api):
    """A client of the same book served without sign-in: the local operator, with the CSRF token a page
    gives."""
    with serve(api.engine, sign_in=False) as live, httpx.Client(base_url=live.base_url) as client:
        page = client.get("/accounts").text
        client.headers["X-CSRF-Token"] = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)
        yield client


def test_the_local_operator_sees_every_record_but_a_decision_needs_a_person(api):
    with api.client("seller") as client:
        token = recommendations(client, api.ids["opportunity"])[0]["offer_token"]
    with operator_client(api) as client:
        me = client.get("/api/me").json()
        foreign = client.get(f"/api/opportunities/{api.ids['foreign']}")
        refused = client.post("/api/decisions", json={"offer_token": token, "decision": "approve"})
        mine = client.get("/api/approvals", params={"mine": "true"})
    assert me["local_operator"] is True and foreign.status_code == 200
    assert refused.status_code == 400 and one_line(refused) == \
        "sign in or use an API token: a decision needs a person"
    assert mine.status_code == 400


def test_an_ask_nobody_answered_in_time_is_offered_afresh_by_the_api_and_the_panel_alike(api):
    """One rule for both surfaces (pipeline/offers.offered): while an ask waits, it is shown as waiting with
    nothing to take up again; once it expired unanswered, it is offered afresh, sealed."""
    deal = api.ids["opportunity"]
    with api.client("seller") as client:
        first = recommendations(client, deal)[0]
    offer = first["offer"]
    asked = Proposal(use_case="next-action", subject=offer["subject"], action=offer["action"],
                     payload=offer["payload"], reason=first["item"]["text"], level=offer["level"],
                     sources=first["item"]["sources"])
    with session_scope(api.engine) as s:
        pending = propose(session=s, proposal=asked, by="agent:next-action")
    with api.client("seller") as client:
        waiting = recommendations(client, deal)[0]
        waiting_panel = client.get(f"/opportunities/{deal}/panels/next-action", headers={"HX-Request": "true"})
    with session_scope(api.engine) as s:
        assert expire_due(session=s, at=dt.datetime(2100, 1, 1)) >= 1
    with api.client("seller") as client:
        again = recommendations(client, deal)[0]
        panel = client.get(f"/opportunities/{deal}/panels/next-action", headers={"HX-Request": "true"})
    assert waiting["decision"]["approval_id"] == pending.id and waiting["decision"]["state"] == "proposed"
    assert waiting["offer_token"] is None
    assert again["decision"] is None and again["offer_token"]

    def first_block(page) -> str:
        start = page.text.index('id="offer-next-action-1"')
        end = page.text.find('id="offer-next-action-2"', start)
        return page.text[start:end if end > 0 else None]

    assert 'name="offer"' not in first_block(waiting_panel) and 'name="offer"' in first_block(panel)
