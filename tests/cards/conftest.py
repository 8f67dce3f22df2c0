"""Card fixtures: the Maven book with stored agent output, served over real HTTP with sign-in on, and a fake
HubSpot that calls the card endpoint the way `hubspot.fetch` does.

Only HubSpot itself is faked, and only as its documentation describes it: it appends `userId`, `portalId`,
`userEmail` and `appId` to the URL the card fetches, and signs the request (signature v3) with the app's client
secret: base64(HMAC-SHA256(secret, method + URI + body + timestamp)), the URI with a listed set of
percent-encodings decoded, the timestamp in milliseconds in `X-HubSpot-Request-Timestamp`.

The book (one per backend, built once): the Maven data; `run-all` for next-best action, hygiene and research,
as the nightly refresh stores it; an admin and a RevOps user with emails; a seller, a deal of theirs, a deal of a
seller of another team, an account the seller sees only through one of their deals (whose revenue, headcount and
website hold sentinel values, and whose stored research was made for the admin and quotes the revenue), a won
deal with no stored output, a deal whose stored output is far larger than HubSpot's 1 MB, and one open approval.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.agents.outputs import AgentOutput
from sellerloop.approvals.models import Proposal
from sellerloop.approvals.service import propose
from sellerloop.auth.service import create_token
from sellerloop.config import get_settings
from sellerloop.evidence.models import SourceRef
from sellerloop.policy.service import DEFAULT_POLICY_FILE
from sellerloop.records.models import Account, Opportunity, User
from sellerloop.runs.service import run_all
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.store.upsert import upsert
from tests.conftest import BACKENDS, StoreHandle, load_book, make_store
from tests.web.conftest import LiveServer, serve

CLIENT_SECRET = "hubspot-app-client-secret-for-tests"
APP_SECRET = "test-secret"  # what tests/web/conftest.serve signs cookies and embed tokens with
ADMIN_EMAIL = "Ada.Admin@Example.com"
REVENUE = 91357.25  # sentinels: no real record holds these
EMPLOYEES = 6420011
WEBSITE = "https://sentinel-site-77.example"
SENSITIVE = ["Contact.phone", "Account.revenue_musd", "Account.employees", "Account.website"]


@dataclass
class CardBook:
    backend: str
    handle: StoreHandle
    engine: object
    server: LiveServer
    ids: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.server.url(path)


@pytest.fixture(scope="session", params=BACKENDS)
def card_book(request, tmp_path_factory) -> Iterator[CardBook]:
    for handle in make_store(request.param, tmp_path_factory.mktemp("cards")):
        load_book(handle.url)
        engine = create_store_engine(handle.url)
        run_all(engine=engine, use_cases=("next-action", "hygiene", "research"), workers=1)
        with session_scope(engine) as session:
            ids = _prepare(session)
        with serve(engine, sign_in=True) as live:
            live.backend = request.param
            yield CardBook(request.param, handle, engine, live, ids)
        engine.dispose()


@pytest.fixture(autouse=True)
def hubspot_env(card_book, monkeypatch, tmp_path):
    """The server's settings for each test: HubSpot's client secret, the public URL HubSpot calls (the loopback
    server), and a policy that marks the account fields holding the sentinels sensitive."""
    policy = tmp_path / "policy.yaml"
    shipped = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    policy.write_text(yaml.safe_dump(shipped | {"sensitive_fields": SENSITIVE}), encoding="utf-8")
    monkeypatch.setenv("SELLERLOOP_POLICY", str(policy))
    monkeypatch.setenv("SELLERLOOP_HUBSPOT_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SELLERLOOP_PUBLIC_URL", card_book.server.base_url)
    monkeypatch.delenv("SELLERLOOP_EMBED_FRAME_ANCESTORS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _prepare(session) -> dict[str, str]:
    session.add_all([User(id="t-admin", name="Ada Admin", role="admin", email=ADMIN_EMAIL),
                     User(id="t-revops", name="Rae RevOps", role="revops", email="rae.revops@example.com")])
    users = {u.id: u for u in session.scalars(select(User))}
    owned = dict(session.execute(select(Account.owner_id, func.count()).group_by(Account.owner_id)).all())
    # A seller with open and won deals, and deals at accounts someone else owns (accounts they see only so).
    crossing = set(session.scalars(select(Opportunity.owner_id).join(Account, Account.id == Opportunity.account_id)
                                   .where(Account.owner_id != Opportunity.owner_id)))
    seller = max(sorted(u for u in crossing if users[u].role == "seller" and users[u].email),
                 key=lambda u: owned.get(u, 0))
    peer = next(
        u for u in sorted(users) if users[u].role == "seller" and users[u].manager_id != users[seller].manager_id
    )
    open_deals = session.scalars(select(Opportunity.id).where(Opportunity.owner_id == seller,
                                                              Opportunity.stage == "Engaging")
                                 .order_by(Opportunity.id).limit(2)).all()
    won = session.scalars(select(Opportunity.id).where(Opportunity.owner_id == seller, Opportunity.stage == "Won")
                          .order_by(Opportunity.id).limit(1)).one()
    foreign = session.scalars(select(Opportunity.id).where(Opportunity.owner_id == peer,
                                                           Opportunity.stage == "Engaging")
                              .order_by(Opportunity.id).limit(1)).one()
    via_deal = session.scalars(select(Account).where(
        Account.owner_id != seller,
        Account.id.in_(select(Opportunity.account_id).where(Opportunity.owner_id == seller)))
        .order_by(Account.id).limit(1)).one()
    via_deal.revenue_musd, via_deal.employees, via_deal.website = REVENUE, EMPLOYEES, WEBSITE
    # An account nobody of the seller's team may see: a peer's, with only a peer's deal.
    session.add(Account(id="t-unseen", name="Unseen Co", owner_id=peer))
    session.add(Opportunity(id="t-unseen-deal", name="Unseen deal", account_id="t-unseen", owner_id=peer,
                            stage="Engaging", engage_date=dt.date(2017, 6, 1)))
    session.flush()
    now = dt.datetime(2026, 11, 24, 6, 0)
    # Research stored by a run for the admin (`run-all --as t-admin`): it quotes the revenue the seller may not see.
    source = SourceRef(uri=f"account:{via_deal.id}/field/revenue_musd", quote=f"Revenue: {REVENUE} M", kind="account")
    admins = AgentRun(use_case="research", subject=Subject(type="account", id=via_deal.id), autonomy_level="L2",
                      placement="shown", acting_user="t-admin", generated_at=now,
                      items=[Item(kind="claim", text=f"Revenue is {REVENUE} M USD.", sources=[source],
                                  section="summary", label="Size")])
    # A deal whose stored output is far past HubSpot's 1 MB cap: ten items of 200,000 characters, 40 sources each.
    huge_deal = open_deals[1]
    quote = SourceRef(uri=f"opportunity:{huge_deal}/field/stage", quote="Stage: Engaging", kind="opportunity")
    huge = AgentRun(use_case="next-action", subject=Subject(type="opportunity", id=huge_deal), autonomy_level="L2",
                    placement="shown", generated_at=now,
                    items=[Item(kind="recommendation", text="Engaging " * 25_000, sources=[quote] * 40,
                                label="Book a meeting " * 200, section="actions") for _ in range(10)])
    upsert(session, AgentOutput, [_row(admins), _row(huge)])
    propose(session=session, by="agent:next-action", proposal=Proposal(
        use_case="next-action", subject=f"opportunity:{open_deals[0]}", action="create_task", level="L4",
        reason="Stalled in Engaging.", payload={"subject": "Book the decision meeting", "due_date": "2030-01-15",
                                                "opportunity_id": open_deals[0]}))
    token = create_token(session=session, user_id=seller, name="cards tests")
    return {"seller": seller, "seller_email": users[seller].email, "peer": peer, "deal": open_deals[0],
            "huge_deal": huge_deal, "won_deal": won, "foreign_deal": foreign, "via_deal_account": via_deal.id,
            "unseen_account": "t-unseen", "token": token}


def _row(run: AgentRun) -> dict:
    return {"use_case": run.use_case, "subject_type": run.subject.type, "subject_id": run.subject.id,
            "generated_at": run.generated_at, "items": len(run.items), "dropped_unsupported": 0,
            "output": run.model_dump_json(exclude_none=True)}


# --- HubSpot, as its documentation describes it ---------------------------------------------------------------

# "Decode any of the URL-encoded characters listed below" (request validation, v3); nothing else is decoded.
DOCUMENTED_DECODING = [("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"), ("%24", "$"),
                       ("%27", "'"), ("%28", "("), ("%29", ")"), ("%2A", "*"), ("%2C", ","), ("%3B", ";")]


def hubspot_signature(*, secret: str, method: str, uri: str, body: str, timestamp: str) -> str:
    for encoded, char in DOCUMENTED_DECODING:
        uri = uri.replace(encoded, char)
    digest = hmac.new(secret.encode("utf-8"), f"{method}{uri}{body}{timestamp}".encode("utf-8"), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


@dataclass
class FakeHubSpot:
    """hubspot.fetch from the app card: the card's URL plus who is looking, signed, over real HTTP."""

    base_url: str
    secret: str = CLIENT_SECRET

    def card_url(self, *, object_type: str, record_id: str, email: str) -> str:
        query = {"objectType": object_type, "sellerloopId": record_id,
                 "userId": "8112", "portalId": "24081993", "userEmail": email, "appId": "7301"}
        return f"{self.base_url}/api/hubspot/card?{urlencode(query)}"

    def signed_get(self, url: str, *, secret: str | None = None, age_seconds: float = 0) -> httpx.Response:
        timestamp = str(int((time.time() - age_seconds) * 1000))
        signature = hubspot_signature(secret=secret or self.secret, method="GET", uri=url, body="",
                                      timestamp=timestamp)
        return httpx.get(url, headers={"X-HubSpot-Signature-v3": signature,
                                       "X-HubSpot-Request-Timestamp": timestamp}, timeout=30)

    def card(self, *, object_type: str = "deal", record_id: str, email: str, **options) -> httpx.Response:
        return self.signed_get(self.card_url(object_type=object_type, record_id=record_id, email=email), **options)


@pytest.fixture
def hubspot(card_book) -> FakeHubSpot:
    return FakeHubSpot(card_book.server.base_url)


def one_line_detail(response: httpx.Response) -> str:
    """The `{"detail": ...}` of an API error, checked to be one line and no traceback."""
    body = response.json()
    assert set(body) == {"detail"} and "\n" not in body["detail"] and "Traceback" not in body["detail"], body
    return body["detail"]

