"""Follow-up after a call: who promised what by when, an email draft, tasks and a mutual action plan.

Sections:
- commitments: each promise made on the call, quoting the utterance it was made in, with who (`owner`) and by
  when (`due`, an ISO date resolved from "by Friday", "next week", "March 3" against the call's date; see
  evidence/dates.py). A promise without a date keeps `due` empty and says so in its label;
- email: a thank-you and recap to the customer's people on the call, as a complete RFC 5322 message in
  `content` (what `--eml FILE` writes) whose body, `text`, quotes the promises in the words they were said;
  when we already emailed the deal within RECAP_DAYS after the call, no draft: an item saying the recap went;
- tasks: for the seller, one per promise: do what we promised, check on what the customer promised;
- plan: the mutual action plan, every promise as a step with its owner and date, then the signature: on the date
  the customer gave last when they gave one after the close date was set (the deal read's signature_date), else
  on the close date of record.

The call is the transcript given, else the deal's latest transcript, else (a deal with no recorded call) the
notes of its latest meeting or call. Only names, dates and numbers that are in the cited quotes appear in the
texts: everything else in them is fixed wording, so drafts pass the verifier's facts check.
"""
from __future__ import annotations

import datetime as dt
import email.errors
import email.policy
import email.utils
import re
import unicodedata
from dataclasses import dataclass, field, replace
from email.headerregistry import Address, Group
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.errors import BadInput
from sellerloop.evidence.commitments import AGREED, Commitment, find_commitments
from sellerloop.evidence.conversation import Statement, by_customer, seller_names, sentences, transcript_span_uri
from sellerloop.evidence.dates import add_workdays
from sellerloop.evidence.deals import book_context, end_of, load_deal
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import activity_heading, cite_whole, utterance_line
from sellerloop.evidence.timeline import DealRead, read_deal
from sellerloop.playbooks.models import Playbook
from sellerloop.records.models import (
    Activity,
    Contact,
    Opportunity,
    OpportunityContact,
    Transcript,
    User,
    Utterance,
)

SECTIONS = [
    Section(key="commitments", title="Commitments", kind="claim", max_items=12,
            purpose="Who promised what on the call and by when, quoting the words in which they promised it."),
    Section(key="email", title="Follow-up email", kind="draft", max_items=1,
            purpose="A thank-you and recap to the customer's people on the call, quoting the promises."),
    Section(key="tasks", title="Tasks", kind="draft", max_items=12,
            purpose="Tasks for the seller: deliver what we promised, check on what the customer promised."),
    Section(key="plan", title="Mutual action plan", kind="draft", max_items=14,
            purpose="The steps both sides agreed, each with its owner and date, up to the close date."),
]
# Where a draft email goes when its sender has no address on record: a reserved domain (RFC 2606), so the
# draft cannot be sent as it is, and its display name says what to do.
NO_REPLY = "no-reply@sellerloop.invalid"
UNDISCLOSED = "undisclosed-recipients"
# A promise without a date still gets a task, due this many working days after the call.
UNDATED_TASK_WORKDAYS = 2
# More recipients than this are greeted as a group.
MAX_NAMED_GREETING = 4


@dataclass
class _Call:
    """The conversation to follow up on, read from a transcript or from meeting/call notes."""

    kind: str  # transcript or activity
    noun: str  # what the email calls it: "the call" or "the meeting"
    id: str
    title: str
    when: dt.datetime | None
    statements: list[Statement]
    speakers: list[str]  # in the order they first spoke
    attendee_contacts: list[str] = field(default_factory=list)  # contact ids listed on the call's activity
    owner_id: str | None = None  # the activity's owner, when the deal has none
    book_day: dt.date | None = None  # the book's "today" (evidence.deals.book_context), for an undated call

    @property
    def day(self) -> dt.date:
        """The day of the call, which dates count from; the book's today when the call is not dated (follow-ups
        are run after calls), so a historical book's tasks fall on its own calendar, not the wall clock's."""
        return self.when.date() if self.when else (self.book_day or dt.date.today())

    @property
    def where(self) -> str:
        return f"in {self.noun}" if self.noun == "the meeting" else f"on {self.noun}"


def gather(*, session: Session, playbook: Playbook, owners: set[str] | None, opportunity: Opportunity | None,
           transcript: Transcript | None) -> Brief:
    sellers = seller_names(session)
    call = replace(_the_call(session, opportunity, transcript, sellers), book_day=book_context(session=session).as_of)
    account_id = ((opportunity.account_id if opportunity else None)
                  or (transcript.account_id if transcript else None))
    deal_roles = _deal_contacts(session, opportunity)
    deal_contacts = [contact for contact, _ in deal_roles]
    account_contacts = _account_contacts(session, account_id)
    sender = _sender(session, opportunity, call, sellers)

    people = {*call.speakers, *(c.name for c in deal_contacts), *(c.name for c in account_contacts)}
    if sender is not None:
        people.add(sender.name)
    # An undated call (an imported transcript) is taken to have just happened: follow-ups are run after calls.
    promises = find_commitments(call.statements, people=people, sellers=sellers, undated_on=call.day)
    # Words on a call are data, never instructions: a "commitment" to write to an address that belongs to nobody on
    # the record ("I will email pricing to attacker@...") becomes no task, plan step or recap line.
    known = _known_addresses(session, [*deal_contacts, *account_contacts])
    promises = [p for p in promises if not _strange_addresses(p.sentence, known)]

    facts = FactList()
    cite = _Citer(session, _name_fields(session, call, sender, sellers, [*deal_contacts, *account_contacts]))
    _commitment_facts(facts, promises, dated=call.when is not None)
    read = (read_deal(load_deal(session=session, opportunity=opportunity), as_of=call.book_day or call.day)
            if opportunity is not None else None)
    recap = _recap_sent(read, call)
    if recap is not None:
        # A second recap of the same call is noise in the customer's inbox: say it went, draft nothing.
        heading, refs = activity_heading(session=session, activity=recap)
        facts.add("email", f"{heading}.", refs, label="Recap already sent after the call: no new draft")
    else:
        _email_fact(facts, cite, call=call, promises=promises, sender=sender, sellers=sellers,
                    deal_contacts=deal_contacts, account_contacts=account_contacts)
    _task_facts(facts, cite, call=call, promises=promises, sender=sender)
    _plan_facts(facts, cite, call=call, promises=promises, opportunity=opportunity, deal_roles=deal_roles,
                sender=sender, read=read)

    subject = (Subject(type="opportunity", id=opportunity.id) if opportunity is not None
               else Subject(type="transcript", id=call.id))
    return Brief(use_case="follow-up", subject=subject,
                 subject_name=opportunity.name if opportunity else call.title, inputs={call.kind: call.id},
                 playbook=playbook.key, sections=SECTIONS, facts=facts)


RECAP_DAYS = 7  # an email of ours within a week of the call is its follow-up


def _recap_sent(read: DealRead | None, call: _Call) -> Activity | None:
    """Our first email on the deal after the call and within RECAP_DAYS of it, if one went out (from the deal's
    activities, oldest first, already loaded for its read)."""
    if read is None or call.when is None:
        return None
    until = call.when + dt.timedelta(days=RECAP_DAYS)
    if call.book_day is not None:  # nothing after the book's today: a replay of a past day sees that day's book
        until = min(until, end_of(call.book_day) - dt.timedelta(microseconds=1))
    return next((a for a in read.deal.activities if a.kind == "email" and a.direction == "outbound"
                 and call.when < a.occurred_at <= until), None)


_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _known_addresses(session: Session, contacts: list[Contact]) -> set[str]:
    """The addresses a follow-up may name: the record's contacts' and the team's own."""
    users = session.scalars(select(User.email).where(User.email.is_not(None)))
    return {a.casefold() for a in (*(c.email for c in contacts if c.email), *users)}


def _strange_addresses(text: str, known: set[str]) -> list[str]:
    return [a for a in _EMAIL_IN_TEXT.findall(text or "") if a.casefold() not in known]


# --- the call -------------------------------------------------------------------------------------------------

def _the_call(session: Session, opportunity: Opportunity | None, transcript: Transcript | None,
              sellers: set[str]) -> _Call:
    if transcript is None and opportunity is not None:
        transcript = session.scalars(select(Transcript).where(Transcript.opportunity_id == opportunity.id)
                                     .order_by(Transcript.occurred_at.desc().nulls_last(), Transcript.id.desc())
                                     .limit(1)).first()
    if transcript is not None:
        return _transcript_call(session, transcript, sellers)
    if opportunity is None:
        raise BadInput("follow-up needs --opportunity ID or --transcript ID")
    notes = session.scalars(select(Activity).where(Activity.opportunity_id == opportunity.id,
                                                   Activity.kind.in_(("meeting", "call")),
                                                   Activity.body.is_not(None), Activity.body != "")
                            .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(1)).first()
    if notes is None:
        raise BadInput(f"opportunity {opportunity.id!r} has no call transcript and no meeting or call notes "
                       "to follow up on")
    return _notes_call(session, notes, sellers)


def _transcript_call(session: Session, transcript: Transcript, sellers: set[str]) -> _Call:
    statements, speakers = [], []
    for u in session.scalars(select(Utterance).where(Utterance.transcript_id == transcript.id)
                             .order_by(Utterance.seq)):
        quote = utterance_line(u).split("] ", 1)[1]  # "Speaker: text", verbatim in the source's line
        statements.append(Statement(transcript_span_uri(u), u.speaker, u.text, quote, transcript.occurred_at,
                                    by_customer(u, sellers), "transcript"))
        if u.speaker not in speakers:
            speakers.append(u.speaker)
    activity = session.get(Activity, transcript.activity_id) if transcript.activity_id else None
    return _Call("transcript", "the call", transcript.id, transcript.title, transcript.occurred_at, statements,
                 speakers, _attendee_contacts(activity), activity.owner_id if activity else None)


def _notes_call(session: Session, activity: Activity, sellers: set[str]) -> _Call:
    """Meeting or call notes: written by their author (else the activity's owner), who is the "I" in them."""
    participants = activity.participants or []
    author = next((p.get("name") for p in participants if p.get("role") == "from"), None)
    if author is None and activity.owner_id:
        owner = session.get(User, activity.owner_id)
        author = owner.name if owner else None
    author = author or ""
    statements = [Statement(f"activity:{activity.id}", author, sentence, sentence, activity.occurred_at,
                            bool(author) and author not in sellers, "activity")
                  for sentence in sentences(activity.body or "")]
    speakers = [p["name"] for p in participants if p.get("name")]
    return _Call("activity", f"the {activity.kind}", activity.id, activity.subject or activity.kind.capitalize(),
                 activity.occurred_at, statements, speakers, _attendee_contacts(activity), activity.owner_id)


def _attendee_contacts(activity: Activity | None) -> list[str]:
    if activity is None:
        return []
    return list(dict.fromkeys(p["contact_id"] for p in activity.participants or []
                              if p.get("contact_id") and p.get("role") in ("attendee", "to", "cc")))


def _deal_contacts(session: Session, opportunity: Opportunity | None) -> list[tuple[Contact, str | None]]:
    """The deal's contacts, each with their role on this deal (which may differ from their usual one)."""
    if opportunity is None:
        return []
    rows = session.execute(select(Contact, OpportunityContact.role_in_deal)
                           .join(OpportunityContact, OpportunityContact.contact_id == Contact.id)
                           .where(OpportunityContact.opportunity_id == opportunity.id)
                           .order_by(Contact.name, Contact.id)).all()
    return [(contact, role or contact.role_in_deal) for contact, role in rows]


def _account_contacts(session: Session, account_id: str | None) -> list[Contact]:
    if account_id is None:
        return []
    return list(session.scalars(select(Contact).where(Contact.account_id == account_id)
                                .order_by(Contact.name, Contact.id)))


def _sender(session: Session, opportunity: Opportunity | None, call: _Call, sellers: set[str]) -> User | None:
    """Who follows up: the deal's owner, else the seller who spoke first, else the call activity's owner."""
    if opportunity is not None and opportunity.owner_id:
        owner = session.get(User, opportunity.owner_id)
        if owner is not None:
            return owner
    for speaker in call.speakers:
        if speaker in sellers:
            user = session.scalars(select(User).where(User.name == speaker).order_by(User.id)).first()
            if user is not None:
                return user
    return session.get(User, call.owner_id) if call.owner_id else None


class _Citer:
    """Citations of record fields, each resolved once, quoting the field's line as `source show` prints it.
    `people` maps the names of the people of this deal to their name field, so a person is only ever cited
    from a record the run already reads (never a namesake on another account)."""

    def __init__(self, session: Session, people: dict[str, str]):
        self.session = session
        self.people = people
        self._refs: dict[str, SourceRef] = {}

    def __call__(self, uri: str) -> SourceRef:
        if uri not in self._refs:
            self._refs[uri] = cite_whole(session=self.session, uri=uri)
        return self._refs[uri]

    def person(self, name: str) -> list[SourceRef]:
        """The name field of `name`, for text that names a person the promise's own quote does not (the
        author of meeting notes, "Maria" promising as Maria Lopez)."""
        uri = self.people.get(_norm(name))
        return [self(uri)] if uri else []


def _name_fields(session: Session, call: _Call, sender: User | None, sellers: set[str],
                 contacts: list[Contact]) -> dict[str, str]:
    """Name -> name-field URI for the people of this call and deal: its contacts, the sender, sellers who spoke."""
    fields = {}
    for name in call.speakers:
        if name in sellers:
            user = session.scalars(select(User.id).where(User.name == name).order_by(User.id)).first()
            if user is not None:
                fields[_norm(name)] = f"user:{user}/field/name"
    if sender is not None:
        fields[_norm(sender.name)] = f"user:{sender.id}/field/name"
    for contact in reversed(contacts):  # the deal's contacts win over namesakes elsewhere on the account
        fields[_norm(contact.name)] = f"contact:{contact.id}/field/name"
    return fields


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _sources(promise: Commitment, cite: _Citer, *, names: str) -> list[SourceRef]:
    """The promise's quote, plus a source for `names` when the quote does not hold that name."""
    refs = [promise.statement.source]
    if promise.accepted_by is not None:  # agreed terms: what was agreed may be in the other side's words
        refs.append(promise.accepted_by.source)
    if names and names not in promise.statement.quote:
        refs += cite.person(names)
    return refs


# --- commitments ----------------------------------------------------------------------------------------------

def _commitment_facts(facts: FactList, promises: list[Commitment], *, dated: bool) -> None:
    for promise in promises:
        statement = promise.statement
        # An utterance's quote is "Speaker: text": the same prefix shows who said it.
        text = f"{statement.speaker}: {promise.sentence}" if statement.kind == "transcript" else promise.sentence
        facts.add("commitments", text, [statement.source], label=_commitment_label(promise, dated),
                  owner=promise.who, due=_iso(promise.due))


def _commitment_label(promise: Commitment, dated: bool) -> str:
    side = "Customer commitment" if promise.by_customer else "Seller commitment"
    if promise.kind == AGREED:  # terms the other side said yes to, not a promise made alone
        side = f"{side} · agreed terms"
    if promise.when is None:
        return f"{side} · no date given"
    if promise.due is None:
        return f"{side} · its date cannot be resolved"
    if not dated and promise.needs_call_date:
        return f"{side} · the call has no date: due counted from today"
    return side


# --- the email ------------------------------------------------------------------------------------------------

def _email_fact(facts: FactList, cite: _Citer, *, call: _Call, promises: list[Commitment], sender: User | None,
                sellers: set[str], deal_contacts: list[Contact], account_contacts: list[Contact]) -> None:
    recipients, whose = _recipients(call, sellers, deal_contacts, account_contacts)
    sources: list[SourceRef] = []
    for contact in recipients:
        sources += [cite(f"contact:{contact.id}/field/name"), cite(f"contact:{contact.id}/field/email")]
    if sender is not None:
        sources.append(cite(f"user:{sender.id}/field/name"))
    ours = [p for p in promises if not p.by_customer]
    theirs = [p for p in promises if p.by_customer]
    for promise in (*ours, *theirs):
        if promise.statement.source not in sources:
            sources.append(promise.statement.source)

    body = _email_body(recipients, ours, theirs, sender, call.where)
    message = build_email(sender=(sender.name if sender else "", sender.email if sender else None),
                          recipients=[(c.name, c.email or "") for c in recipients],
                          subject=f"Next steps: {call.title}", body=body, date=_drafted_at(call))
    label = f"Thank-you email · no commitments found {call.where}" if not promises else "Follow-up email"
    label += {"call": "", "deal": " · to the deal's contacts (no one on the call has an email on record)",
              "account": " · to the account's contacts (no one on the call or the deal has an email on record)",
              "nobody": " · no recipient has an email on record: add one before sending"}[whose]
    if sender is None or _address(sender.name, sender.email) is None:
        label += " · the sender has no email on record: set the From address"
    facts.add("email", body, sources, label=label, artifact="email", content=message,
              owner=sender.name if sender else None)


def _recipients(call: _Call, sellers: set[str], deal_contacts: list[Contact],
                account_contacts: list[Contact]) -> tuple[list[Contact], str]:
    """The customer's people on the call who have an email, else the deal's, else the account's contacts.
    Speakers are matched to contacts by name (the deal's contacts first); attendees listed on the call's
    activity count as on the call even if they did not speak."""
    by_name: dict[str, Contact] = {}
    for contact in (*deal_contacts, *account_contacts):
        by_name.setdefault(_norm(contact.name), contact)
    by_id = {contact.id: contact for contact in (*deal_contacts, *account_contacts)}
    on_call: list[Contact] = []
    for speaker in call.speakers:
        contact = by_name.get(_norm(speaker))
        if speaker not in sellers and contact is not None and contact not in on_call:
            on_call.append(contact)
    for contact_id in call.attendee_contacts:
        contact = by_id.get(contact_id)
        if contact is not None and contact not in on_call:
            on_call.append(contact)
    for whose, group in (("call", on_call), ("deal", deal_contacts), ("account", account_contacts)):
        reachable = [c for c in group if _address(c.name, c.email) is not None]
        if reachable:
            return reachable, whose
    return [], "nobody"


def _email_body(recipients: list[Contact], ours: list[Commitment], theirs: list[Commitment],
                sender: User | None, where: str) -> str:
    """Fixed wording around the names of the recipients and the promises in their own words. Every
    capitalised word of the fixed wording is a stopword or a common sentence opener, so the verifier reads
    no name into it."""
    firsts = list(dict.fromkeys(c.name.split()[0] for c in recipients if c.name.split()))
    if not firsts or len(firsts) > MAX_NAMED_GREETING:
        greeting = "Hi all,"
    else:
        greeting = "Hi " + (firsts[0] if len(firsts) == 1 else ", ".join(firsts[:-1]) + " and " + firsts[-1]) + ","
    lines = [greeting, "", f"Thank you for your time {where}."]
    if ours or theirs:
        lines[-1] += " Here are the next steps as we said them:"
        for heading, group in (("On our side:", ours), ("On your side:", theirs)):
            if group:
                lines += ["", heading]
                lines += [f"- {_said(p, sender)}" for p in group]
        lines += ["", "If I missed or misheard anything, reply to this email and I will correct it."]
    else:
        lines += ["", "If anything we discussed needs an answer from our side, reply to this email."]
    lines += ["", "Thanks,"]
    if sender is not None:
        lines.append(_header_text(sender.name))
    return "\n".join(lines)


def _said(promise: Commitment, sender: User | None) -> str:
    sentence = f'"{promise.sentence}"'
    first_person = promise.who == promise.statement.speaker
    if first_person and (sender is None or promise.who != sender.name) and promise.statement.kind == "transcript":
        return f"{promise.who}: {sentence}"
    return sentence


def _drafted_at(call: _Call) -> dt.datetime | None:
    """When the draft is dated on the book's clock: now for a live book (None: the wall clock), and the end of the
    book's last day for a historical one, so the email does not come nine years after the call it follows."""
    if call.book_day is None or call.book_day >= dt.date.today():
        return None
    return dt.datetime.combine(max(call.book_day, call.day), dt.time(17, 0), tzinfo=dt.UTC)


def build_email(*, sender: tuple[str, str | None], recipients: list[tuple[str, str]], subject: str, body: str,
                date: dt.datetime | None = None) -> str:
    """An RFC 5322 message (CRLF line ends, encoded words for non-ASCII headers) for a draft.

    Names, addresses and the subject come from evidence, so none of them may add a header: control characters
    (CR, LF, ...) are replaced by spaces, and an address that does not parse as exactly one addr-spec is
    dropped. `X-Unsent: 1` makes mail clients open the file as a draft to edit and send."""
    message = EmailMessage(policy=email.policy.SMTP)
    name, address = sender
    from_address = _address(name, address)
    if from_address is None:
        shown = _header_text(name)
        from_address = Address(display_name=f"{shown} (no email on record)" if shown else "Set the sender",
                               addr_spec=NO_REPLY)
    message["From"] = from_address
    to = [a for a in (_address(n, e) for n, e in recipients) if a is not None]
    message["To"] = to or Group(display_name=UNDISCLOSED)
    message["Subject"] = _header_text(subject) or "Follow-up"
    message["Date"] = email.utils.format_datetime(date or dt.datetime.now(dt.UTC).replace(microsecond=0))
    message["Message-ID"] = email.utils.make_msgid(domain=from_address.domain or "sellerloop.invalid")
    message["X-Unsent"] = "1"
    message.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    return message.as_string()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _header_text(value: str | None) -> str:
    """One line of printable text: control characters and line breaks become spaces."""
    value = _CONTROL.sub(" ", value or "")
    value = "".join(" " if unicodedata.category(ch) in ("Zl", "Zp", "Cc") else ch for ch in value)
    return " ".join(value.split())[:200]


def _address(name: str | None, addr_spec: str | None) -> Address | None:
    """A mailbox, or None unless `addr_spec` is exactly one address (no spaces, line breaks or lists)."""
    addr_spec = (addr_spec or "").strip()
    if addr_spec.count("@") != 1 or any(c.isspace() or not c.isprintable() for c in addr_spec):
        return None
    try:
        address = Address(display_name=_header_text(name), addr_spec=addr_spec)
    except (ValueError, IndexError, email.errors.MessageError):
        return None
    return address if address.addr_spec == addr_spec and address.domain else None


# --- tasks and the plan ----------------------------------------------------------------------------------------

def _task_facts(facts: FactList, cite: _Citer, *, call: _Call, promises: list[Commitment],
                sender: User | None) -> None:
    default_due = add_workdays(call.day, UNDATED_TASK_WORKDAYS)
    for promise in promises:
        if promise.by_customer:
            # Check the day after they promised it: by then it should have arrived.
            due = add_workdays(promise.due, 1) if promise.due else default_due
            text = f'Check with {promise.who}: "{promise.sentence}"'
            label = "Check on the customer's commitment"
            owner = sender.name if sender else None
        else:
            due = promise.due or default_due
            text = _sentence_case(_action(promise)) + "."
            label = "Deliver our commitment"
            owner = promise.who
        if promise.due is None:
            label += f" · no date given: due {UNDATED_TASK_WORKDAYS} working days after the call"
        facts.add("tasks", text, _sources(promise, cite, names=promise.who if promise.by_customer else ""),
                  label=label, artifact="task", owner=owner, due=_iso(due))


def _plan_facts(facts: FactList, cite: _Citer, *, call: _Call, promises: list[Commitment],
                opportunity: Opportunity | None, deal_roles: list[tuple[Contact, str | None]],
                sender: User | None, read: DealRead | None) -> None:
    ordered = sorted(enumerate(promises), key=lambda pair: (pair[1].due or dt.date.max, pair[0]))
    for _, promise in ordered:
        side = "Customer step" if promise.by_customer else "Seller step"
        facts.add("plan", f"{promise.who}: {_action(promise)}", _sources(promise, cite, names=promise.who),
                  label=side if promise.due else f"{side} · no date given", artifact="mutual_action_plan",
                  owner=promise.who, due=_iso(promise.due))
    if opportunity is None or not opportunity.is_open:
        return
    signer = _signer(deal_roles)
    owner = signer.name if signer else (sender.name if sender else None)
    # The latest word on the signature date: a date the customer gave after the record was last set wins.
    said = read.signature_date() if read is not None else None
    if said is not None and said.day >= call.day:
        facts.add("plan", said.statement.quote, [said.statement.source],
                  label=f"Signature · the date the customer gave on {said.statement.when:%Y-%m-%d}"
                        + (f" (the record still says {opportunity.close_date.isoformat()})"
                           if opportunity.close_date else ""),
                  artifact="mutual_action_plan", owner=owner, due=said.day.isoformat())
    elif opportunity.close_date and opportunity.close_date >= call.day:
        facts.add("plan", f"Close date on record: {opportunity.close_date.isoformat()}.",
                  [cite(f"opportunity:{opportunity.id}/field/close_date")],
                  label="Signature · the deal's close date", artifact="mutual_action_plan",
                  owner=owner, due=opportunity.close_date.isoformat())


def _signer(deal_roles: list[tuple[Contact, str | None]]) -> Contact | None:
    """Who signs on the customer's side: the economic buyer, else the decision maker, else the champion."""
    for wanted in ("economic_buyer", "decision_maker", "champion"):
        for contact, role in deal_roles:
            if role == wanted:
                return contact
    return None


def _action(promise: Commitment) -> str:
    """What was promised, with its time words when they are not already in it: "send the plan by Friday"."""
    if promise.when and promise.when not in promise.what:
        return f"{promise.what} {promise.when}"
    return promise.what


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]
