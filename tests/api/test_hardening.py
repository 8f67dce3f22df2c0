"""What a newcomer and an attacker hit first (issue 14): each check here failed before its fix."""
from __future__ import annotations

import datetime as dt

from sellerloop.records.models import Signal
from sellerloop.store.db import session_scope
from tests.api.conftest import one_line

SECRET_URL = "https://news.example/their-secret-plans"


def _foreign_signal(api) -> str:
    """A signal on an account the seller may not see; its URL."""
    with session_scope(api.engine) as s:
        s.add(Signal(id="sig-foreign", account_id=api.ids["foreign_account"], kind="news", title="Secret plans",
                     url=SECRET_URL, published_at=dt.datetime(2017, 6, 1), body="They plan to leave us."))
    return SECRET_URL


def test_a_signal_cited_by_its_url_is_shown_only_to_who_may_see_its_account(api):
    url = _foreign_signal(api)
    with api.client("seller") as client:
        by_url = client.get("/sources", params={"uri": url}, headers={"Accept": "application/json"})
        by_id = client.get("/sources", params={"uri": "signal:sig-foreign"}, headers={"Accept": "application/json"})
    with api.client("admin") as client:
        admin = client.get("/sources", params={"uri": url})
    assert (by_url.status_code, by_id.status_code) == (403, 403)
    assert "may not see" in one_line(by_url) and "They plan to leave us." not in by_url.text
    assert admin.status_code == 303 and "/accounts/" in admin.headers["location"]  # to where the signal is shown


def test_the_cli_shows_a_signal_by_its_url_only_to_who_may_see_its_account(api, cli, maven_copy):
    url = _foreign_signal(api)
    refused = cli(maven_copy, "source", "show", url, "--as", api.ids["seller"])
    shown = cli(maven_copy, "source", "show", url, "--as", api.ids["admin"])
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1 and "They plan" not in refused.stdout
    assert shown.exit_code == 0 and "They plan to leave us." in shown.stdout


def test_a_transcript_span_past_any_integer_is_bad_input_not_a_server_error(api, cli, maven_copy):
    uri = f"transcript:{api.ids['timed_transcript']}#u=0-99999999999999999999"
    with api.client("seller") as client:
        answer = client.get("/sources", params={"uri": uri}, headers={"Accept": "application/json"})
    shown = cli(maven_copy, "source", "show", uri)
    assert answer.status_code == 400 and "utterance numbers go up to" in one_line(answer)
    assert shown.exit_code == 2 and shown.stderr.count("\n") == 1


def test_html_pages_are_kept_out_of_the_openapi_document(api):
    with api.client("admin") as client:
        document = client.get("/api/openapi.json").json()
    assert document["paths"] and all(path.startswith("/api/") for path in document["paths"])
    for path, operations in document["paths"].items():
        for operation in operations.values():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            assert "text/html" not in content, path


def test_a_method_not_allowed_says_which_methods_are(api):
    with api.client("seller") as client:
        answer = client.delete("/api/approvals")
    assert answer.status_code == 405 and "GET" in answer.headers["allow"]


def test_the_favicon_is_served(api):
    with api.client(None) as client:
        icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/") and b"<svg" in icon.content


def test_a_seller_cannot_post_a_lost_event_on_a_deal_the_record_says_is_open(api):
    deal = api.ids["opportunity"]
    with api.client("seller") as client:
        answer = client.post("/api/outcomes/events", json={
            "kind": "lost", "subject": f"opportunity:{deal}", "occurred_at": "2017-06-01T10:00:00",
            "external_id": "skew-1"})
        listed = client.get("/api/outcomes/events").json()
    assert answer.status_code == 409 and "so it was not lost" in one_line(answer)
    assert listed["total"] == 0


def test_every_date_time_the_api_answers_says_its_timezone(api):
    approval = api.propose_task(on=api.ids["opportunity"])
    with api.client("manager") as client:
        decided = client.post(f"/api/approvals/{approval}/approve").json()
    with api.client("admin") as client:
        audit = client.get("/api/audit", params={"page_size": 5}).json()
    stamps = [d["at"] for d in decided["approval"]["history"]] + [decided["execution"]["executed_at"]]
    stamps += [e["recorded_at"] for e in audit["items"]]
    assert stamps and all(dt.datetime.fromisoformat(s).tzinfo is not None for s in stamps), stamps
