"""Small deal situations built by hand: one account (Acme), one deal, the people on it, and the messages a test adds.
Shared by the scenario tests of the deal read and the agents that judge from it."""
from __future__ import annotations

import datetime as dt

from sellerloop.evidence.deals import book_context, load_deals
from sellerloop.evidence.timeline import DealRead, read_deal
from sellerloop.records.models import (
    Account,
    Activity,
    Contact,
    Opportunity,
    OpportunityContact,
    StageChange,
    Transcript,
    User,
    Utterance,
)

SELLER = {"name": "Sam Seller", "email": "sam@us.example", "role": "from", "user_id": "u1"}
MALIK = {"name": "Malik Reyes", "email": "malik@acme.example", "contact_id": "c1"}
NADIA = {"name": "Nadia Okafor", "email": "nadia@acme.example", "contact_id": "c2"}


def book(session, *, stage="Engaging", amount=48000.0):
    """One deal at Acme (Malik Reyes, champion; Nadia Okafor, CFO), whose newest note on 2018-03-01 makes that
    "today"; nothing else on it yet."""
    session.add(User(id="u1", name="Sam Seller", email="sam@us.example"))
    session.flush()
    session.add(Account(id="acme", name="Acme", owner_id="u1"))
    session.flush()
    session.add(Opportunity(id="d1", name="Acme platform", account_id="acme", owner_id="u1", stage=stage,
                            amount=amount, close_date=dt.date(2018, 4, 30), engage_date=dt.date(2018, 1, 10)))
    session.add_all([Contact(id="c1", account_id="acme", name="Malik Reyes", title="IT Director"),
                     Contact(id="c2", account_id="acme", name="Nadia Okafor", title="Chief Financial Officer")])
    session.flush()
    session.add_all([OpportunityContact(opportunity_id="d1", contact_id="c1", role_in_deal="champion"),
                     OpportunityContact(opportunity_id="d1", contact_id="c2"),
                     StageChange(opportunity_id="d1", stage="Engaging", entered_on=dt.date(2018, 2, 20)),
                     Activity(id="today", kind="note", account_id="acme", occurred_at=dt.datetime(2018, 3, 1, 9),
                              body="Account review.")])
    session.flush()


def email(session, id, day, direction, body, *, thread="t1", subject="Technical session", who=MALIK):
    sender, to = (dict(who, role="from"), dict(SELLER, role="to")) if direction == "inbound" else \
        (SELLER, dict(who, role="to"))
    session.add(Activity(id=id, kind="email", opportunity_id="d1", account_id="acme", direction=direction,
                         occurred_at=dt.datetime(2018, 2, day, 10), thread_id=thread, subject=subject, body=body,
                         participants=[sender, to]))


def call(session, *lines: tuple[str, str, str], day: int) -> None:
    """A recorded call on d1 on that day of February 2018 at 15:00: (speaker, side, words) a line."""
    session.add(Transcript(id="t1", opportunity_id="d1", account_id="acme", title="Call",
                           occurred_at=dt.datetime(2018, 2, day, 15), source_format="text"))
    session.flush()
    for seq, (speaker, role, text) in enumerate(lines, start=1):
        session.add(Utterance(transcript_id="t1", seq=seq, speaker=speaker, role=role, text=text))


def read(session) -> DealRead:
    """The deal read of d1 as the book stands (today: its newest activity)."""
    deal = load_deals(session=session, opportunities=[session.get(Opportunity, "d1")], transcripts=True)[0]
    return read_deal(deal, as_of=book_context(session=session).as_of)
