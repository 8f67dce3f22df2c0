"""Agent panels on the record pages, the agent JSON API, and source links.

- `/accounts/{id}/panels/research` and `/opportunities/{id}/panels/prep`: the agent's output as an HTML
  fragment, which the record page loads with htmx after it has rendered (the agent takes longer than the
  page). Opened directly (a link, no JavaScript) the same address gives a whole page around the panel.
- `/api/agents/{use_case}?account=ID|opportunity=ID`: the AgentRun as JSON, the DESIGN.md §8 shape.
- `/sources?uri=URI&quote=QUOTE`: a source link. It resolves the URI (evidence.sources.resolve_source, the one
  place that knows what a URI means) and redirects to the page and place that shows it, with the quoted words
  marked there. The panel's numbered links [1] [2] all go through it.

Every route runs the agent through agents.service.run_agent, so the verifier and the autonomy level apply here
exactly as on the CLI.
"""
from __future__ import annotations

from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import AgentRun, Subject
from sellerloop.agents.render import TITLES
from sellerloop.agents.service import AGENTS, run_agent
from sellerloop.composers.service import configured_composer
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.evidence.sources import ResolvedSource, UnknownSource, resolve_source
from sellerloop.records.models import Contact, OpportunityContact
from sellerloop.records.service import get_account, get_opportunity, get_transcript
from sellerloop.web.app import get_session, templates
from sellerloop.web.marks import has_quote

router = APIRouter()

PANEL_TITLES = {"research": "Research", "prep": "Meeting prep"}
PLACEMENT_WORDS = {"reply": "reply", "shown": "shown", "draft": "draft", "pending_approval": "pending approval",
                   "executed": "executed"}
MAX_QUOTES = 20
MAX_QUOTE_CHARS = 5000


# --- panels -------------------------------------------------------------------------------------------------

def source_href(uri: str, quotes: list[str] | tuple[str, ...] = ()) -> str:
    params = [("uri", uri)] + [("quote", q) for q in dict.fromkeys(quotes) if q]
    return "/sources?" + urlencode(params)


def _element_names(playbook: str | None) -> dict[str, str]:
    from sellerloop.playbooks.service import get_playbook

    try:
        return {e.key: e.name for e in get_playbook(playbook).elements}
    except SellerloopError:
        return {}


def panel_context(run: AgentRun) -> dict:
    """Sections in the order the agent wrote them; each item with its numbered source links, numbered as in
    agents/render.py (per distinct uri, in order of first use), each link carrying that item's quotes."""
    names = _element_names(run.playbook)
    numbers: dict[str, int] = {}
    sections: list[dict] = []
    for item in run.items:
        if not sections or sections[-1]["key"] != item.section:
            key = item.section or ""
            sections.append({"key": key, "title": TITLES.get(key, (item.section or "Items").capitalize()),
                             "items": []})
        quotes: dict[str, list[str]] = {}
        for source in item.sources:
            numbers.setdefault(source.uri, len(numbers) + 1)
            quotes.setdefault(source.uri, []).append(source.quote)
        refs = [{"n": numbers[uri], "uri": uri, "quote": "\n".join(dict.fromkeys(q for q in qs if q)),
                 "href": source_href(uri, qs)} for uri, qs in quotes.items()]
        element = item.playbook_element
        sections[-1]["items"].append({
            "item": item, "refs": refs,
            "element": names.get(element, element.replace("_", " ")) if element else None,
        })
    return {
        "run": run, "sections": sections, "title": PANEL_TITLES.get(run.use_case, run.use_case),
        "placement": PLACEMENT_WORDS.get(run.placement, run.placement),
        "sources": [{"n": n, "uri": uri, "href": source_href(uri)} for uri, n in numbers.items()],
    }


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def _panel(request: Request, session: Session, use_case: str, subject: Subject, record) -> Response:
    page = {"record": record, "subject": subject, "use_case": use_case,
            "panel_id": f"panel-{use_case}", "title": PANEL_TITLES[use_case]}
    try:
        run = run_agent(session=session, use_case=use_case, subject=subject, composer=configured_composer())
    except SellerloopError as e:
        if not _is_htmx(request):
            raise
        # htmx swaps only 2xx answers: the panel says what went wrong, in place, instead of spinning forever.
        return templates.TemplateResponse(request, "_agent_panel.html", page | {"error": e.one_line()})
    context = page | panel_context(run)
    name = "_agent_panel.html" if _is_htmx(request) else "agent_page.html"
    response = templates.TemplateResponse(request, name, context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/accounts/{account_id}/panels/research", response_class=HTMLResponse)
def research_panel(request: Request, account_id: str, session: Session = Depends(get_session)) -> Response:
    account = get_account(session=session, account_id=account_id)
    return _panel(request, session, "research", Subject(type="account", id=account_id), account)


@router.get("/opportunities/{opportunity_id}/panels/prep", response_class=HTMLResponse)
def prep_panel(request: Request, opportunity_id: str, session: Session = Depends(get_session)) -> Response:
    opportunity = get_opportunity(session=session, opportunity_id=opportunity_id)
    return _panel(request, session, "prep", Subject(type="opportunity", id=opportunity_id), opportunity)


# --- JSON ---------------------------------------------------------------------------------------------------

@router.get("/api/agents/{use_case}", response_class=JSONResponse)
def agent_api(use_case: str,
              account: str | None = Query(None, max_length=64, description="the account to run on"),
              opportunity: str | None = Query(None, max_length=64, description="the opportunity to run on"),
              as_user: str | None = Query(None, alias="as", max_length=64, description="run as this user"),
              session: Session = Depends(get_session)) -> dict:
    spec = AGENTS.get(use_case)
    if spec is None:
        raise NotFound(f"no agent {use_case!r} here; available: {', '.join(AGENTS)}")
    given = {k: v for k, v in (("account", account), ("opportunity", opportunity)) if v is not None}
    if len(given) != 1:
        raise BadInput(f"give exactly one of account=ID or opportunity=ID ({use_case} runs on an "
                       f"{spec.subject_type}: ?{spec.subject_type}=ID)")
    (subject_type, subject_id), = given.items()
    if not subject_id.strip():
        raise BadInput(f"{subject_type}: an id is required")
    if subject_type != spec.subject_type:
        raise BadInput(f"{use_case} runs on an {spec.subject_type}, not on an {subject_type}"
                       f" (use ?{spec.subject_type}=ID)")
    if subject_type == "account":
        get_account(session=session, account_id=subject_id)
    else:
        get_opportunity(session=session, opportunity_id=subject_id)
    run = run_agent(session=session, use_case=use_case, subject=Subject(type=subject_type, id=subject_id),
                    acting_user_id=as_user, composer=configured_composer())
    return run.model_dump(mode="json")


# --- source links -------------------------------------------------------------------------------------------

QUOTE_PARAM = Query([], description="the quoted words to mark; may repeat")


@router.get("/sources", response_class=HTMLResponse)
def open_source(uri: str = Query(..., max_length=2000, description="a source URI, e.g. activity:a-123"),
                quote: list[str] = QUOTE_PARAM,
                session: Session = Depends(get_session)) -> Response:
    if not uri.strip():
        raise BadInput("uri: a source URI is required, e.g. activity:a-123")
    if len(quote) > MAX_QUOTES or any(len(q) > MAX_QUOTE_CHARS for q in quote):
        raise BadInput(f"quote: at most {MAX_QUOTES} quotes of at most {MAX_QUOTE_CHARS} characters each")
    source = resolve_source(session=session, uri=uri)  # BadInput -> 400, UnknownSource -> 404
    # Only words that are in the source get marked: a quote that is not there is not what the link claims.
    quotes = [q for q in dict.fromkeys(quote) if q and q in source.text]
    return RedirectResponse(source_location(session=session, source=source, quotes=quotes), status_code=303)


def _with_query(path: str, params: list[tuple[str, str]], anchor: str | None) -> str:
    query = urlencode([(k, v) for k, v in params if v])
    return path + (f"?{query}" if query else "") + (f"#{url_quote(anchor, safe='-_.~')}" if anchor else "")


def source_location(*, session: Session, source: ResolvedSource, quotes: list[str]) -> str:
    """Where a person reads a source: the page, the highlight parameters and the #anchor of the place."""
    q = [("q", text) for text in quotes]
    kind, record_id, anchor = source.record_type, source.record_id, source.anchor
    if kind == "transcript":
        fragment = source.uri.partition("#")[2]
        span = [(fragment[:1], fragment[2:])] if fragment[:2] in ("t=", "u=") else []
        if anchor is None and quotes:  # the whole transcript cited: go to the first utterance quoted
            hit = next((u for u in get_transcript(session=session, transcript_id=record_id).utterances
                        if has_quote(u.text, quotes)), None)
            anchor = f"u-{hit.seq}" if hit else None
        return _with_query(f"/transcripts/{url_quote(record_id, safe='')}", span + q, anchor)
    if kind == "contact":
        contact = session.get(Contact, record_id)
        anchor = f"contact-{record_id}"
        if contact is not None and contact.account_id:
            kind, record_id = "account", contact.account_id
        else:
            deal = session.scalar(select(OpportunityContact.opportunity_id)
                                  .where(OpportunityContact.contact_id == record_id)
                                  .order_by(OpportunityContact.opportunity_id).limit(1))
            if deal is None:
                raise UnknownSource(f"no page shows contact {record_id!r}: it has no account and no deal")
            kind, record_id = "opportunity", deal
    if kind == "user":
        return _with_query("/opportunities", [("owner", record_id)], None)
    if kind not in ("account", "opportunity"):
        raise UnknownSource(f"no page shows {source.uri!r} yet")
    if not record_id:
        raise UnknownSource(f"no page shows {source.uri!r}: it is not linked to an account or opportunity")
    anchor = anchor or "details"
    path = f"/{'accounts' if kind == 'account' else 'opportunities'}/{url_quote(record_id, safe='')}"
    return _with_query(path, [("hl", anchor), ("src", source.uri)] + q, anchor)
