"""Who a web request is for, and CSRF protection. The sign-in page itself is in `auth/views.py`.

Who a request is for, in this order:
- `Authorization: Bearer sl_...`: an API token (scripts); a token that is unknown or revoked is a 401;
- `X-Embed-Token` (or `?token=` on an /embed/ page): an embed link's token (auth/service.py), good for one record's
  pages only (`/embed/{kind}/{id}` and `/{kind}/{id}/...`); elsewhere it is a 403, and an expired or altered one
  a 401 page, never a sign-in redirect (inside another CRM's iframe nobody can sign in);
- the signed session cookie of someone who signed in on `/signin` (Starlette's SessionMiddleware, itsdangerous);
- nobody: pages redirect to `/signin`, the API answers 401.
A server started without sign-in (`create_app(sign_in=False)`: tests and a local operator) serves everything as the
local operator, and there `?as=USER` previews what that user would see.

CSRF: every state-changing request made with the session cookie must carry the session's token, as the form field
`csrf_token` or the `X-CSRF-Token` header (htmx sends it from <body hx-headers>). Written here rather than taken
from starlette-csrf because plain HTML forms (the pages work without JavaScript) cannot send a header, and the
token lives in the signed session we already have. Requests with a bearer token or an embed token header carry
no ambient credentials (a browser sends neither on its own) and need none.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from sellerloop.access.service import AccessDenied
from sellerloop.auth.service import (
    EMBED_KINDS,
    EmbedGrant,
    EmbedTokenInvalid,
    read_embed_token,
    user_for_session,
    user_for_token,
)
from sellerloop.errors import SellerloopError
from sellerloop.records.models import User

SESSION_ID = "session"  # the cookie names a server-side session (auth.models.WebSession), never the user
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
EMBED_HEADER = "x-embed-token"
EMBED_PREFIX = "/embed/"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PREFIXES = ("/signin", "/static/", "/healthz", "/docs", "/api/openapi.json")


class SignInRequired(SellerloopError):
    """Nobody is signed in (or the token is not valid). Not permanent: sign in and ask again."""

    exit_code = 2
    http_status = 401
    permanent = False


class CsrfRefused(SellerloopError):
    exit_code = 2
    http_status = 403


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (templates put it in forms and in htmx's headers). None on a
    page rendered outside the session middleware (an error answered before it): such a page has no forms."""
    if "session" not in request.scope:
        return ""
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def request_user(request: Request, session: Session) -> User | None:
    """Who this request is for (see the module's docstring); raises SignInRequired where someone must be."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user = user_for_token(session=session, token=header[7:].strip())
        if user is None:
            raise SignInRequired("the API token is not valid (unknown, revoked or mistyped)")
        request.state.bearer = True
        return user
    grant = embed_grant(request)
    if grant is not None:
        user = session.get(User, grant.user_id)
        if user is None:
            raise EmbedTokenInvalid("this embed link is for a user who is no longer here")
        return user
    if not request.app.state.sign_in:
        return None
    session_id = request.session.get(SESSION_ID)
    user = user_for_session(session=session, session_id=session_id) if isinstance(session_id, str) else None
    if user is None and not request.url.path.startswith(PUBLIC_PREFIXES):
        raise SignInRequired("sign in first")
    return user


def embed_grant(request: Request) -> EmbedGrant | None:
    """The embed token this request carries, checked: None without one; EmbedTokenInvalid (401) when it is
    expired or altered, or missing on an /embed/ page; AccessDenied (403) on a page of any other record."""
    token = request.headers.get(EMBED_HEADER)
    path = request.url.path
    if token is None and path.startswith(EMBED_PREFIX):
        token = request.query_params.get("token")
        if token is None:
            raise EmbedTokenInvalid("this page opens from an embed link, with its ?token=")
    if token is None:
        return None
    grant = read_embed_token(secret=request.app.state.secret_key, token=token)
    home = f"/{EMBED_KINDS.get(grant.kind, '-')}/{grant.record_id}"
    if not (path == EMBED_PREFIX[:-1] + home or path.startswith((EMBED_PREFIX[:-1] + home + "/", home + "/"))):
        raise AccessDenied(f"this embed link is for {grant.record} only")
    request.state.embed_token = token  # the embed page hands it on to the panels it loads
    return grant


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: a state-changing request on the session cookie carries the session's token."""
    if request.method not in UNSAFE_METHODS or getattr(request.state, "bearer", False) or \
            request.headers.get("authorization", "")[:7].lower() == "bearer ":
        return
    if request.headers.get(EMBED_HEADER) is not None:
        read_embed_token(secret=request.app.state.secret_key, token=request.headers[EMBED_HEADER])  # 401 if not
        return
    expected = request.session.get(SESSION_CSRF)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise CsrfRefused("the form is out of date or did not come from this site (CSRF check): reload the page "
                          "and try again")


def signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)
