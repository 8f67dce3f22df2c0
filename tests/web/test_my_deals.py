"""A seller lands on "my deals": their open deals, the ones that need them today first, each saying why."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import propose
from sellerloop.auth.service import add_user, set_password
from sellerloop.records.models import OPEN_STAGES, Activity, Opportunity, Task, User
from sellerloop.store.db import create_store_engine, session_scope
from tests.support.signin import signed_in
from tests.web.conftest import serve

PASSWORD = "correct horse battery"


@pytest.fixture
def site(maven_copy):
    """A seller with open deals: one with a customer's email nobody answered, one with an overdue task of theirs,
    one with an approval waiting; an admin."""
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        seller = s.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None))
                           .order_by(User.id)).first()
        set_password(session=s, user_id=seller.id, password=PASSWORD)
        add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin", password=PASSWORD)
        deals = s.scalars(select(Opportunity).where(Opportunity.owner_id == seller.id,
                                                    Opportunity.stage.in_(OPEN_STAGES))
                          .order_by(Opportunity.close_date.desc(), Opportunity.id)).all()
        inbound, overdue, waiting = deals[0], deals[1], deals[2]
        today = s.scalar(select(func.max(Activity.occurred_at))) or dt.datetime(2017, 12, 31)
        s.add(Activity(id="act-home-in", kind="email", opportunity_id=inbound.id, account_id=inbound.account_id,
                       occurred_at=today - dt.timedelta(days=1), direction="inbound", subject="Technical session?",
                       body="Could we set up a technical session next week?",
                       participants=[{"name": "Malik Haddad", "role": "from"}]))
        s.add(Task(id="task-home", subject="Send the phased-rollout quote", opportunity_id=overdue.id,
                   owner_id=seller.id, due_date=(today - dt.timedelta(days=3)).date(), status="open",
                   created_at=today - dt.timedelta(days=10)))
        propose(session=s, by="agent:hygiene", proposal=Proposal(
            use_case="hygiene", subject=f"opportunity:{waiting.id}", action="create_task", level="L4",
            payload={"subject": "Ask for the budget owner", "due_date": "2018-01-05", "opportunity_id": waiting.id},
            reason="No economic buyer yet."))
        ids = {"seller": seller.id, "inbound": inbound.id, "overdue": overdue.id, "waiting": waiting.id,
               "quiet": deals[3].id}
    with serve(engine, sign_in=True) as live:
        live.ids = ids
        yield live
    engine.dispose()


def _signed_in(site, login: str):
    return signed_in(site.base_url, login=login, password=PASSWORD)


def test_a_seller_lands_on_their_deals_with_what_needs_them_first(site):
    with _signed_in(site, site.ids["seller"]) as client:
        home = client.get("/")
        page = client.get("/deals").text
    assert home.status_code == 302 and home.headers["location"] == "/deals"
    order = [m for m in re.findall(r'href="/opportunities/([^"]+)"', page)]
    assert order[:3] == [site.ids["inbound"], site.ids["overdue"], site.ids["waiting"]]
    assert site.ids["quiet"] in order[3:]
    assert "Reply to Malik Haddad" in page and "Send the phased-rollout quote (was due" in page
    assert "An approval is waiting" in page and 'href="/accounts"' in page


def test_an_admin_lands_on_the_accounts(site):
    with _signed_in(site, "t-admin") as client:
        home = client.get("/")
    assert home.headers["location"] == "/accounts"


@pytest.mark.browser
def test_in_a_browser_a_seller_signs_in_and_sees_my_deals_first(page, site):
    page.goto(site.url("/signin"))
    page.get_by_label("User id or email").fill(site.ids["seller"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url("/deals"))
    expect(page.get_by_role("heading", name="My deals")).to_be_visible()
    first = page.locator("#my-deals tbody tr").first
    expect(first).to_contain_text("Reply to Malik Haddad")


def test_a_seller_reads_recommendations_without_scores_and_opens_the_run_details_on_demand(site):
    deal = site.ids["quiet"]
    with _signed_in(site, site.ids["seller"]) as client:
        seller = client.get(f"/opportunities/{deal}/panels/next-action", headers={"HX-Request": "true"}).text
    with _signed_in(site, "t-admin") as client:
        admin = client.get(f"/opportunities/{deal}/panels/next-action", headers={"HX-Request": "true"}).text
    assert 'class="badge action"' in seller  # the recommendations are there
    assert "score " not in seller and "feedback ×" not in seller
    assert '<details class="panel-meta">' in seller and "composer:" in seller  # closed, one click away
    assert '<details class="panel-meta" open>' in admin and "score " in admin
