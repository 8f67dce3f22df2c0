"""Commitments: who promised what, by when, in the words they used.

A commitment is a sentence in which someone undertakes to do something after the call:
- in the first person: "I'll send the proposal by Friday", "we will set up the sandbox next week",
  "I'm going to loop in legal", "let me check with procurement and get back to you";
- for a named person, as recaps and meeting notes put it: "Next step: Helen Lopez to set up a meeting with the
  economic buyer by Monday, December 18", "Maria will present it to the board" (only names of people known
  on the deal count, so "Welcome to the call" is no commitment of a Mr Welcome).

Not commitments: questions; conditionals ("If anything changes, I'll tell you"); proposals to the room
("Let's park that"); refusals ("we won't", "we will not"); states rather than actions ("we'll need a full
review", "we'll see"); and narration of the call itself ("let me show you the next part", "let me recap"),
unless a date says it happens later ("let me walk you through it on Friday").

By when: the first date of the sentence after the promise (a deadline after "by", "before", "until", "no
later than" is preferred), kept verbatim with its preposition ("by Monday, December 18") and resolved against
the date the words were said by `evidence.dates`, whose rules these are: "by Friday" is the first Friday after
the call, "next week" that week's Friday, "end of March" its last day. Without the call's date, only dates
that carry their year resolve; the others are kept as words with no due date, rather than guessed.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sellerloop.evidence.conversation import Statement, sentences
from sellerloop.evidence.dates import DateMention, date_mentions, resolve_due


@dataclass(frozen=True)
class Commitment:
    statement: Statement  # the utterance or message it was said in (its `source` is the citation)
    sentence: str  # the sentence of the statement's text that makes the promise, verbatim
    who: str  # who promised: the speaker, or the person the sentence names
    by_customer: bool
    what: str  # the promised action, verbatim: "send the security questionnaire"
    when: str | None  # the time words, verbatim: "by Monday, December 18"; None when no time was given
    due: dt.date | None  # `when` resolved against the date of the call; None when it cannot be

    @property
    def needs_call_date(self) -> bool:
        """True when `when` is relative ("by Friday"), so `due` depends on the day it was said."""
        return self.when is not None and resolve_due(self.when, None) is None


# --- the promise ------------------------------------------------------------------------------------------

_FIRST_PERSON = re.compile(
    r"(?<![\w'’])(?:(?:I|we)(?:['’]ll|\s+will|\s+shall|['’]m\s+going\s+to|\s+am\s+going\s+to"
    r"|['’]re\s+going\s+to|\s+are\s+going\s+to)|let\s+me)\s+(?=\S)", re.I)
# Words between the promise and its verb that change nothing: "I'll also send", "we'll definitely get".
_FILLER = re.compile(r"(?:(?:also|then|just|definitely|certainly|personally|gladly|happily|quickly|both|"
                     r"still|now|first|make\s+sure\s+(?:to|that\s+I|that\s+we|we|I))\s+)+", re.I)
# Verbs that say what someone will be, need or think, not what they will do.
_NOT_ACTIONS = frozenset("""
    need needs want like love hate see guess bet admit say suppose think probably likely never not hope wait
    know miss lose try
""".split())
# "be" is an action only in a few phrases: "I'll be in touch", "we'll be back to you", "be there".
_BE_ACTIONS = re.compile(r"be\s+(?:in\s+touch|back|there|sending|sharing|ready|reaching)\b", re.I)
# Narrating the call itself; a promise only when a time expression puts it after the call.
_IN_CALL = frozenset("""
    show recap summarise summarize walk start begin explain ask repeat pull jump go introduce clarify answer
    share read play pause keep understand add mention interrupt stop finish wrap turn move
""".split())
_SHARE_SCREEN = re.compile(r"share\s+(?:my|the)\s+screen", re.I)
# A clause that makes what follows it conditional: "If it helps, I'll ...", "Sure, if it holds, we'll ...".
_CONDITIONAL = re.compile(r"(?:^|[,;:—])\W*(?:if|unless|in\s+case|should|whether|maybe|perhaps|hopefully"
                          r"|ideally)\b", re.I)
_LABEL = re.compile(r"\s*(?:[A-Za-z]+\s+){0,2}[A-Za-z]+:\s+")  # "Next step: ", "Action item: "
_NAMED_LINK = (r"(?:\s+will|['’]ll|\s+to|\s+is\s+going\s+to"
               r"|\s+(?:has\s+)?(?:agreed|promised|committed|offered)\s+to)")


def find_commitments(statements: Iterable[Statement], *, people: Iterable[str] = (),
                     sellers: Iterable[str] = (), undated_on: dt.date | None = None) -> list[Commitment]:
    """The commitments made in `statements`, in their order, each sentence at most once.

    people: names of the people on the deal (speakers, contacts, sellers), so "Helen Lopez to send ..." and
    "Maria will ..." are recognised; a first name counts when only one person has it.
    sellers: the names of our side, to tell a seller's promise from a customer's for named people.
    undated_on: the day to count "by Friday" from in a statement that has no date of its own (an imported
    transcript); None leaves such relative dates unresolved."""
    seller_names = {_norm(name) for name in sellers}
    named = _named_pattern(people)
    found = []
    for statement in statements:
        for sentence in sentences(statement.text):
            commitment = _commitment(statement, sentence, named, seller_names, undated_on)
            if commitment is not None:
                found.append(commitment)
    return found



def dated_commitments(statements: list[Statement]) -> list[Statement]:
    """Statements in which someone commits to do something by a date, oldest first."""
    return list(dict.fromkeys(c.statement for c in find_commitments(statements) if c.when))

def _commitment(statement: Statement, sentence: str, named: tuple[re.Pattern, dict[str, str]] | None,
                sellers: set[str], undated_on: dt.date | None) -> Commitment | None:
    """The promise in one sentence, if any: the first candidate ("I'll ...", "Helen to ...") that passes."""
    if sentence.rstrip().endswith("?"):
        return None
    candidates = [(m, statement.speaker, statement.by_customer) for m in _FIRST_PERSON.finditer(sentence)]
    if named is not None:
        pattern, full_names = named
        for m in pattern.finditer(sentence):
            who = full_names[_norm(m["who"])]
            candidates.append((m, who, _norm(who) not in sellers))
    candidates.sort(key=lambda c: c[0].start())
    for index, (match, who, by_customer) in enumerate(candidates):
        # Each candidate's words run up to the next one: "let me show you this, then I'll send the deck by
        # Friday" is one promise, dated Friday, not two.
        end = candidates[index + 1][0].start() if index + 1 < len(candidates) else len(sentence)
        if who and not _CONDITIONAL.search(sentence, 0, match.start()):
            promise = _promise(statement, sentence, match, who, by_customer, end, undated_on)
            if promise is not None:
                return promise
    return None


def _promise(statement: Statement, sentence: str, match: re.Match, who: str, by_customer: bool,
             end: int, undated_on: dt.date | None) -> Commitment | None:
    rest = sentence[match.end():end]  # the words after "I'll" / "Helen Lopez to"
    filler = _FILLER.match(rest)
    rest = rest[filler.end():] if filler else rest
    words = re.findall(r"[A-Za-z’']+", rest)
    if len(words) < 2:
        return None
    verb = words[0].lower()
    obligation = verb == "have" and words[1].lower() == "to"  # "we'll have to" is a need, not a promise
    if verb in _NOT_ACTIONS or (verb == "be" and not _BE_ACTIONS.match(rest)) or obligation:
        return None
    time = _first_time(rest, _day(statement.when) or undated_on)
    if (verb in _IN_CALL or _SHARE_SCREEN.match(rest)) and time is None:
        return None
    what, when = _split_when(rest, time)
    due = time[1].last if time else None
    label = _LABEL.match(sentence)
    if label and label.end() <= match.start():
        sentence = sentence[label.end():]  # "Next step: Helen Lopez to ..." quotes as "Helen Lopez to ..."
    return Commitment(statement, sentence.strip(), who, by_customer, what, when, due)


def _named_pattern(people: Iterable[str]) -> tuple[re.Pattern, dict[str, str]] | None:
    """A pattern for "NAME will|to ..." over the full names of `people` and the first names only one has."""
    full: dict[str, str] = {}
    firsts: dict[str, set[str]] = {}
    for name in people:
        name = " ".join(name.split())
        if len(name) < 2 or not name[0].isupper():
            continue
        full.setdefault(_norm(name), name)
        first = name.split()[0]
        if len(first) > 1 and first != name:
            firsts.setdefault(_norm(first), set()).add(name)
    for first, names in firsts.items():
        if len(names) == 1 and first not in full:
            full[first] = next(iter(names))
    if not full:
        return None
    alternatives = "|".join(re.escape(name).replace(r"\ ", r"\s+")
                            for name in sorted(full, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w'’])(?P<who>{alternatives})(?![\w'’]){_NAMED_LINK}\s+(?=\S)", re.I)
    return pattern, full


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


# --- by when ------------------------------------------------------------------------------------------------

# Words before a date that belong to the time words: "by Friday", "on the 15th", "sometime next week".
_PREPOSITION = re.compile(r"(?<![\w/-])(?P<prep>by|before|until|till|no\s+later\s+than|not\s+later\s+than"
                          r"|on|for|at|in|over|within|during|first\s+thing|some\s*time|latest|around)"
                          r"\s+(?:the\s+)?$", re.I)
_DEADLINE = re.compile(r"by|before|until|till|no\s+later\s+than|not\s+later\s+than", re.I)


def _first_time(text: str, said_on: dt.date | None) -> tuple[int, DateMention] | None:
    """The time words of a promise, as (where they start, with their preposition; the date): the first
    deadline ("by ...") if there is one, else the first date."""
    found = []
    for mention in date_mentions(text, today=said_on):
        prep = _PREPOSITION.search(text, 0, mention.start)
        found.append((prep.start() if prep else mention.start, mention,
                      bool(prep and _DEADLINE.fullmatch(prep["prep"]))))
    deadlines = [f for f in found if f[2]]
    return (deadlines or found)[0][:2] if found else None


_TRAILER = re.compile(r"(?:[\s,;.!…—-]+(?:and|then|but|so|or)\b)*[\s,;.!…—-]*$", re.I)


def _split_when(rest: str, time: tuple[int, DateMention] | None) -> tuple[str, str | None]:
    """(what, when): the action words without the time words when they close the sentence."""
    tail = _TRAILER.sub("", rest)
    if time is None:
        return tail, None
    start, mention = time
    phrase = rest[start:mention.end]
    before, after = tail[:start].rstrip(" ,;—-"), tail[mention.end:].strip(" ,;.!")
    what = tail if after else before
    return (what or tail), phrase


def _day(when: dt.datetime | dt.date | None) -> dt.date | None:
    if isinstance(when, dt.datetime):
        return when.date()
    return when
