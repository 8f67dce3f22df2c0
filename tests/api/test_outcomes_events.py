"""Outcome events over the API (POST/GET /api/outcomes/events) and the outcomes report (GET /api/outcomes/report):
only on records the caller may see, a list stored all or nothing, refusals in one line."""
from __future__ import annotations

import pytest

from tests.api.conftest import one_line


def event(api, on: str | None = None, **overrides) -> dict:
    return {"kind": "email_replied", "subject": f"opportunity:{on or api.ids['opportunity']}",
            "occurred_at": "2017-06-20T10:00:00Z", "external_id": "msg-1"} | overrides


def listed(api, who: str, **params) -> dict:
    with api.client(who) as client:
        answer = client.get("/api/outcomes/events", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_event_is_stored_once_however_often_it_is_sent(api):
    with api.client("seller") as client:
        first = client.post("/api/outcomes/events", json=event(api, detail={"thread": "t-1"}))
        again = client.post("/api/outcomes/events", json=event(api, detail={"thread": "t-1"}))
    assert first.status_code == again.status_code == 201
    body = first.json()
    assert again.json() == body
    assert (body["kind"], body["subject"], body["occurred_at"], body["source"], body["detail"]) == (
        "email_replied", f"opportunity:{api.ids['opportunity']}", "2017-06-20T10:00:00Z", "api", {"thread": "t-1"})
    assert listed(api, "seller")["total"] == 1


def test_another_event_under_an_id_already_used_is_a_conflict(api):
    with api.client("seller") as client:
        client.post("/api/outcomes/events", json=event(api)).raise_for_status()
        clash = client.post("/api/outcomes/events", json=event(api, kind="meeting_booked"))
    assert clash.status_code == 409 and "'msg-1' was stored already as email_replied" in one_line(clash)


@pytest.mark.parametrize(("overrides", "status", "message"), [
    ({"kind": "replied"}, 400, "unknown event kind 'replied'"),
    ({"subject": "opportunity:NO-SUCH-DEAL"}, 404, "no opportunity with id 'NO-SUCH-DEAL'"),
    ({"subject": "FOREIGN"}, 403, "may not see opportunity"),
    ({"subject": "FOREIGN_ACCOUNT"}, 403, "may not see account"),
    ({"subject": "ticket:1"}, 400, "opportunity:ID or account:ID"),
    ({"occurred_at": "yesterday"}, 400, "not a date or time: 'yesterday'"),
    ({"external_id": ""}, 400, "external_id"),
    ({"detail": "sent"}, 400, "detail"),
])
def test_an_event_that_cannot_be_placed_is_refused_in_one_line(api, overrides, status, message):
    subject = {"FOREIGN": f"opportunity:{api.ids['foreign']}",
               "FOREIGN_ACCOUNT": f"account:{api.ids['foreign_account']}"}.get(overrides.get("subject"))
    body = event(api, **overrides) | ({"subject": subject} if subject else {})
    with api.client("seller") as client:
        refused = client.post("/api/outcomes/events", json=body)
    assert refused.status_code == status and message in one_line(refused), refused.text
    assert listed(api, "admin")["total"] == 0


def test_a_list_is_stored_all_or_nothing(api):
    good = [event(api, external_id="e-1"), event(api, external_id="e-2", kind="meeting_booked")]
    with api.client("seller") as client:
        refused = client.post("/api/outcomes/events",
                              json=[*good, event(api, on=api.ids["foreign"], external_id="e-3")])
        nothing = listed(api, "admin")["total"]
        stored = client.post("/api/outcomes/events", json=good)
    assert refused.status_code == 403 and one_line(refused).startswith("events.2: ")
    assert nothing == 0
    assert stored.status_code == 201 and [e["external_id"] for e in stored.json()] == ["e-1", "e-2"]


def test_each_person_lists_only_events_on_records_they_may_see_newest_first(api):
    with api.client("seller") as client:
        client.post("/api/outcomes/events", json=[
            event(api, external_id="s-1", occurred_at="2017-06-01"),
            event(api, external_id="s-2", occurred_at="2017-06-03", kind="meeting_booked"),
            event(api, external_id="s-3", occurred_at="2017-06-02", subject=f"account:{api.ids['account']}")],
        ).raise_for_status()
    with api.client("stranger") as client:
        client.post("/api/outcomes/events", json=event(api, on=api.ids["foreign"], external_id="x-1"),
                    ).raise_for_status()
        peek = client.get("/api/outcomes/events", params={"subject": f"opportunity:{api.ids['opportunity']}"})

    def ids(page: dict) -> list[str]:
        return [e["external_id"] for e in page["items"]]

    assert ids(listed(api, "seller")) == ids(listed(api, "manager")) == ["s-2", "s-3", "s-1"]
    assert ids(listed(api, "stranger")) == ["x-1"] and peek.status_code == 403
    assert sorted(ids(listed(api, "admin"))) == ["s-1", "s-2", "s-3", "x-1"]
    assert ids(listed(api, "seller", kind="email_replied")) == ["s-3", "s-1"]
    assert ids(listed(api, "seller", since="2017-06-02")) == ["s-2", "s-3"]
    assert ids(listed(api, "seller", subject=f"account:{api.ids['account']}")) == ["s-3"]
    second = listed(api, "seller", page=2, page_size=2)
    assert (ids(second), second["total"], second["pages"]) == (["s-1"], 3, 2)
    with api.client("seller") as client:
        bad = client.get("/api/outcomes/events", params={"kind": "signed"})
    assert bad.status_code == 400 and "unknown event kind 'signed'" in one_line(bad)


def test_the_report_counts_what_the_caller_may_see(api):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("manager") as client:
        client.post(f"/api/approvals/{approval}/approve").raise_for_status()
    with api.client("seller") as client:
        mine = client.get("/api/outcomes/report", params={"by": "seller"}).json()
        everything = client.get("/api/outcomes/report").json()
        bad = client.get("/api/outcomes/report", params={"by": "region"})
    with api.client("stranger") as client:
        theirs = client.get("/api/outcomes/report").json()
    assert [(g["group"], g["shown"], g["accepted"], g["executed"]) for g in mine["groups"]["seller"]] == [
        (api.ids["seller"], 1, 1, 1)]
    assert set(everything["groups"]) == {"use-case", "action", "element", "seller"}
    assert everything["groups"]["use-case"][0]["group"] == "follow-up"
    assert mine["total"]["acceptance_rate"] == 1.0
    assert theirs["total"]["shown"] == 0 and theirs["groups"]["seller"] == []
    assert bad.status_code == 400 and "by" in one_line(bad)
