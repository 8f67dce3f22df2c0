"""Signing in and out on the web: the `/signin` page and `/signout`. Who a request is for and the CSRF check are in
`web/identity.py`; the server-side sessions and the throttle in `auth/service.py`."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sellerloop.auth.service import SignInThrottle, TooManySignIns, authenticate, end_session, start_session
from sellerloop.web.deps import plain_session, templates
from sellerloop.web.identity import SESSION_ID, csrf_token

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only a path on this site: never an absolute URL or //host, so the sign-in page cannot be an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(request, "signin.html", {"next": _safe_next(next), "error": None})


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, login: str = Form(..., max_length=320), password: str = Form(..., max_length=1000),
           next: str = Form("/", max_length=2000), session: Session = Depends(plain_session)) -> Response:
    login, address = login.strip(), request.client.host if request.client else "unknown"
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    try:
        throttle.check(login=login, address=address)
    except TooManySignIns as e:
        return templates.TemplateResponse(request, "signin.html", {
            "next": _safe_next(next), "error": e.one_line(), "login": login}, status_code=429,
            headers={"Retry-After": str(e.retry_after)})
    user = authenticate(session=session, login=login, password=password)
    if user is None:
        throttle.failed(login=login, address=address)
        return templates.TemplateResponse(request, "signin.html", {
            "next": _safe_next(next), "error": "That user and password do not match.", "login": login},
            status_code=401)
    throttle.succeeded(login=login)
    request.session.clear()  # a new session on sign-in: no fixation of a session made before
    request.session[SESSION_ID] = start_session(session=session, user_id=user.id)
    session.commit()  # before the redirect is answered: the browser's next request must find the session
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/signout")
def signout(request: Request, session: Session = Depends(plain_session)) -> Response:
    session_id = request.session.get(SESSION_ID)
    if isinstance(session_id, str):
        end_session(session=session, session_id=session_id)  # a copy of the cookie is worth nothing from now on
        session.commit()
    request.session.clear()
    return RedirectResponse("/signin", status_code=303)
