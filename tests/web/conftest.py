"""Web fixtures: the app served by uvicorn over real HTTP on a loopback port, and a Playwright browser.

Two stores back the pages, each on SQLite and (when SELLERLOOP_TEST_POSTGRES_URL is set) PostgreSQL:
- `maven_server` serves the shared, read-only Maven book (`maven_store` from tests/conftest.py);
- `web_server` serves `web_store`: the Maven book plus a few hand-made rows (contacts, activities, a signal,
  a ticket, usage, field history and two transcripts) so every section of the record pages has content.
  It is built once per backend and only read afterwards.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from sellerloop.config import get_settings
from sellerloop.records.models import (
    Activity,
    Contact,
    FieldChange,
    Opportunity,
    OpportunityContact,
    Signal,
    Ticket,
    Transcript,
    UsageMetric,
    Utterance,
)
from sellerloop.sample.layer import build_sample_layer
from sellerloop.store.db import create_store_engine, session_scope
from tests.conftest import BACKENDS, load_book, make_store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SEED_ACCOUNT = "cancity"
TIMED_TRANSCRIPT = "tr-web-timed"
UNTIMED_TRANSCRIPT = "tr-web-untimed"
UTTERANCE_SECONDS = 6.0  # utterance n runs from (n-1)*6.0 to (n-1)*6.0 + 5.5 seconds


# --- serving ------------------------------------------------------------------------------------------------

@dataclass
class LiveServer:
    base_url: str
    engine: Engine
    backend: str = ""

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def serve(engine: Engine, *, sign_in: bool = False) -> Iterator[LiveServer]:
    """Serve create_app(engine=...) with uvicorn in a background thread on 127.0.0.1, on a free port; as the
    local operator (no sign-in) unless `sign_in`."""
    import uvicorn

    from sellerloop.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # port 0: the kernel picks a free one, no race with other test workers
    port = sock.getsockname()[1]
    app = create_app(engine=engine, sign_in=sign_in, secret_key="test-secret")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test web server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def maven_server(maven_store) -> Iterator[LiveServer]:
    engine = create_store_engine(maven_store.url)
    with serve(engine) as live:
        yield live
    engine.dispose()


# --- a store with every kind of record ----------------------------------------------------------------------

@dataclass
class WebStore:
    backend: str
    url: str
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session", params=BACKENDS)
def web_store(request, tmp_path_factory) -> Iterator[WebStore]:
    for handle in make_store(request.param, tmp_path_factory.mktemp("web")):
        load_book(handle.url)
        engine = create_store_engine(handle.url)
        with session_scope(engine) as session:
            ids = seed_records(session=session)
        engine.dispose()
        yield WebStore(request.param, handle.url, ids)


@pytest.fixture(scope="session")
def web_server(web_store) -> Iterator[LiveServer]:
    engine = create_store_engine(web_store.url)
    with serve(engine) as live:
        yield live
    engine.dispose()


@pytest.fixture
def web_session(web_server) -> Iterator[Session]:
    """A session on the store `web_server` serves, to compare pages with what the store says."""
    with session_scope(web_server.engine) as session:
        yield session


def seed_records(*, session: Session, account_id: str = SEED_ACCOUNT) -> dict[str, str]:
    """A few hand-made rows around one Maven account and one of its open deals; returns their ids.
    Some rows are marked synthetic so the pages' "sample" badge has something to show."""
    opportunity = session.scalars(select(Opportunity).where(Opportunity.account_id == account_id,
                                                            Opportunity.stage == "Engaging")
                                  .order_by(Opportunity.id).limit(1)).one()
    opportunity.next_step = "Send the security questionnaire answers before Friday's review."
    t0 = dt.datetime(2017, 6, 12, 15, 0)
    session.add_all([
        Contact(id="c-web-ben", account_id=account_id, name="Ben Ortiz", title="VP Operations",
                email="ben.ortiz@cancity.example", role_in_deal="champion"),
        Contact(id="c-web-dana", account_id=account_id, name="Dana Kim", title="CFO",
                email="dana.kim@cancity.example", role_in_deal="economic_buyer", synthetic=True),
    ])
    session.flush()
    session.add_all([
        OpportunityContact(opportunity_id=opportunity.id, contact_id="c-web-ben", role_in_deal="champion"),
        OpportunityContact(opportunity_id=opportunity.id, contact_id="c-web-dana",
                           role_in_deal="economic_buyer", synthetic=True),
        Activity(id="act-web-email", kind="email", account_id=account_id, opportunity_id=opportunity.id,
                 owner_id=opportunity.owner_id, occurred_at=t0 - dt.timedelta(days=3), direction="outbound",
                 subject="Agenda for Monday's discovery call",
                 body="Hi Ben,\n\nHere is the agenda for Monday: current process, pain points, next steps."
                      "\n\nBest",
                 participants=[{"name": "Seller", "role": "from"}, {"name": "Ben Ortiz", "role": "to",
                                                                    "contact_id": "c-web-ben"}]),
        Activity(id="act-web-meeting", kind="meeting", account_id=account_id, opportunity_id=opportunity.id,
                 owner_id=opportunity.owner_id, occurred_at=t0, subject="Discovery call",
                 body="Ben confirmed the budget is approved for Q3. Dana signs anything above $50k.",
                 participants=[{"name": "Ben Ortiz", "role": "attendee"},
                               {"name": "Dana Kim", "role": "attendee"}]),
        Activity(id="act-web-note", kind="note", account_id=account_id, opportunity_id=opportunity.id,
                 occurred_at=t0 + dt.timedelta(days=1), subject="Security review is the next hurdle",
                 body="Their IT team wants SOC 2 evidence.", participants=[], synthetic=True),
        Signal(id="sig-web-news", account_id=account_id, kind="news", title="Cancity opens a second plant",
               url="https://example.com/news/cancity-second-plant", published_at=t0 - dt.timedelta(days=20),
               source_name="Example News"),
        Ticket(id="tk-web-1", account_id=account_id, contact_id="c-web-ben",
               subject="Export to CSV times out", severity="high", status="open",
               opened_at=t0 - dt.timedelta(days=9)),
        FieldChange(object_type="opportunity", record_id=opportunity.id, field="close_date",
                    old_value="2017-06-30", new_value="2017-07-31", changed_at=t0 + dt.timedelta(days=2),
                    changed_by="Seller"),
        *[UsageMetric(account_id=account_id, metric="weekly_active_users", value=v,
                      period_start=dt.date(2017, 5, 1) + dt.timedelta(weeks=i), synthetic=True)
          for i, v in enumerate([12, 15, 14, 19, 23, 22, 27, 31])],
    ])
    session.flush()  # the transcript below points at the meeting
    timed = Transcript(id=TIMED_TRANSCRIPT, opportunity_id=opportunity.id, account_id=account_id,
                       activity_id="act-web-meeting", title="Discovery call with Cancity", occurred_at=t0,
                       source_format="vtt", source_name="discovery.vtt")
    lines = ["Thanks for making the time, Ben.", "Happy to. We have about thirty minutes.",
             "How do you handle the weekly production report today?",
             "It is a spreadsheet that three people update by hand.", "How long does that take each week?",
             "About two days in total, and it is often late.", "Who else cares about that report?",
             "Dana, our CFO. She signs anything above fifty thousand.", "Is there a budget for fixing it?",
             "Yes, the budget is approved for the third quarter.", "What would stop you from moving ahead?",
             "Our IT team will want to see SOC 2 evidence first."]
    for seq, line in enumerate(lines, start=1):
        start = (seq - 1) * UTTERANCE_SECONDS
        timed.utterances.append(Utterance(seq=seq, speaker="Seller" if seq % 2 else "Ben Ortiz",
                                          start_s=start, end_s=start + 5.5, text=line))
    untimed = Transcript(id=UNTIMED_TRANSCRIPT, opportunity_id=opportunity.id, account_id=account_id,
                         title="Pasted notes from a call", source_format="text", synthetic=True)
    for seq, (speaker, line) in enumerate([("Seller", "Any news on the review?"),
                                           ("Ben Ortiz", "Next week, I hope."),
                                           ("Seller", "I will check in on Friday.")], start=1):
        untimed.utterances.append(Utterance(seq=seq, speaker=speaker, text=line, synthetic=True))
    session.add_all([timed, untimed])
    session.flush()
    return {"account": account_id, "opportunity": opportunity.id, "timed_transcript": TIMED_TRANSCRIPT,
            "untimed_transcript": UNTIMED_TRANSCRIPT}


# --- screenshots for docs/screenshots -----------------------------------------------------------------------

# The browser tests always take their screenshots (a broken page shows up as a failed or odd-sized image), but
# write them into docs/ only when asked (`make screenshots`), so an ordinary test run leaves the tree clean.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
               if os.environ.get("SELLERLOOP_UPDATE_SCREENSHOTS") == "1"
               else Path(tempfile.mkdtemp(prefix="sellerloop-screenshots-")))

@pytest.fixture(scope="session")
def screenshot_server(tmp_path_factory):
    """A SQLite store for docs/screenshots: the Maven book, the sample layer when it is available, and the
    hand-made rows of the web tests. Served like the others."""
    url = f"sqlite:///{tmp_path_factory.mktemp('shots') / 'sellerloop.db'}"
    load_book(url)
    engine = create_store_engine(url)
    with session_scope(engine) as session:
        ids = seed_records(session=session)
    with session_scope(engine) as session:
        build_sample_layer(session=session, seed=get_settings().sample_seed)
    with session_scope(engine) as session:
        ids |= _richest_records(session, ids)
    with serve(engine) as live:
        yield live, ids
    engine.dispose()


def _richest_records(session, ids: dict) -> dict:
    """The account with the most activities and the longest timed transcript, if the sample layer made any."""
    account = session.scalar(select(Activity.account_id).where(Activity.account_id.is_not(None))
                             .group_by(Activity.account_id).order_by(func.count().desc(), Activity.account_id)
                             .limit(1))
    transcript = session.scalar(select(Transcript.id).join(Utterance).where(Utterance.start_s.is_not(None))
                                .group_by(Transcript.id).order_by(func.count().desc(), Transcript.id)
                                .limit(1))
    transcript = transcript or ids["timed_transcript"]
    # A span over utterances 7-8, so the screenshot shows a ?t= highlight next to the #u-5 :target one.
    timed = {u.seq: u for u in session.scalars(select(Utterance).where(Utterance.transcript_id == transcript,
                                                                        Utterance.seq.in_((7, 8))))}
    span = f"{timed[7].start_s + 0.5:g}-{timed[8].start_s + 0.5:g}" if len(timed) == 2 else "36-48"
    return {"shot_account": account or ids["account"], "shot_transcript": transcript, "shot_span": span}


# --- browser ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Playwright driving the system Chromium (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# --- the demo book, for the agent panels ----------------------------------------------------------------------

DEMO_DEAL = "01XZ9CRY"  # an Engaging Cancity deal with a transcript, emails and contacts in the demo book
DEMO_ACCOUNT = "cancity"
DRAFT_DEAL = "055Z2OAS"  # a Dontechi deal whose latest call nobody recapped by email: its follow-up drafts one


@pytest.fixture(scope="session")
def demo_server(demo_store) -> Iterator[LiveServer]:
    """The demo book (Maven + the sample layer at seed 7, `demo_store` of tests/conftest.py), served; read only."""
    engine = create_store_engine(demo_store.url)
    with serve(engine) as live:
        live.backend = demo_store.backend
        yield live
    engine.dispose()
