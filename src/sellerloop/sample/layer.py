"""The sample layer: a deterministic, seeded set of made-up records on top of the real Maven book.

Maven gives accounts, sellers, products and opportunities, but no people at the customers, no emails,
meetings, calls, tickets, usage or outside signals, which is what the agents work from. This module adds
them, every row marked synthetic=True, so the demo book has material on almost every open deal:

- contacts per account (and for open deals with no recorded account), linked to deals with a role;
- per open deal an email thread, meetings, often a recorded call with its transcript, sometimes a call or a
  note, an expected close date and a next step (the only real fields it fills in, with a field-history row);
- on about 30 % of open deals the customer asks to move the close date, in a transcript or an email, while the
  opportunity still holds the old date: the evidence is there for a hygiene agent to propose the change;
- calls on about 10 % of closed deals, as history; tickets, usage series and signals for the customer
  accounts; a few open tasks.

Determinism: each record draws from its own `random.Random(f"{seed}:{kind}:{record id}")`, so the output does
not depend on the order rows come back from the database, and ids come from `stable_id`, so they are the same
on every run. Idempotency: rows are upserted by id; rows of an earlier run that this run did not produce are
deleted afterwards (only the layer's own synthetic rows, recognised by their id prefix); utterances, usage
points and field-history rows, which have integer ids, are deleted and written again.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, fields, replace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from sellerloop.records.ids import slug, stable_id
from sellerloop.records.models import (
    OPEN_STAGES,
    Account,
    Activity,
    Contact,
    FieldChange,
    Opportunity,
    OpportunityContact,
    Product,
    Signal,
    Task,
    Ticket,
    Transcript,
    UsageMetric,
    User,
    Utterance,
)
from sellerloop.sample import texts as tx
from sellerloop.store.upsert import upsert

# The demo book's "today": Maven's dates run from 2016-10-20 to 2017-12-31. Every synthetic date is on or
# before it, except the expected close dates of open deals and the due dates of open tasks, which lie ahead.
BOOK_DATE = dt.date(2018, 1, 2)
CHANGED_BY = "sample layer"
PREFIX = "sample"  # every id this layer makes starts with "sample-", so a rerun can tell its rows apart

SYNTHETIC_USERS = (
    {"id": "admin", "name": "Dana Whitfield", "email": "dana.whitfield@maventech.example", "role": "admin"},
    {"id": "revops", "name": "Priya Natarajan", "email": "priya.natarajan@maventech.example",
     "role": "revops"},
)

PUSH_SHARE = 0.30  # open deals whose customer asks to move the close date
TRANSCRIPT_SHARE = 0.78  # open deals with a recorded call
CLOSED_HISTORY_SHARE = 0.10  # closed deals with a meeting and a call from their history
TASK_SHARE = 0.15  # open deals with an open task


def _rng(seed: int, kind: str, key: str) -> random.Random:
    return random.Random(f"{seed}:{kind}:{key}")


def _at(rng: random.Random, day: dt.date) -> dt.datetime:
    """A business-hours moment on `day`."""
    return dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.choice((0, 5, 15, 20, 30, 40, 45, 50))))


def _between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


@dataclass
class _Book:
    """The real records the layer builds on, read once."""

    accounts: list
    sectors: dict
    users: dict
    products: dict
    opportunities: list


@dataclass
class _Out:
    """Everything the layer writes, by table."""

    users: list
    contacts: list
    opportunity_contacts: list
    activities: list
    transcripts: list
    utterances: list
    tickets: list
    usage_metrics: list
    signals: list
    tasks: list
    field_history: list
    opportunity_updates: list


def build_sample_layer(*, session: Session, seed: int) -> dict[str, int]:
    """Write the sample layer for `seed` over the real records in `session`; return rows written per type."""
    book = _read_book(session)
    out = _Out(*([] for _ in fields(_Out)))
    out.users = [{**u, "manager_id": None, "team": None, "region": None, "synthetic": True}
                 for u in SYNTHETIC_USERS]
    account_contacts = _account_contacts(seed, book, out)
    won_products = _won_products(book)
    for opp in book.opportunities:
        if opp["stage"] in OPEN_STAGES:
            _open_deal(seed, book, opp, account_contacts, out)
        elif opp["account_id"] and _rng(seed, "history", opp["id"]).random() < CLOSED_HISTORY_SHARE:
            _closed_deal(seed, book, opp, account_contacts, out)
    for account in book.accounts:
        contacts = account_contacts[account["id"]]
        if account["id"] in won_products:
            _tickets(seed, account, contacts, won_products[account["id"]], book, out)
            _usage(seed, account, won_products[account["id"]], out)
        _signals(seed, account, out)
    _write(session, out)
    return {
        "users": len(out.users), "contacts": len(out.contacts),
        "opportunity_contacts": len(out.opportunity_contacts), "activities": len(out.activities),
        "transcripts": len(out.transcripts), "utterances": len(out.utterances), "tickets": len(out.tickets),
        "usage_metrics": len(out.usage_metrics), "signals": len(out.signals), "tasks": len(out.tasks),
        "field_history": len(out.field_history), "opportunities_updated": len(out.opportunity_updates),
    }


# --------------------------------------------------------------------------------------------------- reading


def _read_book(session: Session) -> _Book:
    a, u, p, o = Account.__table__.c, User.__table__.c, Product.__table__.c, Opportunity.__table__.c
    accounts = [dict(r._mapping) for r in session.execute(
        select(a.id, a.name, a.sector, a.year_established, a.employees, a.office_location)
        .where(a.synthetic.is_(False)).order_by(a.id))]
    users = {r.id: dict(r._mapping) for r in session.execute(
        select(u.id, u.name, u.email, u.role).where(u.synthetic.is_(False)).order_by(u.id))}
    products = {r.id: dict(r._mapping)
                for r in session.execute(select(p.id, p.name, p.series).order_by(p.id))}
    opportunities = [dict(r._mapping) for r in session.execute(
        select(o.id, o.account_id, o.owner_id, o.product_id, o.stage, o.amount, o.engage_date, o.close_date)
        .where(o.synthetic.is_(False)).order_by(o.id))]
    return _Book(accounts, {a["id"]: a["sector"] for a in accounts}, users, products, opportunities)


def _won_products(book: _Book) -> dict[str, str]:
    """Customer accounts (with a won deal) -> the product of their most recent win."""
    latest: dict[str, tuple] = {}
    for o in book.opportunities:
        if o["stage"] == "Won" and o["account_id"]:
            key = (o["close_date"] or dt.date.min, o["id"])
            if o["account_id"] not in latest or key > latest[o["account_id"]][0]:
                latest[o["account_id"]] = (key, o["product_id"])
    return {account: product for account, (_, product) in latest.items()}


# ---------------------------------------------------------------------------------------------------- people


def _contact_row(person: tx.Person, account_id: str | None, rng: random.Random) -> dict:
    return {"id": person.contact_id, "account_id": account_id, "name": person.name, "title": person.title,
            "email": person.email, "phone": tx.phone(rng), "role_in_deal": person.role, "synthetic": True}


def _account_contacts(seed: int, book: _Book, out: _Out) -> dict[str, list[tx.Person]]:
    """3-7 people per account; the first can champion a deal, the second signs."""
    people: dict[str, list[tx.Person]] = {}
    for account in book.accounts:
        rng = _rng(seed, "contacts", account["id"])
        domain = tx.email_domain(account["name"])
        taken: set[str] = set()
        people[account["id"]] = []
        for i, (title, role) in enumerate(tx.account_titles(rng, rng.randint(3, 7))):
            name = tx.person_name(rng, taken)
            taken.add(name)
            person = tx.Person(name=name, title=title, email=tx.email_address(name, domain),
                               company=account["name"], role=role,
                               contact_id=stable_id(f"{PREFIX}-contact", account["id"], i))
            people[account["id"]].append(person)
            out.contacts.append(_contact_row(person, account["id"], rng))
    return people


def _seller(book: _Book, owner_id: str | None) -> tx.Person:
    user = book.users.get(owner_id) or {"id": None, "name": "MavenTech Sales",
                                        "email": "sales@maventech.example", "role": "seller"}
    return tx.Person(name=user["name"], title=tx.SELLER_TITLE.get(user["role"], "Account Executive"),
                     email=user["email"] or "sales@maventech.example", company=tx.SELLER_COMPANY,
                     user_id=user["id"])


def _deal_people(rng: random.Random, seed: int, opp: dict, account_contacts: dict, out: _Out
                 ) -> tuple[str, list[tx.Person]]:
    """The company name and the customer's people on this deal, champion first; links them to the deal."""
    if opp["account_id"]:
        pool = account_contacts[opp["account_id"]]
        company = pool[0].company
        chosen = [pool[0]]
        if rng.random() < 0.65:  # the economic buyer is engaged on about two deals in three
            chosen.append(pool[1])
        rest = pool[2:]
        chosen += rng.sample(rest, min(len(rest), rng.randint(0, 2)))
        people = [replace(p, role="champion") if i == 0 else p for i, p in enumerate(chosen)]
    else:
        # Maven does not record the account; the people still work somewhere, named in their signature.
        crng = _rng(seed, "unrecorded", opp["id"])
        company = tx.unrecorded_company(crng)
        domain = tx.email_domain(company)
        titles = tx.account_titles(crng, 3)[: crng.randint(1, 3)]
        people, taken = [], set()
        for i, (title, role) in enumerate(titles):
            name = tx.person_name(crng, taken)
            taken.add(name)
            person = tx.Person(name=name, title=title, email=tx.email_address(name, domain), company=company,
                               contact_id=stable_id(f"{PREFIX}-contact", opp["id"], i),
                               role="champion" if i == 0 else role)
            people.append(person)
            out.contacts.append(_contact_row(person, None, crng))
    for p in people:
        out.opportunity_contacts.append({"opportunity_id": opp["id"], "contact_id": p.contact_id,
                                         "role_in_deal": p.role, "synthetic": True})
    return company, people


def _deal(rng: random.Random, seed: int, book: _Book, opp: dict, account_contacts: dict,
          out: _Out) -> tx.Deal:
    company, people = _deal_people(rng, seed, opp, account_contacts, out)
    product = book.products.get(opp["product_id"]) or {"name": "GTX Basic", "series": "GTX"}
    sector = book.sectors.get(opp["account_id"])
    return tx.Deal(opportunity_id=opp["id"], company=company, sector=sector, product=product["name"],
                   series=product["series"] or "GTX", amount=float(opp["amount"] or 1000), stage=opp["stage"],
                   seller=_seller(book, opp["owner_id"]), contacts=people, close_date=opp["close_date"],
                   competitor=rng.choice(tx.COMPETITORS), pain=tx.deal_pain(rng, sector))


# ----------------------------------------------------------------------------------------------------- deals


def _open_deal(seed: int, book: _Book, opp: dict, account_contacts: dict, out: _Out) -> None:
    rng = _rng(seed, "deal", opp["id"])
    deal = _deal(rng, seed, book, opp, account_contacts, out)

    # When the work happened: most deals were touched in the last three weeks, some have gone quiet.
    r = rng.random()
    lag = rng.randint(1, 21) if r < 0.7 else rng.randint(22, 60) if r < 0.9 else rng.randint(61, 150)
    last = BOOK_DATE - dt.timedelta(days=lag)
    if opp["engage_date"] and last < opp["engage_date"]:
        last = opp["engage_date"]
    start = last - dt.timedelta(days=rng.randint(14, 60))
    if opp["engage_date"] and start < opp["engage_date"]:
        start = opp["engage_date"]

    # The expected close date, and on some deals the later date the customer has since asked for.
    close = tx.next_workday(BOOK_DATE + dt.timedelta(days=rng.randint(10, 150)))
    deal.close_date = close
    has_transcript = rng.random() < TRANSCRIPT_SHARE
    if rng.random() < PUSH_SHARE:
        deal.pushed_to = tx.next_workday(close + dt.timedelta(days=rng.randint(14, 75)))
        deal.push_reason_index = rng.randrange(len(tx.PUSH_REASONS))
        if opp["stage"] == "Prospecting" and deal.push_reason_index == tx.LEGAL_PUSH:
            # No contract is with legal this early: the budget year is the reason (no draw, the stream stays).
            deal.push_reason_index = tx.BUDGET_YEAR_PUSH
        deal.push_in_transcript = has_transcript
    push_in_email = deal.pushed_to is not None and (not has_transcript or rng.random() < 0.4)

    n_emails, n_meetings = rng.randint(2, 5), rng.randint(1, 2)
    kinds = ["email"] * n_emails + ["meeting"] * n_meetings
    kinds += ["transcript"] * has_transcript
    kinds += ["call"] * (rng.random() < 0.3) + ["note"] * (rng.random() < 0.3)
    rng.shuffle(kinds)
    moments = sorted(_at(rng, _between(rng, start, last)) for _ in kinds)
    for i in range(1, len(moments)):  # no two at the same minute, so a thread's order is never ambiguous
        moments[i] = max(moments[i], moments[i - 1] + dt.timedelta(minutes=25))
    when: dict[str, list[dt.datetime]] = defaultdict(list)
    for kind, moment in zip(kinds, moments):
        when[kind].append(moment)

    base = {"account_id": opp["account_id"], "opportunity_id": opp["id"], "owner_id": deal.seller.user_id,
            "synthetic": True}
    thread_id = stable_id(f"{PREFIX}-thread", opp["id"])
    commitment_day = tx.next_workday(when["email"][-1].date() + dt.timedelta(days=rng.randint(2, 6)))
    messages = tx.email_thread(rng, deal, n=n_emails, first_inbound=rng.random() < 0.25,
                               push_in_email=push_in_email, commitment_day=commitment_day)
    for i, (message, moment) in enumerate(zip(messages, when["email"])):
        participants = ([message["sender"].ref("from")] + [p.ref("to") for p in message["to"]]
                        + [p.ref("cc") for p in message["cc"]])
        out.activities.append({**base, "id": stable_id(f"{PREFIX}-email", opp["id"], i), "kind": "email",
                               "occurred_at": moment, "subject": message["subject"], "body": message["body"],
                               "direction": message["direction"], "thread_id": thread_id,
                               "participants": participants})

    next_step = None
    for i, moment in enumerate(when["meeting"]):
        attendees = deal.contacts[: rng.randint(1, len(deal.contacts))]
        m = tx.meeting(rng, deal, day=moment.date(), attendees=attendees)
        next_step = m["next_step"]
        out.activities.append({**base, "id": stable_id(f"{PREFIX}-meeting", opp["id"], i), "kind": "meeting",
                               "occurred_at": moment, "subject": m["subject"], "body": m["body"],
                               "direction": None, "thread_id": None,
                               "participants": [p.ref("attendee") for p in [deal.seller, *attendees]]})

    for moment in when["transcript"]:
        _call_with_transcript(rng, deal, opp, base, moment, target=rng.randint(20, 44), out=out)
    for moment in when["call"]:
        contact = rng.choice(deal.contacts)
        out.activities.append({**base, "id": stable_id(f"{PREFIX}-call", opp["id"], "quick"), "kind": "call",
                               "occurred_at": moment, "subject": f"Call with {contact.name}",
                               "body": _for_stage(rng.choice(tx.CALL_NOTES), opp["stage"]).format(c=contact.name),
                               "direction": "outbound", "thread_id": None,
                               "participants": [deal.seller.ref("from"), contact.ref("to")]})
    for moment in when["note"]:
        contact = rng.choice(deal.contacts)
        out.activities.append({**base, "id": stable_id(f"{PREFIX}-note", opp["id"]), "kind": "note",
                               "occurred_at": moment, "subject": "Note",
                               "body": rng.choice(tx.NOTES).format(c=contact.name,
                                                                   competitor=deal.competitor),
                               "direction": None, "thread_id": None, "participants": []})

    # The close date's history: set when the deal got going, on some deals moved once already.
    first_set = _at(rng, max(start - dt.timedelta(days=rng.randint(0, 20)),
                             opp["engage_date"] or dt.date.min))
    history = []
    if rng.random() < 0.2:
        earlier = tx.next_workday(close - dt.timedelta(days=rng.randint(20, 60)))
        moved = _at(rng, _between(rng, first_set.date(), last))
        history = [(None, earlier, first_set),
                   (earlier, close, max(moved, first_set + dt.timedelta(hours=1)))]
    else:
        history = [(None, close, first_set)]
    for old, new, changed_at in history:
        out.field_history.append({"object_type": "opportunity", "record_id": opp["id"], "field": "close_date",
                                  "old_value": old.isoformat() if old else None, "new_value": new.isoformat(),
                                  "changed_at": changed_at, "changed_by": CHANGED_BY, "synthetic": True})
    out.opportunity_updates.append({"b_id": opp["id"], "close_date": close, "next_step": next_step})

    if rng.random() < TASK_SHARE:
        for i in range(rng.randint(1, 2)):
            contact = rng.choice(deal.contacts)
            subject, description = rng.choice(TASKS)
            created = _at(rng, _between(rng, start, last))
            out.tasks.append({"id": stable_id(f"{PREFIX}-task", opp["id"], i),
                              "account_id": opp["account_id"], "opportunity_id": opp["id"],
                              "owner_id": deal.seller.user_id,
                              "subject": subject.format(c=contact.name),
                              "description": description.format(c=contact.name, product=deal.product),
                              "due_date": BOOK_DATE + dt.timedelta(days=rng.randint(-10, 14)),
                              "status": "open", "created_at": created, "synthetic": True})


TASKS = (
    ("Send security questionnaire to {c}", "{c} asked for the completed questionnaire and the SOC 2 report."),
    ("Follow up with {c} on pricing",
     "Send the phased pricing option for {product} and ask about budget timing."),
    ("Book technical deep dive with {c}", "Set up a session with the architecture team to review the "
                                          "integration plan."),
    ("Ask {c} to introduce the economic buyer", "The economic buyer has not been in a meeting yet."),
    ("Send reference customer contact to {c}",
     "Find a reference in the same sector and make the introduction."),
    ("Draft mutual action plan for {c}", "List the steps, owners and dates up to signature."),
)


def _call_with_transcript(rng: random.Random, deal: tx.Deal, opp: dict, base: dict, moment: dt.datetime, *,
                          target: int, out: _Out, won: bool | None = None) -> None:
    activity_id = stable_id(f"{PREFIX}-call", opp["id"], "recorded")
    transcript_id = stable_id(f"{PREFIX}-transcript", opp["id"])
    if won is None:
        lines, _ = tx.transcript_lines(rng, deal, call_day=moment.date(), target=target)
    else:
        lines = tx.closed_lines(rng, deal, won=won, call_day=moment.date())
    title = rng.choice(tx.TRANSCRIPT_TITLES).format(company=deal.company, product=deal.product)
    speakers = []
    for line in lines:
        if line.speaker not in speakers:
            speakers.append(line.speaker)
    out.activities.append({**base, "id": activity_id, "kind": "call", "occurred_at": moment, "subject": title,
                           "body": f"Recorded call ({len(lines)} turns). The transcript is attached to this "
                                   "call.",
                           "direction": "outbound", "thread_id": None,
                           "participants": [p.ref("attendee") for p in speakers]})
    out.transcripts.append({"id": transcript_id, "opportunity_id": opp["id"], "account_id": opp["account_id"],
                            "activity_id": activity_id, "title": title, "occurred_at": moment,
                            "source_format": "sample", "source_name": CHANGED_BY, "synthetic": True})
    for seq, (speaker, start_s, end_s, text) in enumerate(tx.timed(rng, lines), 1):
        out.utterances.append({"transcript_id": transcript_id, "seq": seq, "speaker": speaker,
                               "start_s": start_s, "end_s": end_s, "text": text, "synthetic": True})


def _closed_deal(seed: int, book: _Book, opp: dict, account_contacts: dict, out: _Out) -> None:
    """A meeting and a recorded call from the history of a deal that has since been won or lost."""
    rng = _rng(seed, "deal", opp["id"])
    deal = _deal(rng, seed, book, opp, account_contacts, out)
    deal.close_date = None  # the call came before the outcome; it does not discuss the recorded close date
    end = opp["close_date"] or BOOK_DATE
    start = opp["engage_date"] or (end - dt.timedelta(days=60))
    meeting_at, call_at = sorted(_at(rng, _between(rng, start, end)) for _ in range(2))
    base = {"account_id": opp["account_id"], "opportunity_id": opp["id"], "owner_id": deal.seller.user_id,
            "synthetic": True}
    attendees = deal.contacts[: rng.randint(1, len(deal.contacts))]
    m = tx.meeting(rng, deal, day=meeting_at.date(), attendees=attendees)
    out.activities.append({**base, "id": stable_id(f"{PREFIX}-meeting", opp["id"], 0), "kind": "meeting",
                           "occurred_at": meeting_at, "subject": m["subject"], "body": m["body"],
                           "direction": None, "thread_id": None,
                           "participants": [p.ref("attendee") for p in [deal.seller, *attendees]]})
    _call_with_transcript(rng, deal, opp, base, call_at, target=0, out=out, won=opp["stage"] == "Won")


# -------------------------------------------------------------------------------------------------- accounts


def _tickets(seed: int, account: dict, contacts: list[tx.Person], product_id: str, book: _Book,
             out: _Out) -> None:
    rng = _rng(seed, "tickets", account["id"])
    product = book.products.get(product_id, {"name": "GTX Basic"})["name"]
    escalation = rng.random() < 0.25  # an open high-severity ticket right now
    n = rng.randint(1, 6)
    for i in range(n):
        subject, body, severities = rng.choice(tx.TICKETS)
        severity = rng.choice(severities)
        opened = _at(rng, BOOK_DATE - dt.timedelta(days=rng.randint(0, 365)))
        if escalation and i == n - 1:
            urgent = [t for t in tx.TICKETS if {"high", "critical"} & set(t[2])]
            subject, body, severities = rng.choice(urgent)
            severity = "critical" if "critical" in severities and rng.random() < 0.5 else "high"
            if severity not in severities:
                severity = severities[0]
            opened = _at(rng, BOOK_DATE - dt.timedelta(days=rng.randint(0, 12)))
        age = (BOOK_DATE - opened.date()).days
        closed_at = opened + dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 8))
        if (escalation and i == n - 1) or closed_at.date() > BOOK_DATE or (age < 30 and rng.random() < 0.5):
            status, closed_at = rng.choice(("open", "open", "pending")), None
        else:
            status = "closed"
        out.tickets.append({
            "id": stable_id(f"{PREFIX}-ticket", account["id"], i), "account_id": account["id"],
            "contact_id": rng.choice(contacts).contact_id, "subject": subject,
            "body": body.format(n=rng.randint(5, 400), code=rng.randint(100, 999), product=product),
            "severity": severity, "status": status, "opened_at": opened, "closed_at": closed_at,
            "synthetic": True})


def _usage(seed: int, account: dict, product_id: str, out: _Out) -> None:
    """Weekly or monthly seat and active-user series with a growing, flat or declining trend."""
    rng = _rng(seed, "usage", account["id"])
    trend = rng.choice(("growing", "flat", "declining"))
    weekly = rng.random() < 0.6
    if weekly:
        last = BOOK_DATE - dt.timedelta(days=BOOK_DATE.weekday() + 7)  # the last complete week's Monday
        periods = [last - dt.timedelta(weeks=k) for k in range(rng.randint(26, 52))][::-1]
    else:
        periods = []
        year, month = 2017, 12
        for _ in range(rng.randint(6, 12)):
            periods.append(dt.date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        periods.reverse()
    seats = max(10, round((account["employees"] or 200) * rng.uniform(0.03, 0.15)))
    begin, end = {"growing": (rng.uniform(0.3, 0.5), rng.uniform(0.8, 0.97)),
                  "flat": (u := rng.uniform(0.6, 0.8), u + rng.uniform(-0.04, 0.04)),
                  "declining": (rng.uniform(0.8, 0.95), rng.uniform(0.3, 0.5))}[trend]
    engaged = rng.uniform(0.55, 0.85)
    for k, period in enumerate(periods):
        share = begin + (end - begin) * k / max(1, len(periods) - 1)
        used = min(seats, round(seats * share * rng.uniform(0.97, 1.03)))
        active = round(used * engaged * rng.uniform(0.92, 1.06))
        for metric, value in (("seats_purchased", seats), ("seats_used", used), ("active_users", active)):
            out.usage_metrics.append({"account_id": account["id"], "product_id": product_id, "metric": metric,
                                      "period_start": period, "value": float(value), "synthetic": True})


def _for_stage(note: str, stage: str) -> str:
    # Chosen first and replaced after, so the random stream (and so the rest of the book) stays as it was.
    return tx.PROSPECTING_CALL_NOTES.get(note, note) if stage == "Prospecting" else note


def _signals(seed: int, account: dict, out: _Out) -> None:
    rng = _rng(seed, "signals", account["id"])
    name, account_slug = account["name"], slug(account["name"])
    domain = tx.email_domain(name)
    n_news, n_jobs, n_pages = rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 2)
    exec_name = tx.person_name(rng)
    slots = {"company": name, "m": rng.choice((12, 25, 40, 75, 120)), "area": rng.choice(tx.AREAS),
             "exec": exec_name, "exec_first": exec_name.split()[0], "pct": rng.choice((8, 12, 15, 20, 30)),
             "city": rng.choice(tx.CITIES), "nth": rng.choice(("third", "fourth", "fifth", "seventh")),
             "n": rng.choice((40, 80, 150, 300, 600)), "previous": tx.unrecorded_company(rng),
             "target": tx.unrecorded_company(rng), "sector": account["sector"] or "technology",
             # A partner is not the company it acquires: drawn from a stream of its own, so the rest is unchanged.
             "partner": tx.unrecorded_company(_rng(seed, "partner", account["id"])),
             "year": account["year_established"] or "the 1990s",
             "employees": f"{account['employees'] or 0:,}",
             "location": account["office_location"] or "the United States"}
    rows = []
    for _, title, body in rng.sample(tx.NEWS, n_news):
        title = title.format(**slots)
        rows.append(("news", title, f"https://news.example/{account_slug}/{slug(title)}",
                     body.format(**slots), rng.choice(tx.NEWS_SOURCES), rng.randint(3, 270)))
    for title, body in rng.sample(tx.JOBS, n_jobs):
        rows.append(("job_posting", f"{title} — {name}", f"https://jobs.example/{account_slug}/{slug(title)}",
                     body.format(**slots), "Jobs board", rng.randint(1, 60)))
    for page, title, body in rng.sample(tx.WEB_PAGES, n_pages):
        rows.append(("web_page", title.format(**slots), f"https://www.{domain}/{page}", body.format(**slots),
                     "Company website", rng.randint(1, 30)))
    for i, (kind, title, url, body, source, age) in enumerate(rows):
        out.signals.append({"id": stable_id(f"{PREFIX}-signal", account["id"], i),
                            "account_id": account["id"], "kind": kind, "title": title, "url": url,
                            "published_at": _at(rng, BOOK_DATE - dt.timedelta(days=age)), "body": body,
                            "source_name": source, "synthetic": True})


# --------------------------------------------------------------------------------------------------- writing

# Parents before children; stale rows are deleted in the reverse order.
_STRING_KEYED = (("contacts", Contact), ("activities", Activity), ("transcripts", Transcript),
                 ("tickets", Ticket), ("signals", Signal), ("tasks", Task))


def _write(session: Session, out: _Out) -> None:
    # Integer-keyed rows and links have no stable id of their own: delete the layer's and write them again.
    # (Core statements: the ORM's delete would also try to synchronise objects in the session.)
    u, oc, um, fc = (m.__table__ for m in (Utterance, OpportunityContact, UsageMetric, FieldChange))
    session.execute(u.delete().where(u.c.synthetic.is_(True), u.c.transcript_id.like(f"{PREFIX}-%")))
    session.execute(oc.delete().where(oc.c.synthetic.is_(True), oc.c.contact_id.like(f"{PREFIX}-%")))
    real_accounts = select(Account.__table__.c.id).where(Account.__table__.c.synthetic.is_(False))
    session.execute(um.delete().where(um.c.synthetic.is_(True), um.c.account_id.in_(real_accounts)))
    session.execute(fc.delete().where(fc.c.synthetic.is_(True), fc.c.changed_by == CHANGED_BY))

    upsert(session, User, out.users)
    for name, model in _STRING_KEYED:
        upsert(session, model, getattr(out, name))
    for model, rows in ((OpportunityContact, out.opportunity_contacts), (Utterance, out.utterances),
                        (UsageMetric, out.usage_metrics), (FieldChange, out.field_history)):
        for start in range(0, len(rows), 5000):
            session.execute(model.__table__.insert(), rows[start:start + 5000])

    o = Opportunity.__table__
    # Only open deals are in the list (see _open_deal): closed deals keep their recorded dates.
    session.execute(o.update().where(o.c.id == bindparam("b_id"))
                    .values(close_date=bindparam("close_date"), next_step=bindparam("next_step")),
                    out.opportunity_updates)

    # Rows an earlier run wrote that this run did not (another seed made fewer): children first.
    for name, model in reversed(_STRING_KEYED):
        keep = {row["id"] for row in getattr(out, name)}
        table = model.__table__
        existing = session.scalars(select(table.c.id).where(table.c.synthetic.is_(True),
                                                            table.c.id.like(f"{PREFIX}-%"))).all()
        stale = [i for i in existing if i not in keep]
        for start in range(0, len(stale), 500):
            session.execute(table.delete().where(table.c.id.in_(stale[start:start + 500])))
    session.flush()
