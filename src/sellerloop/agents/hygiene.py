"""CRM hygiene for an opportunity: field updates drafted as diffs (field, old -> new, cited) and alerts for
empty fields. It never writes to the store; each diff is what an `update_field` or `add_contact_role` action
would write once a person approves it.

Field updates (section `field_updates`):
- close date: the newest email, meeting or call note, or recorded call, later than the field's last change, in
  which someone moves the close ("push the close to March 15", "we can only sign in Q2", "procurement can't sign
  before April 30", "the budget opens on May 1. We'd have to close then.", "... so March 19 is no longer
  realistic"), when the date it names differs from the field. A month or quarter becomes its last day.
  A newer message confirming the field's date ("March 19 still works") cancels an older move.
- next step: the next step written in the latest meeting or call notes ("Next step: ...", "Action items:"
  followed by a list, "The next step is ..."), when it differs from the field and the field was not changed
  since.
- stage: when the playbook's exit criteria of the current stage all have evidence, the stage it exits to,
  citing one quote per criterion. Never into a closed stage: qualification evidence is not a signature.
- contact role: a contact on the deal with no role, whose title (or, without a title, email signature) maps
  clearly to a role (CFO -> economic buyer, CTO or architect -> technical evaluator, ...).

Alerts (section `missing_fields`): empty required fields of an open deal (close date, amount, next step,
account), and each exit criterion of the current stage without evidence, named as the playbook names it.

Speed: a whole-book run passes `deal` (evidence.deals, loaded in bulk, with its calls: the close date and the
playbook coverage read them) and this module then reads only those rows: no query of its own. Quotes are built
from the rows with the resolver's own formatting (field_label, format_value), so they are verbatim in what
`sellerloop source show URI` prints, and transcripts are not resolved here.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sellerloop.access.fields import is_masked
from sellerloop.agents.models import Subject
from sellerloop.composers.base import Brief, FactList, Section
from sellerloop.evidence.conversation import sentences, transcript_span_uri
from sellerloop.evidence.dates import DateMention, date_mentions
from sellerloop.evidence.deals import DealEvidence, load_deal
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import cite_field, field_label, format_value
from sellerloop.playbooks.models import Playbook
from sellerloop.playbooks.service import element_coverage
from sellerloop.records.models import CLOSED_STAGES, Activity, Contact, Opportunity, Utterance

SECTIONS = [
    Section(key="field_updates", title="Field updates", kind="field_change", max_items=8,
            purpose="Drafted CRM updates, each an old -> new diff citing the evidence for the new value."),
    Section(key="missing_fields", title="Missing fields", kind="alert", max_items=12,
            purpose="Required fields left empty and playbook exit criteria without evidence."),
]
REQUIRED_FIELDS = ("close_date", "amount", "next_step", "account_id")
FORECAST = "moves the forecast, needs approval"
NONE = "—"  # how an empty old value reads in a diff

# ------------------------------------------------------------------------------------------- close date

_CLOSE = r"(?:close|closing|signature|signing|sign-?off|contract|deal|decision|go-?live|purchase order)"
_NEG = r"(?:can't|cannot|can\s+not|won't|will\s+not|not\s+able\s+to|unable\s+to|not\s+going\s+to|couldn't|wouldn't)"
_GAP = r"[^.;!?]{0,40}?"
# Sentences that move the close to the date they name, in whichever direction.
MOVE = re.compile(rf"""
    \b(?:push|pushed|pushing|move|moved|moving|slip|slipped|slipping|shift|shifted|shifting|delay|delayed
       |postpone|postponed|bump|bumped|reschedule|rescheduled|pull|pulled|bring|brought)\b{_GAP}\b{_CLOSE}\b
  | \b{_CLOSE}\b{_GAP}\b(?:moves?|moved|slips?|slipped|shifts?|shifted|(?:is|was|has\s+been|gets?|got)\s+
       (?:pushed|delayed|postponed|moved))\b
  | \b(?:new|revised|updated|expected|target|realistic)\s+(?:close|closing|signature|signing|decision)\s+date\b
  | \b(?:plan|schedule|target|aim|book|set)\w*\s+(?:the\s+)?(?:signature|signing|close|closing)\s+(?:for|on|in)\b
  | \b(?:looking\s+at|aiming\s+for|targeting|planning\s+for|now\s+expect(?:ing)?)\b{_GAP}\bfor\s+(?:the\s+)?
       (?:signature|signing|close|closing|sign-?off)\b
  | \b(?:have|need)\s+to\s+(?:close|sign)\s+(?:then|in|on|by)\b
  | \b(?:sign|close)\s+(?:it\s+|this\s+|the\s+(?:deal|contract|agreement)\s+)?(?:in|on|by|around)\s
""", re.IGNORECASE | re.VERBOSE)
# Sentences that rule out signing before the date they name: they move the close only if it is later.
CONSTRAINT = re.compile(rf"""
    \b{_NEG}\b{_GAP}\b(?:sign|close|commit|finali[sz]e|approve|execute|finish|complete|get\s+(?:this|it)\s+signed)
       \w*\b{_GAP}\b(?:before|until|till|prior\s+to)\b
  | \b(?:signature|signing|close|closing|decision|sign-?off|approval)\b{_GAP}\b(?:not|n't)\b{_GAP}
       \b(?:before|until|till)\b
  | \bearliest\b{_GAP}\b(?:sign|close|commit|signature|signing|decision)
""", re.IGNORECASE | re.VERBOSE)
# Sentences that say the date on record will not hold ("that date won't hold", "no longer realistic").
INVALID = re.compile(r"""\b(?:won't|will\s+not|doesn't|does\s+not|no\s+longer)\s+(?:hold|work|be\s+realistic)\b
    | \bno\s+longer\s+(?:realistic|possible|feasible|an\s+option)\b | \bnot\s+realistic\b | \brather\s+than\b
    | \binstead\s+of\b | \b(?:won't|will\s+not|can't|cannot)\s+make\b""", re.IGNORECASE | re.VERBOSE)
_OLD_PLAN = re.compile(r"\b(?:that|the|our|the\s+original|the\s+current)\s+(?:date|timeline|close\s+date|plan)\b",
                       re.IGNORECASE)
# Sentences that confirm the date on record ("March 19 still works"): a newer one cancels an older move.
CONFIRM = re.compile(r"\b(?:still\s+(?:works|holds|stands|on\s+track|realistic|good|valid)|is\s+(?:still\s+)?the\s+plan"
                     r"|on\s+track|(?<!please\s)(?<!you\s)confirm(?:ed|s|ing)?|locked\s+in)\b", re.IGNORECASE)
# Words that point back to the date in the sentence before ("... on May 1. We'd have to close then.").
_ANAPHOR = re.compile(r"\b(?:then|that\s+date|that\s+day|that\s+point|that\s+time)\b", re.IGNORECASE)
_CONDITIONAL = re.compile(r"\b(?:if|unless|whether)\b", re.IGNORECASE)
# Cheap passes over a whole message decide whether its sentences are worth a look: a word that one of the cues
# above contains (plain substring tests on the lower-cased text: several times faster than one regex), and a
# date of some form.
_CUE_WORDS = ("sign", "clos", "deal", "decision", "contract", "go-live", "golive", "purchase order", "commit",
              "finali", "approv", "execut", "finish", "complet", "earliest", "hold", "n't work", "not work",
              "no longer", "realistic", "rather than", "instead of", "n't make", "not make", "on track", "confirm",
              "locked in", "still", "the plan")
_ANY_DATE = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)|\d[-/]\d|\b[Qq][1-4]\b|quarter"
                       r"|month|year")


def _cue_word(text: str) -> bool:
    lower = text.lower()
    for word in _CUE_WORDS:  # a plain loop: any() over a generator costs a third more here
        if word in lower:
            return True
    return False


@dataclass(frozen=True)
class _Message:
    kind: str  # email, meeting, call, note, transcript
    when: dt.datetime
    text: str
    record: Activity | Utterance

    @property
    def uri(self) -> str:  # worked out only for the few messages that are cited
        if isinstance(self.record, Utterance):
            return transcript_span_uri(self.record)
        return f"activity:{self.record.id}"


@dataclass(frozen=True)
class _DateEvidence:
    message: _Message
    order: tuple[int, int]  # (message, sentence) in the order they were written: the last word wins
    date: dt.date | None  # the new close date; None when the sentence confirms the date on record
    mention: DateMention | None
    quotes: tuple[str, ...]


def _messages(deal: DealEvidence) -> Iterator[_Message]:
    """Everything written or said on the deal that may move the close: messages, notes and call transcripts."""
    for a in deal.activities:
        if a.body and a.occurred_at:
            yield _Message(a.kind, a.occurred_at, a.body, a)
    for transcript in deal.transcripts:
        if transcript.occurred_at is None:
            continue
        for u in deal.utterances.get(transcript.id, ()):
            yield _Message("transcript", transcript.occurred_at, u.text, u)


def _cue(sentence: str) -> bool:
    return bool(MOVE.search(sentence) or CONSTRAINT.search(sentence) or INVALID.search(sentence)
                or CONFIRM.search(sentence))


def _close_date_evidence(deal: DealEvidence, since: dt.datetime | None) -> Iterator[_DateEvidence]:
    """What each message newer than `since` says about the close date, oldest message first."""
    current = deal.opportunity.close_date
    for index, message in enumerate(_messages(deal)):
        if since is not None and message.when <= since:
            continue
        if _cue_word(message.text) and _ANY_DATE.search(message.text):
            yield from _message_evidence(message, index, current)


def _message_evidence(message: _Message, index: int, current: dt.date | None) -> Iterator[_DateEvidence]:
    parts = [s for s in sentences(message.text) if not s.startswith(">")]  # not quoted replies
    cues: dict[int, bool] = {}

    def cue(i: int) -> bool:  # worked out only next to a sentence with a date
        if i not in cues:
            cues[i] = i < len(parts) and _cue_word(parts[i]) and _cue(parts[i])
        return cues[i]

    today = message.when.date()
    for i, sentence in enumerate(parts):
        if not _ANY_DATE.search(sentence) or not (cue(i) or cue(i + 1)):
            continue
        if sentence.endswith("?") or _CONDITIONAL.search(sentence):
            continue  # a question or an "if" decides nothing
        mentions = [m for m in date_mentions(sentence, today=today) if m.last >= today]
        if not mentions:
            continue
        found = _move_in(sentence, parts[i + 1] if cue(i + 1) else "", mentions, current, today)
        if found is not None:
            date, mention, quotes = found
            yield _DateEvidence(message, (index, i), date, mention, quotes)


def _move_in(sentence: str, following: str, mentions: list[DateMention], current: dt.date | None,
             today: dt.date) -> tuple[dt.date | None, DateMention | None, tuple[str, ...]] | None:
    """What one sentence (read with the one after it) says about the close date, if anything."""
    # A mention whose period holds the date on record agrees with it ("we sign in March" and March 19).
    others = [m for m in mentions if current is None or not m.first <= current <= m.last]
    if not others:  # it names only the date on record
        if current is not None and CONFIRM.search(sentence) and not INVALID.search(sentence):
            return None, None, (sentence,)
        return None
    mention = max(others, key=lambda m: m.last)
    quotes: tuple[str, ...] = (sentence,)
    if MOVE.search(sentence):
        kind = "move"
    elif CONSTRAINT.search(sentence) or _invalidates(sentence, current, today):
        kind = "later"
    elif following and not following.endswith("?") and _ANAPHOR.search(following) and (
            MOVE.search(following) or CONSTRAINT.search(following)) and not date_mentions(following, today=today):
        kind, quotes = "move", (sentence, following)  # "... opens on May 1. We'd have to close then."
    elif following and _invalidates(following, current, today):
        kind, quotes = "later", (sentence, following)  # "... on May 1. I know we had March 19, but that won't hold."
    else:
        return None
    new = mention.last
    if new == current or (kind == "later" and current is not None and new < current):
        return None
    return new, mention, quotes


def _invalidates(sentence: str, current: dt.date | None, today: dt.date) -> bool:
    """Does the sentence say the plan on record will not hold? It must point at that plan: name the date on
    record or say "that date", "the timeline"."""
    if not INVALID.search(sentence):
        return False
    if _OLD_PLAN.search(sentence):
        return True
    return current is not None and any(m.first <= current <= m.last for m in date_mentions(sentence, today=today))


def _close_date_change(deal: DealEvidence) -> _DateEvidence | None:
    """The newest word on the close date since the field last changed, when it moves the date."""
    newest = None
    for evidence in _close_date_evidence(deal, _last_change(deal, "close_date")):
        if newest is None or (evidence.message.when, evidence.order) >= (newest.message.when, newest.order):
            newest = evidence
    return newest if newest is not None and newest.date is not None else None


def _last_change(deal: DealEvidence, field: str) -> dt.datetime | None:
    times = [c.changed_at for c in deal.field_changes if c.field == field and c.changed_at is not None]
    return max(times) if times else None


# -------------------------------------------------------------------------------------------- next step

_STEP_HEAD = r"(?:agreed[ \t]+)?(?:next[ \t]+steps?|action[ \t]+items?|follow[- ]?ups?|to-?dos?)"
# "Next step: Dana to send the security review by Friday." on a line of its own.
NEXT_STEP_LINE = re.compile(rf"^[ \t]*(?:[-*•][ \t]*)?{_STEP_HEAD}[ \t]*:[ \t]*(?P<step>\S.*?)[ \t]*$",
                            re.IGNORECASE | re.MULTILINE)
# "Next steps:" alone on a line, the steps listed below it.
NEXT_STEP_HEADER = re.compile(rf"^[ \t]*{_STEP_HEAD}[ \t]*:?[ \t]*$", re.IGNORECASE | re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+(?P<step>\S.*?)[ \t]*$")
# "The next step is a technical review with their architects."
NEXT_STEP_SENTENCE = re.compile(r"\b(?:the\s+)?next\s+steps?\s+(?:is|are|will\s+be)\b(?!\s+(?:to\s+be\s+)?"
                                r"(?:unclear|open|tbd|not))", re.IGNORECASE)
MAX_STEPS = 3


def _next_step_in(body: str) -> tuple[str, str] | None:
    """(the next step as the notes word it, the verbatim quote it comes from), or None."""
    line = NEXT_STEP_LINE.search(body)
    if line:
        return line["step"], line[0].strip()
    header = NEXT_STEP_HEADER.search(body)
    if header:
        steps, end = [], header.end()
        for raw in body[header.end():].lstrip("\n").split("\n"):
            bullet = _BULLET.match(raw)
            if not bullet or len(steps) == MAX_STEPS:
                break
            steps.append(bullet["step"])
            end = body.index(raw, end) + len(raw)
        if steps:
            return "; ".join(steps), body[header.start():end].strip()
    if NEXT_STEP_SENTENCE.search(body):
        for sentence in sentences(body):
            if NEXT_STEP_SENTENCE.search(sentence) and not sentence.endswith("?"):
                return sentence, sentence
    return None


def _latest_next_step(deal: DealEvidence) -> tuple[Activity, str, str] | None:
    """The next step in the newest meeting or call notes that state one, if newer than the field's last change."""
    changed = _last_change(deal, "next_step")
    for a in reversed(deal.activities):  # oldest first in the evidence: walk back from the newest
        if a.kind not in ("meeting", "call") or not a.body:
            continue
        if changed is not None and a.occurred_at is not None and a.occurred_at <= changed:
            return None
        found = _next_step_in(a.body)
        if found:
            return a, *found
    return None


def _same_text(a: str | None, b: str | None) -> bool:
    def norm(text: str | None) -> str:
        return " ".join((text or "").split()).rstrip(".!;").casefold()
    return norm(a) == norm(b)


# ----------------------------------------------------------------------------------------- contact roles

# Titles that say plainly which part a person plays in a buying decision, first match wins. Champions are
# never read from a title: a champion is someone who sells for you, which no title says.
TITLE_ROLES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (role, re.compile(pattern, re.IGNORECASE)) for role, pattern in (
    ("economic_buyer", (r"\b(?:CFO|chief\s+financial\s+officer|finance\s+director"
                        r"|(?:vp|svp|evp|vice\s+president|head|director)\s+(?:of\s+)?finance)\b")),
    ("technical_evaluator", (r"\b(?:CTO|chief\s+technology\s+officer|CISO|chief\s+information\s+security\s+officer"
                             r"|architect|(?:systems|security|solutions?)\s+engineer)\b")),
    ("decision_maker", (r"\b(?:CEO|chief\s+executive\s+officer|COO|chief\s+operating\s+officer|CIO"
                        r"|chief\s+information\s+officer|managing\s+director|general\s+manager"
                        r"|(?<!vice\s)president)\b")),
    ("procurement", r"\b(?:procurement|purchasing|sourcing)\b"),
    ("legal", r"\b(?:legal\s+counsel|general\s+counsel|attorney|lawyer|head\s+of\s+legal)\b"),
))


def role_for_title(title: str) -> str | None:
    return next((role for role, pattern in TITLE_ROLES if pattern.search(title)), None)


def _signature(deal: DealEvidence, contact: Contact) -> tuple[Activity, str, str] | None:
    """(email, title, verbatim quote of the name and title lines) from the newest signature the contact
    signs with a title that maps to a role."""
    for a in reversed(deal.activities):
        if a.kind != "email" or not a.body:
            continue
        sender = next((p for p in a.participants or [] if p.get("role") == "from"), None)
        if sender is None or not (sender.get("contact_id") == contact.id
                                  or (contact.email and sender.get("email") == contact.email)):
            continue
        lines = a.body.split("\n")
        for i in range(len(lines) - 2, -1, -1):
            if lines[i].strip() == contact.name and role_for_title(lines[i + 1].strip()):
                return a, lines[i + 1].strip(), f"{lines[i]}\n{lines[i + 1]}".strip()
    return None


# --------------------------------------------------------------------------------------------- the agent

def gather(*, session: Session, opportunity: Opportunity, playbook: Playbook, owners: set[str] | None,
           deal: DealEvidence | None = None) -> Brief:
    deal = deal if deal is not None else load_deal(session=session, opportunity=opportunity)
    o = deal.opportunity
    facts = FactList()
    if o.is_open:  # a closed deal's fields are its history, not a forecast to keep tidy
        _tidy(facts, session, playbook, o, deal)
    return Brief(use_case="hygiene", subject=Subject(type="opportunity", id=o.id), subject_name=o.name,
                 playbook=playbook.key, sections=SECTIONS, facts=facts)


def _tidy(facts: FactList, session: Session, playbook: Playbook, o: Opportunity, deal: DealEvidence) -> None:
    _close_date(facts, o, deal)
    _next_step(facts, o, deal)
    exit_ = next((s for s in playbook.stages if s.stage == o.stage), None)
    coverage = []
    if exit_ is not None and exit_.requires:
        # The whole playbook's coverage, which next-best action reads too (worked out once per deal in a
        # whole-book run), narrowed to what this stage's exit needs.
        required = set(exit_.requires)
        coverage = [c for c in element_coverage(session=session, opportunity_id=o.id, playbook=playbook, deal=deal)
                    if c.key in required]
        if exit_.exits_to not in CLOSED_STAGES and all(c.satisfied for c in coverage):
            _stage(facts, o, exit_.exits_to, coverage)
    _contact_roles(facts, deal)

    for name in REQUIRED_FIELDS:
        # A masked field (access/fields.py) is not empty: it is one the person this runs for may not see.
        if getattr(o, name) in (None, "") and not is_masked(o, name):
            facts.add("missing_fields", f"{field_label(name)}: empty, a required field of an open deal.",
                      [cite_field("opportunity", o, name)], label=f"Missing field · {field_label(name)}", field=name)
    stage = cite_field("opportunity", o, "stage")
    for c in coverage:
        if not c.satisfied:  # the element's name is the playbook's, lower-cased: a name, not a fact to check
            facts.add("missing_fields", f"{o.stage} exit criteria: no evidence yet for {c.name.lower()}.",
                      [stage], label=f"Methodology gap · {c.name}", playbook_element=c.key)


def _close_date(facts: FactList, o: Opportunity, deal: DealEvidence) -> None:
    change = _close_date_change(deal)
    if change is None:
        return
    old = format_value(o.close_date)
    quoted = " ".join(f"“{q}”" for q in change.quotes)
    where = {"email": "an email", "transcript": "a recorded call", "meeting": "meeting notes",
             "call": "call notes", "note": "a note"}.get(change.message.kind, "a message")
    label = f"Close date from {where}"
    if change.mention.precision != "day":
        label += f" · the last day of the {change.mention.precision} named"
    uri = change.message.uri
    facts.add("field_updates", f"Close date: {old or NONE} → {change.mention.text} — {quoted}",
              [SourceRef(uri=uri, quote=q, kind=uri.split(":", 1)[0]) for q in change.quotes]
              + [cite_field("opportunity", o, "close_date")],
              label=f"{label} · {FORECAST}", field="close_date", old=old, new=change.date.isoformat(),
              action="update_field")


def _next_step(facts: FactList, o: Opportunity, deal: DealEvidence) -> None:
    if is_masked(o, "next_step"):  # the old value is unknown here: a change to it could not be checked
        return
    found = _latest_next_step(deal)
    if found is None:
        return
    activity, step, quote = found
    if _same_text(step, o.next_step):
        return
    facts.add("field_updates", f"Next step: {o.next_step or NONE} → {step}",
              [SourceRef(uri=f"activity:{activity.id}", quote=quote, kind="activity"),
               cite_field("opportunity", o, "next_step")],
              label=f"Next step from the latest {activity.kind}", field="next_step", old=o.next_step or "",
              new=step, action="update_field")


def _stage(facts: FactList, o: Opportunity, exits_to: str, coverage) -> None:
    evidence = [(c, c.evidence[0]) for c in coverage]
    # The element names go in the label: the text holds only what the sources say, so the verifier can check it.
    cited = " · ".join(f"“{e.quote}”" for _, e in evidence)
    names = ", ".join(c.name for c in coverage)
    facts.add("field_updates", f"Stage: {o.stage} · {cited}",
              [cite_field("opportunity", o, "stage"),
               *(SourceRef(uri=e.uri, quote=e.quote, kind=e.kind) for _, e in evidence)],
              label=f"Stage → {exits_to}: exit criteria met ({names}) · {FORECAST}", field="stage", old=o.stage,
              new=exits_to, action="update_field")


def _contact_roles(facts: FactList, deal: DealEvidence) -> None:
    for contact, deal_role in deal.contacts:
        if deal_role or contact.role_in_deal or is_masked(contact, "title"):
            continue
        refs = [cite_field("contact", contact, "name"), cite_field("contact", contact, "title")]
        title, how = contact.title, "title"
        role = role_for_title(title) if title else None
        if not title:
            signed = _signature(deal, contact)
            if signed is not None:
                activity, title, quote = signed
                role, how = role_for_title(title), "email signature"
                refs.append(SourceRef(uri=f"activity:{activity.id}", quote=quote, kind="activity"))
        if role is None:
            continue
        facts.add("field_updates",
                  f"name: {contact.name} · title: {title} · role in deal: {NONE} → {role.replace('_', ' ')}",
                  [*refs, cite_field("contact", contact, "role_in_deal")],
                  label=f"Contact role from the {how}", target=f"contact:{contact.id}", field="role_in_deal",
                  old="", new=role, action="add_contact_role")


# ------------------------------------------------------------------------------------------------ helpers

