"""The workspace pages: coaching on a call, the audit log, the policy and autonomy levels, the manager dashboard.

- `GET /transcripts/{id}/coaching`: the call with the coaching agent's points anchored to the lines they quote,
  both ways (point -> line, line -> point). The agent runs through agents.service.run_agent, as on the CLI.
- `GET /audit`: the log, newest first, filtered (actor, action prefix, subject prefix, dates) and paged, with the
  chain's verification at the top. Admins and RevOps see every entry; anyone else the entries about records they
  may see (access.service, in SQL) and none about the policy; a sensitive field they may not see is "(hidden)".
- `GET /policy`: the policy in force, read-only for everyone, with the evidence at each level and the shadow
  evidence of the level above; admins and RevOps also get the forms behind `POST /policy/promote`,
  `POST /policy/demote`, `POST /policy/shadow` and `POST /policy/kill-switch` (policy.autonomy does the change,
  checks and audit). A refusal is the policy page again, with the reason at the top and a 4xx status.
- `GET /dashboard`: acceptance and edit rates by use case, level and seller (approvals/stats.py), over the
  records the person may see: a seller their own, a manager their team's, admins and RevOps everyone's.

Every page works without JavaScript. Who the request is for comes from the session (web/app.py get_session);
None is the local operator of a server without sign-in, who sees everything but changes no policy: a change is
audited under a named admin or RevOps user.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import SEES_EVERYTHING, AccessDenied, visible_owner_ids
from sellerloop.actions.catalogue import CATALOGUE
from sellerloop.agents.models import AgentRun, Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.stats import acceptance
from sellerloop.audit.service import canonical_json, find_entries, masked_payload, verify
from sellerloop.autonomy import service as autonomy
from sellerloop.composers.service import configured_composer
from sellerloop.errors import BadInput
from sellerloop.policy.levels import KILL_SWITCH_LEVEL, level_for
from sellerloop.policy.service import DEFAULT_POLICY_FILE, POLICY_ENV, load_policy, policy_file_in_force
from sellerloop.records.models import User, Utterance
from sellerloop.records.refs import RecordRef
from sellerloop.records.service import get_opportunity, get_transcript
from sellerloop.web.deps import get_session, templates
from sellerloop.web.marks import has_quote
from sellerloop.web.views import MAX_PAGE, overlapping, parse_rows, parse_span

router = APIRouter(default_response_class=HTMLResponse)


# --- coaching ------------------------------------------------------------------------------------------------

# What a seller should read first: what to change, then what to keep, then the figures.
POINT_SECTIONS = {"improvements": "What to improve", "strengths": "What went well",
                  "call_stats": "Call at a glance"}


def anchored_points(run: AgentRun, *, transcript_id: str,
                    utterances: list[Utterance]) -> tuple[list[dict], dict[int, list[int]], dict[int, list[str]]]:
    """The run's coaching points, numbered, each with the utterances it quotes; and per utterance (by seq) the
    numbers of the points quoting it and the quoted words to mark in it.

    A source is `transcript:ID#t=START-END` (the utterances sharing that time), `#u=FROM-TO` (by position) or the
    whole call; of those, the ones whose text holds the quote. A long turn is cited by the speaker's label
    ("Ana:") next to one of its sentences, and a label is in no utterance's text: then the span alone says which
    utterance it is."""
    points: list[dict] = []
    cited: dict[int, list[int]] = {}
    marks: dict[int, list[str]] = {}
    by_seq = {u.seq: u for u in utterances}
    order = list(POINT_SECTIONS)
    # In reading order by section; a section this page does not know (another composer's) comes last, kept.
    items = sorted((i for i in run.items if i.kind == "coaching_point"),
                   key=lambda i: order.index(i.section) if i.section in order else len(order))
    for n, item in enumerate(items, start=1):
        seqs: set[int] = set()
        for source in item.sources:
            for u, quoted in _quoted(source.uri, source.quote, transcript_id, utterances):
                seqs.add(u.seq)
                if quoted:
                    marks.setdefault(u.seq, []).append(source.quote)
        for seq in sorted(seqs):
            cited.setdefault(seq, []).append(n)
        points.append({"n": n, "section": item.section or "other",
                       "section_title": POINT_SECTIONS.get(item.section, "Coaching"), "label": item.label,
                       "text": item.text, "utterances": [by_seq[s] for s in sorted(seqs)]})
    return points, cited, marks


def _quoted(uri: str, quote: str, transcript_id: str,
            utterances: list[Utterance]) -> Iterator[tuple[Utterance, bool]]:
    kind, _, rest = uri.partition(":")
    record_id, _, fragment = rest.partition("#")
    if kind != "transcript" or record_id != transcript_id:
        return
    try:
        if fragment.startswith("t="):
            span = overlapping(utterances, parse_span(fragment[2:]))
        elif fragment.startswith("u="):
            first, last = parse_rows(fragment[2:])
            span = [u for u in utterances if first <= u.seq <= last]
        else:
            span = None
    except BadInput:
        return  # a source this page cannot place; the point still shows, with its text
    candidates = span if span is not None else utterances
    hits = [u for u in candidates if has_quote(u.text, [quote])]
    if hits:
        yield from ((u, True) for u in hits)
    elif span:
        yield from ((u, False) for u in span)


@router.get("/transcripts/{transcript_id}/coaching")
def coaching_page(request: Request, transcript_id: str, session: Session = Depends(get_session)) -> Response:
    transcript = get_transcript(session=session, transcript_id=transcript_id)  # 404, or 403 for another team
    opportunity = (get_opportunity(session=session, opportunity_id=transcript.opportunity_id)
                   if transcript.opportunity_id else None)
    utterances = list(transcript.utterances)
    run = run_agent(session=session, use_case="coaching", subject=Subject(type="transcript", id=transcript_id),
                    composer=configured_composer())
    points, cited, marks = anchored_points(run, transcript_id=transcript_id, utterances=utterances)
    return templates.TemplateResponse(request, "coaching.html", {
        "tr": transcript, "opportunity": opportunity, "utterances": utterances, "run": run, "points": points,
        "cited": cited, "marks": marks, "transcript_href": f"/transcripts/{url_quote(transcript_id, safe='')}"})


# --- audit log -----------------------------------------------------------------------------------------------

AUDIT_PER_PAGE = 50
RECORD_PAGES = {"opportunity": "/opportunities/", "account": "/accounts/", "transcript": "/transcripts/"}


def _date(name: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{name}: expected a date like 2026-11-25 (got {text!r})") from None


def _subject_href(subject: str) -> str | None:
    ref = RecordRef.of(subject)
    if ref.kind in RECORD_PAGES and ref.id:
        return RECORD_PAGES[ref.kind] + url_quote(ref.id, safe="")
    if ref.kind == "contact" and ref.id:
        return "/sources?" + urlencode({"uri": subject})
    return None


@router.get("/audit")
def audit_page(request: Request,
               actor: str = Query("", max_length=100, description="who did it: a user id or a service identity"),
               action: str = Query("", max_length=50, description="what was done, or its start: approval."),
               subject: str = Query("", max_length=300, description="the record URI, or its start: opportunity:"),
               date_from: str = Query("", alias="from", max_length=20, description="from this day (UTC), YYYY-MM-DD"),
               date_to: str = Query("", alias="to", max_length=20, description="to this day (UTC), YYYY-MM-DD"),
               page: int = Query(1, ge=1, le=MAX_PAGE),
               session: Session = Depends(get_session)) -> Response:
    start, end = _date("from", date_from), _date("to", date_to)
    if start and end and end < start:
        raise BadInput(f"to: {end} is before from ({start})")
    user = served_user(session)
    rows, total = find_entries(session=session, seen_by=user, actor=actor or None, action_prefix=action or None,
                               subject_prefix=subject or None, start=start, end=end,
                               offset=(page - 1) * AUDIT_PER_PAGE, limit=AUDIT_PER_PAGE)
    pages = max(1, math.ceil(total / AUDIT_PER_PAGE))
    if page > pages:
        raise BadInput(f"page: {page} is past the last page ({pages})")
    entries = []
    for row in rows:
        payload, masked = masked_payload(session, user=user, payload=row.payload)
        compact = canonical_json(payload)
        entries.append({"row": row, "masked": masked, "href": _subject_href(row.subject),
                        "summary": compact if len(compact) <= 140 else compact[:139] + "…",
                        "pretty": json.dumps(payload, indent=2, ensure_ascii=False)})
    filters = {"actor": actor, "action": action, "subject": subject, "from": date_from, "to": date_to}

    def page_url(n: int) -> str:
        query = {k: v for k, v in filters.items() if v} | ({"page": n} if n > 1 else {})
        return "/audit" + (f"?{urlencode(query)}" if query else "")

    first = (page - 1) * AUDIT_PER_PAGE + 1 if total else 0
    return templates.TemplateResponse(request, "audit.html", {
        "filters": filters, "entries": entries, "check": verify(session=session),
        "sees_all": visible_owner_ids(session=session, user=user) is None, "user": user,
        "pager": {"page": page, "pages": pages, "total": total, "first": first,
                  "last": min(total, page * AUDIT_PER_PAGE),
                  "prev": page_url(page - 1) if page > 1 else None,
                  "next": page_url(page + 1) if page < pages else None}})


# --- policy and autonomy -------------------------------------------------------------------------------------

FLASH = "policy_flash"


def _is_shipped(path) -> bool:
    try:
        return path.resolve() == DEFAULT_POLICY_FILE.resolve()
    except OSError:
        return False


def _policy_context(session: Session) -> dict:
    user = served_user(session)
    path = policy_file_in_force()
    policy = load_policy(path)
    rows = []
    for row in autonomy.evidence(session=session, policy=policy, with_shadow=True):
        spec = CATALOGUE.get(row.action) if row.action else None
        rows.append({"e": row, "in_force": level_for(row.use_case, row.action, policy=policy), "spec": spec,
                     "risk": policy.risk_of(row.action).value if spec else None,
                     "reversible": policy.is_reversible(row.action) if spec else None,
                     "lower": f"L{int(row.level[1:]) - 1}" if row.level != "L1" else None})
    return {"path": path, "shipped": _is_shipped(path), "policy": policy, "rows": rows, "user": user,
            "may_change": user is not None and user.role in autonomy.PROMOTERS, "policy_env": POLICY_ENV,
            "kill_level": KILL_SWITCH_LEVEL}


def _policy_response(request: Request, session: Session, *, status: int = 200, error: str | None = None,
                     done: str | None = None) -> Response:
    return templates.TemplateResponse(request, "policy.html", _policy_context(session) | {
        "error": error, "done": done}, status_code=status)


@router.get("/policy")
def policy_page(request: Request, session: Session = Depends(get_session)) -> Response:
    return _policy_response(request, session, done=request.session.pop(FLASH, None))


def _changer(session: Session) -> User:
    """The person changing the policy: an admin or RevOps user, signed in (the change is audited under them)."""
    user = served_user(session)
    if user is None:
        raise AccessDenied("changing the policy needs a named admin or RevOps user, for the audit log: sign in "
                           "as one")
    if user.role not in autonomy.PROMOTERS:
        raise AccessDenied(f"only an admin or RevOps user may change the policy; {user.name} is a {user.role}")
    return user


def _change(request: Request, session: Session, change, done: str) -> Response:
    """Run one policy change; on success back to the page (a reload does not post it again), on a refusal the
    page with the reason and the refusal's own status."""
    user = _changer(session)
    try:
        change(user.id)
    except BadInput as e:  # PolicyChangeRefused and unknown names: the person can read and act on it
        return _policy_response(request, session, status=e.http_status, error=e.one_line())
    request.session[FLASH] = done
    return RedirectResponse("/policy", status_code=303)


USE_CASE = Form(..., max_length=32)
ACTION = Form("", max_length=50, description="a catalogue action; empty for the use case's default")
TO = Form(None, max_length=2, description="the level the form expects next, so a stale form changes nothing")


@router.post("/policy/promote")
def promote_level(request: Request, use_case: str = USE_CASE, action: str = ACTION, to: str | None = TO,
                  session: Session = Depends(get_session)) -> Response:
    label = f"{use_case} {action}".strip()
    return _change(request, session, lambda by: autonomy.promote(
        session=session, use_case=use_case, action=action or None, by=by, to=to or None),
        f"{label} raised one level{f' to {to}' if to else ''}.")


@router.post("/policy/demote")
def demote_level(request: Request, use_case: str = USE_CASE, action: str = ACTION, to: str | None = TO,
                 session: Session = Depends(get_session)) -> Response:
    label = f"{use_case} {action}".strip()
    return _change(request, session, lambda by: autonomy.demote(
        session=session, use_case=use_case, action=action or None, by=by, to=to or None),
        f"{label} lowered one level{f' to {to}' if to else ''}.")


@router.post("/policy/shadow")
def shadow_switch(request: Request, use_case: str = USE_CASE, action: str = ACTION,
                  on: str = Form(..., max_length=5, description="true or false"),
                  session: Session = Depends(get_session)) -> Response:
    if on not in ("true", "false"):
        raise BadInput(f"on: expected true or false (got {on!r})")
    turn_on, label = on == "true", f"{use_case} {action}".strip()
    return _change(request, session, lambda by: autonomy.set_shadow(
        session=session, use_case=use_case, action=action or None, on=turn_on, by=by),
        f"{label} runs one level up in shadow: what it would do is recorded, never done." if turn_on
        else f"{label}: shadow off.")


@router.post("/policy/kill-switch")
def kill_switch(request: Request, on: str = Form(..., max_length=5, description="true or false"),
                session: Session = Depends(get_session)) -> Response:
    if on not in ("true", "false"):
        raise BadInput(f"on: expected true or false (got {on!r})")
    turn_on = on == "true"
    return _change(request, session, lambda by: autonomy.set_kill_switch(session=session, on=turn_on, by=by),
                   "Kill switch on: nothing executes, L4 and L5 act as L3 drafts." if turn_on
                   else "Kill switch off: every level is as the policy sets it.")


# --- manager dashboard ---------------------------------------------------------------------------------------

@router.get("/dashboard")
def dashboard_page(request: Request, session: Session = Depends(get_session)) -> Response:
    user = served_user(session)
    owners = visible_owner_ids(session=session, user=user)
    if user is None or user.role in SEES_EVERYTHING:
        scope = "everyone's"
    elif owners == {user.id}:
        scope = "your own"
    else:
        scope = "your team's"
    return templates.TemplateResponse(request, "dashboard.html", {
        "stats": acceptance(session=session, owners=owners), "scope": scope, "user": user,
        "team_size": len(owners) if owners is not None else None})


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


templates.env.filters["percent"] = _percent
