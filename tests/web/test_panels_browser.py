"""Agent panels in a real browser (Playwright driving the system Chromium) on the demo book, and the screenshots
docs/screenshots/prep-panel.png and docs/screenshots/source-opened.png."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import DEMO_ACCOUNT, DEMO_DEAL, SCREENSHOTS
from tests.web.test_browser import _png_size

pytestmark = pytest.mark.browser

AGENT_TIMEOUT = 30_000  # the panel runs the agent; generous for a busy test machine


def _objection_with(panel, uri_prefix: str):
    return (panel.locator('.agent-section[data-section="objections"] .agent-item')
            .filter(has=panel.page.locator(f'a.source-link[data-uri^="{uri_prefix}"]')).first)


def test_the_prep_panel_loads_and_an_objection_opens_its_transcript_highlighted(browser, demo_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(demo_server.url(f"/opportunities/{DEMO_DEAL}"))
        panel = page.locator("#panel-prep")
        expect(panel.locator(".agent-item").first).to_be_visible(timeout=AGENT_TIMEOUT)
        expect(panel.locator(".panel-meta")).to_contain_text("L2 · shown")
        expect(panel.locator(".composer")).to_have_text("deterministic")
        expect(panel.locator("h3")).to_contain_text(["Agenda", "Expected objections"])

        objection = _objection_with(panel, "transcript:")
        words = objection.locator(".item-text").inner_text().partition(": ")[2] or \
            objection.locator(".item-text").inner_text()
        link = objection.locator("a.source-link").first
        expect(link).to_have_text(re.compile(r"^\[\d+\]$"))
        if demo_server.backend == "sqlite":  # one set of screenshots, from the embedded default
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            bottom = panel.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
            page.screenshot(path=SCREENSHOTS / "prep-panel.png", full_page=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": min(int(bottom) + 24, 2000)})

        link.click()
        page.wait_for_url("**/transcripts/**")
        target_id = page.evaluate("document.querySelector(':target') && document.querySelector(':target').id")
        assert target_id and target_id.startswith("u-")
        target = page.locator(f"#{target_id}")
        expect(target).to_be_in_viewport()
        expect(target).to_have_class("utt in-span")
        mark = target.locator("mark")
        expect(mark).to_have_text(words.strip())
        expect(mark).to_be_visible()
        highlighted = target.evaluate("e => getComputedStyle(e).backgroundColor")
        neighbour = page.locator(f"#u-{int(target_id[2:]) + 1}")
        assert highlighted != neighbour.evaluate("e => getComputedStyle(e).backgroundColor")
        if demo_server.backend == "sqlite":
            page.screenshot(path=SCREENSHOTS / "source-opened.png")
    finally:
        context.close()
    if demo_server.backend == "sqlite":
        for name in ("prep-panel.png", "source-opened.png"):
            width, height = _png_size(SCREENSHOTS / name)
            assert width == 1280 and height >= 600, (name, width, height)


def test_an_email_source_opens_the_activity_on_the_same_page_and_keeps_it_in_view(page, demo_server):
    page.goto(demo_server.url(f"/opportunities/{DEMO_DEAL}"))
    panel = page.locator("#panel-prep")
    expect(panel.locator(".agent-item").first).to_be_visible(timeout=AGENT_TIMEOUT)
    link = _objection_with(panel, "activity:").locator("a.source-link").first
    activity_id = link.get_attribute("data-uri").removeprefix("activity:")
    link.click()
    page.wait_for_url(f"**/opportunities/{DEMO_DEAL}?*#activity-{activity_id}")
    expect(page.locator("#panel-prep .agent-item").first).to_be_visible(timeout=AGENT_TIMEOUT)  # loaded again
    activity = page.locator(f"#activity-{activity_id}")
    expect(activity.locator("details .body mark")).to_be_visible()
    expect(activity).to_be_in_viewport()  # still in view after the panel above it arrived
    expect(page.locator(".opened-source")).to_contain_text(f"activity:{activity_id}")


def test_the_research_panel_loads_on_the_account_page(page, demo_server):
    page.goto(demo_server.url(f"/accounts/{DEMO_ACCOUNT}"))
    panel = page.locator("#panel-research")
    expect(panel.locator(".agent-item").first).to_be_visible(timeout=AGENT_TIMEOUT)
    expect(panel.locator(".badge.element")).not_to_have_count(0)
    link = panel.locator('a.source-link[data-uri^="signal:"]').last
    link.click()
    page.wait_for_url("**/accounts/cancity?*#signal-*")
    signal = page.locator(".signals li.hl")
    expect(signal.locator("mark").first).to_be_visible()


def test_without_javascript_the_panel_is_a_link_to_its_own_page(browser, demo_server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(demo_server.url(f"/opportunities/{DEMO_DEAL}"))
        expect(page.locator("#panel-prep .agent-item")).to_have_count(0)
        expect(page.locator("#panel-prep .htmx-only")).to_be_hidden()
        page.locator("#panel-prep a.panel-link").click()
        page.wait_for_url(f"**/opportunities/{DEMO_DEAL}/panels/prep")
        expect(page.locator("#panel-prep .agent-item").first).to_be_visible()
        expect(page.locator("#back-to-record")).to_have_attribute("href", f"/opportunities/{DEMO_DEAL}")
    finally:
        context.close()


@pytest.mark.parametrize(
    "path, panel", [(f"/opportunities/{DEMO_DEAL}", "prep"), (f"/accounts/{DEMO_ACCOUNT}", "research")]
)
def test_a_loaded_panel_fits_a_narrow_window(browser, demo_server, path, panel):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(demo_server.url(path))
        expect(page.locator(f"#panel-{panel} .agent-item").first).to_be_visible(timeout=AGENT_TIMEOUT)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a 390px window once the panel is in"
    finally:
        context.close()
