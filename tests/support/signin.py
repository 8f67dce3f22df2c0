"""Signing in as a person would: the sign-in form over HTTP (with its CSRF token) or in a browser."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    return CSRF_TOKEN.search(html).group(1)


def sign_in(client: httpx.Client, *, login: str, password: str, next: str | None = None) -> httpx.Response:
    """Fill in /signin and send it; the answer must be the redirect to `next` (or, without one, to /)."""
    data = {"login": login, "password": password, "csrf_token": csrf_of(client.get("/signin").text)}
    if next is not None:
        data["next"] = next
    landed = client.post("/signin", data=data)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == (next or "/")
    return landed


@contextmanager
def signed_in(base_url: str, *, login: str, password: str, next: str | None = None,
              timeout: float = 60) -> Iterator[httpx.Client]:
    """A client with the session cookie of `login`, signed in through the form."""
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        sign_in(client, login=login, password=password, next=next)
        yield client


def sign_in_browser(page, *, signin_url: str, login: str, password: str) -> None:
    """Sign in on the page at `signin_url` (with its ?next=) by the labels a person reads."""
    page.goto(signin_url)
    page.get_by_label("User id or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def with_csrf(client, page: str = "/accounts"):
    """`client` (httpx or Starlette's TestClient) sending its session's CSRF token on every request, as htmx does
    from the page's <body hx-headers>: what a browser's script needs to POST JSON with the session cookie."""
    client.headers["X-CSRF-Token"] = CSRF_HEADER.search(client.get(page).text).group(1)
    return client

