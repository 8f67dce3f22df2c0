"""The seller's and the manager's workspace in a real browser (Playwright driving the system Chromium), signed in,
on a writable copy of the Maven book: open a deal and a source, edit and approve a task and see it created,
reject with a reason, the manager's team inbox, approval with the keyboard only, and the layout at 1280 px and
on a phone-sized window with a label on every form control."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sellerloop.auth.service import add_user, set_password
from sellerloop.records.models import User
from sellerloop.store.db import create_store_engine, session_scope
from tests.support.signin import sign_in_browser
from tests.web.conftest import SCREENSHOTS, serve
from tests.web.test_decisions import _deal_with_recommendations, _pending

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
AGENT_TIMEOUT = 30_000


@pytest.fixture
def site(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        seller = s.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None))
                           .order_by(User.id)).first()
        for user_id in (seller.id, seller.manager_id):
            set_password(session=s, user_id=user_id, password=PASSWORD)
        ids = {"seller": seller.id, "manager": seller.manager_id, "deal": _deal_with_recommendations(s, seller.id)}
    with serve(engine, sign_in=True) as live:
        live.ids = ids
        yield live
    engine.dispose()


def _sign_in(page, site, user_id: str, path: str) -> None:
    sign_in_browser(page, signin_url=site.url(path), login=user_id, password=PASSWORD)
    expect(page).to_have_url(site.url(path))


def _first_offer(page):
    panel = page.locator("#panel-next-action")
    expect(panel.locator(".decision").first).to_be_visible(timeout=AGENT_TIMEOUT)
    return panel.locator(".decision").first


def test_a_seller_opens_a_source_then_edits_and_approves_a_task_and_sees_it_created(page, site):
    deal = site.ids["deal"]
    _sign_in(page, site, site.ids["seller"], f"/opportunities/{deal}")
    offer = _first_offer(page)
    page.locator("#panel-next-action a.source-link").first.click()
    expect(page.locator("mark").first).to_be_visible()
    page.go_back()

    offer = _first_offer(page)
    offer.get_by_text("Edit before approving").click()
    offer.get_by_label("Task").fill("Call the buyer to restart the decision")
    offer.get_by_label("Due").fill("2030-03-04")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    offer.locator("xpath=ancestor::li").screenshot(path=SCREENSHOTS / "decision-edit.png")
    offer.get_by_role("button", name="Approve").click()

    status = page.locator("#panel-next-action .decision-status").first
    expect(status).to_contain_text(f"approved with edits by {site.ids['seller']}")
    page.get_by_role("link", name=re.compile("Task created: Call the buyer")).click()
    tasks = page.locator("#tasks")
    expect(tasks).to_contain_text("Call the buyer to restart the decision")
    expect(tasks).to_contain_text("2030-03-04")
    page.screenshot(path=SCREENSHOTS / "deal-workspace.png", full_page=True)


def test_a_seller_rejects_a_recommendation_with_a_reason(page, site):
    _sign_in(page, site, site.ids["seller"], f"/opportunities/{site.ids['deal']}")
    offer = _first_offer(page)
    offer.get_by_role("button", name="Reject").click()
    expect(offer.get_by_role("alert")).to_contain_text("say why you reject it")
    offer = _first_offer(page)
    offer.get_by_label("Reason to reject").fill("the buyer is on leave until March")
    offer.get_by_role("button", name="Reject").click()
    expect(page.locator("#panel-next-action .decision-status").first).to_contain_text(
        "rejected by " + site.ids["seller"])
    page.reload()
    expect(_first_offer(page)).to_contain_text("the buyer is on leave until March")


def test_a_manager_approves_from_the_team_inbox(page, site):
    _pending(site, site.ids["deal"], "Send the mutual action plan")
    _sign_in(page, site, site.ids["manager"], "/inbox/team")
    item = page.locator(".inbox-item").filter(has_text="Send the mutual action plan")
    expect(item).to_contain_text(f"owner {site.ids['seller']}")
    page.screenshot(path=SCREENSHOTS / "team-inbox.png", full_page=True)
    item.get_by_role("button", name="Approve").click()
    expect(item.locator(".decision-status")).to_contain_text("approved by " + site.ids["manager"])
    expect(item.get_by_role("link", name=re.compile("Task created"))).to_be_visible()


def test_a_seller_approves_with_the_keyboard_only(page, site):
    _sign_in(page, site, site.ids["seller"], f"/opportunities/{site.ids['deal']}")
    offer = _first_offer(page)
    summary = offer.locator("summary")
    for _ in range(400):  # Tab through the page, as a keyboard user would, to the first offer's edit toggle
        if summary.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("the offer's edit toggle cannot be reached with Tab")
    page.keyboard.press("Enter")  # opens the edit fields
    page.keyboard.press("Tab")
    expect(offer.get_by_label("Task")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Book the decision meeting")
    approve = offer.get_by_role("button", name="Approve")
    for _ in range(6):  # past the due date, whose month, day and year Chromium focuses one by one
        page.keyboard.press("Tab")
        if approve.evaluate("el => el === document.activeElement"):
            break
    expect(approve).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#panel-next-action .decision-status").first).to_contain_text("approved with edits")
    expect(page.locator("#panel-next-action").get_by_role("link", name=re.compile("Task created"))).to_contain_text(
        "Book the decision meeting")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_deal_page_and_inbox_fit_the_window_and_every_control_has_a_label(browser, site, width):
    _pending(site, site.ids["deal"], "Send the mutual action plan")
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        _sign_in(page, site, site.ids["seller"], f"/opportunities/{site.ids['deal']}")
        _first_offer(page).get_by_text("Edit before approving").click()
        for path in (None, "/inbox"):
            if path:
                page.goto(site.url(path))
                expect(page.locator(".inbox-item").first).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path or 'deal page'} scrolls sideways by {overflow}px at {width}px"
            unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, textarea, select')]
                .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length)
                              && !el.getAttribute('aria-label'))
                .map(el => el.name || el.id)""")
            assert unlabelled == [], f"controls without a label on {path or 'the deal page'}: {unlabelled}"
        if width == 390:
            page.screenshot(path=SCREENSHOTS / "inbox-narrow.png", full_page=True)
    finally:
        context.close()


@pytest.fixture
def demo_site(tmp_path):
    """The demo book (Maven + the sample layer), signed in, for the README's workspace screenshots."""
    from tests.conftest import load_book
    from tests.web.conftest import DEMO_DEAL

    url = f"sqlite:///{tmp_path / 'sellerloop.db'}"
    load_book(url, sample_layer=True)
    engine = create_store_engine(url)
    with session_scope(engine) as s:
        from sellerloop.records.models import Opportunity, Transcript

        seller = s.get(User, s.get(Opportunity, DEMO_DEAL).owner_id)
        for user_id in (seller.id, seller.manager_id):
            set_password(session=s, user_id=user_id, password=PASSWORD)
        add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin", password=PASSWORD)
        call = s.scalars(select(Transcript.id).where(Transcript.opportunity_id == DEMO_DEAL)
                         .order_by(Transcript.occurred_at.desc())).first()
        ids = {"seller": seller.id, "manager": seller.manager_id, "deal": DEMO_DEAL, "call": call}
    with serve(engine, sign_in=True) as live:
        live.ids = ids
        yield live
    engine.dispose()


def test_the_workspace_screenshots_a_decision_the_dashboard_policy_and_coaching(browser, demo_site):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        _sign_in(page, demo_site, demo_site.ids["seller"], f"/opportunities/{demo_site.ids['deal']}")
        first = _first_offer(page)
        first.get_by_text("Edit before approving").click()
        first.get_by_label("Task").fill("Book the decision-process meeting with Initech")
        first.get_by_role("button", name="Approve").click()
        expect(page.locator("#panel-next-action .decision-status").first).to_contain_text("approved with edits")
        second = page.locator("#panel-next-action .decision").nth(1)
        second.get_by_label("Reason to reject").fill("they told us the news themselves last week")
        second.get_by_role("button", name="Reject").click()
        expect(second.locator(".decision-status")).to_contain_text("rejected")
        page.locator("#panel-next-action").screenshot(path=SCREENSHOTS / "next-action-decided.png")

        page.goto(demo_site.url(f"/transcripts/{demo_site.ids['call']}/coaching"))
        expect(page.locator("h1")).to_contain_text("Coaching")
        point = page.locator("a[href^='#u-']").first  # a point links to the line it quotes
        expect(point).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "coaching.png")
        context.clear_cookies()

        _sign_in(page, demo_site, demo_site.ids["manager"], "/dashboard")
        expect(page.locator("main")).to_contain_text("next-action")
        expect(page.locator("main")).to_contain_text("50%")  # one accepted (with edits), one rejected
        page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)
        page.goto(demo_site.url("/policy"))
        expect(page.locator("h1")).to_contain_text("Policy")
        page.screenshot(path=SCREENSHOTS / "policy.png")
        context.clear_cookies()

        _sign_in(page, demo_site, "t-admin", "/tuning")
        expect(page.locator("#by-action tbody tr").first).to_be_visible()  # the two decisions, by recommended action
        page.screenshot(path=SCREENSHOTS / "tuning.png", full_page=True)
    finally:
        context.close()
