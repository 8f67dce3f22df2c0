"""Agent panels on the record pages, the follow-up email download, and source links. (The JSON that runs an agent
is `POST /api/runs`, agents/views.py.)

- `/{accounts|opportunities|transcripts}/{id}/panels/{use_case}`: an agent's output as an HTML fragment, which
  the record page loads with htmx after it has rendered (an agent takes longer than the page). Which use cases
  run on which kind of record comes from the registry (agents.service.AGENTS); any other pair is a 404 with a
  message. Opened directly (a link, no JavaScript) the same address gives a whole page around the panel.
  Follow-up on an opportunity takes `?transcript=ID` (the call; by default the agent picks the deal's latest).
- `/opportunities/{id}/follow-up.eml[?transcript=ID]` and `/transcripts/{id}/follow-up.eml`: the follow-up
  email draft as a `message/rfc822` file.
- `/sources?uri=URI&quote=QUOTE`: a source link. It resolves the URI (evidence.sources.resolve_source, the one
  place that knows what a URI means) and redirects to the page and place that shows it, with the quoted words
  marked there. The panels' numbered links [1] [2] all go through it.

Every route runs the agent through agents.service.run_agent, so the verifier and the autonomy level apply here
exactly as on the CLI. The panels depend only on AgentRun/Item and the registry, never on an agent's internals.
"""
from __future__ import annotations

import email
import email.policy
import logging
import re
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import AgentRun, Subject
from sellerloop.agents.render import TITLES
from sellerloop.agents.service import AGENTS, AgentSpec, page_panels, run_agent, runs_on
from sellerloop.composers.service import configured_composer
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.evidence.sources import ResolvedSource, UnknownSource, field_label, resolve_source
from sellerloop.playbooks.service import get_playbook
from sellerloop.records.models import Contact, OpportunityContact, Transcript
from sellerloop.records.service import get_account, get_opportunity, get_transcript
from sellerloop.web.decision_views import panel_offers
from sellerloop.web.deps import get_session, templates
from sellerloop.web.marks import has_quote

router = APIRouter()
log = logging.getLogger("sellerloop.web")

RECORD_PATHS = {"account": "accounts", "opportunity": "opportunities", "transcript": "transcripts"}
PLACEMENT_WORDS = {"reply": "reply", "shown": "shown", "draft": "draft", "pending_approval": "pending approval",
                   "executed": "executed"}
MAX_QUOTES = 20
MAX_QUOTE_CHARS = 5000
ID = Query(None, max_length=64)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


# --- panels -------------------------------------------------------------------------------------------------

def source_href(uri: str, quotes: list[str] | tuple[str, ...] = ()) -> str:
    params = [("uri", uri)] + [("quote", q) for q in dict.fromkeys(quotes) if q]
    return "/sources?" + urlencode(params)


def panel_url(kind: str, record_id: str, use_case: str, *, transcript: str | None = None) -> str:
    path = f"/{RECORD_PATHS[kind]}/{url_quote(record_id, safe='')}/panels/{use_case}"
    return path + (f"?{urlencode({'transcript': transcript})}" if transcript else "")


def eml_url(run: AgentRun) -> str | None:
    """Where the follow-up's email draft downloads from: the same run asked for again, as a file."""
    transcript = run.inputs.get("transcript")
    if run.subject.type == "opportunity":
        path = f"/opportunities/{url_quote(run.subject.id, safe='')}/follow-up.eml"
        return path + (f"?{urlencode({'transcript': transcript})}" if transcript else "")
    transcript = transcript or (run.subject.id if run.subject.type == "transcript" else None)
    return f"/transcripts/{url_quote(transcript, safe='')}/follow-up.eml" if transcript else None


def record_panels(kind: str, record_id: str, *, transcript: str | None = None) -> list[dict]:
    """The agent panels a record page shows, each a slot htmx fills after the page: use case, title, address.
    `transcript` is the call a follow-up panel on an opportunity is about (the deal's latest)."""
    panels = []
    for spec in page_panels(kind):
        call = transcript if kind != "transcript" and "transcript" in spec.reads else None
        panels.append({"use_case": spec.use_case, "title": spec.title, "blurb": spec.blurb,
                       "url": panel_url(kind, record_id, spec.use_case, transcript=call)})
    return panels


def _element_names(playbook: str | None) -> dict[str, str]:
    try:
        return {e.key: e.name for e in get_playbook(playbook).elements}
    except SellerloopError:
        return {}


def parse_email(content: str) -> dict | None:
    """An email draft's RFC 5322 message as what a person reads: From, To, Cc, Subject and the plain body."""
    try:
        message = email.message_from_string(content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        body = part.get_content() if part is not None else ""
        headers = {name.lower(): str(message[name]) for name in ("From", "To", "Cc", "Subject", "Date")
                   if message[name] is not None}
    except Exception:  # a malformed draft is shown as its text, not as an error  # noqa: BLE001
        return None
    if not headers.get("to") and not headers.get("subject"):
        return None
    return headers | {"body": body.strip("\n")}


def panel_context(run: AgentRun, *, targets: dict[str, str] | None = None) -> dict:
    """Sections in the order the agent wrote them; each item with its numbered source links, numbered as in
    agents/render.py (per distinct uri, in order of first use), each link carrying that item's quotes.
    `targets` names the records field changes point at (`contact:ID` -> "Ben Ortiz")."""
    names = _element_names(run.playbook)
    targets = targets or {}
    numbers: dict[str, int] = {}
    sections: list[dict] = []
    download = eml_url(run)
    for item in run.items:
        if not sections or sections[-1]["key"] != (item.section or ""):
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
        entry = {"item": item, "refs": refs, "label": item.label,
                 "element": names.get(element, element.replace("_", " ")) if element else None}
        if item.kind == "field_change" and item.field:
            entry["field"] = field_label(item.field)
            if item.target:
                entry["target"] = {"uri": item.target, "name": targets.get(item.target, item.target),
                                   "href": source_href(item.target)}
        if item.artifact == "email" and item.content:
            entry["email"] = parse_email(item.content)
            entry["eml_href"] = download if entry["email"] else None
            if entry["email"] and (item.label or "").casefold() == sections[-1]["title"].casefold():
                entry["label"] = None  # "Follow-up email" under that very heading says nothing new
        sections[-1]["items"].append(entry)
    return {
        "run": run, "sections": sections, "title": AGENTS[run.use_case].title,
        "empty": AGENTS[run.use_case].empty,
        "placement": PLACEMENT_WORDS.get(run.placement, run.placement),
        "sources": [{"n": n, "uri": uri, "href": source_href(uri)} for uri, n in numbers.items()],
    }


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def _panel_spec(kind: str, use_case: str) -> AgentSpec:
    spec = AGENTS.get(use_case)
    here = [u for u, s in AGENTS.items() if kind in s.subject_types]
    if spec is None:
        raise NotFound(f"no agent {use_case!r}; on {_a(kind)} these run: {', '.join(here)}")
    if kind not in spec.subject_types:
        raise NotFound(f"{use_case} runs on {runs_on(spec)}, not on {_a(kind)}; on {_a(kind)} these run: "
                       f"{', '.join(here)}")
    return spec


def _record(session: Session, kind: str, record_id: str):
    if kind == "account":
        return get_account(session=session, account_id=record_id)
    if kind == "opportunity":
        return get_opportunity(session=session, opportunity_id=record_id)
    return get_transcript(session=session, transcript_id=record_id)


def _record_link(kind: str, record) -> dict:
    return {"name": record.title if kind == "transcript" else record.name,
            "href": f"/{RECORD_PATHS[kind]}/{url_quote(record.id, safe='')}", "kind": kind}


def _about(session: Session, run: AgentRun, kind: str) -> dict | None:
    """What a panel is about besides its record: the call a follow-up read, or an account's open deals."""
    transcript_id = run.inputs.get("transcript")
    if transcript_id and kind != "transcript":
        transcript = session.get(Transcript, transcript_id)
        if transcript is not None:
            return {"words": "After the call", "name": transcript.title, "when": transcript.occurred_at,
                    "href": f"/transcripts/{url_quote(transcript.id, safe='')}"}
    if run.use_case == "next-action" and kind == "account":
        return {"words": "Across the account's open deals"}
    return None


def _targets(session: Session, run: AgentRun) -> dict[str, str]:
    names = {}
    for uri in {i.target for i in run.items if i.target}:
        try:
            names[uri] = resolve_source(session=session, uri=uri).title
        except SellerloopError:
            pass
    return names


def _panel(request: Request, session: Session, kind: str, record_id: str, use_case: str,
           transcript: str | None = None) -> Response:
    spec = _panel_spec(kind, use_case)
    record = _record(session, kind, record_id)
    if transcript is not None:
        if "transcript" not in spec.reads or kind == "transcript":
            raise BadInput(f"transcript: {use_case} on {_a(kind)} reads no other call")
        get_transcript(session=session, transcript_id=transcript)
    subject = Subject(type=kind, id=record_id)
    page = {"record": _record_link(kind, record), "subject": subject, "use_case": use_case,
            "panel_id": f"panel-{use_case}", "title": spec.title}
    try:
        run = run_agent(session=session, use_case=use_case, subject=subject, transcript_id=transcript,
                        composer=configured_composer())
    except Exception as e:
        if not _is_htmx(request):
            raise
        # htmx swaps only 2xx answers: the panel says what went wrong, in place, instead of spinning forever.
        if not isinstance(e, SellerloopError):
            log.exception("agent %s failed on %s %s", use_case, kind, record_id)
        message = (e.one_line() if isinstance(e, SellerloopError)
                   else "an unexpected error happened; it has been logged")
        return templates.TemplateResponse(request, "_agent_panel.html", page | {"error": message})
    context = (page | panel_context(run, targets=_targets(session, run))
               | {"about": _about(session, run, kind)})
    # Each item a person can act on gets its decision block (web/decision_views.py), acting on the record: a
    # call's actions are its deal's.
    acts_on = (f"opportunity:{record.opportunity_id}" if kind == "transcript" and record.opportunity_id
               else None if kind == "transcript" else f"{kind}:{record_id}")
    offers = iter(panel_offers(session=session, run=run, subject=acts_on, secret=request.app.state.secret_key,
                               back=page["record"]["href"]))
    for section in context["sections"]:  # the items in the order the run holds them, as panel_context built them
        for entry in section["items"]:
            entry["offer"] = next(offers)
    context["cap"] = _cap(run)
    name = "_agent_panel.html" if _is_htmx(request) else "agent_page.html"
    response = templates.TemplateResponse(request, name, context)
    response.headers["Vary"] = "HX-Request"
    return response


def _cap(run: AgentRun) -> dict | None:
    """"2 of 3 shown": how many recommendations the panel shows against the cap, and how many more the evidence
    supported beyond it (next-action says both in its inputs)."""
    if "cap" not in run.inputs:
        return None
    shown = sum(item.kind == "recommendation" for item in run.items)
    cap, found = int(run.inputs["cap"]), int(run.inputs.get("found", shown))
    return {"shown": shown, "cap": cap, "more": max(0, found - cap)}


CALL = Query(None, max_length=64, description="the call to follow up on (default: the deal's latest)")


@router.get("/accounts/{account_id}/panels/{use_case}", response_class=HTMLResponse)
def account_panel(request: Request, account_id: str, use_case: str,
                  session: Session = Depends(get_session)) -> Response:
    return _panel(request, session, "account", account_id, use_case)


@router.get("/opportunities/{opportunity_id}/panels/{use_case}", response_class=HTMLResponse)
def opportunity_panel(request: Request, opportunity_id: str, use_case: str, transcript: str | None = CALL,
                      session: Session = Depends(get_session)) -> Response:
    return _panel(request, session, "opportunity", opportunity_id, use_case, transcript)


@router.get("/transcripts/{transcript_id}/panels/{use_case}", response_class=HTMLResponse)
def transcript_panel(request: Request, transcript_id: str, use_case: str,
                     session: Session = Depends(get_session)) -> Response:
    return _panel(request, session, "transcript", transcript_id, use_case)


# --- the follow-up email as a file --------------------------------------------------------------------------

def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "draft"


def _eml(session: Session, subject: Subject, transcript: str | None, filename: str) -> Response:
    run = run_agent(session=session, use_case="follow-up", subject=subject, transcript_id=transcript,
                    composer=configured_composer())
    message = next((i.content for i in run.items if i.artifact == "email" and i.content), None)
    if message is None:
        raise NotFound(f"no email draft for {subject.type} {subject.id!r}: "
                       "the call has nothing to follow up on")
    return Response(message.encode("utf-8"), media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/opportunities/{opportunity_id}/follow-up.eml")
def opportunity_follow_up_eml(opportunity_id: str, transcript: str | None = CALL,
                              session: Session = Depends(get_session)) -> Response:
    get_opportunity(session=session, opportunity_id=opportunity_id)
    if transcript is not None:
        get_transcript(session=session, transcript_id=transcript)
    name = "-".join(_safe(part) for part in (opportunity_id, transcript) if part)
    return _eml(session, Subject(type="opportunity", id=opportunity_id), transcript, f"follow-up-{name}.eml")


@router.get("/transcripts/{transcript_id}/follow-up.eml")
def transcript_follow_up_eml(transcript_id: str, session: Session = Depends(get_session)) -> Response:
    get_transcript(session=session, transcript_id=transcript_id)
    return _eml(session, Subject(type="transcript", id=transcript_id), None,
                f"follow-up-{_safe(transcript_id)}.eml")


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
