"""The web app: server-rendered record pages (Jinja2 + htmx) and, under /api, JSON.

`create_app(engine=...)` is the only entry point; `sellerloop serve` and `sellerloop demo` call it, and the
tests serve it with uvicorn on a loopback port. Each request gets its own session (`get_session`). Errors
a person can act on (SellerloopError, bad query parameters, unknown paths) become their 4xx status with a
one-line message: an HTML page for browsers, `{"detail": message}` for /api paths and JSON clients. Never a
traceback.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from sellerloop.errors import BadInput, SellerloopError
from sellerloop.policy.fields import bind_viewer, is_masked
from sellerloop.store.db import session_scope
from sellerloop.web.marks import mark_quotes

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
log = logging.getLogger("sellerloop.web")


def _money(value) -> str:
    return "" if value is None else f"${value:,.0f}"


def _musd(value) -> str:
    return "" if value is None else f"${value:,.1f} M"


def _number(value) -> str:
    return "" if value is None else f"{value:,}"


def _day(value) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


def _when(value) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def mmss(seconds: float | None) -> str:
    """12.5 -> "0:12", 754 -> "12:34", 3725 -> "1:02:05"; "" when the utterance is not timed."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


templates.env.globals["masked"] = is_masked  # policy/fields.py: a sensitive field this viewer may not see
templates.env.filters.update(money=_money, musd=_musd, number=_number, day=_day, when=_when, mmss=mmss,
                             marked=mark_quotes)

STATUS_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 409: "Conflict",
                 422: "Bad request", 500: "Something went wrong"}


VIEWER_PARAM = "as"
MAX_USER_ID = 64


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, serving the person the request is for. Pages only read; an error rolls back
    whatever the request did.

    The person is `?as=USER_ID` until sign-in lands (then it is the signed-in user): every page, panel and API
    answer then holds only the records they may see, with the sensitive fields they may not see masked
    (records.service, policy/fields.py). Without it the request is the local operator's, as on the CLI."""
    from sellerloop.policy.access import get_user

    user_id = request.query_params.get(VIEWER_PARAM)
    with session_scope(request.app.state.engine) as session:
        if user_id is not None:
            if not user_id.strip() or len(user_id) > MAX_USER_ID:
                raise BadInput(f"{VIEWER_PARAM}: a user id of 1 to {MAX_USER_ID} characters is required")
            bind_viewer(session, user=get_user(session=session, user_id=user_id))
        yield session


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return templates.TemplateResponse(
        request, "error.html",
        {"status": status, "title": STATUS_TITLES.get(status, "Error"), "message": message},
        status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    """`page=abc` -> "page: Input should be a valid integer ... (got 'abc')": one line naming the parameter"""
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        got = f" (got {error['input']!r})" if isinstance(error.get("input"), str | int | float) else ""
        parts.append(f"{name or 'request'}: {error.get('msg', 'invalid value')}{got}")
    return "; ".join(parts) or "invalid request"


def create_app(*, engine: Engine) -> FastAPI:
    # here, not at the top: the views import get_session and templates from us
    from sellerloop.web import agent_views, views

    app = FastAPI(title="sellerloop", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.engine = engine
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(views.router)
    app.include_router(agent_views.router)

    @app.middleware("http")
    async def refuse_nul_characters(request: Request, call_next):
        # PostgreSQL cannot hold a NUL in a string, so "/accounts/%00" would fail deep in the driver as a 500.
        # No id or search ever contains one: refuse it up front as bad input, on every backend alike.
        if "\x00" in request.url.path or any("\x00" in k or "\x00" in v
                                             for k, v in request.query_params.multi_items()):
            return error_response(request, 400, "the address contains a NUL character (%00)")
        return await call_next(request)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    @app.exception_handler(SellerloopError)
    async def sellerloop_error(request: Request, exc: SellerloopError) -> Response:
        return error_response(request, exc.http_status, exc.one_line())

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        # 400 like BadInput, with one readable line instead of FastAPI's list of error dicts.
        return error_response(request, 400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else (
            f"there is no page at {request.url.path}")
        return error_response(request, exc.status_code, str(message))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # A bug, not bad input: log it with its traceback for the operator, show the user one line only.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "an unexpected error happened; it has been logged")

    return app


__all__ = ["create_app", "get_session", "templates"]
