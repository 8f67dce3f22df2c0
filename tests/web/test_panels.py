"""Agent panels, the agent JSON API and source links, over real HTTP against the live server.

The panels run on the demo book (Maven data + the sample layer at seed 7); the source kinds the agents do not
cite there (tickets, usage, untimed transcripts, stage history) are checked on the web tests' hand-made rows.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from markupsafe import escape

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.agents.service import run_agent
from sellerloop.evidence.models import SourceRef
from sellerloop.records.models import Activity, Opportunity, Signal, Transcript, Utterance
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.web.deps import templates
from sellerloop.web.marks import _candidates, mark_quotes
from tests.support.signin import with_csrf
from tests.web.conftest import DEMO_ACCOUNT, DEMO_DEAL, serve

PANELS = {"prep": f"/opportunities/{DEMO_DEAL}/panels/prep", "research": f"/accounts/{DEMO_ACCOUNT}/panels/research"}
HX = {"HX-Request": "true"}


def esc(text: str) -> str:
    return str(escape(text))  # as Jinja escapes: ' -> &#39;, " -> &#34;


SOURCE_LINK = re.compile(r'<a class="source-link" href="([^"]+)"[^>]*>\[(\d+)\]</a>')


@pytest.fixture
def demo_http(demo_server):
    with httpx.Client(base_url=demo_server.base_url, timeout=60) as client:
        yield with_csrf(client)


@pytest.fixture
def web_http(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=30) as client:
        yield client


def source_links(fragment: str) -> list[tuple[str, int]]:
    return [(html.unescape(href), int(n)) for href, n in SOURCE_LINK.findall(fragment)]


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def shows_quote(page: str, quote: str) -> bool:
    """Every line of the quote is on the page, as written or in the form the page shows it in (a transcript
    line without its "[00:12] Speaker: " prefix, a field without its "Label: ")."""
    text = visible_text(page)
    return all(any(form in text for form in _candidates(line)) for line in quote.splitlines() if line.strip())


# --- the panels on the record pages -------------------------------------------------------------------------

@pytest.mark.parametrize("record, panel", [(f"/opportunities/{DEMO_DEAL}", "prep"),
                                           (f"/accounts/{DEMO_ACCOUNT}", "research")])
def test_a_record_page_loads_its_agent_panel_after_the_page(demo_http, record, panel):
    page = demo_http.get(record).text
    slot = re.search(rf'<section[^>]*id="panel-{panel}"[^>]*>', page).group(0)
    assert f'hx-get="{PANELS[panel]}"' in slot and 'hx-trigger="load"' in slot
    assert f'href="{PANELS[panel]}"' in page  # without JavaScript, a link to the same panel
    assert "source-link" not in page  # the agent does not run while the page renders


def test_the_prep_panel_shows_sections_labels_levels_and_numbered_sources(demo_http, demo_server):
    fragment = demo_http.get(PANELS["prep"], headers=HX).text
    assert "<html" not in fragment and 'id="panel-prep"' in fragment
    with session_scope(demo_server.engine) as session:
        run = run_agent(session=session, use_case="prep", subject=Subject(type="opportunity", id=DEMO_DEAL))
    assert "<h3>Agenda</h3>" in fragment and "<h3>Expected objections</h3>" in fragment
    assert f"{run.autonomy_level} · shown" in fragment and 'class="composer">deterministic<' in fragment
    for item in run.items:
        assert f'<strong class="item-label">{esc(item.label)}</strong>' in fragment
        assert esc(item.text) in fragment
    # numbered as agents/render.py numbers them: per distinct uri, in order of first use
    expected, numbers = [], {}
    for item in run.items:
        for uri in dict.fromkeys(s.uri for s in item.sources):
            expected.append((uri, numbers.setdefault(uri, len(numbers) + 1)))
    got = [(parse_qs(urlsplit(href).query)["uri"][0], n) for href, n in source_links(fragment)]
    assert got == expected
    assert "dropped by the verifier" not in fragment  # none dropped on the demo deal


def test_the_research_panel_names_the_playbook_element_of_its_hypothesis(demo_http):
    fragment = demo_http.get(PANELS["research"], headers=HX).text
    for title in ("Summary", "Trigger", "Why now"):
        assert f"<h3>{title}</h3>" in fragment
    hypothesis = re.search(r'data-section="hypothesis">.*?</div>', fragment, re.DOTALL).group(0)
    assert '<span class="badge element"' in hypothesis
    assert "L2 · shown" in fragment


def test_a_panel_opened_without_javascript_is_a_whole_page(demo_http):
    response = demo_http.get(PANELS["prep"])
    assert response.status_code == 200
    assert "<html" in response.text and 'id="panel-prep"' in response.text
    assert f'href="/opportunities/{DEMO_DEAL}"' in response.text  # the way back to the record
    assert source_links(response.text)


@pytest.mark.parametrize("panel", ["prep", "research"])
def test_every_source_link_in_a_panel_opens_a_page_showing_its_quote(demo_http, panel):
    links = source_links(demo_http.get(PANELS[panel], headers=HX).text)
    assert len(links) >= 4
    for href, _ in links:
        response = demo_http.get(href)
        assert response.status_code == 303, href
        location = response.headers["location"]
        target = demo_http.get(location)
        assert target.status_code == 200, (href, location)
        anchor = urlsplit(location).fragment
        assert anchor and f'id="{anchor}"' in target.text, (location, "the anchor is not on the page")
        quotes = parse_qs(urlsplit(href).query)["quote"]
        for quote in quotes:
            assert shows_quote(target.text, quote), (href, quote)
        assert "<mark>" in target.text, location


def test_an_objection_source_opens_the_transcript_at_the_words_marked(demo_http):
    fragment = demo_http.get(PANELS["prep"], headers=HX).text
    objections = re.search(r'data-section="objections">.*?</div>', fragment, re.DOTALL).group(0)
    href = next(h for h, _ in source_links(objections) if "transcript%3A" in h or "transcript:" in h)
    location = demo_http.get(href).headers["location"]
    path, query, anchor = urlsplit(location).path, parse_qs(urlsplit(location).query), urlsplit(location).fragment
    assert path.startswith("/transcripts/") and re.fullmatch(r"u-\d+", anchor) and "t" in query
    page = demo_http.get(location).text
    utterance = re.search(rf'<li class="utt in-span" id="{anchor}".*?</li>', page, re.DOTALL).group(0)
    words = query["q"][0].partition(": ")[2]  # the quote reads "Speaker: words"; the page shows the words
    assert f"<mark>{esc(words)}</mark>" in utterance


def test_the_verifier_count_shows_when_items_were_dropped():
    run = AgentRun(use_case="prep", subject=Subject(type="opportunity", id="o1"), autonomy_level="L2",
                   placement="shown", dropped_unsupported=2, playbook="meddicc",
                   items=[Item(kind="recommendation", text="Ask who signs.", section="agenda", label="Next",
                               action="create_task", playbook_element="economic_buyer", score=0.8,
                               sources=[SourceRef(uri="activity:a1", quote="who signs", kind="activity")])])
    from sellerloop.web.agent_views import panel_context

    fragment = templates.get_template("_agent_panel.html").render(
        panel_id="panel-prep", use_case="prep", **panel_context(run))
    assert "2 unsupported item(s) dropped by the verifier" in fragment
    assert '<span class="badge element" title="Playbook element this advances">Economic buyer</span>' in fragment
    assert "create task" in fragment and 'href="/sources?uri=activity%3Aa1&amp;quote=who+signs"' in fragment


# --- the JSON API -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_case, params", [("prep", {"opportunity": DEMO_DEAL}),
                                              ("research", {"account": DEMO_ACCOUNT})])
def test_the_agent_api_returns_the_run_in_the_stable_shape(demo_http, demo_server, use_case, params):
    response = demo_http.post("/api/runs", json={"use_case": use_case, **params})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body = response.json()
    (subject_type, subject_id), = params.items()
    assert body["use_case"] == use_case and body["subject"] == {"type": subject_type, "id": subject_id}
    assert body["autonomy_level"] == "L2" and body["placement"] == "shown"
    assert body["dropped_unsupported"] == 0 and body["items"]
    for item in body["items"]:
        assert {"kind", "text", "sources"} <= set(item)
        for source in item["sources"]:
            assert set(source) >= {"uri", "quote", "kind"}
    with session_scope(demo_server.engine) as session:
        run = run_agent(session=session, use_case=use_case, subject=Subject(type=subject_type, id=subject_id))
    assert [i["text"] for i in body["items"]] == [i.text for i in run.items]


@pytest.mark.parametrize("use_case, body, query, status, words", [
    ("prep", {}, {}, 400, "exactly one of account=ID, opportunity=ID or transcript=ID"),
    ("prep", {"opportunity": DEMO_DEAL, "account": DEMO_ACCOUNT}, {}, 400, "exactly one"),
    ("prep", {"account": DEMO_ACCOUNT}, {}, 400, "prep runs on an opportunity"),
    ("research", {"opportunity": DEMO_DEAL}, {}, 400, "research runs on an account"),
    ("research", {"account": ""}, {}, 400, "account: String should have at least 1 character"),
    ("research", {"account": "no-such-account"}, {}, 404, "no account with id 'no-such-account'"),
    ("prep", {"opportunity": "NOPE"}, {}, 404, "no opportunity"),
    ("forecast", {"opportunity": DEMO_DEAL}, {}, 400, "use_case: Input should be 'research'"),
    ("research", {"account": DEMO_ACCOUNT}, {"as": "nobody"}, 400, "no user with id 'nobody'"),
    ("research", {"account": "x" * 65}, {}, 400, "account"),
])
def test_the_agent_api_answers_bad_input_with_a_json_reason(demo_http, use_case, body, query, status, words):
    response = demo_http.post("/api/runs", json={"use_case": use_case, **body}, params=query)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert words in response.json()["detail"]


# --- source links of every kind -----------------------------------------------------------------------------

def _open(client: httpx.Client, uri: str, *quotes: str) -> tuple[str, str]:
    response = client.get("/sources", params={"uri": uri, "quote": list(quotes)})
    assert response.status_code == 303, (uri, response.status_code, response.text[:300])
    location = response.headers["location"]
    target = client.get(location)
    assert target.status_code == 200, location
    return location, target.text


def _element(page: str, anchor: str) -> str:
    """The opening tag of the element with that id, and what follows it up to the next element with an id."""
    start = page.rindex("<", 0, page.index(f'id="{anchor}"'))
    following = re.compile(r'<[a-z0-9]+[^>]*\sid="').search(page, page.index(">", start) + 1)
    return page[start:following.start() if following else None]


def test_an_activity_source_opens_its_details_with_the_quote_marked(web_http, web_store):
    quote = "Dana signs anything above $50k."
    location, page = _open(web_http, "activity:act-web-meeting", quote)
    assert urlsplit(location).path == f"/opportunities/{web_store.ids['opportunity']}"
    assert urlsplit(location).fragment == "activity-act-web-meeting"
    activity = _element(page, "activity-act-web-meeting")
    assert 'class="activity kind-meeting hl"' in activity
    assert "<details open>" in activity and f"<mark>{quote}</mark>" in activity
    assert f"<blockquote class=\"quote\"><mark>{quote}</mark></blockquote>" in page  # the note names the quote
    assert "<details open>" not in _element(page, "activity-act-web-email")  # the others stay closed


@pytest.mark.parametrize("uri, quote, page, anchor", [
    ("opportunity:{opportunity}/field/close_date", "", "opportunity", "field-close_date"),
    ("opportunity:{opportunity}/field/next_step", "Next step: Send the security questionnaire answers", "opportunity",
     "field-next_step"),
    ("opportunity:{opportunity}", "", "opportunity", "details"),
    ("stage_history:{opportunity}", "", "opportunity", "stage-history"),
    ("account:cancity/field/sector", "Sector: retail", "account", "field-sector"),
    ("account:cancity/field/name", "Name: Cancity", "account", "field-name"),
    ("signal:sig-web-news", "Cancity opens a second plant", "account", "signal-sig-web-news"),
    ("https://example.com/news/cancity-second-plant", "", "account", "signal-sig-web-news"),
    ("ticket:tk-web-1", "Subject: Export to CSV times out", "account", "ticket-tk-web-1"),
    ("usage:cancity/weekly_active_users", "2017-05-01: 12 weekly active users", "account",
     "usage-weekly_active_users"),
    ("pipeline:cancity", "Pipeline of Cancity", "account", "opportunities"),
    ("contact:c-web-ben/field/title", "Title: VP Operations", "account", "contact-c-web-ben"),
])
def test_each_kind_of_source_lands_on_its_highlighted_place(web_http, web_store, uri, quote, page, anchor):
    uri = uri.format(**web_store.ids)
    location, html_page = _open(web_http, uri, *([quote] if quote else []))
    record = web_store.ids[page]
    assert urlsplit(location).path == f"/{'accounts' if page == 'account' else 'opportunities'}/{record}"
    assert urlsplit(location).fragment == anchor
    assert parse_qs(urlsplit(location).query)["hl"] == [anchor]
    element = _element(html_page, anchor)
    assert re.match(r'<[a-z0-9]+[^>]*class="[^"]*\bhl\b', element), element[:200]
    assert f"<code>{esc(uri)}</code>" in html_page  # the note says which source was opened
    if quote:
        assert f"<mark>{esc(quote)}</mark>" in html_page


def test_a_quote_that_is_not_in_the_source_is_not_echoed(web_http):
    location, page = _open(web_http, "account:cancity/field/sector", "Wire the money to account 12345")
    assert "q" not in parse_qs(urlsplit(location).query)
    assert "Wire the money" not in page
    # and a hand-made address with the same words: the place is highlighted, the words are not shown
    page = web_http.get("/accounts/cancity", params={"hl": "field-sector", "src": "account:cancity/field/sector",
                                                     "q": "Wire the money to account 12345"}).text
    assert "Wire the money" not in page and 'class="field hl" id="field-sector"' in page


def test_a_timed_transcript_source_highlights_its_span_and_marks_the_words(web_http):
    location, page = _open(web_http, "transcript:tr-web-timed#t=54.0-59.5",
                           "[00:54] Ben Ortiz: Yes, the budget is approved for the third quarter.")
    assert urlsplit(location).path == "/transcripts/tr-web-timed"
    assert parse_qs(urlsplit(location).query)["t"] == ["54.0-59.5"] and urlsplit(location).fragment == "u-10"
    assert "<mark>Yes, the budget is approved for the third quarter.</mark>" in _element(page, "u-10")
    assert "<mark>" not in _element(page, "u-9")


def test_an_untimed_transcript_source_highlights_by_utterance_number(web_http):
    location, page = _open(web_http, "transcript:tr-web-untimed#u=2-2", "[#2] Ben Ortiz: Next week, I hope.")
    assert urlsplit(location).path == "/transcripts/tr-web-untimed"
    assert parse_qs(urlsplit(location).query)["u"] == ["2-2"] and urlsplit(location).fragment == "u-2"
    utterance = _element(page, "u-2")
    assert 'class="utt in-span"' in utterance and "<mark>Next week, I hope.</mark>" in utterance
    assert "Highlighting utterance #2." in page
    assert 'class="utt in-span"' not in _element(page, "u-1")


def test_a_whole_transcript_source_goes_to_the_first_utterance_quoted(web_http):
    location, page = _open(web_http, "transcript:tr-web-timed", "Ben Ortiz: About two days in total")
    assert urlsplit(location).fragment == "u-6" and "t" not in parse_qs(urlsplit(location).query)
    assert "<mark>About two days in total</mark>" in _element(page, "u-6")


@pytest.mark.parametrize("params, status, words", [
    ({}, 400, "uri"),
    ({"uri": ""}, 400, "a source URI is required"),
    ({"uri": "no-colon-here"}, 400, "not a source URI"),
    ({"uri": "planet:mars"}, 400, "unknown source kind 'planet'"),
    ({"uri": "transcript:tr-web-timed#t=soon"}, 400, "bad transcript span"),
    ({"uri": "activity:no-such-activity"}, 404, "no activity with id 'no-such-activity'"),
    ({"uri": "transcript:tr-web-timed#t=900-950"}, 404, "no utterance"),
    ({"uri": "account:cancity/field/password"}, 404, "account has no field 'password'"),
    ({"uri": "activity:x", "quote": ["q"] * 21}, 400, "at most 20 quotes"),
])
def test_a_bad_or_unknown_source_gets_a_one_line_reason(web_http, params, status, words):
    response = web_http.get("/sources", params=params)
    assert response.status_code == status
    message = re.search(r'<p class="error-message">(.*?)</p>', response.text, re.DOTALL).group(1)
    assert words in html.unescape(message) and "\n" not in message.strip()


@pytest.mark.parametrize("params, words", [({"u": "3-1"}, "ends before it starts"), ({"u": "two"}, "expected FROM-TO"),
                                           ({"u": "1-2", "t": "0-5"}, "not both")])
def test_the_transcript_page_refuses_a_bad_utterance_range(web_http, params, words):
    response = web_http.get("/transcripts/tr-web-untimed", params=params)
    assert response.status_code == 400 and words in html.unescape(response.text)


# --- no markup from quotes or records -----------------------------------------------------------------------

SCRIPT = '<script>alert("pwned")</script>'


def test_marking_escapes_the_text_and_the_quote():
    out = str(mark_quotes(f"before {SCRIPT} & after", [SCRIPT]))
    assert out == 'before <mark>&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;</mark> &amp; after'
    assert str(mark_quotes("a < b", ["<b>"])) == "a &lt; b"


def test_script_in_a_quote_or_a_record_body_stays_text(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as session:
        deal = session.get(Opportunity, DEMO_DEAL) or session.query(Opportunity).first()
        body = f"Budget approved. {SCRIPT} Ship it & sign <b>today</b>."
        session.add_all([
            Activity(id="act-xss", kind="email", account_id=deal.account_id, opportunity_id=deal.id,
                     occurred_at=dt.datetime(2017, 6, 1, 9), subject=f"Re: {SCRIPT}", body=body, participants=[]),
            Signal(id="sig-xss", account_id=deal.account_id, kind="news", title=f"News {SCRIPT}",
                   url="https://example.com/xss", body=f"<img src=x onerror=alert(1)> {SCRIPT}"),
        ])
        transcript = Transcript(id="tr-xss", opportunity_id=deal.id, title=f"Call {SCRIPT}", source_format="text")
        transcript.utterances.append(Utterance(seq=1, speaker=f"<i>{SCRIPT}</i>", text=f"We said {SCRIPT} once."))
        session.add(transcript)
        deal_id, account_id = deal.id, deal.account_id
    try:
        with serve(engine) as live, httpx.Client(base_url=live.base_url, timeout=30) as client:
            pages = [
                _open(client, "activity:act-xss", SCRIPT)[1],
                _open(client, "activity:act-xss", "Subject: Re: " + SCRIPT)[1],
                _open(client, "signal:sig-xss", "<img src=x onerror=alert(1)>")[1],
                _open(client, "transcript:tr-xss#u=1-1", f"[#1] <i>{SCRIPT}</i>: We said {SCRIPT} once.")[1],
                client.get("/transcripts/tr-xss", params={"q": [SCRIPT, "</mark><script>"]}).text,
                client.get(f"/opportunities/{deal_id}", params={"hl": '"><script>x</script>', "q": SCRIPT,
                                                                 "src": "activity:act-xss"}).text,
                client.get(f"/accounts/{account_id}", params={"hl": "signal-sig-xss", "q": SCRIPT}).text,
                client.get("/transcripts/tr-xss", params={"u": "1", "q": "</p><script>alert(2)</script>"}).text,
            ]
            for page in pages:
                assert "<script>alert" not in page and "<img src=x" not in page and "<b>today" not in page
                assert "<script>x" not in page
            assert "<mark>&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;</mark>" in pages[0]
            assert "<details open>" in pages[0]
            assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2]
    finally:
        engine.dispose()
