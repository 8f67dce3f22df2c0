"""Record pages: account list and search, account, opportunity list, opportunity, transcript.

Routes are thin: they validate the query string, call a read function from records.service, shape what the
template needs, and render. Every page works without JavaScript; htmx only makes the account search live
(a request with `HX-Request` gets the results table alone, which htmx swaps in) and loads the agent panels
(agent_views.py; which panels a page shows is `agent_views.record_panels`).

Source links (`/sources`, in agent_views.py) land here: the record pages take `hl` (the id of the place to
highlight), `q` (quoted words to <mark> inside it, may repeat) and `src` (the source URI, named in a note at
the top); the transcript page takes `t=START-END` (seconds) or `u=FROM-TO` (utterance numbers) and `q`.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from sellerloop.errors import BadInput
from sellerloop.evidence.sources import resolve_source
from sellerloop.records.models import STAGES, Activity, Utterance
from sellerloop.records.service import (
    account_view,
    get_opportunity,
    get_transcript,
    list_owners,
    open_opportunity_counts,
    opportunity_view,
    search_accounts,
    search_opportunities,
)
from sellerloop.scoring.win import WinModelNotBuilt, WinScore, win_probability
from sellerloop.web.agent_views import record_panels
from sellerloop.web.deps import get_session, templates

router = APIRouter(default_response_class=HTMLResponse)
PER_PAGE = 25
TIMELINE_LIMIT = 50  # the account page shows the latest activities; the opportunity page shows all of its own
MAX_PAGE = 1_000_000  # far past any real book; a bigger number is a typo, not a request
PARTICIPANT_ROLES = ("from", "to", "cc", "attendee")
MAX_QUOTES = 20  # marks per page; more is not a source link but an attempt to slow the page down
MAX_QUOTE_CHARS = 5000


def _is_htmx_partial(request: Request) -> bool:
    # A history restore (back button after htmx pushed a URL) needs the whole page, not the fragment.
    return (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true")


def _page_url(path: str, params: dict, page: int) -> str:
    query = {k: v for k, v in params.items() if v} | ({"page": page} if page > 1 else {})
    return f"{path}?{urlencode(query)}" if query else path


def _pager(path: str, params: dict, result) -> dict:
    first = (result.page - 1) * result.per_page + 1 if result.total else 0
    return {
        "page": result.page, "pages": result.pages, "total": result.total,
        "first": first, "last": min(result.total, result.page * result.per_page),
        "prev": _page_url(path, params, result.page - 1) if result.page > 1 else None,
        "next": _page_url(path, params, result.page + 1) if result.page < result.pages else None,
    }


@router.get("/accounts")
def accounts_page(request: Request,
                  q: str = Query("", max_length=200, description="search by name, sector or location"),
                  page: int = Query(1, ge=1, le=MAX_PAGE),
                  session: Session = Depends(get_session)) -> Response:
    result = search_accounts(session=session, query=q, page=page, per_page=PER_PAGE)
    context = {
        "q": q, "result": result, "pager": _pager("/accounts", {"q": q}, result),
        "open_counts": open_opportunity_counts(session=session, account_ids=[a.id for a in result.items]),
    }
    name = "_account_results.html" if _is_htmx_partial(request) else "accounts.html"
    response = templates.TemplateResponse(request, name, context)
    response.headers["Vary"] = "HX-Request"
    return response


HL = Query("", max_length=300, description="the id of a place on the page to highlight, e.g. activity-a-123")
QUOTES = Query([], description="quoted words to mark inside the highlighted place; may repeat")
SRC = Query("", max_length=2000, description="the source URI the visitor came from (a source link)")


def highlight_context(*, session: Session, hl: str, q: list[str], src: str) -> dict:
    """What a record page needs to show a source opened from a link (`/sources` redirects here): the place to
    highlight, the quotes to mark in it, and a note naming the source with the quoted words. The note shows a
    quote only when it is in the source's text, so a hand-made address cannot put words in the store's mouth."""
    quotes = [text for text in q[:MAX_QUOTES] if text and len(text) <= MAX_QUOTE_CHARS]
    opened = None
    if src:
        try:
            source = resolve_source(session=session, uri=src)
        except BadInput:
            source = None
        if source is not None:
            opened = {"uri": source.uri, "title": source.title, "anchor": hl or source.anchor,
                      "quotes": [text for text in quotes if text in source.text]}
    return {"hl": hl, "marks": quotes, "opened": opened}


@router.get("/accounts/{account_id}")
def account_page(request: Request, account_id: str, hl: str = HL, q: list[str] = QUOTES, src: str = SRC,
                 session: Session = Depends(get_session)) -> Response:
    view = account_view(session=session, account_id=account_id, timeline_limit=TIMELINE_LIMIT)
    if hl.startswith("activity-") and all(f"activity-{a.id}" != hl for a in view.activities):
        # A source link to an older activity than the timeline shows: add it, so the link lands somewhere.
        extra = session.get(Activity, hl.removeprefix("activity-"))
        if extra is not None and extra.account_id == account_id:
            view.activities = sorted([*view.activities, extra], key=lambda a: a.occurred_at, reverse=True)
    return templates.TemplateResponse(request, "account.html", {
        "view": view, "a": view.account, "usage": _usage_series(view.usage), "timeline_limit": TIMELINE_LIMIT,
        "open_count": sum(o.is_open for o in view.opportunities),
        "panels": record_panels("account", account_id),
        **highlight_context(session=session, hl=hl, q=q, src=src),
    })


@router.get("/opportunities")
def opportunities_page(request: Request,
                       stage: str = Query("", max_length=50),
                       owner: str = Query("", max_length=64),
                       page: int = Query(1, ge=1, le=MAX_PAGE),
                       session: Session = Depends(get_session)) -> Response:
    result = search_opportunities(session=session, stage=stage, owner_id=owner, page=page, per_page=PER_PAGE)
    return templates.TemplateResponse(request, "opportunities.html", {
        "stage": stage, "owner": owner, "stages": STAGES, "owners": list_owners(session=session),
        "result": result, "pager": _pager("/opportunities", {"stage": stage, "owner": owner}, result),
    })


@router.get("/opportunities/{opportunity_id}")
def opportunity_page(request: Request, opportunity_id: str, hl: str = HL, q: list[str] = QUOTES, src: str = SRC,
                     session: Session = Depends(get_session)) -> Response:
    view = opportunity_view(session=session, opportunity_id=opportunity_id)
    return templates.TemplateResponse(request, "opportunity.html", {
        "view": view, "o": view.opportunity, "panels": record_panels("opportunity", opportunity_id),
        "win": _win_probability(session, view.opportunity), **highlight_context(session=session, hl=hl, q=q, src=src)})


def _win_probability(session: Session, opportunity) -> WinScore | None:
    """An open deal's chance to be won, once a model is built (`scoring rebuild`, nightly with run-all); a deal
    already won or lost needs none."""
    if not opportunity.is_open:
        return None
    try:
        return win_probability(session=session, opportunity=opportunity)
    except WinModelNotBuilt:
        return None


@router.get("/transcripts/{transcript_id}")
def transcript_page(request: Request, transcript_id: str,
                    t: str = Query("", max_length=50, description="a span START-END in seconds to highlight"),
                    u: str = Query("", max_length=50, description="utterances FROM-TO by number to highlight"),
                    q: list[str] = QUOTES,
                    session: Session = Depends(get_session)) -> Response:
    if t and u:
        raise BadInput("give t (seconds) or u (utterance numbers), not both")
    span = parse_span(t) if t else None
    rows = parse_rows(u) if u else None
    transcript = get_transcript(session=session, transcript_id=transcript_id)
    utterances = transcript.utterances
    if span:
        hits = {x.seq for x in overlapping(utterances, span)}
    elif rows:
        hits = {x.seq for x in utterances if rows[0] <= x.seq <= rows[1]}
    else:
        hits = set()
    marks = [text for text in q[:MAX_QUOTES] if text and len(text) <= MAX_QUOTE_CHARS]
    opportunity = (get_opportunity(session=session, opportunity_id=transcript.opportunity_id)
                   if transcript.opportunity_id else None)
    return templates.TemplateResponse(request, "transcript.html", {
        "tr": transcript, "opportunity": opportunity, "utterances": utterances, "span": span, "rows": rows,
        "hits": hits, "marks": marks,
        "first_hit": min(hits) if hits else None,
        "timed": any(u.start_s is not None for u in utterances),
        "panels": record_panels("transcript", transcript_id),
    })


SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$")


def parse_span(text: str) -> tuple[float, float]:
    """"12.5-18.0" -> (12.5, 18.0); "42" -> (42.0, 42.0): the `#t=` part of a `transcript:ID#t=...` source."""
    match = SPAN.match(text)
    if not match:
        raise BadInput(f"t: expected START-END in seconds, like 12.5-18.0 (got {text!r})")
    start = float(match.group(1))
    end = float(match.group(2)) if match.group(2) is not None else start
    if end < start or not math.isfinite(end):
        raise BadInput(f"t: the span ends before it starts (got {text!r})")
    return start, end


ROWS = re.compile(r"^\s*(\d{1,9})\s*(?:-\s*(\d{1,9}))?\s*$")


def parse_rows(text: str) -> tuple[int, int]:
    """"3-5" -> (3, 5); "4" -> (4, 4): the `#u=` part of a `transcript:ID#u=...` source (untimed transcripts)."""
    match = ROWS.match(text)
    if not match:
        raise BadInput(f"u: expected FROM-TO utterance numbers, like 3-5 (got {text!r})")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise BadInput(f"u: the range ends before it starts (got {text!r})")
    return first, last


def overlapping(utterances: list[Utterance], span: tuple[float, float]) -> list[Utterance]:
    """The timed utterances that share some time with the span. An utterance without an end lasts until the
    next one starts. Touching at an edge is not overlapping, except for a point span (START-START)."""
    start, end = span
    hits = []
    for i, u in enumerate(utterances):
        if u.start_s is None:
            continue
        u_end = u.end_s
        if u_end is None:
            following = next((v.start_s for v in utterances[i + 1:] if v.start_s is not None), None)
            u_end = following if following is not None else u.start_s
        if (u.start_s <= start <= u_end) if start == end else (u.start_s < end and u_end > start):
            hits.append(u)
    return hits


def _usage_series(rows) -> list[dict]:
    """One entry per metric: its values in time order and an SVG polyline for a sparkline."""
    by_metric: dict[str, list] = defaultdict(list)
    for row in rows:
        by_metric[row.metric].append(row)
    series = []
    width, height, pad = 160, 32, 3
    for metric, points in by_metric.items():
        values = [p.value for p in points]
        low, high = min(values), max(values)
        spread = (high - low) or 1.0
        step = (width - 2 * pad) / max(1, len(values) - 1)
        coords = " ".join(f"{pad + i * step:.1f},{pad + (height - 2 * pad) * (1 - (v - low) / spread):.1f}"
                          for i, v in enumerate(values))
        series.append({"metric": metric, "points": points, "first": points[0], "last": points[-1],
                       "low": low, "high": high, "polyline": coords, "width": width, "height": height,
                       "synthetic": any(p.synthetic for p in points)})
    return series


def participants_by_role(participants: list | None) -> list[tuple[str, str]]:
    """[("from", "Ann Lee"), ("to", "Bo Chen, cy@example.com")] from an activity's participant list."""
    groups: dict[str, list[str]] = defaultdict(list)
    for p in participants or []:
        if not isinstance(p, dict):
            continue
        label = p.get("name") or p.get("email") or p.get("contact_id") or p.get("user_id")
        if label:
            groups[p.get("role") or "attendee"].append(str(label))
    order = {role: i for i, role in enumerate(PARTICIPANT_ROLES)}
    ordered = sorted(groups.items(), key=lambda group: order.get(group[0], 99))
    return [(role, ", ".join(names)) for role, names in ordered]


templates.env.globals["participants_by_role"] = participants_by_role
