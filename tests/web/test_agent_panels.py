"""The four newer agents on the record pages (next-best action, hygiene, follow-up, coaching), the follow-up
email download and the agent API on a transcript, over real HTTP against the live server on the demo book.

The panels are checked against what agents.service.run_agent says for the same record, so these tests depend on
the AgentRun/Item shape and the registry only, never on how an agent builds its items. How each kind of item
reads (a diff, an email draft, a task) is also checked on hand-made runs, which need no agent at all.
"""
from __future__ import annotations

import email
import email.policy
import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import select

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.agents.render import TITLES
from sellerloop.agents.service import run_agent
from sellerloop.evidence.models import SourceRef
from sellerloop.records.models import Opportunity, Transcript
from sellerloop.store.db import session_scope
from sellerloop.web import agent_views
from sellerloop.web.agent_views import panel_context
from sellerloop.web.deps import templates
from tests.support.signin import with_csrf
from tests.web.conftest import DEMO_ACCOUNT, DEMO_DEAL, DRAFT_DEAL

HX = {"HX-Request": "true"}
SOURCE_LINK = re.compile(r'<a class="source-link" href="([^"]+)"[^>]*>\[(\d+)\]</a>')
SCRIPT = '<script>alert("pwned")</script>'


def esc(text: str) -> str:
    return str(escape(text))


@pytest.fixture
def demo_http(demo_server):
    with httpx.Client(base_url=demo_server.base_url, timeout=60) as client:
        yield with_csrf(client)


@pytest.fixture
def demo_call(demo_server) -> str:
    """The latest call of the demo deal: the one its follow-up is about."""
    return _latest_call(demo_server, DEMO_DEAL)


@pytest.fixture(scope="session")
def draft_call(demo_server) -> str:
    """The latest call of the deal whose follow-up drafts an email (nobody recapped that call yet)."""
    return _latest_call(demo_server, DRAFT_DEAL)


def _latest_call(demo_server, deal: str) -> str:
    with session_scope(demo_server.engine) as session:
        calls = session.scalars(select(Transcript).where(Transcript.opportunity_id == deal)).all()
        assert calls, f"the demo deal {deal} has a call"
        return max(calls, key=lambda t: (t.occurred_at is not None, t.occurred_at or 0, t.id)).id


@pytest.fixture(scope="session")
def tidy_deal(demo_server) -> str:
    """An open demo deal with a call on which hygiene has both a field update and an alert (the demo deal itself
    may be tidy): the first by id, so every run picks the same one."""
    with session_scope(demo_server.engine) as session:
        deals = session.scalars(select(Opportunity.id).where(
            Opportunity.stage.in_(("Prospecting", "Engaging")),
            Opportunity.id.in_(select(Transcript.opportunity_id))).order_by(Opportunity.id).limit(300)).all()
        for deal in deals:
            run = run_agent(session=session, use_case="hygiene", subject=Subject(type="opportunity", id=deal))
            if {"field_change", "alert"} <= {i.kind for i in run.items}:
                return deal
    pytest.fail("hygiene drafts a field update and an alert on none of 300 open demo deals with a call")


@pytest.fixture
def records(demo_call, tidy_deal) -> dict[str, str]:
    return {"opportunity": DEMO_DEAL, "account": DEMO_ACCOUNT, "transcript": demo_call, "tidy": tidy_deal}


def _run(server, use_case: str, kind: str, record_id: str) -> AgentRun:
    with session_scope(server.engine) as session:
        return run_agent(session=session, use_case=use_case, subject=Subject(type=kind, id=record_id))


def _section(fragment: str, key: str) -> str:
    return re.search(rf'<div class="agent-section" data-section="{re.escape(key)}">.*?</ul>', fragment,
                     re.DOTALL).group(0)


def _items(fragment: str) -> list[str]:
    return re.findall(r'<li class="agent-item.*?</li>', fragment, re.DOTALL)


def _record_path(kind: str, record_id: str) -> str:
    return f"/{agent_views.RECORD_PATHS[kind]}/{record_id}"


# --- the panels on the record pages -------------------------------------------------------------------------

@pytest.mark.parametrize("kind, panels", [
    ("opportunity", ["next-action", "prep", "follow-up", "hygiene"]),
    ("account", ["research", "next-action"]),
    ("transcript", ["coaching", "follow-up"]),
])
def test_each_record_page_loads_its_agent_panels_after_the_page_in_a_sellers_order(demo_http, demo_call, kind,
                                                                                   panels):
    record_id = {"opportunity": DEMO_DEAL, "account": DEMO_ACCOUNT, "transcript": demo_call}[kind]
    page = demo_http.get(_record_path(kind, record_id)).text
    slots = re.findall(r'<section class="card agent-panel loading" id="panel-([a-z-]+)"[^>]*hx-get="([^"]+)"'
                       r'[^>]*hx-trigger="load"', page)
    assert [use_case for use_case, _ in slots] == panels
    for use_case, url in slots:
        assert html.unescape(url) == f"{_record_path(kind, record_id)}/panels/{use_case}"
        assert f'<a class="panel-link" href="{url}">' in page  # without JavaScript, a link to the same panel
    assert "source-link" not in page  # no agent runs while the page renders


NEW_PANELS = [("opportunity", "next-action"), ("account", "next-action"), ("tidy", "hygiene"),
              ("opportunity", "follow-up"), ("transcript", "follow-up"), ("transcript", "coaching")]


@pytest.mark.parametrize("record, use_case", NEW_PANELS)
def test_each_new_panel_shows_the_agents_sections_items_and_numbered_sources(demo_http, demo_server, records,
                                                                             record, use_case):
    kind, record_id = ("opportunity" if record == "tidy" else record), records[record]
    response = demo_http.get(f"{_record_path(kind, record_id)}/panels/{use_case}", headers=HX)
    assert response.status_code == 200
    fragment = response.text
    assert "<html" not in fragment and f'id="panel-{use_case}"' in fragment
    assert 'class="error-message"' not in fragment, re.search(r"could not run: (.*?)</p>", fragment).group(1)
    run = _run(demo_server, use_case, kind, record_id)
    assert run.items, f"{use_case} on the demo {kind} has something to say"
    sections = list(dict.fromkeys(item.section or "" for item in run.items))
    assert re.findall(r'<div class="agent-section" data-section="([^"]*)">', fragment) == sections
    for key in sections:
        title = TITLES.get(key, key.capitalize())
        # The heading, and on next-action's actions the cap ("2 of 3 shown") after it.
        assert re.search(rf"<h3>{re.escape(esc(title))}( <span class=\"cap-note\"[^>]*>\d+ of \d+ shown"
                         rf"[^<]*</span>)?</h3>", _section(fragment, key))
    assert len(_items(fragment)) == len(run.items)
    for item, rendered in zip(run.items, _items(fragment)):
        assert f'data-kind="{item.kind}"' in rendered
        if item.label and item.artifact != "email":  # an email draft's label is its section's heading
            assert f'<strong class="item-label">{esc(item.label)}</strong>' in rendered
        if item.artifact != "email":
            assert esc(item.text) in rendered
        if item.sources:
            assert SOURCE_LINK.search(rendered), "every item keeps its source links"
    # numbered as agents/render.py numbers them: per distinct uri, in order of first use
    expected, numbers = [], {}
    for item in run.items:
        for uri in dict.fromkeys(s.uri for s in item.sources):
            expected.append((uri, numbers.setdefault(uri, len(numbers) + 1)))
    got = [
        (parse_qs(urlsplit(html.unescape(href)).query)["uri"][0], int(n)) for href, n in SOURCE_LINK.findall(fragment)
    ]
    assert got == expected


def test_the_next_best_action_panel_shows_each_action_its_playbook_element_and_score(demo_http, demo_server):
    fragment = demo_http.get(f"/opportunities/{DEMO_DEAL}/panels/next-action", headers=HX).text
    run = _run(demo_server, "next-action", "opportunity", DEMO_DEAL)
    recommendations = [(i, r) for i, r in zip(run.items, _items(fragment)) if i.kind == "recommendation"]
    assert recommendations
    for item, rendered in recommendations:
        assert f'<span class="badge action" title="Catalogue action">{item.action.replace("_", " ")}</span>' in rendered
        assert '<span class="badge element" title="Playbook element this advances">' in rendered
        assert f"score {item.score:.2f}" in rendered


def test_the_account_next_best_action_panel_says_it_covers_the_open_deals(demo_http):
    fragment = demo_http.get(f"/accounts/{DEMO_ACCOUNT}/panels/next-action", headers=HX).text
    assert "Across the account&#39;s open deals" in fragment or "Across the account's open deals" in fragment


def test_the_hygiene_panel_shows_field_changes_as_diffs_and_alerts_as_alerts(demo_http, demo_server, tidy_deal):
    fragment = demo_http.get(f"/opportunities/{tidy_deal}/panels/hygiene", headers=HX).text
    run = _run(demo_server, "hygiene", "opportunity", tidy_deal)
    for item, rendered in zip(run.items, _items(fragment)):
        if item.kind == "field_change":
            assert '<span class="diff">' in rendered and "→" in rendered
            for value, shown in ((item.old, '<del><span class="visually-hidden">from </span>{}</del>'),
                                 (item.new, "<ins>{}</ins>")):
                empty = value in (None, "", "—", "∅")
                assert (shown.format(esc(value)) in rendered) != empty, (value, rendered)
            if item.target:
                assert 'class="diff-target"' in rendered
        if item.kind == "alert":
            assert '<span class="badge alert">alert</span>' in rendered  # said in words, not only in colour


def test_the_follow_up_panel_shows_the_email_draft_tasks_and_plan_with_owner_and_due(demo_http, demo_server,
                                                                                      draft_call):
    fragment = demo_http.get(f"/opportunities/{DRAFT_DEAL}/panels/follow-up", headers=HX).text
    run = _run(demo_server, "follow-up", "opportunity", DRAFT_DEAL)
    assert run.inputs.get("transcript") == draft_call  # the deal's latest call
    assert f'href="/transcripts/{draft_call}"' in fragment  # the panel names the call it follows up
    draft = next(i for i in run.items if i.artifact == "email" and i.content)
    message = email.message_from_string(draft.content, policy=email.policy.default)
    shown = next(r for i, r in zip(run.items, _items(fragment)) if i is draft)
    assert f'<dd class="email-to">{esc(str(message["To"]))}</dd>' in shown
    assert f'<dd class="email-subject">{esc(str(message["Subject"]))}</dd>' in shown
    body = message.get_body(preferencelist=("plain",)).get_content().strip("\n")
    assert f'<div class="email-body">{esc(body)}</div>' in shown
    assert f'href="/opportunities/{DRAFT_DEAL}/follow-up.eml?transcript={draft_call}"' in shown
    assert SOURCE_LINK.search(shown)
    for item, rendered in zip(run.items, _items(fragment)):
        if item is draft:
            continue  # the draft's owner is its sender, shown as From
        if item.owner:
            assert f'<span class="muted">Owner:</span> {esc(item.owner)}' in rendered
        if item.due:
            assert f'<time datetime="{esc(item.due)}">{esc(item.due)}</time>' in rendered
    assert any(i.artifact == "task" and i.owner and i.due for i in run.items)


def test_the_coaching_panel_lists_points_objections_and_role_play_questions(demo_http, demo_server, demo_call):
    fragment = demo_http.get(f"/transcripts/{demo_call}/panels/coaching", headers=HX).text
    run = _run(demo_server, "coaching", "transcript", demo_call)
    kinds = {i.kind for i in run.items}
    assert {"coaching_point", "question"} <= kinds
    for kind in kinds:
        assert f'data-kind="{kind}"' in fragment
    assert re.search(r"[Tt]alk", fragment), "the talk ratio is shown"


def test_a_new_panel_opened_without_javascript_is_a_whole_page_with_the_way_back(demo_http, demo_call):
    response = demo_http.get(f"/transcripts/{demo_call}/panels/coaching")
    assert response.status_code == 200 and "<html" in response.text and 'id="panel-coaching"' in response.text
    assert f'id="back-to-record" href="/transcripts/{demo_call}"' in response.text


@pytest.mark.parametrize("path, words", [
    (f"/accounts/{DEMO_ACCOUNT}/panels/prep", "prep runs on an opportunity, not on an account"),
    (f"/accounts/{DEMO_ACCOUNT}/panels/hygiene", "hygiene runs on an opportunity, not on an account"),
    (f"/opportunities/{DEMO_DEAL}/panels/research", "research runs on an account, not on an opportunity"),
    (f"/opportunities/{DEMO_DEAL}/panels/coaching", "coaching runs on a transcript, not on an opportunity"),
    ("/transcripts/{call}/panels/prep", "prep runs on an opportunity, not on a transcript"),
    ("/transcripts/{call}/panels/next-action", "not on a transcript"),
    (f"/opportunities/{DEMO_DEAL}/panels/forecast", "no agent 'forecast'; on an opportunity these run: prep"),
    ("/opportunities/NOPE/panels/hygiene", "no opportunity with id 'NOPE'"),
    ("/transcripts/NOPE/panels/coaching", "no transcript with id 'NOPE'"),
])
def test_a_use_case_on_the_wrong_kind_of_record_is_a_404_with_a_reason(demo_http, demo_call, path, words):
    response = demo_http.get(path.format(call=demo_call))
    assert response.status_code == 404
    message = html.unescape(re.search(r'<p class="error-message">(.*?)</p>', response.text, re.DOTALL).group(1))
    assert words in message and "\n" not in message.strip()


def test_a_panel_that_reads_no_call_refuses_a_transcript_parameter(demo_http, demo_call):
    response = demo_http.get(f"/opportunities/{DEMO_DEAL}/panels/hygiene", params={"transcript": demo_call})
    assert response.status_code == 400 and "reads no other call" in html.unescape(response.text)


def test_an_agent_that_fails_says_so_in_its_panel_instead_of_spinning(demo_http, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(agent_views, "run_agent", broken)
    response = demo_http.get(f"/opportunities/{DEMO_DEAL}/panels/hygiene", headers=HX)
    assert response.status_code == 200  # htmx swaps only a 2xx answer
    assert 'role="alert">The agent could not run: an unexpected error happened' in response.text
    assert "boom" not in response.text
    assert demo_http.get(f"/opportunities/{DEMO_DEAL}/panels/hygiene").status_code == 500  # a page says 500


# --- the follow-up email as a file --------------------------------------------------------------------------

def test_a_call_already_recapped_shows_the_recap_and_no_draft(demo_http):
    fragment = demo_http.get(f"/opportunities/{DEMO_DEAL}/panels/follow-up", headers=HX).text
    assert "Recap already sent after the call: no new draft" in fragment and "Download .eml" not in fragment


def test_the_follow_up_email_downloads_as_an_eml_file_with_to_and_subject(demo_http, draft_call):
    fragment = demo_http.get(f"/opportunities/{DRAFT_DEAL}/panels/follow-up", headers=HX).text
    link = re.search(r'<a class="eml-link" href="([^"]+)" download>Download \.eml</a>', fragment)
    href = html.unescape(link.group(1))
    response = demo_http.get(href)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("message/rfc822")
    assert re.fullmatch(r'attachment; filename="follow-up-[A-Za-z0-9._-]+\.eml"',
                        response.headers["content-disposition"])
    message = email.message_from_bytes(response.content, policy=email.policy.default)
    assert message["To"] and message["Subject"]
    assert f'<dd class="email-subject">{esc(str(message["Subject"]))}</dd>' in fragment  # the draft shown
    # the same draft from the call's own address
    from_call = demo_http.get(f"/transcripts/{draft_call}/follow-up.eml")
    assert from_call.status_code == 200 and from_call.headers["content-type"].startswith("message/rfc822")
    subject = email.message_from_bytes(response.content)["Subject"]
    assert email.message_from_bytes(from_call.content)["Subject"] == subject


def test_an_eml_without_a_draft_is_a_404_with_a_reason(demo_http, monkeypatch):
    empty = AgentRun(use_case="follow-up", subject=Subject(type="opportunity", id=DEMO_DEAL), autonomy_level="L3",
                     placement="draft", items=[])
    monkeypatch.setattr(agent_views, "run_agent", lambda **kwargs: empty)
    response = demo_http.get(f"/opportunities/{DEMO_DEAL}/follow-up.eml")
    assert response.status_code == 404
    assert "no email draft" in html.unescape(response.text)


@pytest.mark.parametrize("path, params, status, words", [
    ("/opportunities/NOPE/follow-up.eml", {}, 404, "no opportunity with id 'NOPE'"),
    (f"/opportunities/{DEMO_DEAL}/follow-up.eml", {"transcript": "NOPE"}, 404, "no transcript with id 'NOPE'"),
    ("/transcripts/NOPE/follow-up.eml", {}, 404, "no transcript with id 'NOPE'"),
])
def test_an_eml_for_a_record_that_is_not_there_is_a_404(demo_http, path, params, status, words):
    response = demo_http.get(path, params=params)
    assert response.status_code == status and words in html.unescape(response.text)


def test_an_eml_for_a_call_of_another_deal_is_refused(demo_http, demo_server, demo_call):
    with session_scope(demo_server.engine) as session:
        other = session.scalar(select(Opportunity.id).where(Opportunity.id != DEMO_DEAL).order_by(Opportunity.id)
                               .limit(1))
    response = demo_http.get(f"/opportunities/{other}/follow-up.eml", params={"transcript": demo_call})
    assert response.status_code == 400 and "is not a call of opportunity" in html.unescape(response.text)


# --- the agent API on a transcript --------------------------------------------------------------------------

@pytest.mark.parametrize("use_case, with_deal", [("coaching", False), ("follow-up", False), ("follow-up", True)])
def test_the_agent_api_runs_on_a_transcript(demo_http, demo_server, demo_call, use_case, with_deal):
    params = {"transcript": demo_call} | ({"opportunity": DEMO_DEAL} if with_deal else {})
    response = demo_http.post("/api/runs", json={"use_case": use_case, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["use_case"] == use_case and body["items"]
    assert body["inputs"].get("transcript") == demo_call or body["subject"] == {"type": "transcript",
                                                                                "id": demo_call}
    run = _run(demo_server, use_case, "transcript", demo_call)
    assert [i["text"] for i in body["items"]] == [i.text for i in run.items]


@pytest.mark.parametrize("use_case, params, status, words", [
    ("coaching", {}, 400, "exactly one of account=ID, opportunity=ID or transcript=ID"),
    ("coaching", {"opportunity": DEMO_DEAL}, 400, "coaching runs on a transcript, not on an opportunity"),
    ("coaching", {"transcript": "{call}", "account": DEMO_ACCOUNT}, 400, "exactly one"),
    ("coaching", {"transcript": "{call}", "opportunity": DEMO_DEAL}, 400, "exactly one"),
    ("next-action", {"opportunity": DEMO_DEAL, "transcript": "{call}"}, 400, "exactly one"),
    ("prep", {"transcript": "{call}"}, 400, "prep runs on an opportunity, not on a transcript"),
    ("hygiene", {"account": DEMO_ACCOUNT}, 400, "hygiene runs on an opportunity, not on an account"),
    ("follow-up", {"account": DEMO_ACCOUNT}, 400, "follow-up runs on an opportunity or a transcript"),
    ("coaching", {"transcript": ""}, 400, "transcript: String should have at least 1 character"),
    ("coaching", {"transcript": "NOPE"}, 404, "no transcript with id 'NOPE'"),
    ("coaching", {"transcript": "x" * 65}, 400, "transcript"),
    ("forecast", {"opportunity": DEMO_DEAL}, 400, "use_case: Input should be 'research'"),
])
def test_the_agent_api_answers_a_wrong_combination_with_a_one_line_reason(demo_http, demo_call, use_case, params,
                                                                          status, words):
    body = {"use_case": use_case} | {k: v.format(call=demo_call) for k, v in params.items()}
    response = demo_http.post("/api/runs", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert words in detail and "\n" not in detail


def test_the_agent_api_refuses_a_call_of_another_deal(demo_http, demo_server, demo_call):
    with session_scope(demo_server.engine) as session:
        other = session.scalar(select(Opportunity.id).where(Opportunity.id != DEMO_DEAL).order_by(Opportunity.id)
                               .limit(1))
    response = demo_http.post("/api/runs", json={"use_case": "follow-up", "opportunity": other,
                                                  "transcript": demo_call})
    assert response.status_code == 400 and "is not a call of opportunity" in response.json()["detail"]


# --- how each kind of item reads, on hand-made runs ---------------------------------------------------------

def _src(uri: str, quote: str) -> SourceRef:
    return SourceRef(uri=uri, quote=quote, kind=uri.partition(":")[0])


EML = ("From: Zane Levy <zane@maventech.example>\nTo: Helen Lopez <helen.lopez@initech.example>\n"
       "Cc: Maria Lopez <maria@initech.example>\nSubject: {subject}\nContent-Type: text/plain; charset=utf-8\n\n"
       "{body}\n")


def _render(run: AgentRun, **targets: str) -> str:
    return templates.get_template("_agent_panel.html").render(
        panel_id=f"panel-{run.use_case}", use_case=run.use_case, **panel_context(run, targets=targets))


def _every_kind(text: str = "", subject: str = "Next steps after our call") -> AgentRun:
    call = "transcript:tr-1#t=12.0-18.0"
    return AgentRun(use_case="follow-up", subject=Subject(type="opportunity", id="o 1"),
                    inputs={"transcript": "tr-1"}, autonomy_level="L3", placement="draft", playbook="meddicc", items=[
        Item(kind="recommendation", text=f"Book the security review.{text}", section="actions", label="Book a meeting",
             action="book_meeting", playbook_element="decision_process", score=0.84, sources=[_src(call, "review")]),
        Item(kind="field_change", text=f"They moved the date.{text}", section="fields", field="close_date",
             old=f"2017-06-30{text}", new=f"2017-07-31{text}", sources=[_src("activity:a1", "moved")]),
        Item(kind="field_change", text="Ben is the champion.", section="fields", field="role_in_deal",
             target="contact:c-ben", old=None, new="champion", sources=[_src(call, "champion")]),
        Item(kind="alert", text=f"No next step.{text}", section="alerts", label="Next step missing",
             sources=[_src("opportunity:o1/field/next_step", "Next step:")]),
        Item(kind="draft", artifact="email", text="Hi Helen, thanks.", section="email",
             content=EML.format(subject=subject, body=f"Hi Helen,\n\nThanks for the call.{text}\n\nZane"),
             sources=[_src(call, "thanks")]),
        Item(kind="draft", artifact="task", text=f"Send the SOC 2 report.{text}", section="tasks",
             owner=f"Zane Levy{text}", due="2017-07-07", sources=[_src(call, "SOC 2")]),
        Item(kind="draft", artifact="mutual_action_plan", text="Security review", section="plan",
             owner="Helen Lopez", due="2017-07-14", sources=[_src(call, "review")]),
        Item(kind="coaching_point", text=f"You spoke 70% of the time.{text}", section="talk",
             sources=[_src("transcript:tr-1", "talk")]),
        Item(kind="objection", text=f"Price is high.{text}", section="objections", sources=[_src(call, "price")]),
        Item(kind="question", text=f"How would you answer the price objection?{text}", section="role_play",
             sources=[_src(call, "price")]),
    ])


def test_each_kind_of_item_reads_as_a_seller_expects():
    fragment = _render(_every_kind(), **{"contact:c-ben": "Ben Ortiz"})
    items = _items(fragment)
    assert len(items) == 10
    recommendation, change, role, alert, mail, task, step, point, objection, question = items
    assert '<span class="badge action" title="Catalogue action">book meeting</span>' in recommendation
    element = '<span class="badge element" title="Playbook element this advances">Decision process</span>'
    assert element in recommendation
    assert "score 0.84" in recommendation
    assert '<span class="diff-field">Close date</span>' in change
    assert '<del><span class="visually-hidden">from </span>2017-06-30</del>' in change
    assert "<ins>2017-07-31</ins>" in change
    assert 'of <a class="diff-target" href="/sources?uri=contact%3Ac-ben" title="contact:c-ben">Ben Ortiz</a>' in role
    assert '<span class="muted">(empty)</span>' in role and "<ins>champion</ins>" in role
    assert '<span class="badge alert">alert</span>' in alert and "Next step missing" in alert
    assert '<dd class="email-to">Helen Lopez &lt;helen.lopez@initech.example&gt;</dd>' in mail
    assert '<dd class="email-subject">Next steps after our call</dd>' in mail and "<dt>Cc</dt>" in mail
    assert '<div class="email-body">Hi Helen,\n\nThanks for the call.\n\nZane</div>' in mail
    assert '<a class="eml-link" href="/opportunities/o%201/follow-up.eml?transcript=tr-1" download>' in mail
    assert '<span class="muted">Owner:</span> Zane Levy' in task and '<time datetime="2017-07-07">' in task
    assert 'data-artifact="mutual_action_plan"' in step and "Helen Lopez" in step and "2017-07-14" in step
    for rendered in (point, objection, question):
        assert '<span class="item-text">' in rendered
    for rendered in items:
        assert SOURCE_LINK.search(rendered), rendered  # every kind keeps its numbered source links
    numbers = [int(n) for _, n in SOURCE_LINK.findall(fragment)]
    assert numbers == [1, 2, 1, 3, 1, 1, 1, 4, 1, 1]  # one number per distinct source, in order of first use


def test_a_draft_whose_content_is_not_an_email_shows_its_text():
    run = AgentRun(use_case="follow-up", subject=Subject(type="opportunity", id="o1"), autonomy_level="L3",
                   placement="draft", items=[Item(kind="draft", artifact="email", text="Hi Helen.",
                                                  content="just some words", sources=[_src("activity:a1", "x")])])
    fragment = _render(run)
    assert '<span class="item-text">Hi Helen.</span>' in fragment and "eml-link" not in fragment


@pytest.mark.parametrize("use_case, words", [("hygiene", "Nothing to tidy"), ("follow-up", "Nothing to follow up on"),
                                              ("prep", "Nothing the agent could state with a source.")])
def test_an_empty_panel_says_so_in_the_words_of_its_use_case(use_case, words):
    run = AgentRun(use_case=use_case, subject=Subject(type="opportunity", id="o1"), autonomy_level="L3",
                   placement="draft", items=[])
    assert f'<p class="empty">{words}' in _render(run)


def test_evidence_text_with_script_is_escaped_in_every_kind_of_item():
    fragment = _render(_every_kind(text=SCRIPT, subject=SCRIPT), **{"contact:c-ben": SCRIPT})
    assert "<script>" not in fragment
    assert esc(SCRIPT) in fragment
    assert fragment.count(esc(SCRIPT)) >= 12  # texts, old/new, owner, target name, email subject and body


def test_evidence_with_script_is_escaped_over_http(demo_http, monkeypatch):
    run = _every_kind(text=SCRIPT, subject=SCRIPT)
    monkeypatch.setattr(agent_views, "run_agent", lambda **kwargs: run)
    for path in (f"/opportunities/{DEMO_DEAL}/panels/follow-up", f"/opportunities/{DEMO_DEAL}/panels/hygiene"):
        for headers in (HX, {}):
            page = demo_http.get(path, headers=headers).text
            assert "<script>alert" not in page and esc(SCRIPT) in page
