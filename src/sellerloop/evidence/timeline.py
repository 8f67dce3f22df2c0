"""One read of a deal, the way a seller reads it before deciding what to do: who is waiting on whom, what moved,
who is on the deal, who else is competing, what the buyer said puts it at risk, whether the money fits, and
whether it is over. Every deal agent takes its judgement from this read, so two agents never disagree on a fact.

It is built from a loaded `DealEvidence` (no query of its own, so a whole-book run pays nothing extra per deal)
and keeps, for every finding, the statement it rests on: an agent quotes that, the verifier checks it.

The readings are deliberately plain rules over what the records say, each with the why next to it:
- A thread waits on us when its last message is the customer's, asks something (a question or a request), and
  nothing of ours (a reply, a meeting or call with them) came after; it waits on them when our last message got
  no answer. A customer's "Thanks, received." leaves the thread resting.
- A slip is a close date moved later, or a stage moved back.
- A competitor is a capitalised name the customer puts in a competing context ("also evaluating X", "X offered us",
  "demo from X"), or that we compare ourselves with ("where we differ from X"): the context, not a list of names,
  so a vendor nobody listed is still caught.
- A buyer's risk is a customer sentence that says the deal may not happen as planned ("budget is frozen", "not this
  year", "front-runner"); a budget is an amount the customer calls their budget.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property

from sellerloop.evidence.commitments import Commitment, find_commitments
from sellerloop.evidence.conversation import Statement, deal_evidence_statements, sentences
from sellerloop.evidence.dates import date_mentions
from sellerloop.evidence.deals import DealEvidence
from sellerloop.evidence.words import INSTRUCTION_LIKE, content_words
from sellerloop.records.models import CLOSED_STAGES, STAGES, Activity, Contact, FieldChange, StageChange

TOUCH_KINDS = ("email", "meeting", "call")
# Titles that hold a budget: the economic buyer when no contact is recorded in that role.
_BUDGET_TITLES = re.compile(r"\b(CFO|CEO|COO|CIO|CTO|chief|president|owner|founder|finance|VP|vice president|"
                            r"head of)\b", re.I)
_NAME = r"([A-Z][\w&-]+(?:\s+[A-Z][\w&-]+){0,2})"
# A competing vendor, named by the customer. Context first ("also evaluating X"), then the name.
_COMPETING_BEFORE = re.compile(
    r"\b(?:also (?:evaluating|looking at|talking to|considering|speaking with)|evaluating|comparing (?:you|it) "
    r"(?:with|to|against)|demo from|quote from|proposal from|went with|chose|switch(?:ed|ing)? to|"
    r"(?:already )?(?:use|using|uses) )\s*" + _NAME)
# Our side names a competitor when it compares itself with one ("where we differ from X", "win against X").
_COMPARED_WITH = re.compile(r"\b(?:differ(?:s|ent)? from|(?:win|won|lose|lost|compete|competing) against|"
                            r"compared (?:to|with)|versus|vs\.?|switch(?:ed)? from)\s+" + _NAME)
_COMPETING_AFTER = re.compile(
    _NAME + r"\s+(?:offered us|came in (?:cheaper|lower)|is (?:the )?front-?runner|is on the (?:list|shortlist)|"
            r"already has|presented to|is cheaper|has a connector)")
# Words that look like names at a sentence start or in a competing context but are not vendors.
_NOT_VENDORS = frozenset({"We", "I", "They", "You", "It", "Our", "The", "This", "That", "Some", "A", "An", "And", "But",
                          "So", "Also", "Yes", "No", "Thanks", "Hi", "Hello", "Excel", "Email", "Monday", "Tuesday",
                          "Wednesday", "Thursday", "Friday", "Q1", "Q2", "Q3", "Q4"})
_RISK = re.compile(
    r"\b(budget (?:is |has been |was )?(?:frozen|cut|on hold|gone)|(?:spending|hiring) freeze|"
    r"(?:freez(?:e|ing)|frozen) (?:new )?spend(?:ing)?|not this (?:year|quarter)|next (?:year|quarter) at the "
    r"earliest|on hold|put (?:this|it|the project) on (?:hold|ice)|front-?runner|leaning towards|going (?:with|"
    r"another way)|no budget|(?:pause|pausing) (?:the|this)|deprioriti[sz]ed|(?:can't|cannot|can not|won't) sign "
    r"(?:before|until)|push(?:ed)? (?:signature|the signature|it) to)\b", re.I)
# Words without which no pattern below can match: a message with none of them is not split into sentences. The
# substrings reject most messages cheaply (a whole-book run reads a million); the pattern then checks word starts.
_HINTS = ("$", "budget", "freez", "frozen", "not this", "next year", "next quarter", "on hold", "on ice", "runner",
          "leaning", "going ", "paus", "deprioriti", "sign", "push", "evaluat", "looking at", "talking to",
          "considering", "speaking with", "compar", "demo from", "quote from", "proposal from", "went with", "chose",
          "switch", "use", "using", "offered us", "came in", "shortlist", "on the list", "already has", "presented",
          "cheaper", "connector", "differ", "against", "versus", "vs", "win", "won", "lose", "lost", "competing",
          "clos")
_WORTH_READING = re.compile(
    r"\$|\b(?:budget|freez|frozen|not this|next (?:year|quarter)|on hold|on ice|front-?runner|leaning|going (?:with|"
    r"another)|paus|deprioriti|sign|push|evaluat|looking at|talking to|considering|speaking with|compar|demo from|"
    r"quote from|proposal from|went with|chose|switch|use[sd]?\b|using\b|offered us|came in|shortlist|on the list|"
    r"already has|presented|cheaper|connector|differ|against|versus|vs\b|win\b|won\b|lose\b|lost\b|competing|"
    r"clos)",
    re.I)


def _worth_reading(text: str) -> bool:
    lower = text.lower()
    return any(hint in lower for hint in _HINTS) and _WORTH_READING.search(text) is not None


_SIGNATURE = re.compile(r"\b(sign|signs|signed|signing|signature|close|closing)\b", re.I)
_MONEY = r"\$\s?(\d[\d,]*(?:\.\d+)?)\s*(k|K|m|M)?\b"
# An amount the customer calls their budget, or says they set aside, allocated or can spend.
_BUDGET = re.compile(r"\b(?:budget(?:ed)?|set aside|allocated|approved|can spend|have)\b[^.?!$]{0,40}?" + _MONEY
                     + r"|" + _MONEY + r"[^.?!$]{0,30}?\bbudget\b", re.I)


@dataclass(frozen=True)
class Waiting:
    """A thread whose last word needs an answer: from us (`on="us"`) or from the customer (`on="them"`)."""

    on: str
    activity: Activity  # the message that is waiting
    person: str  # who wrote it (waiting on us) or whom it went to (waiting on them)
    since: dt.date
    days: int


@dataclass(frozen=True)
class Slip:
    field: str  # close_date or stage
    old: str
    new: str
    on: dt.date | None
    change: FieldChange | StageChange


@dataclass(frozen=True)
class Person:
    contact: Contact
    role: str | None  # the role on this deal, as recorded (champion, economic_buyer, ...)
    met: int  # meetings and calls they attended
    wrote: int  # emails they sent
    last_seen: dt.date | None
    economic_buyer: bool  # recorded as one, or, when nobody is, a title that holds a budget

    @property
    def engaged(self) -> int:
        return self.met + self.wrote


@dataclass(frozen=True)
class Mention:
    """Something the customer said that a seller must act on, with the statement it rests on."""

    value: str  # the competitor's name, the risk words, the budget amount or the date as written
    statement: Statement
    day: dt.date | None = None  # for a date the customer gave: the day it means


@dataclass(frozen=True)
class Tracked:
    """A commitment on the deal and what became of it, read from what was said and sent after it."""

    commitment: Commitment
    status: str  # done, overdue, open, or moved (promised again later, maybe for another day: the later one counts)
    done_in: Statement | None = None  # the later statement that shows it done


@dataclass
class DealRead:
    deal: DealEvidence
    as_of: dt.date
    waiting: list[Waiting] = field(default_factory=list)  # newest first
    slips: list[Slip] = field(default_factory=list)  # oldest first
    competitors: list[Mention] = field(default_factory=list)  # first mention of each, oldest first
    risks: list[Mention] = field(default_factory=list)  # oldest first
    budgets: list[Mention] = field(default_factory=list)  # oldest first
    signature_dates: list[Mention] = field(default_factory=list)  # dates the customer gave for signing, oldest first
    _commitments: list[Tracked] | None = field(default=None, repr=False)

    @property
    def closed(self) -> str | None:
        """'Won' or 'Lost' once the deal is over, else None."""
        stage = self.deal.opportunity.stage
        return stage if stage in CLOSED_STAGES else None

    def waiting_on_us(self) -> list[Waiting]:
        return [w for w in self.waiting if w.on == "us"]

    def budget_gap(self) -> tuple[float, float, Mention] | None:
        """(budget, amount, the mention) when the newest budget the customer named is below the deal's amount."""
        amount = self.deal.opportunity.amount
        if not self.budgets or not amount:
            return None
        newest = self.budgets[-1]
        budget = money_value(newest.value)
        return (budget, float(amount), newest) if budget is not None and budget < amount else None

    def commitments(self) -> list[Tracked]:
        """Every promise and agreed term on the deal, oldest first, each done, overdue or open. Worked out when
        asked (it reads every sentence of the deal): the agents that show commitments ask, run-all does not."""
        if self._commitments is None:
            statements = [s for s in deal_evidence_statements(self.deal)
                          if s.when is None or s.when.date() <= self.as_of]
            # A promise needs a future ("I'll", "we will", "let me") or a named person's to-do ("Maria to send"):
            # only those statements are parsed; every statement stays a witness that one was done.
            promising = [s for s in statements if _MAY_PROMISE.search(s.text)]
            # The deal's people, not every user: the names become one pattern, compiled per deal.
            owner = [self.deal.owner.name] if self.deal.owner else []
            people = [*(c.name for c, _ in self.deal.contacts), *owner, *{s.speaker for s in statements}]
            sellers = [name for name in people if name in self.deal.user_names]
            found = find_commitments(promising, people=people, sellers=sellers) if promising else []
            self._commitments = _restated([_track(c, statements, self.as_of) for c in found])
        return self._commitments

    def signature_date(self) -> Mention | None:
        """The signature date the customer gave last, when they gave it after the close date was last set and it
        is another day: the plan's date, until someone updates the record."""
        if not self.signature_dates:
            return None
        newest = self.signature_dates[-1]
        set_on = max((c.changed_at for c in self.deal.field_changes if c.field == "close_date"), default=None)
        said = newest.statement.when
        if set_on is not None and said is not None and said <= set_on:
            return None
        return newest if newest.day != self.deal.opportunity.close_date else None

    @cached_property
    def people(self) -> list[Person]:
        """The deal's contacts, role holders and the most engaged first. Worked out when asked: next-best action
        over the whole book does not ask."""
        return _people(self.deal, self.as_of)

    def economic_buyer(self) -> Person | None:
        return next((p for p in self.people if p.economic_buyer), None)


def read_deal(deal: DealEvidence, *, as_of: dt.date) -> DealRead:
    """The read of one deal as it stood at the end of `as_of`."""
    statements = [s for s in deal_evidence_statements(deal, worth=_worth_reading)
                  if s.when is None or s.when.date() <= as_of]
    customer = [s for s in statements if s.by_customer]
    return DealRead(deal=deal, as_of=as_of, waiting=_waiting(deal, as_of), slips=_slips(deal),
                    competitors=_competitors(statements),
                    risks=[Mention(m.group(0), s) for s in customer if (m := _RISK.search(s.text))],
                    budgets=[Mention(m.group(0), s) for s in customer if (m := _BUDGET.search(s.text))],
                    signature_dates=_signature_dates(customer))


_MAY_PROMISE = re.compile(r"\b(?:will|shall|going to|let me)\b|['’]ll\b|\b[A-Z][\w'-]+ to [a-z]")
DONE_OVERLAP = 2  # content words a later statement shares with the promised action to show it done


# Words that say something was delivered, not promised again ("Next step: Zane to send ..." is no delivery).
_DELIVERED = re.compile(r"\b(attached|attaching|enclosed|sent|here is|here's|here are|shared|forwarded|done|"
                        r"completed|finished|booked|scheduled|set up|went through|as promised)\b", re.I)
_PROMISED_AGAIN = re.compile(r"\b(will|going to|next step|can|could|would)\b|['’]ll\b", re.I)


def _track(c: Commitment, statements: list[Statement], as_of: dt.date) -> Tracked:
    """Done when a later statement of the same side says it delivered the action's words ("I'll send the updated
    proposal" -> "Attached is the updated proposal"); else overdue once its day has passed; else open."""
    words = set(content_words(c.what))
    said = c.statement.when
    for later in statements:
        if later.by_customer != c.by_customer or later is c.statement or (said and later.when and later.when <= said):
            continue
        if _DELIVERED.search(later.text) and not _PROMISED_AGAIN.search(later.text) \
                and len(words & set(content_words(later.text))) >= min(DONE_OVERLAP, len(words)):
            return Tracked(c, "done", later)
    return Tracked(c, "overdue" if c.due is not None and c.due < as_of else "open")


_ASK = re.compile(r"\?|\b(can we|could we|could you|would you|can you|please|let me know|set up|schedule|send me|"
                  r"would it be possible|I'd like|we'd like|we need)\b", re.I)


def the_ask(message: Activity) -> str | None:
    """The first sentence of a message that asks for something: what a reply has to answer. A message that gives
    a machine orders ("ignore previous instructions", a tool call) asks nothing a seller should answer by email."""
    text = f"{message.subject or ''}\n{message.body or ''}"
    if INSTRUCTION_LIKE.search(text):
        return None
    return next((sentence for sentence in sentences(message.body or "") if _ASK.search(sentence)), None)


def _restated(tracked: list[Tracked]) -> list[Tracked]:
    """A promise said again later by the same person for the same action is one promise: the newest stands, the
    earlier ones are moved ("share the checklist by December 18", later "... by January 2")."""
    out = []
    for i, t in enumerate(tracked):
        words = set(content_words(t.commitment.what))
        again = any(later.commitment.who == t.commitment.who and len(words & set(content_words(
            later.commitment.what))) >= min(DONE_OVERLAP, len(words)) for later in tracked[i + 1:])
        out.append(Tracked(t.commitment, "moved", None) if again and t.status != "done" else t)
    return out


def _signature_dates(customer: list[Statement]) -> list[Mention]:
    """Days the customer named for signing or closing: "procurement can't sign before August 2, 2018"."""
    found = []
    for s in customer:
        if _SIGNATURE.search(s.text):
            days = [d for d in date_mentions(s.text, today=s.when.date() if s.when else None) if d.day]
            if days:
                found.append(Mention(days[-1].text, s, days[-1].day))
    return found


def money_value(text: str) -> float | None:
    """The first dollar amount in `text` as a number: '$3,000' -> 3000, '$12k' -> 12000."""
    m = re.search(_MONEY, text)
    if m is None:
        return None
    value = float(m.group(1).replace(",", ""))
    return value * {"k": 1e3, "m": 1e6}.get((m.group(2) or "").lower(), 1)


def deal_touches(deal: DealEvidence, as_of: dt.date) -> list[Activity]:
    """The deal's emails, meetings and calls up to the end of `as_of`, oldest first."""
    return [a for a in deal.activities if a.kind in TOUCH_KINDS and a.occurred_at.date() <= as_of]


def _customers(a: Activity, roles: tuple[str, ...]) -> list[dict]:
    return [p for p in a.participants or [] if p.get("role") in roles and p.get("contact_id")]


def _waiting(deal: DealEvidence, as_of: dt.date) -> list[Waiting]:
    touches = deal_touches(deal, as_of)
    threads: dict[str, list[Activity]] = {}
    for a in touches:
        if a.kind == "email":
            threads.setdefault(a.thread_id or a.id, []).append(a)
    out = []
    for messages in threads.values():
        last = messages[-1]
        later = [a for a in touches if a.occurred_at > last.occurred_at]
        if last.direction == "inbound":
            if the_ask(last) is None:
                continue  # "Thanks, received.": the thread rests, nobody waits
            author = next(iter(_customers(last, ("from",))), {})
            # Anything of ours after it answers it: an email, or a meeting or call the writer was in.
            answered = any(a.direction == "outbound" and a.kind == "email"
                           or a.kind in ("meeting", "call") and author.get("contact_id") in
                           {p.get("contact_id") for p in a.participants or []} for a in later)
            if not answered:
                out.append(Waiting("us", last, author.get("name", ""), last.occurred_at.date(),
                                   (as_of - last.occurred_at.date()).days))
        elif last.direction == "outbound":
            # Any word from the customer since (an email, a meeting) is an answer, whatever thread it is in.
            if not any(a.direction == "inbound" or a.kind == "meeting" for a in later):
                to = next(iter(_customers(last, ("to",))), {})
                out.append(Waiting("them", last, to.get("name", ""), last.occurred_at.date(),
                                   (as_of - last.occurred_at.date()).days))
    return sorted(out, key=lambda w: w.activity.occurred_at, reverse=True)


def _slips(deal: DealEvidence) -> list[Slip]:
    slips = [Slip("close_date", c.old_value, c.new_value, c.changed_at.date(), c) for c in deal.field_changes
             if c.field == "close_date" and c.old_value and c.new_value and c.new_value > c.old_value]
    order = {stage: i for i, stage in enumerate(STAGES)}
    for before, after in zip(deal.stage_changes, deal.stage_changes[1:]):
        if order.get(after.stage, 0) < order.get(before.stage, 0) and after.stage not in CLOSED_STAGES:
            slips.append(Slip("stage", before.stage, after.stage, after.entered_on, after))
    return sorted(slips, key=lambda s: s.on or dt.date.min)


def _people(deal: DealEvidence, as_of: dt.date) -> list[Person]:
    met: dict[str, int] = {}
    wrote: dict[str, int] = {}
    seen: dict[str, dt.date] = {}
    for a in deal_touches(deal, as_of):
        roles = ("from",) if a.kind == "email" else ("attendee", "to", "from")
        for p in _customers(a, roles):
            counts = wrote if a.kind == "email" else met
            counts[p["contact_id"]] = counts.get(p["contact_id"], 0) + 1
            seen[p["contact_id"]] = a.occurred_at.date()
    recorded_buyer = any(role == "economic_buyer" for _, role in deal.contacts)
    people = [Person(c, role, met.get(c.id, 0), wrote.get(c.id, 0), seen.get(c.id),
                     role == "economic_buyer" if recorded_buyer else bool(c.title and _BUDGET_TITLES.search(c.title)))
              for c, role in deal.contacts]
    # Role holders first (they are who the deal rests on), then whoever took part most, then by name.
    return sorted(people, key=lambda p: (p.role is None and not p.economic_buyer, -p.engaged, p.contact.name))


def _competitors(statements: list[Statement]) -> list[Mention]:
    """The first mention of each competitor: named by the customer in a competing context, or by us comparing."""
    found: dict[str, Mention] = {}
    for s in statements:
        patterns = (_COMPETING_BEFORE, _COMPETING_AFTER) if s.by_customer else (_COMPARED_WITH,)
        for pattern in patterns:
            for m in pattern.finditer(s.text):
                name = m.group(1)
                if name.split()[0] not in _NOT_VENDORS and name not in found:
                    found[name] = Mention(name, s)
    return sorted(found.values(), key=lambda m: m.statement.when or dt.datetime.min)
