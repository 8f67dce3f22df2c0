"""Next-best action: what the seller should do next on a deal, why, and which playbook element it advances.

The agent reads the deal's signals in four groups and turns each finding into a candidate:

    stage      days in the current stage against the book's norm for it (stalled)
    engagement recency, frequency and direction of emails, meetings and calls (gone quiet, customer engaged)
    intent     recent news, job postings and product-usage changes at the account
    risk       single-threaded, playbook elements without evidence (worse when the stage's exit criteria need
               them), close date pushed, open high-severity support ticket

A candidate names playbook elements it would advance and the actions that suit it, in order of preference.
The element is the first of those the team's playbook has (preferring one without evidence yet); the action is
the first suitable one that element lists in the playbook. So candidate actions come only from the playbook,
which only holds catalogue actions (validated when it loads): evidence text can never choose an action.

Score: each finding has a prior weight (WEIGHTS), raised a little by how strong it is (how far past the norm,
how many pushes). The weights are a starting order a sales manager would agree with, not a model. Outcomes then
re-rank them: the score is multiplied by the feedback factor of the action it would recommend in the account's
segment (scoring/feedback.py: smoothed acceptance and conversion of that action type there, 1 with no history),
and the item's `ranking` says so. At most `limit` recommendations (default 3) per record, one per playbook element,
highest score first.

The reason for a recommendation is its text: the evidence lines it rests on, quoted (the verifier checks them);
the label says in code-written words what was found ("stalled, 120 days in Engaging (deals usually move on after 45)").
"""
from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from sellerloop.actions.catalogue import get_action
from sellerloop.agents.models import Subject
from sellerloop.agents.research import SIGNAL_THEME_WORDS, _theme
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.evidence.deals import BookContext, DealEvidence, book_context, load_deals, open_opportunities
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import activity_heading, cite_field, field_change_line, resolve_source, ticket_heading
from sellerloop.evidence.timeline import DealRead, Mention, deal_touches, read_deal, the_ask
from sellerloop.playbooks.models import Element, ElementCoverage, Playbook
from sellerloop.playbooks.service import element_coverage
from sellerloop.policy.service import session_policy
from sellerloop.records.models import Account, Activity, Opportunity
from sellerloop.scoring.feedback import ActionFeedback, action_feedback, segment_of

SECTIONS = [
    Section(key="actions", title="Next best actions", kind="recommendation", max_items=10,
            purpose="What to do next on the deal, highest score first, each with the evidence it rests on."),
]

# Prior weight of each finding (0..1). Stalled and pushed deals come first: they are the forecast at risk.
# A customer waiting on us comes before everything: an unanswered ask costs the deal fastest.
WEIGHTS = {
    "reply_owed": 0.90, "stalled": 0.80, "buyer_risk": 0.78, "close_date_pushed": 0.75, "budget_gap": 0.72,
    "competitor": 0.71, "single_threaded": 0.70, "gone_quiet": 0.65, "exit_gap": 0.60, "open_ticket": 0.60,
    "customer_engaged": 0.55, "intent": 0.55, "gap": 0.45, "closed_review": 0.50,
}
STALLED_FACTOR = 1.5  # a deal is stalled after 1.5x the book's median days in its stage ...
STALLED_MIN_EXTRA_DAYS = 14  # ... and at least two weeks past it
LONG_STALLED_FACTOR = 4  # past 4x the norm, the deal needs a go/no-go, not one more meeting
QUIET_DAYS = 21  # no email, meeting or call for three weeks
ENGAGED_DAYS = 7  # the customer wrote or met within a week: a moment to move
INTENT_DAYS = 60  # news and hiring older than two months no longer say "now"

# For each finding: the playbook elements it speaks to and the actions that suit it, in order of preference.
# Keys of all shipped playbooks (MEDDICC, BANT, SPIN); a team's own keys fall back to its first element gap.
ADVANCES = {
    "stalled": (("decision_process", "timeline", "champion", "need_payoff"), ("book_meeting", "create_task")),
    "close_date_pushed": (("decision_process", "timeline", "economic_buyer", "authority"),
                          ("book_meeting", "create_task")),
    "single_threaded": (("economic_buyer", "authority", "champion", "decision_process"),
                        ("request_intro", "add_contact_role", "book_meeting")),
    "gone_quiet": (("champion", "need", "identify_pain", "need_payoff"), ("book_meeting", "create_task")),
    # The customer is active: the moment to meet. Anything else would not use the moment, so nothing else.
    "customer_engaged": ((), ("book_meeting",)),
    "open_ticket": (("identify_pain", "problem", "need", "decision_criteria"),
                    ("create_task", "book_meeting", "log_note")),
    "reply_owed": (("champion", "decision_process", "need", "need_payoff"), ("send_email",)),
    "buyer_risk": (("economic_buyer", "decision_process", "authority", "timeline"), ("create_task", "book_meeting")),
    "budget_gap": (("economic_buyer", "budget", "metrics", "need_payoff"), ("book_meeting", "create_task")),
    "competitor": (("competition", "decision_criteria", "need", "need_payoff"), ("share_asset", "book_meeting")),
    "closed_review": (("decision_process", "decision_criteria", "authority", "need"), ("create_task",)),
}
# Findings whose action follows from the situation, not from the playbook element: a reply is an email, a review of
# a closed deal is a task. Still catalogue actions written here in code, so evidence text never chooses one.
SITUATIONAL = frozenset({"reply_owed", "closed_review"})
TICKET_SEVERITIES = ("high", "critical")


@dataclass
class Candidate:
    finding: str
    score: float
    why: str  # code-written: what was found, in words and computed numbers, never evidence text
    statement: str  # built from the quoted evidence, checked by the verifier
    sources: list[SourceRef]
    elements: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    opportunity: Opportunity | None = None
    ranking: str | None = None  # how outcomes moved the score (reweigh)


@dataclass
class _Choice:
    element: str
    action: str
    candidate: Candidate = field(repr=False)


def gather(*, session: Session, playbook: Playbook, owners: set[str] | None, account: Account | None = None,
           opportunity: Opportunity | None = None, limit: int | None = None,
           deal: DealEvidence | None = None) -> Brief:
    limit = limit or session_policy(session).caps.recommendations_per_record
    book = book_context(session=session)
    if opportunity is not None:
        deal = deal or load_deals(session=session, opportunities=[opportunity], transcripts=True)[0]
        candidates = deal_candidates(session=session, deal=deal, playbook=playbook, book=book)
        subject, name, on_account = Subject(type="opportunity", id=opportunity.id), opportunity.name, False
        segment = segment_of(deal.account.account if deal.account else None)
    else:
        deals = load_deals(session=session, opportunities=open_opportunities(
            session=session, owners=owners, account_id=account.id))
        candidates = [c for d in deals for c in deal_candidates(session=session, deal=d, playbook=playbook, book=book)]
        subject, name, on_account = Subject(type="account", id=account.id), account.name, True
        segment = segment_of(account)
    reweigh(candidates, playbook=playbook, feedback=action_feedback(session=session), segment=segment)
    facts = FactList()
    # Said on the panel as "2 of 3 shown": the cap, and how many distinct actions the findings supported before it.
    # Choosing is greedy in score order, so the best `limit` are the first `limit` of choosing without a cap.
    supported = choose(candidates, playbook=playbook, limit=len(candidates) or 1, per_deal=not on_account)
    possible = len(supported)
    for choice in supported[:limit]:
        c = choice.candidate
        sources, statement = c.sources, c.statement
        if on_account:  # say which deal each action is for, quoting its name
            sources = [cite_field("opportunity", c.opportunity, "name"), *sources]
            statement = f"{c.opportunity.name} · {statement}"
        facts.add("actions", statement, sources, action=choice.action, playbook_element=choice.element,
                  score=round(c.score, 3), ranking=c.ranking,
                  label=f"{get_action(choice.action).title} · {playbook.element(choice.element).name}: {c.why}")
    return Brief(use_case="next-action", subject=subject, subject_name=name, playbook=playbook.key,
                 sections=SECTIONS, facts=facts, inputs={"cap": str(limit), "found": str(possible)})


def reweigh(candidates: list[Candidate], *, playbook: Playbook, feedback: ActionFeedback, segment: str) -> None:
    """Multiply each candidate's score by how people took the action it would recommend, in this segment."""
    for c in candidates:
        adjustment = feedback.adjustment(_action_for(c, playbook.element(c.elements[0])) or "", segment)
        c.score *= adjustment.factor
        c.ranking = adjustment.why or None  # not in the label: a taken-up ask is known again by its label


def _action_for(c: Candidate, spec: Element, taken: AbstractSet[str] = frozenset()) -> str | None:
    """The action a candidate recommends for a playbook element: its first suitable one the element lists (the
    element's first when none suits; a situational finding's own), skipping actions already recommended on the
    deal; None when all of them are (another action would not fit what was found)."""
    # Plain loops: choosing runs for every candidate and element of every deal in a whole-book run.
    situational, fits = c.finding in SITUATIONAL, False
    for action in c.actions:
        if situational or action in spec.actions:
            if action not in taken:
                return action
            fits = True
    if situational or fits:
        return None
    return None if spec.actions[0] in taken else spec.actions[0]


def choose(candidates: list[Candidate], *, playbook: Playbook, limit: int, per_deal: bool = True) -> list[_Choice]:
    """The best `limit` recommendations: highest score first, one per playbook element and one per action on a deal
    (three "Book a meeting" on one deal is one meeting). A finding whose first element or action is taken by a
    stronger one moves to its next, if it has one."""
    chosen: list[_Choice] = []
    taken: set[tuple[str, str]] = set()
    actions: dict[str, set[str]] = {}
    for c in sorted(candidates, key=lambda c: (-c.score, c.finding, c.opportunity.id if c.opportunity else "")):
        deal = c.opportunity.id if c.opportunity and not per_deal else ""
        on_deal = actions.setdefault(c.opportunity.id if c.opportunity else "", set())
        for element in c.elements:
            if (deal, element) not in taken:
                action = _action_for(c, playbook.element(element), on_deal)
                if action is not None:
                    break
        else:
            continue
        taken.add((deal, element))
        on_deal.add(action)
        chosen.append(_Choice(element, action, c))
        if len(chosen) == limit:
            break
    return chosen


def deal_candidates(*, session: Session, deal: DealEvidence, playbook: Playbook,
                    book: BookContext) -> list[Candidate]:
    """Every finding on one deal as a candidate whose element is resolved against the playbook. A closed deal has
    one: its review (never a meeting to book on a deal that is over)."""
    o = deal.opportunity
    read = read_deal(deal, as_of=book.as_of)
    coverage = element_coverage(session=session, opportunity_id=o.id, playbook=playbook, deal=deal)
    gaps = [c for c in coverage if not c.satisfied]
    if read.closed:
        found = _closed_review(read)
    else:
        exit_required = set(playbook.exit_criteria(o.stage))
        found = [*_stage(session, deal, book), *_engagement(session, read), *_risk(session, deal),
                 *_intent(session, deal, book), *_said(read)]
        found += _gaps(session, deal, gaps, exit_required)
    keys = {e.key for e in playbook.elements}
    gap_keys = [g.key for g in gaps]
    for c in found:
        c.opportunity = o
        preferred = [k for k in c.elements if k in keys]
        # An element that still lacks evidence first: that is where an action moves the deal.
        ordered = [k for k in preferred if k in gap_keys] + [k for k in preferred if k not in gap_keys]
        if c.finding in ("gap", "exit_gap"):
            continue  # a gap is about its own element only
        # Then any other element still without evidence: a finding whose elements stronger findings took still
        # says something needs doing, and the first open element is where doing it counts.
        fallback = [k for k in gap_keys if k not in ordered]
        c.elements = tuple(ordered + fallback) or (playbook.elements[0].key,)
    return found


# --- findings -------------------------------------------------------------------------------------------------

def _stage(session: Session, deal: DealEvidence, book: BookContext) -> list[Candidate]:
    o = deal.opportunity
    entered, norm = deal.stage_entered_on(), book.stage_norms.get(o.stage)
    if entered is None or not norm:
        return []
    days = (book.as_of - entered).days
    if days <= STALLED_FACTOR * norm or days - norm < STALLED_MIN_EXTRA_DAYS:
        return []
    score = WEIGHTS["stalled"] + min(0.15, 0.05 * (days / norm - STALLED_FACTOR))
    line = f"{o.stage}: {entered.isoformat()}"  # the stage history's line for this entry, verbatim
    why = f"stalled, {days} days in {o.stage} (deals usually move on after {norm:.0f})"
    elements, actions = ADVANCES["stalled"]
    if days > LONG_STALLED_FACTOR * norm:
        # Another meeting will not move a deal this far past the norm: the seller needs a decision, yes or no.
        why += ": ask for a go/no-go decision or close it out"
        actions = ("create_task", "book_meeting")
    return [Candidate("stalled", score, why, f"{o.stage} since {entered.isoformat()}.",
                      [cite_field("opportunity", o, "stage"), SourceRef(uri=f"stage_history:{o.id}", quote=line,
                                                              kind="stage_history")],
                      elements, actions)]


def _engagement(session: Session, read: DealRead) -> list[Candidate]:
    touches = deal_touches(read.deal, read.as_of)
    if not touches:
        return []
    out = []
    owed = read.waiting_on_us()
    if owed:
        # The newest message still waiting on us; the ask in it, quoted, is what the reply must answer.
        w = owed[0]
        header, refs = activity_heading(session=session, activity=w.activity)
        ask = the_ask(w.activity)
        statement = f"{header}." + (f" {ask}" if ask else "")
        if ask:
            refs = [*refs, SourceRef(uri=f"activity:{w.activity.id}", quote=ask, kind="activity")]
        waited = "today" if w.days == 0 else f"{w.days} day{'s' if w.days != 1 else ''} without an answer"
        who = w.person or "the customer"
        out.append(Candidate("reply_owed", WEIGHTS["reply_owed"] - min(0.1, w.days / 600),
                             f"reply to {who}'s email of {w.since.isoformat()}, {waited}", statement, refs,
                             *ADVANCES["reply_owed"]))
    last = touches[-1]
    days = (read.as_of - last.occurred_at.date()).days
    recent = sum((read.as_of - a.occurred_at.date()).days <= 30 for a in touches)
    # Quiet is about the customer going silent; a customer waiting on our reply has not gone quiet, we have.
    if days >= QUIET_DAYS and not owed:
        header, refs = activity_heading(session=session, activity=last)
        unanswered = _unanswered(touches)
        why = f"gone quiet, last touch {days} days ago" + (f", {unanswered} emails unanswered" if unanswered else "")
        score = WEIGHTS["gone_quiet"] + min(0.1, 0.02 * unanswered) + min(0.05, days / 3650)
        out.append(Candidate("gone_quiet", score, why, f"{header}.", refs, *ADVANCES["gone_quiet"]))
    inbound = next((a for a in reversed(touches) if a.direction == "inbound" or a.kind == "meeting"), None)
    if inbound is not None and (read.as_of - inbound.occurred_at.date()).days <= ENGAGED_DAYS and not owed:
        header, refs = activity_heading(session=session, activity=inbound)
        out.append(Candidate("customer_engaged", WEIGHTS["customer_engaged"] + min(0.1, 0.02 * recent),
                             f"customer engaged, {recent} touches in the last 30 days", f"{header}.",
                             refs, *ADVANCES["customer_engaged"]))
    return out


def _said(read: DealRead) -> list[Candidate]:
    """What the customer said that a seller must act on: a risk to the deal, a budget below the amount, a
    competitor. Each quotes the sentence it rests on, with who said it."""
    out = []
    if read.risks:
        risk = read.risks[-1]
        out.append(Candidate("buyer_risk", WEIGHTS["buyer_risk"],
                             f"buyer risk: {_who(risk)} said \"{risk.value}\"{_on(risk)}",
                             _quoted(risk), [risk.statement.source], *ADVANCES["buyer_risk"]))
    gap = read.budget_gap()
    if gap is not None:
        budget, amount, mention = gap
        out.append(Candidate("budget_gap", WEIGHTS["budget_gap"] + min(0.1, (amount - budget) / amount / 5),
                             f"budget gap: {_who(mention)} named a budget of ${budget:,.0f} against the "
                             f"${amount:,.0f} deal",
                             _quoted(mention), [mention.statement.source], *ADVANCES["budget_gap"]))
    for mention in read.competitors[:1]:
        out.append(Candidate("competitor", WEIGHTS["competitor"],
                             f"competitor: {_who(mention)} named {mention.value}{_on(mention)}",
                             _quoted(mention), [mention.statement.source], *ADVANCES["competitor"]))
    return out


def _closed_review(read: DealRead) -> list[Candidate]:
    """A closed deal's one action: a review of why it was won or lost, while the people still remember."""
    o = read.deal.opportunity
    why = f"{o.stage.lower()}" + (f" on {o.close_date.isoformat()}" if o.close_date else "")
    said = read.competitors[-1:] or read.risks[-1:]
    sources = [cite_field("opportunity", o, "stage")]
    statement = f"Stage: {o.stage}."
    if said:
        why += f"; {_who(said[0])} named {said[0].value}" if read.competitors else f"; {_who(said[0])} said " \
               f"\"{said[0].value}\""
        statement += f" {_quoted(said[0])}"
        sources.append(said[0].statement.source)
    review = "loss review" if o.stage == "Lost" else "win review"
    return [Candidate("closed_review", WEIGHTS["closed_review"], f"{review}: {why}", statement, sources,
                      *ADVANCES["closed_review"])]


def _who(mention: Mention) -> str:
    return mention.statement.speaker or "the customer"


def _on(mention: Mention) -> str:
    return f" on {mention.statement.when.date().isoformat()}" if mention.statement.when else ""


def _quoted(mention: Mention) -> str:
    text = mention.statement.quote
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _unanswered(touches: list[Activity]) -> int:
    """Outbound emails since the customer last wrote or met: follow-ups nobody answered."""
    count = 0
    for a in reversed(touches):
        if a.direction == "inbound" or a.kind == "meeting":
            break
        count += a.kind == "email" and a.direction == "outbound"
    return count


def _risk(session: Session, deal: DealEvidence) -> list[Candidate]:
    o, out = deal.opportunity, []
    if len(deal.contacts) <= 1:
        if deal.contacts:
            contact = deal.contacts[0][0]
            refs = [cite_field("contact", contact, "name")]
            statement = contact.name
            if contact.title:
                refs.append(cite_field("contact", contact, "title"))
                statement = f"{contact.name}, {contact.title}"
            why = "single-threaded, one contact on the deal"
        else:
            refs, statement, why = [cite_field("opportunity", o, "name")], o.name, "no contact on the deal"
        out.append(Candidate("single_threaded", WEIGHTS["single_threaded"] + (0.05 if not deal.contacts else 0),
                             why, f"{statement}.", refs, *ADVANCES["single_threaded"]))
    pushes = [c for c in deal.field_changes
              if c.field == "close_date" and c.old_value and c.new_value and c.new_value > c.old_value]
    if pushes:
        last = pushes[-1]
        out.append(Candidate(
            "close_date_pushed", WEIGHTS["close_date_pushed"] + min(0.15, 0.05 * (len(pushes) - 1)),
            f"close date pushed {len(pushes)} time{'s' if len(pushes) > 1 else ''}",
            f"Close date moved from {last.old_value} to {last.new_value}.",
            [SourceRef(uri=f"field_history:{o.id}/close_date", quote=field_change_line(last), kind="field_history")],
            *ADVANCES["close_date_pushed"]))
    if deal.account is not None:
        ticket = next((t for t in deal.account.tickets
                       if t.status != "closed" and t.severity in TICKET_SEVERITIES), None)
        if ticket is not None:
            statement, ref = ticket_heading(session=session, ticket=ticket)
            out.append(Candidate("open_ticket", WEIGHTS["open_ticket"] + (0.05 if ticket.severity == "critical" else 0),
                                 f"open {ticket.severity} support ticket", statement, [ref],
                                 *ADVANCES["open_ticket"]))
    return out


def _intent(session: Session, deal: DealEvidence, book: BookContext) -> list[Candidate]:
    """The newest news item or job posting at the account within INTENT_DAYS. A company web page ("Leadership
    team", "About") is no news, whenever it was crawled."""
    if deal.account is None:
        return []
    signal = next((s for s in deal.account.signals if s.published_at is not None and s.kind != "web_page"
                   and 0 <= (book.as_of - s.published_at.date()).days <= INTENT_DAYS), None)
    if signal is None:
        return []
    first_line = resolve_source(session=session, uri=f"signal:{signal.id}").text.splitlines()[0]
    _, elements, why = _theme(f"{SIGNAL_THEME_WORDS.get(signal.kind, '')} {signal.title} {signal.body or ''}")
    kind = signal.kind.replace("_", " ")
    return [Candidate("intent", WEIGHTS["intent"], f"intent, {kind}: {why}", f"{first_line}.",
                      [SourceRef(uri=f"signal:{signal.id}", quote=first_line, kind="signal")],
                      elements, ("book_meeting", "share_asset", "create_task"))]


def _gaps(session: Session, deal: DealEvidence, gaps: list[ElementCoverage],
          exit_required: set[str]) -> list[Candidate]:
    """Each element without evidence; the ones the stage's exit criteria need weigh more. The reason quotes the
    stage and, when set, the close date: the gap matters because of where the deal is and when it should close."""
    o = deal.opportunity
    sources = [cite_field("opportunity", o, "stage")]
    statement = f"Stage: {o.stage}"
    if o.close_date:
        sources.append(cite_field("opportunity", o, "close_date"))
        statement += f". Close date: {o.close_date.isoformat()}"
    out = []
    for rank, gap in enumerate(gaps):
        needed = gap.key in exit_required
        finding = "exit_gap" if needed else "gap"
        why = f"no evidence yet{', needed to leave ' + o.stage if needed else ''}"
        # Earlier elements of the playbook come first: they are the order the methodology qualifies a deal in.
        out.append(Candidate(finding, WEIGHTS[finding] - 0.01 * rank, why, f"{statement}.", list(sources),
                             (gap.key,), tuple(gap.actions)))
    return out
