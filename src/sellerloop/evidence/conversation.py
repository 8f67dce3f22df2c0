"""What was said on a deal: utterances and messages as citable statements, and the objections and commitments
in them.

Detectors are patterns over ordinary sales language (not over the sample layer's templates): an objection is a
customer sentence that pushes back on price, security, timing, a competitor, integration effort or authority;
a commitment is someone saying they will do something, ideally by a date. They are deliberately conservative:
a missed objection costs a question in the prep, an invented one costs the seller's trust.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Set
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.evidence.classifier import shipped_model
from sellerloop.evidence.deals import DealEvidence
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import utterance_line
from sellerloop.records.models import Activity, User, Utterance


@dataclass(frozen=True)
class Statement:
    """One utterance or message, with the words a claim about it may quote."""

    uri: str
    speaker: str
    text: str
    quote: str  # verbatim in the source's text: "Speaker: text" for an utterance, a body sentence for a message
    when: dt.datetime | None
    by_customer: bool
    kind: str  # transcript or activity

    @property
    def source(self) -> SourceRef:
        return SourceRef(uri=self.uri, quote=self.quote, kind=self.kind)


# What an objection is about, and how a seller reads it: price or budget, timing, authority, a competitor or the
# status quo, trust (skepticism, security, the risk of the change), need or value.
OBJECTION_CATEGORIES = {"price": "Price", "timing": "Timing", "authority": "Authority", "competitor": "Competitor",
                        "trust": "Trust or risk", "need": "Need or value"}
# Phrases that are an objection by themselves in a sales conversation (written for the sample layer's sales
# language before the model; measured in docs/EVALUATION.md: rare, but more precise than the model on both corpora,
# so they count even where the model hesitates, e.g. with no seller turn before them).
OBJECTION_PATTERNS: dict[str, re.Pattern] = {name: re.compile(pattern, re.I) for name, pattern in {
    "price": r"\b(too expensive|price is (too )?high|higher than we budget(ed)?|over (our )?budget|above what we|"
             r"(can't|cannot|can not) afford|budget is (the|a|our) (real )?(problem|issue|concern)|"
             r"frozen (new )?spend|spending freeze|cheaper|lower price|cost(s)? too much|discount)\b",
    "trust": r"\b(security (team|review|concerns?)|compliance|data (access|residency|protection|is stored)|"
             r"where the data is stored|gdpr|soc ?2|penetration test|ciso will ask|worried about (the )?(data|"
             r"security)|integration effort|months of work|no room for a big project|burned by integrations?|"
             r"falls on my team|connect(ing)? this to our|too much (work|effort) for (our|my) (it|team))\b",
    "timing": r"\b(timing is (tough|bad|difficult)|not (sure this is )?a priority|next (quarter|year) at the earliest|"
              r"no (capacity|bandwidth)|may not have capacity|stretched|reorgani[sz]ation|bad time)\b",
    "competitor": r"\b(offered us|already (has|have|use|uses)|prefer \w+ because|looking at (other|another)|"
                  r"talking to (other|another) vendors?|demo from \w+|competitor)\b",
    "authority": r"\b(not my (call|decision)|needs? (board|committee) approval|above my (pay grade|authority)|"
                 r"I('m| am) not the one who decides)\b",
}.items()}
# Phrases that name the category of an objection found (by the model or the phrases above); alone they are no
# objection ("on hold" may be a phone line). Measured against the learned category classifier in
# docs/EVALUATION.md; the order settles a sentence that matches two.
CATEGORY_PATTERNS: dict[str, re.Pattern] = {name: re.compile(pattern, re.I) for name, pattern in {
    "authority": r"\b(not my (call|decision)|needs? (board|committee) approval|above my (pay grade|authority)|"
                 r"I('m| am) not the one who decides|(has|have|needs?) to (go through|approve|sign off)|"
                 r"sign[- ]off|(run it|check) (by|with) (my|our)|(board|committee|procurement|legal) (has|have|"
                 r"needs?|will need) to|her decision|his decision|their decision)\b",
    "price": r"\b(too expensive|(too )?pricey|price is (too )?high|higher than we budget(ed)?|over (our )?budget|"
             r"above what we|(can't|cannot|can not) afford|budget is (the|a|our) (real )?(problem|issue|concern)|"
             r"frozen (new )?spend|spending freeze|budget (is|was) (spent|gone|cut)|cost(s)? too much|"
             r"most expensive|more than we (expected|budgeted|pay)|(price|cost) (increase|goes up)|"
             r"cash flow|make the numbers work)\b",
    "competitor": r"\b(offered us|already (has|have|use|uses|using|running)|prefer \w+ because|looking at (other|"
                  r"another)|talking to (other|another|two other) vendors?|demo from \w+|competitor|"
                  r"(go|went|going) with another|current (provider|vendor|agency|supplier)|signed with|"
                  r"happy with (them|what we have)|(works|worked) (well enough|fine) for us|build (it|things) in"
                  r"[- ]house|always done it)\b",
    "timing": r"\b(timing is (tough|bad|difficult)|next (quarter|year) at the earliest|no (capacity|bandwidth)|"
              r"may not have capacity|stretched|reorgani[sz]ation|bad time|too early|(revisit|wait) (this |"
              r"until )?(after|until)|on hold|not (right )?now|have to wait|(busy|peak) season)\b",
    "trust": r"\b(security (team|review|concerns?)|compliance|data (access|residency|protection|is stored)|"
             r"where the data is stored|gdpr|soc ?2|penetration test|ciso will ask|worried about|skeptical|"
             r"too good to be true|(heard|seen) that before|burned by|nervous|doubt|not comfortable|"
             r"integration effort|months of work|no room for a big project|falls on my team|"
             r"locked in|complain)\b",
    "need": r"\b(not a priority|don't (really )?need|no need|not something we need|don't see (the|where|how)|"
            r"(more|way more) than we need|not (much|really) (use|useful)|isn't where we're hurting|"
            r"(problem|need) is (mostly )?(solved|covered)|just (curious|browsing|looking))\b",
}.items()}
# The first, loose commitment pattern ("I'll ... by ..."), kept for callers that only want a quick filter;
# evidence/commitments.py builds its fuller detector (who, what, by when) on these statements.
COMMITMENT = re.compile(r"\b(I'll|I will|we'll|we will|I'm going to|we're going to|let me)\b[^.?!]{3,160}?"
                        r"(\bby\b[^.?!]{2,40})?[.!]", re.I)
# A sentence ends at . ! ? followed by white space, or at a line break: "$1.2M" and "v2.1" stay whole.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")


def sentences(text: str) -> list[str]:
    """The sentences of `text`, each a verbatim piece of it (so each can be quoted), stripped."""
    return [s for s in (piece.strip() for piece in _SENTENCE_BREAK.split(text)) if s]


def seller_names(session: Session) -> set[str]:
    return set(session.scalars(select(User.name)))


def by_customer(u: Utterance, sellers: set[str]) -> bool:
    """Was it the customer who said it? The side the import read off the speaker label when it could
    (Utterance.role), else: a speaker who is not one of our users."""
    return u.role == "customer" if u.role is not None else u.speaker not in sellers


def deal_evidence_statements(deal: DealEvidence, *, worth: Callable[[str], bool] = bool) -> list[Statement]:
    """Every utterance of the deal's transcripts (when they were loaded) and every sentence of its emails,
    meetings, calls and notes, from the deal's loaded rows (no query). Only texts `worth` reading are split: a
    whole-book run looking for a few phrases skips most messages with one search instead of splitting them."""
    return [*(utterance_statement(u, t.occurred_at, deal.user_names)
              for t in deal.transcripts for u in deal.utterances.get(t.id, []) if worth(u.text)),
            *(s for a in deal.activities if worth(a.body or "") for s in activity_statements(a, deal.user_names))]


def utterance_statement(u: Utterance, when: dt.datetime | None, sellers: Set[str]) -> Statement:
    quote = utterance_line(u).split("] ", 1)[1]  # "Speaker: text", verbatim in the source's line
    return Statement(transcript_span_uri(u), u.speaker, u.text, quote, when, by_customer(u, sellers), "transcript")


def activity_statements(a: Activity, sellers: Set[str]) -> list[Statement]:
    """Each sentence of a message's body long enough to say something, by its author."""
    author = next((p.get("name") for p in a.participants or [] if p.get("role") == "from"), None)
    inbound = a.direction == "inbound" or (author is not None and author not in sellers)
    return [Statement(f"activity:{a.id}", author or "", sentence, sentence, a.occurred_at, inbound, "activity")
            for sentence in sentences(a.body or "") if len(sentence) > 12]


def transcript_span_uri(u: Utterance) -> str:
    """The source URI of one utterance: its time span when it has one, else its position."""
    if u.start_s is not None and u.end_s is not None and u.end_s > u.start_s:
        return f"transcript:{u.transcript_id}#t={_span(u.start_s, up=False)}-{_span(u.end_s, up=True)}"
    return f"transcript:{u.transcript_id}#u={u.seq}-{u.seq}"


def _span(value: float, *, up: bool) -> str:
    # Widen to whole milliseconds (never narrow), so the span still overlaps the utterance it was made from.
    scaled = math.ceil(value * 1000) if up else math.floor(value * 1000)
    return f"{scaled / 1000:.3f}".rstrip("0").rstrip(".")


def objection_category(text: str, *, before: str = "") -> str | None:
    """The category of the objection `text` raises (a key of OBJECTION_CATEGORIES), or None when it raises none.
    `before` is what the seller said just before, when known: "No." answers "Would you sign this week?" with
    an objection and "Have you heard of us?" with none. Whether it is an objection is the learned model's call
    (evidence/classifier.py), or a precise phrase's (OBJECTION_PATTERNS); which category, the phrases' when
    one matches (CATEGORY_PATTERNS), else the model's."""
    model = shipped_model()
    if not (precise_objection(text) or model.is_objection(text, before)):
        return None
    return phrase_category(text) or model.category(text)


def precise_objection(text: str) -> str | None:
    """The category of the precise objection phrase `text` uses, if any (OBJECTION_PATTERNS). A question is
    never one: a question about price is discovery, not pushback."""
    if _ENDS_WITH_QUESTION.search(text):
        return None
    return next((name for name, pattern in OBJECTION_PATTERNS.items() if pattern.search(text)), None)


def phrase_category(text: str) -> str | None:
    """The category whose phrases `text` uses, if any (CATEGORY_PATTERNS, then OBJECTION_PATTERNS)."""
    return next((name for patterns in (CATEGORY_PATTERNS, OBJECTION_PATTERNS)
                 for name, pattern in patterns.items() if pattern.search(text)), None)


_ENDS_WITH_QUESTION = re.compile(r"\?\s*$")


def objections(statements: list[Statement]) -> list[tuple[str, Statement]]:
    """(category, statement) for each customer statement that raises an objection, oldest first."""
    found = []
    before = ""
    for s in statements:
        if not s.by_customer:
            before = s.text if s.kind == "transcript" else ""
            continue
        category = objection_category(s.text, before=before)
        if category:
            found.append((category, s))
        before = ""
    return found

