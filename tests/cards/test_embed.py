"""Embed links: a record's panels inside another CRM's iframe, with a short-lived token and no cookie.

The server runs with sign-in on, and every request here is made by a fresh client holding no cookie, as a
browser inside a third-party iframe would.
"""
from __future__ import annotations

import html
import re
import time

import httpx
from itsdangerous import URLSafeTimedSerializer

from sellerloop.auth.service import EMBED_SALT, mint_embed_token, read_embed_token
from tests.cards.conftest import APP_SECRET, one_line_detail

HX = {"HX-Request": "true"}


def _mint(card_book, record: str, **body) -> httpx.Response:
    """POST /api/embed-links as the seller, with their API token."""
    kind, _, record_id = record.partition(":")
    return httpx.post(card_book.url("/api/embed-links"), json={kind: record_id} | body, timeout=30,
                      headers={"Authorization": f"Bearer {card_book.ids['token']}"})


def _token(url: str) -> str:
    return url.split("token=", 1)[1].split("#", 1)[0]


def test_an_embed_link_shows_the_record_and_its_panels_load_with_only_the_header(card_book):
    deal = card_book.ids["deal"]
    minted = _mint(card_book, f"opportunity:{deal}")
    assert minted.status_code == 200, minted.text
    link = minted.json()
    assert link["record"] == f"opportunity:{deal}" and link["minutes"] == 15
    page = httpx.get(link["url"], timeout=30)
    assert page.status_code == 200, page.text
    assert 'class="topbar"' not in page.text  # no site navigation inside someone else's CRM
    token = _token(link["url"])
    assert f'"X-Embed-Token": "{token}"' in html.unescape(page.text)  # <body hx-headers=...>: htmx sends it
    slots = re.findall(r'hx-get="([^"]+)"', page.text)
    assert f"/opportunities/{deal}/panels/next-action" in slots
    panel = httpx.get(card_book.url(slots[0]), headers=HX | {"X-Embed-Token": token}, timeout=60)
    assert panel.status_code == 200 and 'class="card agent-panel"' in panel.text and "panel-next-action" in panel.text
    # Without the header the same request is nobody's: sign-in is on, so it is sent to sign in.
    bare = httpx.get(card_book.url(slots[0]), headers=HX, timeout=30)
    assert bare.status_code == 303 and bare.headers["location"].startswith("/signin")


def test_an_expired_embed_token_is_a_401_page_not_a_sign_in_redirect(card_book):
    deal = card_book.ids["deal"]
    expired = URLSafeTimedSerializer(APP_SECRET, salt=EMBED_SALT).dumps(
        {"u": card_book.ids["seller"], "r": f"opportunity:{deal}", "x": int(time.time()) - 1})
    page = httpx.get(card_book.url(f"/embed/opportunities/{deal}?token={expired}"), timeout=30)
    assert page.status_code == 401 and "this embed link has expired" in page.text
    panel = httpx.get(card_book.url(f"/opportunities/{deal}/panels/next-action"), timeout=30,
                      headers=HX | {"X-Embed-Token": expired})
    assert panel.status_code == 401


def test_a_tampered_embed_token_is_a_401(card_book):
    deal = card_book.ids["deal"]
    token = _token(_mint(card_book, f"opportunity:{deal}").json()["url"])
    payload, stamp, signature = token.split(".")
    altered = ".".join((payload, stamp, ("A" if signature[0] != "A" else "B") + signature[1:]))
    page = httpx.get(card_book.url(f"/embed/opportunities/{deal}?token={altered}"), timeout=30)
    assert page.status_code == 401 and "not valid" in page.text
    # Signed with another server's secret: not ours either.
    foreign, _ = mint_embed_token(secret="another-server", user_id=card_book.ids["seller"],
                                  record=f"opportunity:{deal}")
    assert httpx.get(card_book.url(f"/embed/opportunities/{deal}?token={foreign}"), timeout=30).status_code == 401
    missing = httpx.get(card_book.url(f"/embed/opportunities/{deal}"), timeout=30)
    assert missing.status_code == 401 and "opens from an embed link" in missing.text


def test_a_token_for_one_record_is_refused_on_another(card_book):
    ids = card_book.ids
    token = _token(_mint(card_book, f"opportunity:{ids['deal']}").json()["url"])
    other = ids["huge_deal"]  # the seller's own deal too: the token, not the person, is what limits it
    page = httpx.get(card_book.url(f"/embed/opportunities/{other}?token={token}"), timeout=30)
    assert page.status_code == 403 and f"for opportunity:{ids['deal']} only" in page.text
    for path in (f"/opportunities/{other}/panels/next-action", f"/opportunities/{ids['deal']}", "/accounts"):
        refused = httpx.get(card_book.url(path), headers=HX | {"X-Embed-Token": token}, timeout=30)
        assert refused.status_code == 403, path
    run = httpx.post(card_book.url("/api/runs"), json={"use_case": "next-action", "opportunity": ids["deal"]},
                     headers={"X-Embed-Token": token}, timeout=30)
    assert run.status_code == 403
    # Nor can it mint itself a longer-lived link.
    relay = httpx.post(card_book.url("/api/embed-links"), json={"opportunity": ids["deal"], "minutes": 60},
                       headers={"X-Embed-Token": token}, timeout=30)
    assert relay.status_code == 403


def test_embed_pages_may_be_framed_by_the_crms_and_no_other_page_may(card_book, monkeypatch):
    from sellerloop.config import get_settings

    link = _mint(card_book, f"account:{card_book.ids['via_deal_account']}").json()
    embed = httpx.get(link["url"], timeout=30)
    assert embed.status_code == 200
    policy = embed.headers["content-security-policy"]
    assert policy.startswith("frame-ancestors 'self'") and "https://*.lightning.force.com" in policy
    assert "https://app.hubspot.com" in policy and "x-frame-options" not in embed.headers
    for path in ("/signin", "/healthz", "/accounts", f"/accounts/{card_book.ids['via_deal_account']}/panels/research"):
        response = httpx.get(card_book.url(path), timeout=30)
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'", path
        assert response.headers["x-frame-options"] == "DENY", path
    monkeypatch.setenv("SELLERLOOP_EMBED_FRAME_ANCESTORS", "https://crm.example.com")
    get_settings.cache_clear()
    framed = httpx.get(link["url"], timeout=30)
    assert framed.headers["content-security-policy"] == "frame-ancestors https://crm.example.com"


def test_embed_links_are_only_minted_for_records_the_person_may_see(card_book):
    refused = _mint(card_book, f"opportunity:{card_book.ids['foreign_deal']}")
    assert refused.status_code == 403 and "may not see opportunity" in one_line_detail(refused)
    assert _mint(card_book, "opportunity:no-such-deal").status_code == 404


def test_the_embed_link_api_says_what_is_wrong_in_one_line(card_book):
    deal = card_book.ids["deal"]
    too_long = _mint(card_book, f"opportunity:{deal}", minutes=61)
    assert too_long.status_code == 400 and "minutes" in one_line_detail(too_long)
    both = _mint(card_book, f"opportunity:{deal}", account=card_book.ids["via_deal_account"])
    assert both.status_code == 400 and "exactly one of opportunity or account" in one_line_detail(both)
    # Nobody's (no token, no cookie): refused before anything is minted.
    anonymous = httpx.post(card_book.url("/api/embed-links"), json={"opportunity": deal}, timeout=30)
    assert anonymous.status_code in (401, 403) and one_line_detail(anonymous)


def test_a_short_link_lives_as_long_as_asked(card_book):
    link = _mint(card_book, f"opportunity:{card_book.ids['deal']}", minutes=1).json()
    grant = read_embed_token(secret=APP_SECRET, token=_token(link["url"]))
    assert grant.user_id == card_book.ids["seller"] and grant.record == f"opportunity:{card_book.ids['deal']}"
    left = time.mktime(grant.expires_at.timetuple()) - time.mktime(time.gmtime())
    assert 50 <= left <= 61


def test_the_cli_prints_an_embed_link_that_opens_the_page(card_book, cli, monkeypatch):
    monkeypatch.setenv("SELLERLOOP_SECRET_KEY", APP_SECRET)  # the served app's secret
    deal = card_book.ids["deal"]
    printed = cli(card_book.handle, "embed-url", "--as", card_book.ids["seller"], "--opportunity", deal,
                  "--minutes", "5")
    assert printed.exit_code == 0, printed.stderr
    url = printed.stdout.strip()
    assert url.startswith(card_book.url(f"/embed/opportunities/{deal}?token="))
    assert httpx.get(url, timeout=30).status_code == 200


def test_the_cli_refuses_bad_input_with_one_line(card_book, cli):
    ids = card_book.ids
    for args, words in [(("--opportunity", ids["foreign_deal"]), "may not see opportunity"),
                        (("--opportunity", ids["deal"], "--minutes", "61"), "1 to 60 minutes"),
                        (("--opportunity", ids["deal"], "--account", ids["via_deal_account"]), "exactly one of"),
                        (("--account", "no-such-account"), "no account with id")]:
        result = cli(card_book.handle, "embed-url", "--as", ids["seller"], *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert words in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    missing = cli(card_book.handle, "embed-url", "--opportunity", ids["deal"])
    assert missing.exit_code == 2 and "--as" in missing.stderr
