"""What every route of the web app depends on: the request's session (serving the person the request is for), the
templates with their filters, and the one-line error answer (an HTML page for people, JSON for programs).

Routers in every domain package import from here, and `web/app.py` imports the routers: this module never imports a
router, so the app can import them all at the top (Dispatch keeps its session dependency in `database/core.py` the
same way).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from sellerloop.access.fields import bind_viewer, is_masked
from sellerloop.access.service import SEES_EVERYTHING, AccessDenied, get_user
from sellerloop.auth.service import TOKEN_USED, note_token_use
from sellerloop.errors import BadInput
from sellerloop.store.db import session_scope
from sellerloop.web.identity import csrf_token, request_user
from sellerloop.web.marks import mark_quotes

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def money(value) -> str:
    return "" if value is None else f"${value:,.0f}"


def musd(value) -> str:
    return "" if value is None else f"${value:,.1f} M"


def number(value) -> str:
    return "" if value is None else f"{value:,}"


def day(value) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


def when(value) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def mmss(seconds: float | None) -> str:
    """12.5 -> "0:12", 754 -> "12:34", 3725 -> "1:02:05"; "" when the utterance is not timed."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


templates.env.globals["masked"] = is_masked
templates.env.globals["csrf_token"] = csrf_token  # in forms and in htmx's headers (web/identity.py)
templates.env.globals["signed_in"] = lambda request: getattr(request.state, "signed_in", None)
@jinja2.pass_context
def _insider(context) -> bool:
    """Who sees how sellerloop works inside (levels, scores, composers, policy keys): admins, RevOps, and the local
    operator of a single-user install; a seller and a manager see plain language, with the details one click away."""
    request = context.get("request")
    me = getattr(request.state, "signed_in", None) if request is not None else None
    return me is None or me["role"] in SEES_EVERYTHING


templates.env.globals["insider"] = _insider
templates.env.filters.update(money=money, musd=musd, number=number, day=day, when=when, mmss=mmss,
                             marked=mark_quotes)

STATUS_TITLES = {400: "Bad request", 401: "Sign in", 403: "Not allowed", 404: "Not found", 405: "Method not allowed",
                 409: "Conflict", 422: "Bad request", 500: "Something went wrong"}


VIEWER_PARAM = "as"
MAX_USER_ID = 64


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, serving the person the request is for (web/identity.py: an API token, the signed-in
    user). Every page, panel and API answer then holds only the records they may see, with the sensitive fields
    they may not see masked (records.service, access/fields.py). An error rolls back whatever the request did.

    On a server started without sign-in the request is the local operator's, as on the CLI without `--as`, and
    `?as=USER_ID` previews what that user would see. With sign-in, `?as=` may only name the person signed in."""
    as_user = request.query_params.get(VIEWER_PARAM)
    if as_user is not None and (not as_user.strip() or len(as_user) > MAX_USER_ID):
        raise BadInput(f"{VIEWER_PARAM}: a user id of 1 to {MAX_USER_ID} characters is required")
    with session_scope(request.app.state.engine) as session:
        user = request_user(request, session)
        if as_user is not None:
            if user is None and not request.app.state.sign_in:
                user = get_user(session=session, user_id=as_user)
            elif user is None or as_user != user.id:
                raise AccessDenied(f"{VIEWER_PARAM}={as_user}: you are signed in as someone else")
        # What templates show of the person: plain values, which outlive the session (error pages render after it).
        request.state.signed_in = {"id": user.id, "name": user.name, "role": user.role} if user else None
        if user is not None:
            bind_viewer(session, user=user)
        yield session
    token_used = session.info.get(TOKEN_USED)
    if token_used is not None:  # now that the request's connection is back in the pool (auth/service.py)
        note_token_use(engine=request.app.state.engine, token_id=token_used)


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return templates.TemplateResponse(
        request, "error.html",
        {"status": status, "title": STATUS_TITLES.get(status, "Error"), "message": message},
        status_code=status, headers=headers)


def plain_session(request: Request) -> Iterator[Session]:
    """A session for no one in particular: signing in and out, before anyone is known."""
    with session_scope(request.app.state.engine) as session:
        yield session
