"""Deciding in place: approve, edit then approve, or reject an agent's draft or a pending approval; undo what was
done; the approval inboxes (mine, and my team's for managers).

- `POST /decisions`: one form for both kinds of thing a person decides on: a draft from a panel (`offer`, the
  sealed proposal from approvals/drafts.py) or a stored approval (`approval`, its id). The edited fields come
  as form fields named after the payload's (only those an approver may edit: EDITABLE). With htmx it answers
  the decision block that replaces the form; without JavaScript it redirects back to the page it came from.
- `POST /executions/{id}/undo`: roll an execution back (executor.rollback), same answers.
- `GET /inbox`, `GET /inbox/team`: pending approvals on my records, and on my team's.

A decision is committed before the action is carried out (pipeline/placement.carry_out), as on the CLI: a failed
execution never loses the decision. Who may decide is the approvals service's to say (record access, then the
team's Cedar `approve` rule); these views only turn forms into calls and answers into HTML.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import AccessDenied, visible_owner_ids
from sellerloop.actions.catalogue import get_action
from sellerloop.agents.models import AgentRun
from sellerloop.approvals.drafts import describe, unseal
from sellerloop.approvals.models import EDITABLE, Approval, Proposal, State
from sellerloop.approvals.service import (
    get_approval,
    list_approvals,
    require_decider,
)
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.evidence.sources import field_label
from sellerloop.executor.models import Execution
from sellerloop.executor.service import rollback
from sellerloop.pipeline.decisions import approve_pending, reject_pending, take_up_offer
from sellerloop.pipeline.offers import offered
from sellerloop.policy.levels import placement_for
from sellerloop.records.refs import RecordRef, get_record, owner_of
from sellerloop.records.service import opportunity_view
from sellerloop.web.deps import get_session, templates

router = APIRouter(include_in_schema=False)

MAX_FIELD_CHARS = 20_000
RECORD_PAGES = {"opportunity": "opportunities", "account": "accounts"}


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def record_href(subject: str) -> str | None:
    ref = RecordRef.of(subject)
    page = RECORD_PAGES.get(ref.kind)
    return f"/{page}/{url_quote(ref.id, safe='')}" if page else None


def record_name(*, session: Session, subject: str) -> str:
    """The name a person knows a record by ("Initech — GTX Pro"), else its id."""
    ref = RecordRef.of(subject)
    record = get_record(session=session, ref=ref) if ref.kind in ("opportunity", "account") else None
    return record.name if record is not None else ref.id


def offer_view(*, proposal: Proposal, approval: Approval | None, dom_id: str, token: str | None = None,
               waiting: str | None = None, error: str | None = None, back: str | None = None) -> dict:
    """What the decision block shows (templates/_decision.html): the action, its payload as a form or a diff,
    and where it stands. `approval` is None for a draft nobody has acted on yet (then `token` carries it)."""
    state = approval.state if approval is not None else None
    payload = approval.payload if approval is not None else proposal.payload
    spec = get_action(proposal.action)
    execution_id = next((d.execution_id for d in reversed(approval.history) if d.execution_id), None) \
        if approval is not None else None
    return {
        "dom_id": dom_id, "action": proposal.action, "action_title": spec.title, "risk": proposal.risk.value,
        "level": proposal.level, "placement": placement_for(proposal.level) if proposal.level else None,
        "payload": payload, "proposed": proposal.payload, "token": token,
        "approval_id": approval.id if approval is not None else None,
        "state": state.value if state is not None else None,
        "status": describe(approval) if approval is not None else None,
        "decidable": state in (None, State.proposed),
        "editable": EDITABLE.get(proposal.action, ()),
        "execution_id": execution_id, "undoable": state is State.executed,
        "field_label": field_label(payload.get("field", "")) if proposal.action == "update_field" else None,
        "record_href": record_href(proposal.subject), "subject": proposal.subject,
        "task_anchor": f"#task-task-{execution_id}" if execution_id and proposal.action == "create_task" else None,
        "waiting": waiting, "error": error, "reason": proposal.reason, "sources": proposal.sources,
        "merged": approval.merged if approval is not None else 0, "back": back,
    }


def panel_offers(*, session: Session, run: AgentRun, subject: str | None, secret: str, back: str) -> list[dict | None]:
    """The decision block of each item of a panel (None for an item that offers no action): a fresh draft sealed
    for the form, or what became of the same ask before (pending, approved, rejected, done), by the same rule as
    the API (pipeline/offers.offered). `subject` is the record the actions act on."""
    views: list[dict | None] = []
    for n, found in enumerate(offered(session=session, run=run, record=subject, secret=secret), 1):
        if found.offer is None:
            views.append(None)
            continue
        before = found.decision
        views.append(offer_view(proposal=found.offer if before is None else before.proposal, approval=before,
                                dom_id=f"offer-{run.use_case}-{n}", token=found.token, back=back))
    return views


def _person(session: Session) -> str:
    user = served_user(session)
    if user is None:
        raise BadInput("sign in to decide: a decision needs a person (this server serves the local operator; "
                       "add ?as=USER to act as one)")
    return user.id


def _edits(action: str, form) -> dict | None:
    """The approver's values for the editable fields sent with the form; None when none was sent."""
    edits = {}
    for name in EDITABLE.get(action, ()):
        value = form.get(f"edit_{name}")
        if isinstance(value, str):
            if len(value) > MAX_FIELD_CHARS:
                raise BadInput(f"{name}: at most {MAX_FIELD_CHARS} characters")
            edits[name] = value.strip() if name != "body" else value.replace("\r\n", "\n").strip("\n")
    return edits or None


def _back(request: Request, form) -> str:
    target = form.get("back")
    return target if isinstance(target, str) and target.startswith("/") and not target.startswith("//") \
        else "/inbox"


def _answer(request: Request, form, view: dict, status: int = 200) -> Response:
    if _is_htmx(request):
        response = templates.TemplateResponse(request, "_decision.html", {"o": view}, status_code=status)
        if status == 200 and view.get("state") in ("executed", "rolled_back"):
            # The record changed (a task made or removed, a field written): its page reloads what shows it.
            response.headers["HX-Trigger"] = "records-changed"
        return response
    if view.get("error"):
        return templates.TemplateResponse(request, "error.html", {
            "status": status, "title": "Not done", "message": view["error"]}, status_code=status)
    return RedirectResponse(_back(request, form) + f"#{view['dom_id']}", status_code=303)


@router.post("/decisions", response_class=HTMLResponse)
async def decide(request: Request, session: Session = Depends(get_session)) -> Response:
    form = await request.form()
    decision, dom_id = form.get("decision"), str(form.get("dom_id") or "decision")[:100]
    token, approval_id = form.get("offer"), form.get("approval")
    reason = form.get("reason") if isinstance(form.get("reason"), str) else None
    try:  # what is being decided on; a refusal here has no offer to show again, only its message
        if decision not in ("approve", "reject"):
            raise BadInput("decision: approve or reject")
        if bool(token) == bool(approval_id):
            raise BadInput("send either offer (a draft from a panel) or approval (an approval's id)")
        if token:
            proposal, current = unseal(str(token), secret=request.app.state.secret_key), None
        else:
            current = get_approval(session=session, approval_id=str(approval_id)[:100], user_id=_person(session))
            proposal = current.proposal
    except SellerloopError as e:
        if not _is_htmx(request):
            raise
        return templates.TemplateResponse(request, "_decision.html", {"o": {"dom_id": dom_id, "error": e.one_line()}},
                                          status_code=e.http_status)
    try:  # decided, committed, then carried out: the same calls as the API's (pipeline/decisions.py)
        user_id = _person(session)
        edits = _edits(proposal.action, form)
        if decision == "reject" and not (reason or "").strip():
            raise BadInput("reason: say why you reject it (the agent learns from it)")
        if token:
            done = take_up_offer(session=session, proposal=proposal, user_id=user_id,
                                 approved=decision == "approve", edits=edits, reason=reason)
        elif decision == "approve":
            done = approve_pending(session=session, approval_id=current.id, user_id=user_id, edits=edits)
        else:
            done = reject_pending(session=session, approval_id=current.id, user_id=user_id, reason=reason.strip())
    except SellerloopError as e:
        session.rollback()
        view = offer_view(proposal=proposal, approval=current, dom_id=dom_id, token=token or None,
                          error=e.one_line(), back=_back(request, form))
        return _answer(request, form, view, status=e.http_status)
    decided = done.approval.approval
    return _answer(request, form, offer_view(proposal=decided.proposal, approval=decided, dom_id=dom_id,
                                             waiting=done.waiting, back=_back(request, form)))


@router.post("/executions/{execution_id}/undo", response_class=HTMLResponse)
async def undo(request: Request, execution_id: str, session: Session = Depends(get_session)) -> Response:
    form = await request.form()
    dom_id = str(form.get("dom_id") or "decision")[:100]
    user_id = _person(session)
    execution = session.get(Execution, execution_id[:100])
    if execution is None:
        raise NotFound(f"no execution with id {execution_id!r}")
    approval = get_approval(session=session, approval_id=execution.approval_id, user_id=user_id)
    try:
        # Undoing is a decision on the record as much as approving: the same person must be allowed to make it.
        require_decider(session=session, subject=approval.proposal.subject, user_id=user_id)
        rollback(session=session, execution_id=execution.id, by=user_id)
    except SellerloopError as e:
        session.rollback()
        return _answer(request, form, offer_view(proposal=approval.proposal, approval=approval, dom_id=dom_id,
                                                 error=e.one_line(), back=_back(request, form)),
                       status=e.http_status)
    session.commit()
    approval = get_approval(session=session, approval_id=execution.approval_id)
    return _answer(request, form, offer_view(proposal=approval.proposal, approval=approval, dom_id=dom_id,
                                             back=_back(request, form)))


# --- inboxes ------------------------------------------------------------------------------------------------------

INBOX_LIMIT = 200  # the newest pending approvals shown; a longer queue is a sign the caps are too loose


def _inbox(request: Request, session: Session, *, team: bool) -> Response:
    user = served_user(session)
    owners = visible_owner_ids(session=session, user=user)
    pending = list_approvals(session=session, user_id=user.id if user else None, state=State.proposed.value)
    mine_only = [a for a in pending if user is None or _owner(session, a) == user.id]
    if team:
        if user is not None and user.role not in ("manager", "admin", "revops"):
            raise AccessDenied("the team inbox is for managers: yours is /inbox")
        shown = [a for a in pending if user is None or _owner(session, a) != user.id]
    else:
        shown = mine_only
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    entries = [{"approval": a, "owner": _owner(session, a), "href": record_href(a.proposal.subject),
                "name": record_name(session=session, subject=a.proposal.subject),
                "o": offer_view(proposal=a.proposal, approval=a, dom_id=f"approval-{n}", back=request.url.path),
                "expires_in": (a.proposal.expires_at - now).days if a.proposal.expires_at else None}
               for n, a in enumerate(shown[:INBOX_LIMIT], 1)]
    return templates.TemplateResponse(request, "inbox.html", {
        "entries": entries, "team": team, "total": len(shown), "limit": INBOX_LIMIT,
        "team_size": None if owners is None else len(owners),
        "can_see_team": user is None or user.role in ("manager", "admin", "revops")})


def _owner(session: Session, approval: Approval) -> str | None:
    return owner_of(session=session, ref=RecordRef.of(approval.proposal.subject))


@router.get("/inbox", response_class=HTMLResponse)
def my_inbox(request: Request, session: Session = Depends(get_session)) -> Response:
    return _inbox(request, session, team=False)


@router.get("/inbox/team", response_class=HTMLResponse)
def team_inbox(request: Request, session: Session = Depends(get_session)) -> Response:
    return _inbox(request, session, team=True)


@router.get("/opportunities/{opportunity_id}/tasks", response_class=HTMLResponse)
def opportunity_tasks(request: Request, opportunity_id: str, session: Session = Depends(get_session)) -> Response:
    """The deal page's task list alone, for htmx to reload after a decision created or undid a task."""
    view = opportunity_view(session=session, opportunity_id=opportunity_id)
    return templates.TemplateResponse(request, "_tasks.html", {"view": view, "o": view.opportunity})
