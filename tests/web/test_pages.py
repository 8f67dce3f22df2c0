"""Record pages over real HTTP: the app served by uvicorn on loopback, read with httpx."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy import func, select

from sellerloop.records.models import Opportunity
from sellerloop.records.service import account_view, search_accounts
from sellerloop.store.db import session_scope
from sellerloop.web.views import overlapping, parse_span


@pytest.fixture
def maven_http(maven_server):
    with httpx.Client(base_url=maven_server.base_url, timeout=20) as client:
        yield client


@pytest.fixture
def web_http(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=20) as client:
        yield client


class _Rows(HTMLParser):
    """Collects, for the table with a given id, the links in each body row."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.depth, self.in_body = table_id, 0, False
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.depth = 1
        elif self.depth and tag == "tbody":
            self.in_body = True
        elif self.depth and self.in_body and tag == "tr":
            self.rows.append([])
        elif self.depth and self.in_body and tag == "a" and self.rows:
            self.rows[-1].append(attrs.get("href", ""))

    def handle_endtag(self, tag):
        if self.depth and tag == "table":
            self.depth, self.in_body = 0, False


def table_rows(html: str, table_id: str) -> list[list[str]]:
    parser = _Rows(table_id)
    parser.feed(html)
    return parser.rows


def ids_of(html: str, pattern: str) -> list[str]:
    return re.findall(rf'id="({pattern})"', html)


# --- basics -------------------------------------------------------------------------------------------------

def test_healthz_says_ok(maven_http):
    response = maven_http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_the_root_redirects_to_the_account_list(maven_http):
    response = maven_http.get("/")
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == "/accounts"


def test_htmx_is_served_from_our_own_static_folder(maven_http):
    page = maven_http.get("/accounts").text
    assert '<script src="/static/htmx.min.js"' in page
    assert "unpkg" not in page and "cdn" not in page.lower()
    script = maven_http.get("/static/htmx.min.js")
    assert script.status_code == 200 and "htmx" in script.text[:2000]
    assert maven_http.get("/static/app.css").status_code == 200


# --- account list, search, paging ---------------------------------------------------------------------------

def test_the_account_list_shows_25_accounts_per_page(maven_http):
    page = maven_http.get("/accounts").text
    rows = table_rows(page, "accounts-table")
    assert len(rows) == 25
    assert rows[0][0] == "/accounts/acme-corporation"
    assert "Showing 1–25 of 85 accounts" in page
    assert 'href="/accounts?page=2"' in page


def test_the_last_page_holds_the_rest(maven_http):
    page = maven_http.get("/accounts", params={"page": 4}).text
    assert len(table_rows(page, "accounts-table")) == 85 - 75
    assert "Page 4 of 4" in page
    assert 'rel="next"' not in page


def test_a_page_past_the_end_is_empty_not_an_error(maven_http):
    response = maven_http.get("/accounts", params={"page": 99})
    assert response.status_code == 200
    assert table_rows(response.text, "accounts-table") == []


@pytest.mark.parametrize("query", ["Cancity", "retail", "Kenya", "TECH"])
def test_search_finds_accounts_by_name_sector_or_location(maven_http, maven_engine, query):
    with session_scope(maven_engine) as session:
        expected = search_accounts(session=session, query=query, per_page=100)
    assert expected.total > 0
    page = maven_http.get("/accounts", params={"q": query}).text
    hrefs = [row[0] for row in table_rows(page, "accounts-table")]
    assert hrefs == [f"/accounts/{a.id}" for a in expected.items][:25]
    assert f"of {expected.total} account" in page


def test_paging_keeps_the_search(maven_http):
    page = maven_http.get("/accounts", params={"q": "e"}).text
    assert 'href="/accounts?q=e&amp;page=2"' in page


def test_a_search_without_matches_says_so(maven_http):
    page = maven_http.get("/accounts", params={"q": "no such account anywhere"}).text
    assert "No accounts match" in page
    assert table_rows(page, "accounts-table") == []


def test_an_htmx_search_gets_only_the_results_table(maven_http):
    response = maven_http.get("/accounts", params={"q": "retail"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="accounts-table"' in response.text
    assert "HX-Request" in response.headers["vary"]
    restore = maven_http.get("/accounts",
                             headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_the_search_form_works_without_javascript_and_live_with_htmx(maven_http):
    page = maven_http.get("/accounts").text
    assert '<form class="search" action="/accounts" method="get"' in page
    assert '<label for="account-q">' in page and 'id="account-q"' in page
    assert 'hx-get="/accounts"' in page and "delay:" in page and 'hx-target="#account-results"' in page


# --- opportunity list ---------------------------------------------------------------------------------------

def test_the_opportunity_list_filters_by_stage_and_owner(maven_http, maven_engine):
    with session_scope(maven_engine) as session:
        owner_id = session.scalar(select(Opportunity.owner_id).where(Opportunity.stage == "Won").limit(1))
        expected = session.scalar(select(func.count()).where(Opportunity.stage == "Won",
                                                             Opportunity.owner_id == owner_id))
    page = maven_http.get("/opportunities", params={"stage": "Won", "owner": owner_id}).text
    assert f"of {expected} opportunit" in page
    rows = table_rows(page, "opportunities-table")
    assert 0 < len(rows) <= 25
    assert '<option value="Won" selected>' in page
    assert f'<option value="{owner_id}" selected>' in page


# --- record pages -------------------------------------------------------------------------------------------

def test_an_account_page_lists_all_its_opportunities(web_http, web_session, web_store):
    account_id = web_store.ids["account"]
    view = account_view(session=web_session, account_id=account_id)
    page = web_http.get(f"/accounts/{account_id}").text
    rows = table_rows(page, "opportunities-table")
    assert len(rows) == len(view.opportunities) > 50
    assert [row[0] for row in rows] == [f"/opportunities/{o.id}" for o in view.opportunities]
    assert re.search(r"<h1[^>]*>Cancity", page)


def test_an_account_page_shows_fields_contacts_timeline_signals_tickets_and_usage(web_http, web_store):
    page = web_http.get(f"/accounts/{web_store.ids['account']}").text
    for text in ("Sector", "Founded", "Revenue", "Employees", "HQ", "Parent", "Owner",
                 "Ben Ortiz", "VP Operations", "champion", "mailto:ben.ortiz@cancity.example",
                 "Agenda for Monday&#39;s discovery call", "<details>", "Here is the agenda for Monday",
                 'href="https://example.com/news/cancity-second-plant"', "Cancity opens a second plant",
                 "Export to CSV times out", "weekly active users", "<polyline"):
        assert text in page, text


def test_synthetic_rows_are_badged_sample(web_http, web_store):
    page = web_http.get(f"/accounts/{web_store.ids['account']}").text
    contacts = page[page.index('id="contacts"'):page.index("</section>", page.index('id="contacts"'))]
    rows = {name: row for row in re.findall(r"<tr[ >].*?</tr>", contacts, re.DOTALL)
            for name in ("Dana Kim", "Ben Ortiz") if name in row}
    assert 'class="badge sample"' in rows["Dana Kim"]  # made-up contact
    assert 'class="badge sample"' not in rows["Ben Ortiz"]
    assert page.count('class="badge sample"') >= 3  # the contact, the note, the usage series


def test_an_opportunity_page_shows_the_deal(web_http, web_session, web_store):
    opportunity_id = web_store.ids["opportunity"]
    opportunity = web_session.get(Opportunity, opportunity_id)
    page = web_http.get(f"/opportunities/{opportunity_id}").text
    assert f'href="/accounts/{opportunity.account_id}"' in page
    for text in (opportunity.name, opportunity.owner.name, opportunity.product.name, "Engaging",
                 f"${opportunity.amount:,.0f}", opportunity.engage_date.isoformat(),
                 "Send the security questionnaire answers",
                 "Stage history", "Prospecting", "close date", "2017-06-30", "2017-07-31",
                 "Dana Kim", "economic buyer", "Discovery call", "Dana signs anything above $50k"):
        assert text in page, text
    assert f'href="/transcripts/{web_store.ids["timed_transcript"]}"' in page


def test_a_transcript_page_anchors_every_utterance(web_http, web_store):
    page = web_http.get(f"/transcripts/{web_store.ids['timed_transcript']}").text
    assert ids_of(page, r"u-\d+") == [f"u-{n}" for n in range(1, 13)]
    u12 = page[page.index('id="u-12"'):page.index("</li>", page.index('id="u-12"'))]
    assert 'href="#u-12"' in u12 and "<time>1:06</time>" in u12 and "Ben Ortiz" in u12
    assert "SOC 2 evidence" in u12
    assert f'id="back-to-opportunity" href="/opportunities/{web_store.ids["opportunity"]}"' in page


def test_a_time_span_highlights_the_utterances_it_overlaps(web_http, web_store):
    page = web_http.get(f"/transcripts/{web_store.ids['timed_transcript']}", params={"t": "14-20"}).text
    highlighted = re.findall(r'class="utt in-span" id="(u-\d+)"', page)
    assert highlighted == ["u-3", "u-4"]  # u-3 runs 12.0-17.5 s, u-4 18.0-23.5 s
    assert "Highlighting 2 utterances" in page


def test_an_untimed_transcript_shows_no_timestamps(web_http, web_store):
    page = web_http.get(f"/transcripts/{web_store.ids['untimed_transcript']}", params={"t": "1-2"}).text
    assert ids_of(page, r"u-\d+") == ["u-1", "u-2", "u-3"]
    assert "<time>" not in page.split('id="transcript"')[1]
    assert "has no timings" in page


# --- errors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, message", [
    ("/accounts/no-such-account", "no account with id &#39;no-such-account&#39;"),
    ("/opportunities/NOPE", "no opportunity with id &#39;NOPE&#39;"),
    ("/transcripts/missing", "no transcript with id &#39;missing&#39;"),
    ("/no/such/page", "there is no page at /no/such/page"),
])
def test_unknown_ids_get_a_404_page_that_says_what_is_missing(maven_http, path, message):
    response = maven_http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text and "Not found" in response.text


def test_api_paths_get_json_errors(maven_http):
    response = maven_http.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "there is no page at /api/no-such-thing"}


@pytest.mark.parametrize("path, params, says", [
    ("/accounts", {"page": "abc"}, "page: Input should be a valid integer"),
    ("/accounts", {"page": "0"}, "page: Input should be greater than or equal to 1"),
    ("/accounts", {"page": "99999999999999999999"}, "page:"),
    ("/accounts", {"q": "x" * 500}, "q: String should have at most 200 characters"),
    ("/opportunities", {"stage": "Bogus"}, "unknown stage &#39;Bogus&#39;"),
    ("/opportunities", {"owner": "nobody"}, "no user with id &#39;nobody&#39;"),
    ("/opportunities", {"page": "-1"}, "page:"),
    ("/transcripts/tr-web-timed", {"t": "abc"}, "t: expected START-END in seconds"),
    ("/transcripts/tr-web-timed", {"t": "20-10"}, "the span ends before it starts"),
])
def test_bad_query_parameters_get_a_400_with_a_reason_not_a_500(web_http, path, params, says):
    response = web_http.get(path, params=params)
    assert response.status_code == 400, response.text[:500]
    assert says in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/accounts?q=%00", "/accounts/%00", "/opportunities/a%00b",
                                  "/transcripts/%00", "/opportunities?owner=%00", "/api/x%00"])
def test_a_nul_character_is_bad_input_on_every_backend(web_http, path):
    # PostgreSQL refuses NUL in strings; without a guard this would be a driver error, i.e. a 500.
    response = web_http.get(path)
    assert response.status_code == 400
    assert "NUL character" in response.text


@pytest.mark.parametrize("path, status", [
    ("/accounts?q=%25", 200), ("/accounts?q=_", 200), ("/accounts?q=%27%3B%20drop%20table%20accounts", 200),
    ("/accounts/%E2%82%AC", 404), ("/accounts/" + "x" * 300, 404), ("/opportunities/%20", 404),
    ("/transcripts/tr-web-timed?t=1e999", 400), ("/transcripts/tr-web-timed?t=5-", 400),
])
def test_odd_input_never_gets_a_500(web_http, path, status):
    assert web_http.get(path).status_code == status


def test_json_clients_get_bad_parameters_as_json(maven_http):
    response = maven_http.get("/accounts", params={"page": "abc"}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("page: Input should be a valid integer")


# --- the span arithmetic behind ?t= -------------------------------------------------------------------------

def test_a_span_parses_from_the_source_uri_fragment():
    assert parse_span("12.5-18.0") == (12.5, 18.0)
    assert parse_span("42") == (42.0, 42.0)


def test_an_utterance_without_an_end_lasts_until_the_next_one_starts():
    from sellerloop.records.models import Utterance

    utterances = [Utterance(seq=1, speaker="A", start_s=0.0, end_s=None, text="a"),
                  Utterance(seq=2, speaker="B", start_s=10.0, end_s=None, text="b")]
    assert [u.seq for u in overlapping(utterances, (5.0, 5.0))] == [1]
    assert [u.seq for u in overlapping(utterances, (9.0, 11.0))] == [1, 2]
    assert [u.seq for u in overlapping(utterances, (10.0, 10.0))] == [1, 2]
