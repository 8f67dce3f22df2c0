"""The REST API over real HTTP on loopback, against a writable copy of the Maven book (SQLite and PostgreSQL).

The book gets the hand-made rows of the web tests (tests/web/conftest.seed_records: contacts, a call with a
transcript and activities around one Cancity deal) and four people, each with an API token: the seller who
owns that deal, their manager, a seller of another team, and an admin. The server asks everyone to sign in, so
every request is a person's.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import select

from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import propose
from sellerloop.auth.service import add_user, create_token
from sellerloop.records.models import Account, Activity, Contact, Opportunity, User
from sellerloop.store.db import create_store_engine, session_scope
from tests.web.conftest import seed_records, serve

PHONE = "+1 555 0100 77"  # a sensitive field (Contact.phone) of a contact at the seeded account
NEXT_STEP = "Send the SOC 2 report to Ben"  # what the latest call notes say, so hygiene proposes it


@dataclass
class Api:
    base_url: str
    engine: object
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def client(self, who: str | None) -> Iterator[httpx.Client]:
        """An HTTP client acting as `who` (seller, manager, stranger, admin), or as nobody."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=60) as client:
            yield client

    def propose_task(self, *, on: str, subject: str = "Send the pricing sheet", due: str = "2026-12-01",
                     use_case: str = "follow-up") -> str:
        """A pending create_task approval on opportunity `on`, as an agent would place it; its id."""
        proposal = Proposal(use_case=use_case, subject=f"opportunity:{on}", action="create_task",
                            payload={"subject": subject, "due_date": due, "opportunity_id": on},
                            reason="The buyer asked for pricing.", level="L4",
                            sources=[{"uri": "activity:act-web-email", "quote": "pricing"}])
        with session_scope(self.engine) as s:
            return propose(session=s, proposal=proposal, by=f"agent:{use_case}").id


def make_people(session, ids: dict[str, str]) -> dict[str, str]:
    """The seeded deal's owner and their manager, a seller of another team with a deal of their own, an
    admin."""
    deal = session.get(Opportunity, ids["opportunity"])
    seller = session.get(User, deal.owner_id)
    stranger = session.scalars(select(User).where(User.role == "seller", User.manager_id.is_not(None),
                                                  User.manager_id != seller.manager_id).order_by(User.id)).first()
    foreign = session.scalars(select(Opportunity).where(Opportunity.owner_id == stranger.id,
                                                        Opportunity.stage == "Engaging",
                                                        Opportunity.account_id.is_not(None))
                              .order_by(Opportunity.id)).first()
    sellers_accounts = select(Opportunity.account_id).where(Opportunity.owner_id == seller.id,
                                                            Opportunity.account_id.is_not(None))
    foreign_account = session.scalars(select(Account.id).where(Account.id.not_in(sellers_accounts),
                                                               Account.owner_id != seller.id)
                                      .order_by(Account.id)).first()
    add_user(session=session, user_id="t-admin", name="Ada Admin", role="admin")
    session.get(Contact, "c-web-ben").phone = PHONE
    session.add(Activity(id="act-api-call", kind="call", account_id=deal.account_id, opportunity_id=deal.id,
                         owner_id=seller.id, occurred_at=dt.datetime(2017, 6, 20, 10, 0), subject="Check-in call",
                         body=f"Ben is on board with the rollout plan.\nNext step: {NEXT_STEP}.", participants=[]))
    ids |= {"seller": seller.id, "manager": seller.manager_id, "stranger": stranger.id, "admin": "t-admin",
            "foreign": foreign.id, "foreign_account": foreign_account}
    return {who: create_token(session=session, user_id=ids[who], name=f"api tests ({who})")
            for who in ("seller", "manager", "stranger", "admin")}


@pytest.fixture
def api(maven_copy) -> Iterator[Api]:
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        ids = seed_records(session=s)
        tokens = make_people(s, ids)
    with serve(engine, sign_in=True) as live:
        yield Api(live.base_url, engine, tokens, ids)
    engine.dispose()


def one_line(response: httpx.Response) -> str:
    """The error's message, checked to be the API's one-line JSON."""
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str), body
    assert "\n" not in body["detail"] and body["detail"].strip()
    return body["detail"]
