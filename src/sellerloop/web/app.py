"""The web app: server-rendered record pages (Jinja2 + htmx) and, under /api, JSON.

`create_app(engine=...)` is the only entry point; `sellerloop serve` and `sellerloop demo` call it, and the
tests serve it with uvicorn on a loopback port. Each request gets its own session (`web/deps.py: get_session`). Errors
a person can act on (SellerloopError, bad query parameters, unknown paths) become their 4xx status with a
one-line message: an HTML page for browsers, `{"detail": message}` for /api paths and JSON clients. Never a
traceback.
"""
from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from swagger_ui_bundle import swagger_ui_path

from sellerloop.agents import views as agents_api
from sellerloop.approvals import views as approvals_api
from sellerloop.audit import views as audit_api
from sellerloop.auth import views as auth_views
from sellerloop.auth.service import SignInThrottle, session_secret
from sellerloop.cards import views as card_views
from sellerloop.config import get_settings
from sellerloop.errors import SellerloopError
from sellerloop.executor import views as executions_api
from sellerloop.outcomes import views as outcomes_api
from sellerloop.policy import views as policy_api
from sellerloop.records import views as records_api
from sellerloop.web import agent_views, decision_views, home, pages, tuning_pages, views
from sellerloop.web.deps import error_response, wants_json
from sellerloop.web.identity import SignInRequired, csrf_protect, signin_redirect

log = logging.getLogger("sellerloop.web")
HERE = Path(__file__).parent

# The routers that serve pages for people (HTML, forms, .eml downloads): kept out of the API's OpenAPI document,
# which describes only what a program calls.
PAGE_ROUTERS = [auth_views.router, home.router, views.router, pages.router, tuning_pages.router, agent_views.router,
                decision_views.router]
# Every router the app serves, in one place: pages first, then the JSON API, then the CRM integrations.
ROUTERS = PAGE_ROUTERS + [records_api.router, agents_api.router, approvals_api.router, executions_api.router,
                          outcomes_api.router, audit_api.router, policy_api.router, card_views.router]


def _validation_message(exc: RequestValidationError) -> str:
    """`page=abc` -> "page: Input should be a valid integer ... (got 'abc')": one line naming the parameter"""
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        got = f" (got {error['input']!r})" if isinstance(error.get("input"), str | int | float) else ""
        parts.append(f"{name or 'request'}: {error.get('msg', 'invalid value')}{got}")
    return "; ".join(parts) or "invalid request"


API_DESCRIPTION = (
    "Records, agent runs, recommendations, drafts, approvals, executions, rollback, outcomes, audit and policy. "
    "Authenticate with `Authorization: Bearer <token>` (`sellerloop users token USER`). Every answer holds only "
    "what that user may see; errors are JSON `{\"detail\": \"one line\"}` with a 4xx status.")


DOCS_ASSETS = "/docs/assets"

# No form or JSON body here comes near a megabyte (an import goes through the CLI): FastAPI refuses a larger one
# with a 413 before anything parses it, by its Content-Length or by counting a streamed body.
MAX_BODY_BYTES = 1_000_000


class FramingHeaders:
    """Nobody may frame our pages (clickjacking on approve buttons), except the /embed/ pages, which the CRMs in
    SELLERLOOP_EMBED_FRAME_ANCESTORS may. Plain ASGI rather than @app.middleware: it runs on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        embed = scope["path"].startswith("/embed/")

        async def send_framed(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if embed:
                    headers["Content-Security-Policy"] = f"frame-ancestors {get_settings().embed_frame_ancestors}"
                else:
                    headers["Content-Security-Policy"] = "frame-ancestors 'none'"
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_framed)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # What is alive once the app has started (modules, templates, the policy, Cedar's text) lives as long as the
    # process: frozen out of the collector's sight, a full collection no longer walks it on every pass. Under
    # load that cut the card's full collections from 55-87 ms to under 12 ms (docs/BENCHMARKS.md).
    gc.collect()
    gc.freeze()
    yield


def create_app(*, engine: Engine, sign_in: bool = True, secret_key: str | None = None) -> FastAPI:
    """The web app. `sign_in=False` serves everything as the local operator (tests of pages, a single-user
    install on loopback); the default asks everyone to sign in (web/identity.py)."""
    app = FastAPI(title="sellerloop", description=API_DESCRIPTION, docs_url=None, lifespan=_lifespan,
                  openapi_url="/api/openapi.json", redoc_url=None, dependencies=[Depends(csrf_protect)],
                  max_body_size=MAX_BODY_BYTES)
    app.state.engine = engine
    app.state.sign_in = sign_in
    # Signs session cookies and the short-lived tokens pages hand out (drafts to decide on, embed links).
    app.state.secret_key = secret_key or session_secret(get_settings().home)
    app.state.sign_in_throttle = SignInThrottle()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router, include_in_schema=not any(router is page for page in PAGE_ROUTERS))

    # The API docs from files shipped in a package (swagger-ui-bundle-v2), not a CDN: they work with no internet.
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> Response:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="sellerloop API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url="/favicon.ico")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @app.middleware("http")
    async def refuse_nul_characters(request: Request, call_next):
        # PostgreSQL cannot hold a NUL in a string, so "/accounts/%00" would fail deep in the driver as a 500.
        # No id or search ever contains one: refuse it up front as bad input, on every backend alike.
        if "\x00" in request.url.path or any("\x00" in k or "\x00" in v
                                             for k, v in request.query_params.multi_items()):
            return error_response(request, 400, "the address contains a NUL character (%00)")
        return await call_next(request)

    # Added last, so outermost: every page, error pages included, has the session. A signed (not encrypted)
    # cookie holding the session id and the CSRF token; Lax keeps it off cross-site posts.
    app.add_middleware(FramingHeaders)
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret_key,
                       session_cookie="sellerloop_session", max_age=12 * 3600, same_site="lax",
                       https_only=get_settings().public_url.startswith("https://"))  # Secure when served over TLS

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        if wants_json(request) or request.headers.get("authorization"):
            return JSONResponse({"detail": exc.one_line()}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return signin_redirect(request)

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
        # Keep what the exception says besides: a 405 names the methods it allows (Allow), as HTTP requires.
        return error_response(request, exc.status_code, str(message), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # A bug, not bad input: log it with its traceback for the operator, show the user one line only.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "an unexpected error happened; it has been logged")

    return app


__all__ = ["ROUTERS", "create_app"]
