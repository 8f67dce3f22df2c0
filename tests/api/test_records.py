"""Records over the API: who I am, accounts, opportunities, contacts and calls, with the same record access
and field masking as the pages."""
from __future__ import annotations

import pytest

from tests.api.conftest import PHONE, one_line


def test_me_names_the_person_behind_the_token(api):
    with api.client("seller") as client:
        me = client.get("/api/me").json()
    assert me["id"] == api.ids["seller"] and me["role"] == "seller" and me["local_operator"] is False


def test_without_a_token_the_api_answers_401(api):
    with api.client(None) as client:
        response = client.get("/api/accounts")
    assert response.status_code == 401 and one_line(response) == "sign in first"


def test_a_seller_lists_only_the_deals_of_their_own_book(api):
    with api.client("seller") as client:
        mine = client.get("/api/opportunities", params={"page_size": 200}).json()
    with api.client("admin") as client:
        everyone = client.get("/api/opportunities", params={"page_size": 1}).json()
    assert {o["owner_id"] for o in mine["items"]} == {api.ids["seller"]}
    assert 0 < mine["total"] < everyone["total"] and everyone["pages"] == everyone["total"]


def test_opportunities_filter_by_words_in_the_name_stage_and_owner(api):
    with api.client("manager") as client:
        found = client.get("/api/opportunities", params={"q": "cancity", "stage": "Engaging",
                                                         "owner": api.ids["seller"]}).json()
        unknown_owner = client.get("/api/opportunities", params={"owner": "nobody-here"})
    assert found["total"] >= 1 and api.ids["opportunity"] in {o["id"] for o in found["items"]}
    assert all("cancity" in o["name"].lower() and o["stage"] == "Engaging" for o in found["items"])
    assert unknown_owner.status_code == 400 and "no user" in one_line(unknown_owner)


def test_a_seller_reads_their_deal_with_its_contacts_calls_and_stages(api):
    with api.client("seller") as client:
        deal = client.get(f"/api/opportunities/{api.ids['opportunity']}").json()
        call = client.get(f"/api/transcripts/{api.ids['timed_transcript']}").json()
    assert {c["id"] for c in deal["contacts"]} == {"c-web-ben", "c-web-dana"}
    assert {t["id"] for t in deal["transcripts"]} == {api.ids["timed_transcript"], api.ids["untimed_transcript"]}
    assert deal["stage_history"] and deal["tasks"] == []
    assert call["utterances"][0] == {"seq": 1, "speaker": "Seller", "start_s": 0.0, "end_s": 5.5,
                                     "text": "Thanks for making the time, Ben."}


@pytest.mark.parametrize("path", ["/api/opportunities/{foreign}", "/api/accounts/{foreign_account}",
                                  "/api/accounts/{foreign_account}/contacts"])
def test_another_teams_record_is_403_and_an_unknown_one_404(api, path):
    with api.client("seller") as client:
        refused = client.get(path.format(**api.ids))
        unknown = client.get(path.format(foreign="no-such-deal", foreign_account="no-such-account"))
    assert refused.status_code == 403 and "may not see" in one_line(refused)
    assert unknown.status_code == 404 and "no " in one_line(unknown)


def test_another_teams_call_is_403(api):
    with api.client("stranger") as client:
        refused = client.get(f"/api/transcripts/{api.ids['timed_transcript']}")
        unknown = client.get("/api/transcripts/no-such-call")
    assert (refused.status_code, unknown.status_code) == (403, 404)


def test_a_sensitive_field_is_null_and_named_as_masked_for_whoever_may_not_see_it(api):
    # The seller sees the account only through their deal there; its contacts' phones are the account owner's.
    with api.client("seller") as client:
        seen_by_seller = {c["id"]: c for c in client.get(f"/api/accounts/{api.ids['account']}/contacts").json()}
    with api.client("admin") as client:
        seen_by_admin = {c["id"]: c for c in client.get(f"/api/accounts/{api.ids['account']}/contacts").json()}
    assert seen_by_seller["c-web-ben"]["phone"] is None and seen_by_seller["c-web-ben"]["masked"] == ["phone"]
    assert seen_by_admin["c-web-ben"]["phone"] == PHONE and seen_by_admin["c-web-ben"]["masked"] == []


def test_an_account_lists_only_the_deals_the_seller_may_see(api):
    with api.client("seller") as client:
        account = client.get(f"/api/accounts/{api.ids['account']}").json()
    assert account["id"] == api.ids["account"]
    assert account["opportunities"] and {o["owner_id"] for o in account["opportunities"]} == {api.ids["seller"]}


def test_account_search_pages_through_what_the_seller_may_see(api):
    with api.client("seller") as client:
        first = client.get("/api/accounts", params={"page_size": 2}).json()
        second = client.get("/api/accounts", params={"page_size": 2, "page": 2}).json()
        found = client.get("/api/accounts", params={"q": "cancity"}).json()
    assert first["page"] == 1 and len(first["items"]) == 2 and second["page"] == 2
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
    assert [a["id"] for a in found["items"]] == [api.ids["account"]]
