"""Account research: who the account is, what just happened there, and why they might buy now.

Sections:
- summary: profile (sector, size, revenue, headquarters), the pipeline with us, the people we know there (the
  people on open deals first: their role on the deal, then seniority);
- trigger: the events of the last TRIGGER_DAYS that give a seller a reason to call, ranked by sales relevance
  (RELEVANCE: an executive change, then M&A, funding or expansion, hiring for work we help with, growth news,
  usage changes, and last a static web page), newest first within a rank;
- hypothesis: for each trigger, why they would buy now, tied to the playbook element it speaks to, and whom to
  talk to about it;
- risks: open high and critical support tickets (a risk to raise before anyone sells, not a reason to call).

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
from sellerloop.evidence.sources import (
    HIDDEN_VALUE,
    cite_field,
    cite_whole,
    format_value,
    resolve_source,
    ticket_heading,
)
from sellerloop.playbooks.models import Playbook
from sellerloop.records.models import (
    OPEN_STAGES,
    Account,
    Contact,
    Opportunity,
    OpportunityContact,
    Signal,
    Ticket,
    UsageMetric,
)

SECTIONS = [
    Section(key="summary", title="Summary", kind="claim", max_items=4,
            purpose="Who the account is and where we stand with them: profile, pipeline, people we know."),
    Section(key="trigger", title="Trigger", kind="claim", max_items=3,
            purpose="The recent events at the account most worth a call, most relevant first, each dated."),
    Section(key="hypothesis", title="Why now", kind="claim", max_items=3,
            purpose="Why they would buy now: evidence tied to the playbook element it speaks to, and whom to ask."),
    Section(key="risks", title="Risks", kind="claim", max_items=3,
            purpose="Open high and critical support tickets: raise them before selling more."),
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


# How much a kind of event says "call now", best first: a new executive brings budget and priorities; M&A,
# funding and expansion bring projects; hiring for work we help with says where; growth news and usage changes
# say less; a company page ("Leadership team", "About") says nothing new.
RELEVANCE = {"buyer": 0, "deal": 1, "expansion": 2, "hiring": 3, "pain": 4, "growth": 5, "situation": 6}
TRIGGER_DAYS = 180  # older news is history, not a reason to call now
_DEAL = re.compile(r"\b(acqui\w*|merg\w*|takeover|buys)\b", re.I)
_EXPANSION = re.compile(r"\b(raises?|raised|funding|financing|expan\w*|opens?|new (office|site|plant|market))\b",
                        re.I)
# Postings for the work the product helps with, or for a leader who will choose tools: a reason to call.
_RELEVANT_HIRING = re.compile(r"\b(head|director|vp|vice president|chief|lead|data|platform|automation|"
                              r"operations|procurement|it|systems|crm|analytics)\b", re.I)
# Whom to ask about each kind of trigger: the role on the deal first, then a title.
CONTACT_FOR = {"buyer": ("economic_buyer", "decision_maker"), "deal": ("economic_buyer", "decision_maker"),
               "expansion": ("economic_buyer", "decision_maker"), "hiring": ("champion", "technical_evaluator"),
               "pain": ("champion", "user"), "growth": ("economic_buyer", "champion"),
               "situation": ("champion", "economic_buyer")}
ROLE_ORDER = ("economic_buyer", "champion", "decision_maker", "technical_evaluator")
# The angle for each kind of trigger: the playbook elements it speaks to (the first the team's playbook has wins)
# and why it is a reason to call, in a seller's words.
ANGLES = {
    # The themes' own angles (an executive change, a problem, growth news), and the finer kinds of trigger.
    **{name: (elements, why) for name, _, elements, why in THEMES},
    "deal": (("decision_process", "identify_pain", "problem", "need"),
             "an acquisition brings systems and teams to merge, and a project to do it"),
    "expansion": (("metrics", "need_payoff", "budget"), "new money and growth plans put a number on what they "
                                                         "need to scale"),
    "hiring": (("identify_pain", "problem", "need"), "they are hiring for the work we help with: the need has a "
                                                     "budget"),
    DEFAULT_THEME[0]: (DEFAULT_THEME[1], DEFAULT_THEME[2]),
}

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
    kind: str = "signal"  # signal or usage


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
    people = _people_we_know(session, account, owners)
    if people:
        names = "; ".join(f"{c.name}, {c.title}" for c, _ in people)
        add("summary", f"{account.name}: {names}.",
            [field("name"), *[s for c, _ in people for s in _contact_refs(c)]], label="People we know")

    elements = {e.key for e in playbook.elements}
    for trigger, relevance in _triggers(session, account):
        add("trigger", trigger.statement, [trigger.source], label=trigger.label)
        theme_elements, why = ANGLES[relevance]
        element = next((key for key in theme_elements if key in elements), playbook.elements[0].key)
        label, sources = f"Why now · {playbook.element(element).name}: {why}", [trigger.evidence_source]
        contact = _contact_for(relevance, people)
        if contact is not None:  # named in the label, from the contact's own fields, which the item cites
            label += f" · ask {contact.name}, {contact.title}"
            sources = [*sources, *_contact_refs(contact)]
        add("hypothesis", trigger.evidence, sources, label=label, playbook_element=element)
    for risk in _open_tickets(session, account):
        add("risks", risk.statement, [risk.source], label=risk.label)
    return Brief(use_case="research", subject=Subject(type="account", id=account.id), subject_name=account.name,
                 playbook=playbook.key, sections=SECTIONS, facts=facts)


def _contact_refs(contact: Contact) -> list[SourceRef]:
    return [cite_field("contact", contact, "name"), cite_field("contact", contact, "title")]


SENIORITY = re.compile(r"\b(chief|vp|vice president|head|director|ciso|cfo|cio|cto|coo|ceo)\b", re.I)


def _people_we_know(session: Session, account: Account, owners: set[str] | None,
                    limit: int = 4) -> list[tuple[Contact, str | None]]:
    """The account's contacts with a title, each with their role on an open deal (if any): the people on open deals
    first (economic buyer, champion, ...), then the most senior, then by name."""
    contacts = session.scalars(select(Contact).where(Contact.account_id == account.id, Contact.title.is_not(None))
                               .order_by(Contact.name)).all()
    on_deals = select(OpportunityContact.contact_id, OpportunityContact.role_in_deal).join(Opportunity).where(
        Opportunity.account_id == account.id, Opportunity.stage.in_(OPEN_STAGES))
    if owners is not None:  # a seller sees the roles on the deals they may see
        on_deals = on_deals.where(Opportunity.owner_id.in_(owners))
    roles: dict[str, str | None] = {}
    for contact_id, role in session.execute(on_deals):
        if roles.get(contact_id) is None:
            roles[contact_id] = role or ""

    def rank(c: Contact) -> tuple:
        role = roles.get(c.id)
        order = ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)
        return (role is None, order, not SENIORITY.search(c.title))

    # Filtered again here: the database has the title, but it may be masked for this person (access/fields.py).
    return [(c, roles.get(c.id) or None) for c in sorted((c for c in contacts if c.title), key=rank)[:limit]]


def _contact_for(relevance: str, people: list[tuple[Contact, str | None]]) -> Contact | None:
    """Whom to ask about a trigger: the person whose role on a deal fits it, else the most senior we know."""
    for role in CONTACT_FOR.get(relevance, ()):
        found = next((c for c, r in people if r == role), None)
        if found is not None:
            return found
    return next((c for c, _ in people if SENIORITY.search(c.title)), people[0][0] if people else None)


def _relevance(event: Event) -> str:
    text = event.text_for_theme
    if event.label == EVENT_LABELS["signal:web_page"]:
        return "situation"
    if event.label == EVENT_LABELS["signal:job_posting"]:
        return "hiring" if _RELEVANT_HIRING.search(text) else "situation"
    theme, _, _ = _theme(text)
    if theme == "buyer":
        return "buyer"
    if _DEAL.search(text):
        return "deal"
    if _EXPANSION.search(text):
        return "expansion"
    return theme


def _triggers(session: Session, account: Account, limit: int = 3) -> list[tuple[Event, str]]:
    """The events of the last TRIGGER_DAYS before the newest one, most relevant first, newest first within a rank;
    one event per rank, so three hiring posts do not crowd out an acquisition."""
    events = _events(session, account)
    if not events:
        return []
    newest = _as_datetime(events[0].when)
    recent = [(e, _relevance(e)) for e in events if (newest - _as_datetime(e.when)).days <= TRIGGER_DAYS]
    ranked = sorted(recent, key=lambda pair: RELEVANCE.get(pair[1], len(RELEVANCE)))  # stable: newest first kept
    chosen, seen = [], set()
    for event, relevance in ranked:
        if relevance not in seen:
            seen.add(relevance)
            chosen.append((event, relevance))
    return chosen[:limit]


def _as_datetime(when) -> dt.datetime:
    return when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())


def _open_tickets(session: Session, account: Account) -> list[Event]:
    """Open high and critical tickets, the most severe and then the newest first."""
    tickets = session.scalars(select(Ticket).where(Ticket.account_id == account.id,
                                                   Ticket.severity.in_(("high", "critical")),
                                                   Ticket.status != "closed")).all()
    out = []
    for ticket in sorted(tickets, key=lambda t: (t.severity != "critical", -_as_datetime(t.opened_at).timestamp())):
        statement, ref = ticket_heading(session=session, ticket=ticket)
        out.append(Event(ticket.opened_at, statement, ref, "", "", ref,
                         f"{EVENT_LABELS['ticket']} · {ticket.severity}, {ticket.status}"))
    return out


def _events(session: Session, account: Account) -> list[Event]:
    """Dated events at the account (signals and usage changes), newest first. Tickets are risks, not triggers."""
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
