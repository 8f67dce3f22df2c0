"""Signing in, in a real browser (Playwright driving the system Chromium) against a signed-in server."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sellerloop.auth.service import set_password
from sellerloop.records.models import Account, Opportunity, User
from sellerloop.store.db import create_store_engine, session_scope
from tests.web.conftest import serve

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@pytest.fixture
def site(maven_copy):
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        seller = s.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None))
                           .order_by(User.id)).first()
        set_password(session=s, user_id=seller.id, password=PASSWORD)
        team = select(User.id).where(User.manager_id == seller.manager_id)
        own = s.scalars(
            select(Opportunity.id).where(Opportunity.owner_id == seller.id).order_by(Opportunity.id)
        ).first()
        # An account with no deal of the seller's team, owned by someone outside it: not theirs to open.
        foreign = s.scalars(
            select(Account.id)
            .where(
                Account.owner_id.not_in(team),
                Account.id.not_in(
                    select(Opportunity.account_id).where(
                        Opportunity.owner_id.in_(team), Opportunity.account_id.is_not(None)
                    )
                ),
            )
            .order_by(Account.id)
        ).first()
        if foreign is None:  # Maven's teams sell to nearly every account: add one owned by another team
            other = s.scalars(select(User.id).where(User.role == "seller", User.id.not_in(team))
                              .order_by(User.id)).first()
            s.add(Account(id="t-elsewhere", name="Elsewhere Ltd", owner_id=other))
            foreign = "t-elsewhere"
        ids = {"seller": seller.id, "name": seller.name, "own": own, "foreign": foreign}
    with serve(engine, sign_in=True) as live:
        live.ids = ids
        yield live
    engine.dispose()


def test_a_seller_signs_in_with_the_keyboard_only_opens_their_deal_and_not_another_teams_account(page, site):
    page.goto(site.url(f"/opportunities/{site.ids['own']}"))
    expect(page).to_have_url(site.url(f"/signin?next=%2Fopportunities%2F{site.ids['own']}"))
    expect(page.get_by_label("User id or email")).to_be_focused()
    page.keyboard.type(site.ids["seller"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(site.url(f"/opportunities/{site.ids['own']}"))
    expect(page.locator(".signout .me")).to_contain_text(site.ids["name"])

    response = page.goto(site.url(f"/accounts/{site.ids['foreign']}"))
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("may not see")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(site.url("/signin"))


def test_a_wrong_password_says_so_and_keeps_the_user_id(page, site):
    page.goto(site.url("/signin"))
    page.get_by_label("User id or email").fill(site.ids["seller"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That user and password do not match.")
    expect(page.get_by_label("User id or email")).to_have_value(site.ids["seller"])
