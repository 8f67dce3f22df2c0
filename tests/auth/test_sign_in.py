"""Sign-in: argon2 passwords, the session cookie with CSRF protection, API tokens, and record access applied to
whoever signed in, over real HTTP on loopback against a real store (SQLite and PostgreSQL)."""
from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from sellerloop.auth.models import Credential
from sellerloop.auth.service import add_user, create_token, set_password
from sellerloop.records.models import Account, Opportunity, User
from sellerloop.store.db import create_store_engine, session_scope
from tests.support.signin import signed_in as signed_in_as
from tests.web.conftest import serve

PASSWORD = "correct horse battery"


@pytest.fixture
def site(maven_copy):
    """A signed-in server over the Maven book with a seller, an admin and their passwords."""
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        seller = s.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None))
                           .order_by(User.id)).first()
        set_password(session=s, user_id=seller.id, password=PASSWORD)
        add_user(session=s, user_id="t-admin", name="Ada Admin", role="admin", password=PASSWORD)
        team = select(User.id).where(User.manager_id == seller.manager_id)
        foreign = s.scalars(select(Opportunity.id).where(Opportunity.owner_id != seller.id,
                                                         Opportunity.owner_id.not_in(team))
                            .order_by(Opportunity.id)).first()
        own = s.scalars(
            select(Opportunity.id).where(Opportunity.owner_id == seller.id).order_by(Opportunity.id)
        ).first()
        token = create_token(session=s, user_id=seller.id, name="test script")
        seller_id = seller.id
    with serve(engine, sign_in=True) as live:
        live.ids = {"seller": seller_id, "foreign": foreign, "own": own, "token": token}
        yield live
    engine.dispose()


def signed_in(site, login: str):
    return signed_in_as(site.base_url, login=login, password=PASSWORD, next="/opportunities")


def test_nobody_signed_in_is_sent_to_sign_in_and_the_api_answers_401(site):
    with httpx.Client(base_url=site.base_url) as client:
        page = client.get("/accounts?q=a")
        assert page.status_code == 303 and page.headers["location"] == "/signin?next=%2Faccounts%3Fq%3Da"
        api = client.get("/api/recommendations", params={"opportunity": site.ids["own"]})
        assert api.status_code == 401 and api.json() == {"detail": "sign in first"}
        assert client.get("/healthz").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(site):
    with httpx.Client(base_url=site.base_url) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        for login in (site.ids["seller"], "no-such-user"):
            response = client.post("/signin", data={"login": login, "password": "wrong password!", "csrf_token": csrf})
            assert response.status_code == 401 and "That user and password do not match." in response.text


def test_passwords_are_stored_as_argon2id_hashes(site):
    with session_scope(site.engine) as s:
        stored = s.get(Credential, site.ids["seller"]).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_signed_in_seller_sees_their_deal_and_not_another_teams(site):
    with signed_in(site, site.ids["seller"]) as client:
        assert client.get(f"/opportunities/{site.ids['own']}").status_code == 200
        assert client.get(f"/opportunities/{site.ids['foreign']}").status_code == 403
        listing = client.get("/opportunities?page=1").text
        assert site.ids["foreign"] not in listing
        assert client.get(f"/opportunities/{site.ids['own']}?as=t-admin").status_code == 403  # no posing as others


def test_a_post_without_the_csrf_token_is_refused_and_with_it_goes_through(site):
    with signed_in(site, site.ids["seller"]) as client:
        refused = client.post("/signout")
        assert refused.status_code == 403 and "CSRF" in refused.text
        page = client.get("/accounts")
        token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
        assert client.post("/signout", headers={"X-CSRF-Token": token}).status_code == 303
        assert client.get("/accounts").status_code == 303  # signed out


def test_an_api_token_acts_with_its_owners_rights_until_revoked(site, cli, maven_copy):
    headers = {"Authorization": f"Bearer {site.ids['token']}"}
    with httpx.Client(base_url=site.base_url, headers=headers) as client:
        prep = lambda deal: client.post("/api/runs", json={"use_case": "prep", "opportunity": deal})  # noqa: E731
        assert prep(site.ids["own"]).status_code == 200
        assert prep(site.ids["foreign"]).status_code == 403
        token_id = site.ids["token"].split("_")[1]
        assert cli(maven_copy, "users", "revoke", token_id).exit_code == 0
        refused = client.post("/api/runs", json={"use_case": "prep", "opportunity": site.ids["own"]})
        assert refused.status_code == 401 and "not valid" in refused.json()["detail"]


def test_sign_in_never_redirects_off_the_site(site):
    with httpx.Client(base_url=site.base_url) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        response = client.post("/signin", data={"login": "t-admin", "password": PASSWORD,
                                                "next": "//evil.example/x", "csrf_token": csrf})
        assert response.headers["location"] == "/"  # home: the accounts for an admin, "my deals" for a seller


def test_users_add_sets_a_password_from_stdin_and_refuses_bad_input_in_one_line(cli, maven_copy, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    added = cli(maven_copy, "users", "add", "t-new", "--name", "Nia New", "--role", "seller", "--password-stdin")
    assert added.exit_code == 0, added.stderr
    bad = cli(maven_copy, "users", "add", "t-bad", "--name", "B", "--role", "emperor", "--no-password")
    assert bad.exit_code == 2 and bad.stderr.strip().count("\n") == 0 and "unknown role" in bad.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    weak = cli(maven_copy, "users", "password", "t-new", "--password-stdin")
    assert weak.exit_code == 2 and "at least 10 characters" in weak.stderr
    with session_scope(create_store_engine(maven_copy.url)) as s:
        assert s.get(User, "t-new").role == "seller" and s.get(Account, "t-new") is None
