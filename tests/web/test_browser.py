"""The record pages in a real browser: Playwright driving the system Chromium against the live server."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sellerloop.records.service import account_view
from tests.web.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser



def test_an_account_page_lists_its_opportunities_and_links_to_them(page, web_server, web_session, web_store):
    account_id = web_store.ids["account"]
    view = account_view(session=web_session, account_id=account_id)
    page.goto(web_server.url(f"/accounts/{account_id}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancity")
    rows = page.locator("#opportunities-table tbody tr")
    expect(rows).to_have_count(len(view.opportunities))

    first = view.opportunities[0]
    page.locator("#opportunities-table").get_by_role("link", name=first.name, exact=True).first.click()
    page.wait_for_url(f"**/opportunities/{first.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(first.name)
    expect(page.locator("#account-link")).to_have_attribute("href", f"/accounts/{account_id}")


def test_an_activity_body_opens_from_its_summary(page, web_server, web_store):
    page.goto(web_server.url(f"/accounts/{web_store.ids['account']}"))
    email = page.locator("#activity-act-web-email")
    body = email.locator("details .body")
    expect(body).to_be_hidden()
    email.locator("summary").click()
    expect(body).to_be_visible()
    expect(body).to_contain_text("Here is the agenda for Monday")


def test_a_transcript_opened_at_an_utterance_highlights_it(page, web_server, web_store):
    page.goto(web_server.url(f"/transcripts/{web_store.ids['timed_transcript']}#u-5"))
    assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == "u-5"
    target = page.locator("#u-5")
    expect(target).to_be_in_viewport()
    expect(target).to_contain_text("How long does that take each week?")
    background = target.evaluate("e => getComputedStyle(e).backgroundColor")
    plain = page.locator("#u-6").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background != plain  # :target gets the highlight colour, its neighbour does not
    page.locator("#back-to-opportunity").click()
    page.wait_for_url(f"**/opportunities/{web_store.ids['opportunity']}")


def test_a_time_span_scrolls_to_and_highlights_its_utterances(page, web_server, web_store):
    page.set_viewport_size({"width": 1280, "height": 400})  # short, so the highlighted lines start off-screen
    page.goto(web_server.url(f"/transcripts/{web_store.ids['timed_transcript']}?t=60-65"))
    expect(page.locator(".utt.in-span")).to_have_count(1)
    expect(page.locator("#u-11")).to_have_class("utt in-span")
    expect(page.locator("#u-11")).to_be_in_viewport()


def test_the_account_search_is_live_with_htmx(page, maven_server):
    page.goto(maven_server.url("/accounts"))
    expect(page.locator("#accounts-table tbody tr")).to_have_count(25)
    page.evaluate("window.__same_document = true")  # survives only if htmx swaps, not if the page reloads
    page.get_by_label("Search accounts by name, sector or location").press_sequentially("cancity", delay=20)
    expect(page.locator("#accounts-table tbody tr")).to_have_count(1)
    expect(page.locator("#accounts-table")).to_contain_text("Cancity")
    assert page.evaluate("window.__same_document") is True
    page.wait_for_url("**/accounts?q=cancity")  # htmx pushed the search into the address bar


def test_the_account_search_works_without_javascript(browser, maven_server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(maven_server.url("/accounts"))
        page.get_by_label("Search accounts by name, sector or location").fill("retail")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**/accounts?q=retail")
        expect(page.locator("#accounts-table tbody tr").first).to_be_visible()
        expect(page.locator(".summary")).to_contain_text("matching “retail”")
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/accounts", "/accounts/cancity", "/opportunities",
                                  "/transcripts/tr-web-timed#u-5"])
def test_pages_fit_a_narrow_window(browser, web_server, web_store, path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(web_server.url(path))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a 390px window"
    finally:
        context.close()


def test_every_form_control_has_a_label(page, web_server):
    for path in ("/accounts", "/opportunities"):
        page.goto(web_server.url(path))
        unlabeled = page.evaluate("""[...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                         && !e.getAttribute('aria-label'))
            .map(e => e.name)""")
        assert unlabeled == [], f"{path}: controls without a label: {unlabeled}"


# --- screenshots for the docs -------------------------------------------------------------------------------

def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_screenshots_of_the_account_and_transcript_pages(browser, screenshot_server):
    live, ids = screenshot_server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(live.url(f"/accounts/{ids['shot_account']}"))
        page.wait_for_load_state("networkidle")
        height = min(page.evaluate("document.documentElement.scrollHeight"), 2400)
        page.screenshot(path=SCREENSHOTS / "account.png", full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": height})

        page.goto(live.url(f"/transcripts/{ids['shot_transcript']}?t={ids['shot_span']}#u-5"))
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")  # show the title and the way back; #u-5 stays the :target
        page.screenshot(path=SCREENSHOTS / "transcript.png")
    finally:
        context.close()
    for name in ("account.png", "transcript.png"):
        width, height = _png_size(SCREENSHOTS / name)
        assert width == 1280 and height >= 600, (name, width, height)
