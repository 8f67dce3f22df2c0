"""Meeting prep for an opportunity: what to cover, what to ask whom, and which objections to expect.

Sections:
- agenda: the next step on record, the commitments still to chase from earlier conversations (overdue first,
  each with who made it; done ones are left out: evidence/timeline.py reads which is which), the close date to
  confirm, and the deal math when the customer named a budget below the amount;
- questions: first the open questions of this deal from its read (evidence/timeline.py): a budget below the
  amount, a competitor in the running, a close date that moved; then for each playbook element without evidence,
  a qualifying question addressed to the attendee whose role fits it (the economic buyer gets the budget
  question, the technical evaluator the criteria one);
- objections: what the customer already pushed back on, in their words, from calls and emails, and open
  high-severity support tickets on the account.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.evidence import conversation
from sellerloop.evidence.deals import book_context, load_deal
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import cite_field, cite_whole, field_change_line, format_value, ticket_heading
from sellerloop.evidence.timeline import DealRead, Tracked, read_deal
from sellerloop.playbooks.models import Playbook
from sellerloop.playbooks.service import element_coverage
from sellerloop.records.models import Contact, Opportunity, OpportunityContact, Ticket

SECTIONS = [
    Section(key="agenda", title="Agenda", kind="claim", max_items=5,
            purpose="What the meeting must cover: the next step, open commitments, the timeline to confirm."),
    Section(key="questions", title="Questions to ask", kind="question", max_items=5,
            purpose="This deal's open questions, then qualifying questions for the playbook elements that lack "
                    "evidence, each for the right person."),
    Section(key="objections", title="Expected objections", kind="objection", max_items=4,
            purpose="Objections the customer already raised, in their words, and open critical tickets."),
]
# Which deal roles an element's questions suit best, in order of preference. Element keys of all shipped
# playbooks; an unknown key falls back to the champion, who can route any question.
PERSONAS = {
    "economic_buyer": ("economic_buyer",), "authority": ("economic_buyer", "decision_maker"),
    "budget": ("economic_buyer", "decision_maker"), "metrics": ("champion", "economic_buyer", "user"),
    "need_payoff": ("champion", "economic_buyer"), "decision_criteria": ("technical_evaluator", "decision_maker"),
    "decision_process": ("decision_maker", "influencer", "champion"), "timeline": ("decision_maker", "champion"),
    "identify_pain": ("champion", "user"), "problem": ("user", "champion"), "need": ("user", "champion"),
    "implication": ("champion", "decision_maker"), "situation": ("user", "champion"),
    "champion": ("champion", "decision_maker"), "competition": ("champion", "technical_evaluator"),
}
OBJECTION_LABELS = conversation.OBJECTION_CATEGORIES


def gather(*, session: Session, opportunity: Opportunity, playbook: Playbook, owners: set[str] | None) -> Brief:
    facts = FactList()
    add = facts.add

    def field(name: str) -> SourceRef:
        return cite_whole(session=session, uri=f"opportunity:{opportunity.id}/field/{name}")

    read = read_deal(load_deal(session=session, opportunity=opportunity), as_of=book_context(session=session).as_of)
    statements = conversation.deal_evidence_statements(read.deal)  # from the rows the read loaded: no query

    # Agenda: the next step, then what people promised, then the close date.
    if read.closed:
        # A meeting on a closed deal is a review or a new start: nothing to chase, no qualifying to do. What the
        # customer said stays worth knowing.
        add("agenda", f"Stage: {opportunity.stage}", [field("stage")],
            label=f"Closed {opportunity.stage.lower()}" + (f" on {opportunity.close_date.isoformat()}"
                                                            if opportunity.close_date else ""))
        _objections(add, session, opportunity, statements)
        return Brief(use_case="prep", subject=Subject(type="opportunity", id=opportunity.id),
                     subject_name=opportunity.name, playbook=playbook.key, sections=SECTIONS, facts=facts)
    if opportunity.next_step:
        # The next step on record is often a promise said on a call too: read once, with its status.
        same = next((t for t in read.commitments() if opportunity.next_step in t.commitment.statement.text), None)
        label = ("Next step on record, overdue since " + same.commitment.due.isoformat()
                 if same is not None and same.status == "overdue" and same.commitment.due else "Confirm the next step")
        add("agenda", f"Next step: {opportunity.next_step}", [field("next_step")], label=label)
    for tracked in _to_follow_up(read, besides=opportunity.next_step):
        c = tracked.commitment
        state = (f"overdue since {c.due.isoformat()}" if tracked.status == "overdue"
                 else f"due {c.due.isoformat()}" if c.due else "open, no date given")
        add("agenda", c.statement.quote, [c.statement.source], label=f"Commitment {state} · {c.who}")
    if opportunity.close_date:
        add("agenda", f"Close date: {opportunity.close_date.isoformat()}", [field("close_date")],
            label="Confirm the timeline")
    gap = read.budget_gap()
    if gap is not None:
        budget, amount, mention = gap
        add("agenda", f"{mention.statement.quote} Amount: {format_value(amount)}",
            [mention.statement.source, field("amount")],
            label=f"Deal math: a ${budget:,.0f} budget against ${amount:,.0f}, ${amount - budget:,.0f} short")

    # This deal's own open questions first, then the playbook's for the elements that lack evidence, each
    # addressed to the attendee whose role fits.
    people = _people_on_deal(session, opportunity)
    buyer = read.economic_buyer()
    if buyer is not None and not any(role == "economic_buyer" for _, role in people):
        # Nobody is recorded as the economic buyer: the read's pick by title (a CFO) gets the money questions.
        people = [(c, "economic_buyer" if c.id == buyer.contact.id else role) for c, role in people]
    _deal_questions(add, read, people, field)
    # What the read found counts as evidence too: a competitor named in an email is no "no evidence yet".
    known = {"competition": bool(read.competitors), "budget": bool(read.budgets)}
    for coverage in element_coverage(session=session, opportunity_id=opportunity.id, playbook=playbook):
        if coverage.satisfied or not coverage.missing_questions or known.get(coverage.key):
            continue
        question = coverage.missing_questions[0]
        person = _person_for(coverage.key, people)
        label = f"{coverage.name} · no evidence yet"
        if person is None:
            add("questions", question, [], label=label, playbook_element=coverage.key)
            continue
        contact, role = person
        # A title may be empty, or masked for this person (access/fields.py): then the question names the contact.
        who = f"{contact.name} ({contact.title})" if contact.title else contact.name
        add("questions", f"For {who}: {question}",
            [cite_field("contact", contact, "name")]
            + ([cite_field("contact", contact, "title")] if contact.title else []),
            label=label, playbook_element=coverage.key)

    _objections(add, session, opportunity, statements)
    return Brief(use_case="prep", subject=Subject(type="opportunity", id=opportunity.id),
                 subject_name=opportunity.name, playbook=playbook.key, sections=SECTIONS, facts=facts)


def _objections(add, session: Session, opportunity: Opportunity, statements: list[conversation.Statement]) -> None:
    """Objections already raised: newest first, one per category, in the customer's words; then open severe
    tickets at the account."""
    seen: set[str] = set()
    for category, statement in reversed(conversation.objections(statements)):
        if category not in seen:
            seen.add(category)
            add("objections", statement.quote, [statement.source], label=OBJECTION_LABELS[category])
    if opportunity.account_id:
        for ticket in session.scalars(select(Ticket).where(
                Ticket.account_id == opportunity.account_id, Ticket.status != "closed",
                Ticket.severity.in_(("high", "critical"))).order_by(Ticket.opened_at.desc()).limit(2)):
            statement, ref = ticket_heading(session=session, ticket=ticket)
            add("objections", statement, [ref], label="Open support ticket")


def _to_follow_up(read: DealRead, *, besides: str | None, limit: int = 2) -> list[Tracked]:
    """The commitments the meeting should follow up on besides the next step on record: overdue ones first, then
    the next ones due; the newest of each kind (what was said last matters most). Done and moved ones are left
    out: nothing to chase."""
    pending = [t for t in read.commitments() if t.status in ("overdue", "open")
               and not (besides and besides in t.commitment.statement.text)]
    overdue = [t for t in pending if t.status == "overdue"][::-1]
    upcoming = sorted((t for t in pending if t.status == "open"), key=lambda t: t.commitment.due or dt.date.max)
    return (overdue + upcoming)[:limit]


def _deal_questions(add, read: DealRead, people: list[tuple[Contact, str]], field) -> None:
    """The questions this deal raises by what was said and changed on it, each asked of the person it is for and
    citing what raised it."""
    def ask(element: str, question: str, sources: list[SourceRef], label: str) -> None:
        person = _person_for(element, people)
        if person is None:
            add("questions", question, sources, label=label, playbook_element=element)
            return
        contact = person[0]
        who = f"{contact.name} ({contact.title})" if contact.title else contact.name
        add("questions", f"For {who}: {question}",
            [*sources, cite_field("contact", contact, "name")]
            + ([cite_field("contact", contact, "title")] if contact.title else []),
            label=label, playbook_element=element)

    gap = read.budget_gap()
    if gap is not None:
        budget, amount, mention = gap
        ask("economic_buyer", f"The budget named is ${budget:,.0f} and the deal is ${amount:,.0f}: can the "
                              f"difference be found, or should the scope change?",
            [mention.statement.source, field("amount")], "Budget below the amount")
    for mention in read.competitors[:1]:
        ask("competition", f"{mention.value} is in the running: what would decide it for you?",
            [mention.statement.source], f"Competitor: {mention.value}")
    slips = [s for s in read.slips if s.field == "close_date"]
    if slips:
        slip = slips[-1]
        ask("timeline", f"The close date moved from {slip.old} to {slip.new}: what changed, and what has to "
                        f"happen before the new date?",
            [SourceRef(uri=f"field_history:{read.deal.id}/close_date", quote=field_change_line(slip.change),
                       kind="field_history")], "Close date moved")


def _people_on_deal(session: Session, opportunity: Opportunity) -> list[tuple[Contact, str]]:
    rows = session.execute(select(Contact, OpportunityContact.role_in_deal)
                           .join(OpportunityContact, OpportunityContact.contact_id == Contact.id)
                           .where(OpportunityContact.opportunity_id == opportunity.id,
                                  Contact.title.is_not(None)).order_by(Contact.name)).all()
    return [(contact, role or contact.role_in_deal or "") for contact, role in rows]


def _person_for(element: str, people: list[tuple[Contact, str]]) -> tuple[Contact, str] | None:
    for role in PERSONAS.get(element, ("champion",)):
        for contact, contact_role in people:
            if contact_role == role:
                return contact, contact_role
    return people[0] if people else None
