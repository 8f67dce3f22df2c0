"""The newer agents' panels in a real browser (Playwright driving the system Chromium) on the demo book: they load
with htmx after the page, show their items with numbered source links, and a source link lands on the marked
quote. The screenshots go where test_panels_browser.py puts its own (docs/screenshots only with
`make screenshots`)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import DEMO_ACCOUNT, DRAFT_DEAL, SCREENSHOTS
from tests.web.test_agent_panels import demo_call, tidy_deal  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

AGENT_TIMEOUT = 30_000  # each panel runs its agent; generous for a busy test machine
DEAL_PANELS = ["next-action", "prep", "follow-up", "hygiene"]


def _loaded(page, use_case: str):
    panel = page.locator(f"#panel-{use_case}")
    expect(panel.locator(".agent-item").first).to_be_visible(timeout=AGENT_TIMEOUT)
    expect(panel.locator(".error-message")).to_have_count(0)
    return panel


def _lands_on_the_marked_quote(page, link) -> None:
    """Click a source link; the page it opens has the cited place in view with the quoted words marked."""
    link.click()
    page.wait_for_url(re.compile(r"#"))
    anchor = page.evaluate("decodeURIComponent(location.hash.slice(1))")
    target = page.locator(f'[id="{anchor}"]')
    expect(target).to_be_visible()
    expect(target).to_be_in_viewport(timeout=AGENT_TIMEOUT)  # also once the panels above it have arrived
    expect(page.locator("mark").first).to_be_visible()


def test_the_four_panels_load_on_an_opportunity_page_with_their_source_links(browser, demo_server, tidy_deal):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(demo_server.url(f"/opportunities/{tidy_deal}"))  # a deal with something in every panel
        order = page.locator(".agent-panel").evaluate_all("panels => panels.map(p => p.id)")
        assert order == [f"panel-{use_case}" for use_case in DEAL_PANELS]
        for use_case in DEAL_PANELS:
            panel = _loaded(page, use_case)
            expect(panel.get_by_role("heading", level=2)).to_be_visible()
            expect(panel.locator("h3").first).to_be_visible()
            expect(panel.locator("a.source-link").first).to_have_text(re.compile(r"^\[\d+\]$"))
        expect(page.locator("#panel-next-action .badge.action").first).to_be_visible()
        expect(page.locator("#panel-follow-up .email-draft .email-subject")).to_be_visible()
        if demo_server.backend == "sqlite":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / "deal-panels.png", full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("use_case", ["next-action", "hygiene", "follow-up"])
def test_a_source_link_in_a_deal_panel_lands_on_the_marked_quote(page, demo_server, tidy_deal, use_case):
    page.goto(demo_server.url(f"/opportunities/{tidy_deal}"))
    # Every panel in first: one arriving above moves the link under the pointer, and a click can land on what
    # was there a moment before (it did once in CI, on a loaded machine).
    panel = {uc: _loaded(page, uc) for uc in DEAL_PANELS}[use_case]
    _lands_on_the_marked_quote(page, panel.locator("a.source-link").first)


def test_the_account_page_shows_research_and_the_next_best_actions_across_its_deals(page, demo_server):
    page.goto(demo_server.url(f"/accounts/{DEMO_ACCOUNT}"))
    research, actions = _loaded(page, "research"), _loaded(page, "next-action")
    expect(actions.locator(".panel-about")).to_contain_text("open deals")
    expect(actions.locator(".badge.action").first).to_be_visible()
    assert page.locator(".agent-panel").evaluate_all("ps => ps.map(p => p.id)") == ["panel-research",
                                                                                     "panel-next-action"]
    expect(research.locator("a.source-link").first).to_be_visible()


def test_the_transcript_page_shows_coaching_and_a_coaching_source_lands_on_the_utterance(page, demo_server,
                                                                                        demo_call):
    page.goto(demo_server.url(f"/transcripts/{demo_call}"))
    coaching = _loaded(page, "coaching")
    _loaded(page, "follow-up")
    link = coaching.locator('a.source-link[data-uri*="#"]').first  # a span of the call, not the whole call
    link.click()
    page.wait_for_url(f"**/transcripts/{demo_call}?*#u-*")
    target = page.locator(":target")
    expect(target).to_be_in_viewport(timeout=AGENT_TIMEOUT)
    expect(target).to_have_class(re.compile(r"\bin-span\b"))


def test_the_email_draft_downloads_as_an_eml_file(page, demo_server):
    page.goto(demo_server.url(f"/opportunities/{DRAFT_DEAL}"))
    panel = _loaded(page, "follow-up")
    link = panel.get_by_role("link", name="Download .eml")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("follow-up-") and download.suggested_filename.endswith(".eml")
    text = open(download.path(), encoding="utf-8").read()
    assert re.search(r"^To: .+", text, re.MULTILINE) and re.search(r"^Subject: .+", text, re.MULTILINE)


def test_the_deal_panels_fit_a_narrow_window(browser, demo_server, tidy_deal):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(demo_server.url(f"/opportunities/{tidy_deal}"))
        for use_case in DEAL_PANELS:
            _loaded(page, use_case)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the deal page is {overflow}px wider than a 390px window once the panels are in"
    finally:
        context.close()
