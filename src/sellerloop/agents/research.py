"""Account research: who the account is, what just happened there, and why they might buy now.

Sections:
- summary: profile (sector, size, revenue, headquarters), the pipeline with us, the people we know there;
- trigger: the most recent meaningful event, dated (a news item, job posting, web page, support ticket, or a
  change in product usage);
- hypothesis: why they would buy now, tied to the playbook element the trigger speaks to.

Every statement is built from the words of the sources it cites, so the verifier can check each one.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import HIDDEN_VALUE, cite_field, cite_whole, format_value, resolve_source
from sellerloop.playbooks.models import Playbook
from sellerloop.records.models import Account, Contact, Signal, Ticket, UsageMetric

SECTIONS = [
    Section(key="summary", title="Summary", kind="claim", max_items=4,
            purpose="Who the account is and where we stand with them: profile, pipeline, people we know."),
    Section(key="trigger", title="Trigger", kind="claim", max_items=1,
            purpose="The most recent meaningful event at the account, with its date."),
    Section(key="hypothesis", title="Why now", kind="claim", max_items=2,
            purpose="Why they would buy now: evidence tied to the playbook element it speaks to."),
]

# Themes a trigger can speak to, each with the words that reveal it and, per playbook, the element it advances
# (the first key the team's playbook has wins). Order matters: the first theme that matches is taken.
THEMES = [
    ("pain", r"\b(outage|crash|incident|breach|downtime|fail\w*|error|slow|complain\w*|security|compliance|"
             r"audit|consolidat\w*|replace|migrat\w*|declin\w*)\b",
     ("identify_pain", "problem", "need"), "points to a problem they need solved"),
    ("buyer", r"\b(appoint\w*|names?|hires?|joins?|new)\b.{0,40}\b(chief|cfo|cio|cto|coo|ceo|vp|vice president|"
              r"head of|director)\b",
     ("economic_buyer", "authority", "situation"), "a new executive often brings new budget and priorities"),
    ("growth", r"\b(expan\w*|grow\w*|growth|opens?|launch\w*|funding|raises?|invest\w*|acqui\w*|merg\w*|"
               r"hiring|revenue)\b",
     ("metrics", "need_payoff", "budget"), "growth puts a number on what they need to scale"),
]
DEFAULT_THEME = ("situation", ("decision_process", "situation", "timeline"),
                 "a change at the account is a reason to talk")


# A job posting is hiring whatever its wording; the other kinds are read for what they say.
SIGNAL_THEME_WORDS = {"job_posting": "hiring"}
EVENT_LABELS = {"signal:news": "News", "signal:job_posting": "Job posting", "signal:web_page": "Web page",
                "ticket": "Support ticket", "usage": "Product usage"}


@dataclass
class Event:
    when: dt.datetime
    statement: str
    source: SourceRef
    text_for_theme: str
    evidence: str  # a sentence of the source that backs the hypothesis
    evidence_source: SourceRef
    label: str


def gather(*, session: Session, account: Account, playbook: Playbook, owners: set[str] | None) -> Brief:
    facts = FactList()
    add = facts.add

    def field(name: str) -> SourceRef:
        return cite_whole(session=session, uri=f"account:{account.id}/field/{name}")

    if account.sector and account.employees:
        add("summary", f"{account.name} works in the {account.sector} sector and has {account.employees} employees.",
            [field("name"), field("sector"), field("employees")])
    if account.revenue_musd is not None and account.office_location:
        add("summary", f"{account.name} has annual revenue of {format_value(account.revenue_musd)} M USD and its "
                       f"headquarters in {account.office_location}.",
            [field("name"), field("revenue_musd"), field("office_location")])
    pipeline = resolve_source(session=session, uri=f"pipeline:{account.id}")
    header, open_line, won_line = pipeline.text.splitlines()[:3]
    uri = pipeline.uri
    # The pipeline report counts every seller's deals: only for those who may see them all, amounts included.
    if owners is None and HIDDEN_VALUE not in open_line + won_line:
        add("summary", f"{account.name} has {_lead_number(open_line)} open opportunities worth "
                       f"{_trailing_amount(open_line)} USD and has won {_lead_number(won_line)} worth "
                       f"{_trailing_amount(won_line)} USD.",
            [SourceRef(uri=uri, quote=f"Pipeline of {account.name}", kind="pipeline"),
             SourceRef(uri=uri, quote=open_line, kind="pipeline"), SourceRef(uri=uri, quote=won_line, kind="pipeline")])
    people = _senior_contacts(session, account)
    if people:
        names = "; ".join(f"{c.name}, {c.title}" for c in people)
        add("summary", f"{account.name}: {names}.", [field("name"), *[s for c in people for s in _contact_refs(c)]],
            label="People we know")

    events = _events(session, account)
    if events:
        trigger = events[0]
        add("trigger", trigger.statement, [trigger.source], label=trigger.label)
        theme, elements, why = _theme(trigger.text_for_theme)
        element = next((key for key in elements if key in {e.key for e in playbook.elements}),
                       playbook.elements[0].key)
        name = playbook.element(element).name
        add("hypothesis", trigger.evidence, [trigger.evidence_source], label=f"Why now · {name}: {why}",
            playbook_element=element)
    return Brief(use_case="research", subject=Subject(type="account", id=account.id), subject_name=account.name,
                 playbook=playbook.key, sections=SECTIONS, facts=facts)


def _contact_refs(contact: Contact) -> list[SourceRef]:
    return [cite_field("contact", contact, "name"), cite_field("contact", contact, "title")]


SENIORITY = re.compile(r"\b(chief|vp|vice president|head|director|ciso|cfo|cio|cto|coo|ceo)\b", re.I)


def _senior_contacts(session: Session, account: Account, limit: int = 3) -> list[Contact]:
    contacts = session.scalars(select(Contact).where(Contact.account_id == account.id, Contact.title.is_not(None))
                               .order_by(Contact.name)).all()
    # Filtered again here: the database has the title, but it may be masked for this person (access/fields.py).
    return sorted((c for c in contacts if c.title), key=lambda c: not SENIORITY.search(c.title))[:limit]


def _events(session: Session, account: Account) -> list[Event]:
    """Dated events at the account, newest first."""
    events: list[Event] = []
    for signal in session.scalars(select(Signal).where(Signal.account_id == account.id,
                                                       Signal.published_at.is_not(None))):
        source = resolve_source(session=session, uri=f"signal:{signal.id}")
        first_line = source.text.splitlines()[0]  # "Title (YYYY-MM-DD HH:MM)"
        body = (signal.body or "").strip()
        evidence = _first_sentence(body)
        events.append(Event(signal.published_at, first_line,
                            SourceRef(uri=source.uri, quote=first_line, kind="signal"),
                            f"{SIGNAL_THEME_WORDS.get(signal.kind, '')} {signal.title} {body}", evidence or first_line,
                            SourceRef(uri=source.uri, quote=evidence or first_line, kind="signal"),
                            EVENT_LABELS[f"signal:{signal.kind}"]))
    for ticket in session.scalars(select(Ticket).where(Ticket.account_id == account.id,
                                                       Ticket.severity.in_(("high", "critical")))):
        source = resolve_source(session=session, uri=f"ticket:{ticket.id}")
        heading, subject = source.text.splitlines()[:2]
        quote = f"{heading}\n{subject}"
        statement = f"{heading}. {subject}."
        ref = SourceRef(uri=source.uri, quote=quote, kind="ticket")
        events.append(Event(ticket.opened_at, statement, ref, f"incident {ticket.subject} {ticket.body or ''}",
                            statement, ref, f"{EVENT_LABELS['ticket']} · {ticket.severity}"))
    events.extend(_usage_change(session, account))
    # Newest first; on the same instant prefer external signals, which say the most about the account.
    return sorted(events, key=lambda e: e.when if isinstance(e.when, dt.datetime)
                  else dt.datetime.combine(e.when, dt.time()), reverse=True)


def _usage_change(session: Session, account: Account) -> list[Event]:
    """A usage series that moved by a quarter or more between its first and last points is an event."""
    points = session.scalars(select(UsageMetric).where(UsageMetric.account_id == account.id)
                             .order_by(UsageMetric.metric, UsageMetric.period_start)).all()
    series: dict[str, list[UsageMetric]] = {}
    for p in points:
        series.setdefault(p.metric, []).append(p)
    events = []
    for metric, values in series.items():
        first, last = values[0], values[-1]
        if len(values) < 3 or not first.value or abs(last.value - first.value) / first.value < 0.25:
            continue
        uri = f"usage:{account.id}/{metric}"
        text = resolve_source(session=session, uri=uri).text.splitlines()
        label = metric.replace("_", " ")
        statement = (f"{format_value(first.value)} {label} on {first.period_start.isoformat()}, "
                     f"{format_value(last.value)} {label} on {last.period_start.isoformat()}.")
        ref = SourceRef(uri=uri, quote="\n".join(text), kind="usage")
        theme = "declining usage" if last.value < first.value else "usage growth"
        events.append(Event(dt.datetime.combine(last.period_start, dt.time()), statement, ref, theme, statement,
                            ref, f"{EVENT_LABELS['usage']} · {'down' if 'declining' in theme else 'up'}"))
    return events


def _theme(text: str) -> tuple[str, tuple[str, ...], str]:
    for name, pattern, elements, why in THEMES:
        if re.search(pattern, text, re.I):
            return name, elements, why
    return DEFAULT_THEME[0], DEFAULT_THEME[1], DEFAULT_THEME[2]


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.replace("\n", " "))
    return match.group(1) if match else text[:200]


def _lead_number(line: str) -> str:
    return re.search(r":\s*(\d+)", line).group(1)


def _trailing_amount(line: str) -> str:
    return re.search(r"([\d.]+) USD$", line).group(1)
