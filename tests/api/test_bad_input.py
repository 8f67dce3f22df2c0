"""Bad input anywhere in the API is a 4xx with a one-line JSON message, never a 5xx: long strings, NUL bytes,
unknown ids, wrong types, bad enums, negative pages, malformed bodies, and edits that no store could hold."""
from __future__ import annotations

import json

import pytest

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import approve, propose
from sellerloop.errors import BadInput
from sellerloop.executor.service import execute
from sellerloop.records.models import Opportunity
from sellerloop.store.db import session_scope
from tests.api.conftest import one_line

LONG = "x" * 5000

QUERIES = [
    "/api/accounts?page=-1", "/api/accounts?page=0", "/api/accounts?page=abc", "/api/accounts?page=1e3",
    "/api/accounts?page=99999999999999999999999", "/api/accounts?page_size=201", "/api/accounts?page_size=0",
    f"/api/accounts?q={LONG}", "/api/accounts?q=%00", "/api/accounts/%00",
    f"/api/accounts/{LONG}", "/api/accounts/%F0%9F%98%80", "/api/accounts/..%2F..%2Fetc", "/api/accounts/nope/contacts",
    "/api/opportunities?stage=Signed", f"/api/opportunities?owner={LONG}", "/api/opportunities?owner=%00",
    "/api/opportunities/nope", "/api/transcripts/nope", "/api/transcripts/%00",
    "/api/approvals?state=pending", "/api/approvals?use_case=oracle", "/api/approvals?mine=perhaps",
    f"/api/approvals/{LONG}", "/api/approvals/nope", "/api/executions?page=-5", f"/api/executions/{LONG}",
    "/api/outcomes?kind=won", "/api/outcomes?use_case=", "/api/recommendations",
    "/api/recommendations?opportunity=", "/api/recommendations?opportunity=a&account=b",
    "/api/recommendations?account=%00", "/api/drafts?transcript=nope", "/api/drafts?opportunity=nope",
    f"/api/drafts?transcript={LONG}", "/api/audit?page=-1", f"/api/audit?actor={LONG}",
    "/api/audit/verify?head=garbage", "/api/audit/verify?head=%C2%B2:abc", "/api/me?as=someone-else",
]

POSTS = [
    ("/api/runs", "not json"),
    ("/api/runs", []),
    ("/api/runs", {"use_case": 5}),
    ("/api/runs", {"use_case": "prep", "opportunity": LONG}),
    ("/api/runs", {"use_case": "prep", "opportunity": "a\x00b"}),
    ("/api/runs", {"use_case": "next-action", "opportunity": "{opportunity}", "limit": -1}),
    ("/api/runs", {"use_case": "next-action", "opportunity": "{opportunity}", "limit": "ten"}),
    ("/api/runs", {"use_case": "next-action", "opportunity": "{opportunity}", "limit": 11}),
    ("/api/runs", {"use_case": "prep", "opportunity": "{opportunity}", "limit": 2}),
    ("/api/runs", {"use_case": "prep", "opportunity": "{opportunity}", "colour": "blue"}),
    ("/api/runs", {"use_case": "coaching", "transcript": "nope"}),
    ("/api/runs", {"use_case": "prep"}),
    ("/api/decisions", {}),
    ("/api/decisions", {"offer_token": "x" * 200_001, "decision": "approve"}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "maybe"}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": ["subject"]}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"subject": "a\x00b"}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"subject": "\ud800"}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"description": "y" * 20_001}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"subject": 5}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"subject": ""}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"due_date": "99999-01-01"}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"owner_id": "nobody"}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {"a" * 200: 1}}),
    (
        "/api/decisions",
        {
            "offer_token": "{token}",
            "decision": "approve",
            "payload": {"subject": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}},
        },
    ),
    ("/api/decisions", {"offer_token": "{token}", "decision": "approve", "payload": {str(n): n for n in range(300)}}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "reject", "reason": "r" * 2001}),
    ("/api/decisions", {"offer_token": "{token}", "decision": "reject", "reason": "no", "payload": {"subject": "x"}}),
    ("/api/approvals/{approval}/approve", "not json"),
    ("/api/approvals/{approval}/approve", {"payload": 7}),
    ("/api/approvals/{approval}/approve", {"payload": {"opportunity_id": "{foreign}"}}),
    ("/api/approvals/{approval}/approve", {"payload": {"due_date": "tomorrow"}}),
    ("/api/approvals/{approval}/approve", {"payloads": {}}),
    ("/api/approvals/nope/approve", None),
    ("/api/approvals/{approval}/reject", {"reason": 5}),
    ("/api/approvals/{approval}/reject", None),
    ("/api/executions/nope/rollback", None),
    (f"/api/executions/{LONG}/rollback", None),
    ("/api/policy/promote", {"use_case": "oracle"}),
    ("/api/policy/promote", {"use_case": "research", "action": 5}),
    ("/api/policy/promote", {}),
]


def _filled(value, ids: dict):
    if isinstance(value, str):
        return value.format(**ids) if "{" in value and "}" in value and len(value) < 100 else value
    if isinstance(value, dict):
        return {k: _filled(v, ids) for k, v in value.items()}
    return value


def test_bad_input_anywhere_is_a_4xx_with_one_line_and_never_a_5xx(api):
    ids = dict(api.ids, approval=api.propose_task(on=api.ids["opportunity"]))
    wrong = []
    with api.client("seller") as client:
        offers = client.get("/api/recommendations", params={"opportunity": ids["opportunity"]}).json()
        ids["token"] = offers["items"][0]["offer_token"]
        answers = [("GET", path, client.get(path)) for path in QUERIES]
        for path, body in POSTS:
            path, body = _filled(path, ids), _filled(body, ids)
            content = body.encode() if isinstance(body, str) else (
                None if body is None else json.dumps(body).encode("utf-8", "surrogatepass"))
            answers.append(("POST", path, client.post(path, content=content,
                                                      headers={"Content-Type": "application/json"})))
    with api.client("admin") as client:
        answers += [("GET", path, client.get(path)) for path in ("/api/audit?page_size=0", "/api/audit?action=" + LONG)]
    for method, path, response in answers:
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        if not 400 <= response.status_code < 500 or not isinstance(body, dict) or set(body) != {"detail"} or \
                "\n" in body["detail"]:
            wrong.append(f"{method} {path[:80]} -> {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    with api.client("seller") as client:  # and none of it left anything behind
        assert client.get(f"/api/opportunities/{ids['opportunity']}").json()["tasks"] == []
        assert client.get(f"/api/approvals/{ids['approval']}").json()["state"] == "proposed"


@pytest.mark.parametrize("field, new", [("stage", "x" * 60), ("name", "n" * 400), ("amount", 1e20),
                                        ("close_value", "1e400"), ("next_step", "a\x00b")])
def test_an_edited_value_the_field_cannot_hold_is_a_400_on_every_backend(api, field, new):
    deal = api.ids["opportunity"]
    with session_scope(api.engine) as s:
        old = getattr(s.get(Opportunity, deal), field)
        approval = propose(session=s, by="agent:hygiene", proposal=Proposal(
            use_case="hygiene", subject=f"opportunity:{deal}", action="update_field", reason="The notes say so.",
            payload={"object": "opportunity", "record_id": deal, "field": field, "old": old, "new": "Engaging "
                     if field == "stage" else 1.0 if field in ("amount", "close_value") else "Something else"}))
    with session_scope(api.engine) as s:  # straight to the service too: the API refuses a NUL before it gets there
        with pytest.raises(BadInput):
            approve(session=s, approval_id=approval.id, user_id=api.ids["seller"], payload=approval.payload | {
                "new": new})
            execute(session=s, approval_id=approval.id)
        s.rollback()  # the approval too: the API decides on it next
    with api.client("seller") as client:
        refused = client.post(f"/api/approvals/{approval.id}/approve", json={"payload": {"new": new}})
        unchanged = client.get(f"/api/opportunities/{deal}").json()[field]
        still = client.get(f"/api/approvals/{approval.id}").json()["state"]
    assert refused.status_code == 400 and one_line(refused)
    assert unchanged == old and still == "proposed"  # refused before the decision was stored
