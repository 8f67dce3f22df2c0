"""What a claim says about its facts, against what the quote says: the checks the fact gate and the word overlap
cannot make, because a falsified claim keeps every fact and nearly every word of its quote.

Each part of the claim (a clause: sentences split at ";", ":", "but", "so", "because", ", and", "and" before a
second predicate, ...) is aligned with the quote clause sharing most of its content words (names break ties;
dates and numbers are facts and do not count), and must agree with it on
1. polarity: negation (not, n't, never, no, nobody, without, unable, unclear, stopped, ...) and antonyms
   (approved/frozen, open/closed, before/after, above/below, won/lost, ...). Each difference is a flip; an odd
   number is a contradiction, so "won't finish before April 9" still supports "finishes after April 9". A
   negation is held against the quote clause its next words align with ("the team may not have capacity" is
   about capacity); an affirmative claim holding what a clause of the same quote sentence negates is refused;
2. units of time: "months of work" is not "weeks of work" (numbered units are facts, facts.py);
3. who said it: a claim that has a person say, promise or do (`Zara said`, `Zara will send`, an agent's
   `Zara: "..."`) what the quote has someone else say (a transcript line's speaker, an email's sender, "Heard
   from X that") is refused; a quote in the first person ("I'll send ...") makes its speaker the subject. A
   claim naming someone where the quote clause names another ("approval sits with Camille" for "... with
   Javier") is refused too (the record's own names aside);
4. argument order: around an asymmetric verb (acquires, replaces, sends to, presents to, ...) the words before
   and after it must not swap sides ("by" after the verb is the passive); nor the sides of a comparison ("email
   over calls"), the steps of a sequence ("first A, then B"), or where someone comes from ("joins X from Y");
5. the role of each date: a date the quote gives as a signature, start, renewal, review, meeting, delivery, ...
   (the cue words before it, or a later "that date"/"then" in the same turn) must not be claimed in another
   role; and a clause must not date a statement with another of the quote's dates.

A clause that is a quote's own words (agents quote their sources) is only checked for who said it. Deterministic
and lexical (no model; the word lists are in evidence/words.py). A claim clause that shares no content word with
the quotes says nothing these checks can hold against them: the fact gate and the overlap decided it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from sellerloop.evidence.words import (
    ANTONYMS,
    ASYMMETRIC_VERBS,
    DATE_ROLES,
    FIRST_PERSON,
    NEGATIONS,
    NUMBER_WORDS,
    SPEECH_VERBS,
    STOPWORDS,
    SUBJECT_VERBS,
    TIME_UNITS,
    TOKEN,
    canonical,
    content_words,
    stem,
)
from sellerloop.verifier.facts import dates_in, names_in

# A transcript line as sources render it ("[01:23] Dana Whitfield: text", "[#4] Dana: text"), or as agents
# quote it, without the time ("Dana Whitfield: text": capitalised words only, and not a label like "Reminder:").
_LINE = re.compile(r"^(?:\[[^\]\n]{1,12}\][ \t]*(?P<speaker>[^:\n]{1,80}?)"
                   r"|(?!(?:Reminder|Agenda|Subject|Note|Notes|Next|Attendees|From|To|Cc|Re|Fwd|Update|Summary"
                   r"|Action|Ticket|Error|Closed|Important|Update|Recap|Status|Warning)\b)"
                   r"(?P<named>[A-Z][\w'’.-]*(?:[ \t][A-Z][\w'’.-]*){0,3})):[ \t]+(?P<text>.*)$")
_FROM = re.compile(r"^From:[ \t]*(?P<name>[^<\n]+?)[ \t]*(?:<[^>\n]*>)?[ \t]*$", re.MULTILINE)
_HEADER = re.compile(r"^(?:(?:From|To|Cc|Bcc|Attendees|Subject):|(?:Email|Meeting|Call|Note|Task) on \d)")
# Someone reported inside a note or a signal: "Heard from X that ...", "X said ...".
_REPORTED = re.compile(r"(?:\bheard from|\baccording to)[ \t]+(?P<a>[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*){0,3})"
                       r"|(?P<b>[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*){0,3})[ \t]+(?:said|says|told|asked|wrote)\b")
_REPORTING = re.compile(r"said|says|told|asked|wrote|heard from|according to", re.IGNORECASE)  # a cheap test first
_SENTENCE = re.compile(r"(?<=[.!?])[ \t]+(?=[A-Z\"'“(\[])|[ \t]*\n[ \t]*")
_CLAUSE = re.compile(r"[ \t]*[;:][ \t]+|,?[ \t]+(?=(?:but|so|because|although|though|whereas|while)[ \t])"
                     r"|,[ \t]+(?=(?:and|which|then)[ \t])|[ \t]+[—–][ \t]+"
                     # "and" opening a second predicate: "has the contract and no comments yet"
                     r"|[ \t]+(?=and[ \t]+(?:no|not|never|none|nobody|nothing|without|has|have|had|is|are|was"
                     r"|were|will|would|can|could|does|did|do)\b)")
# "by", "until" before a date mean "before" it: "send it by May 3" is contradicted by "send it after May 3".
_BY_DATE = re.compile(r"\b(?:by|until|till|no later than)(?=[ \t]+(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr"
                      r"|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b|\d))", re.IGNORECASE)
# A comparison whose two sides must stay in place: "email over calls", "days instead of minutes".
_COMPARED = re.compile(r"([^\W\d_]+)[ \t]+(?:over|than|instead[ \t]+of|rather[ \t]+than|versus|vs\.?)[ \t]+"
                       r"(?:the[ \t]+|a[ \t]+)?([^\W\d_]+)", re.IGNORECASE)
_DIRECTED = re.compile(r"\b(from|(?<!according )to|into|by)[ \t]+(?:the[ \t]+)?$", re.IGNORECASE)
# A person doing or saying something in a claim: a capitalised run just before a subject verb.
_SUBJECT = re.compile(r"(?P<name>[A-Z][\w'’-]*(?:[ \t]+(?:[A-Z][\w'’-]*|of|de|van|von))*)"
                      r"(?:[ \t]*\([^)]{0,80}\))?(?:,[^,;.]{1,60},)?[ \t]+(?:(?:has|had|also|then|just)[ \t]+)?"
                      r"(?P<verb>[a-z]+|'ll|’ll)\b")
_QUOTED = re.compile(r"^[ \t]*(?P<who>[^:\"“\n]{1,80}):[ \t]*[\"“](?P<said>.*)[\"”][ \t]*$")
_ANAPHORA = re.compile(r"\b(?:that|this|the same)[ \t]+(?:date|day)\b|\bthen\b", re.IGNORECASE)


_NUMBER_WORDS = frozenset(NUMBER_WORDS)  # counted as facts, not as what a clause says ("no one" is not "ones")
_SPEECH = frozenset(word for verb in SPEECH_VERBS for word in canonical(verb)) | {"accord"}


class Clause(NamedTuple):
    text: str
    words: frozenset[str]  # content words, canonical, besides those of its names and titles
    names: frozenset[str]  # the words of its names and titles
    people: tuple[str, ...]  # its names as written (people, companies)
    tokens: tuple[str, ...]  # every word, lower case, in order
    negated: bool  # an odd number of negations
    speaker: str  # who said or wrote it, when the source says ("" otherwise)
    sentence: str  # the sentence it is part of (dates' roles may be named in the next clause)
    rest: str = ""  # what follows the clause in its line or turn ("... on May 14. We'd have to close then.")


def meaning_conflict(claim: str, quotes: Iterable[str], *, speakers: Mapping[str, str] | None = None,
                     uris: Sequence[str] = (), record_names: Sequence[str] = ()) -> str | None:
    """Why the claim misstates its quotes, or None. `speakers` maps a cited URI to who said or wrote its quote,
    for quotes that do not carry it themselves (a quoted utterance without its "Speaker:" prefix);
    `record_names` are the names of the record the claim is placed on, which it may add to what a quote says."""
    quotes = list(quotes)
    if made_of_quotes(claim, quotes):
        return None
    quote_clauses: list[Clause] = []
    for n, quote in enumerate(quotes):
        default = (speakers or {}).get(uris[n], "") if n < len(uris) else ""
        quote_clauses.extend(clauses_of(quote, default))
    if not quote_clauses:
        return None
    reason = _direction(claim_clauses(claim), quote_clauses)
    if reason:
        return reason
    for part in claim_clauses(claim):
        best = _aligned(part, quote_clauses)
        if not best:
            continue  # nothing in the quote to hold it against: the fact gate and the overlap decided
        if _verbatim(part, quotes):  # the quote's own words (agents quote their sources): only who said them
            reason = _speaker(part, best, record_names)  # can be wrong
            if reason:
                return reason
            continue
        reason = (_sequence(part, quote_clauses)
                  or _polarity(part, _negation_scope(part, quote_clauses) or best)
                  or _affirms_negated(part, best, quote_clauses)
                  or _time_unit(part, best)
                  or _speaker(part, best, record_names)
                  or _someone_else(part, best, record_names)
                  or _argument_order(part, best)
                  or _compared(part, best)
                  or _date_swap(part, best)
                  or _date_role(part, quote_clauses))
        if reason:
            return reason
    return None


def made_of_quotes(claim: str, quotes: Sequence[str]) -> bool:
    """The claim is its quotes' own words, with who said them as the quotes show it: nothing it could misstate.
    Each of its pieces as a quote would hold it, and within that each run between a full stop, comma or semicolon
    (so "Name, Title." from two fields, or two quoted sentences), stands in a quote word for word. Not split at a
    colon: "Dana: we sign" must be Dana's line, not "Dana" somewhere and "we sign" said by someone else."""
    return all(any(run in quote for quote in quotes)
               for piece in _as_quoted(claim)
               for part in _RUN_BREAK.split(piece) if (run := part.strip().rstrip(".,;")))


_RUN_BREAK = re.compile(r"(?<=[.,;])\s+")


def _as_quoted(claim: str) -> list[str]:
    """The claim's pieces as a quote would hold them: `Dana: "We sign."` as "Dana: We sign." """
    pieces = []
    for piece in claim.split(" · "):
        quoted = _QUOTED.match(piece) if ('"' in piece or "“" in piece) else None
        pieces.append(f"{quoted['who'].strip()}: {quoted['said']}" if quoted else piece.strip())
    return pieces


def _verbatim(part: Clause, quotes: list[str]) -> bool:
    """The clause is a quote's words as they stand (four words or more, quotation marks aside)."""
    text = part.text.strip(" \t\"“”'‘’.,;:—–")
    return len(part.tokens) >= 4 and any(text in quote for quote in quotes)


# --- the two sides -------------------------------------------------------------------------------------------

@lru_cache(maxsize=1 << 12)
def clauses_of(text: str, default_speaker: str = "") -> tuple[Clause, ...]:
    """A quote's clauses, each with who said it. Cached: many claims cite the same few sources."""
    author_name = _author(text) or default_speaker
    found: list[Clause] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or _HEADER.match(line):
            continue
        m = _LINE.match(line)
        speaker, body = ((m["speaker"] or m["named"]).strip(), m["text"]) if m else (author_name, line)
        for sentence in _SENTENCE.split(body):
            reported = _REPORTED.search(sentence) if _REPORTING.search(sentence) else None
            who = (reported["a"] or reported["b"]) if reported else speaker
            for clause in _clauses(sentence, who):
                at = body.find(clause.text)
                found.append(clause._replace(rest=body[at + len(clause.text):] if at >= 0 else ""))
    return tuple(found)


def speaker_of(text: str, quote: str) -> str:
    """Who said or wrote `quote`, a piece of the source `text`: the speaker of the transcript line it is part
    of, or the email's sender; "" when the source does not say (a note, a signal, a record's fields)."""
    at = text.find(quote)
    if at < 0:
        return ""
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    m = _LINE.match(text[line_start: line_end if line_end >= 0 else len(text)])
    if m:
        return (m["speaker"] or m["named"]).strip()
    return _author(text)


def _author(text: str) -> str:
    """An email's sender. Not a call's or a meeting's logger: "Call with Rosa: confirmed the scope" is Rosa's."""
    if not text.startswith(("Email on", "From:")):
        return ""
    author = _FROM.search(text)
    return author["name"].strip() if author else ""


@lru_cache(maxsize=1 << 14)
def claim_clauses(text: str) -> tuple[Clause, ...]:
    """A claim's clauses. A quotation as agents write it (`Dana Whitfield: "We sign on Friday."`, several
    joined by " · ") is that person's words: its clauses carry the person as their speaker."""
    found = []
    for piece in text.split(" · "):
        quoted = _QUOTED.match(piece) if ('"' in piece or "“" in piece) else None
        who, said = (quoted["who"].strip(), quoted["said"]) if quoted else ("", piece)
        found.extend(clause for sentence in _SENTENCE.split(said) for clause in _clauses(sentence, who))
    return tuple(found)


def _clauses(sentence: str, speaker: str) -> list[Clause]:
    result = []
    # The sentence's names and dates, read once; each clause gets those it holds.
    named = names_in(sentence)
    undated = "".join(_pieces_between(sentence, [(start, end) for start, end, _, _ in dates_in(sentence)]))
    at = 0
    for split in (*_CLAUSE.finditer(sentence), None):
        end = split.start() if split else len(sentence)
        piece, piece_undated = sentence[at:end], undated[at:end]
        at = split.end() if split else end
        if not piece.strip():
            continue
        tokens = tuple(token.lower().replace("’", "'") for token in TOKEN.findall(_BY_DATE.sub("before", piece)))
        negations = sum(token in NEGATIONS or token.endswith("n't") for token in tokens)
        mine = [fact for fact in named if fact.text in piece]
        names = frozenset(word for fact in mine for word in fact.phrase.split())
        words = frozenset(content_words(piece_undated)) - names - _NUMBER_WORDS  # dates are facts, not words
        people = tuple(fact.text for fact in mine if fact.kind == "name")
        result.append(Clause(piece, words, names, people, tokens, negations % 2 == 1, speaker, sentence))
    return result


def _pieces_between(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The text around the spans, each span replaced by as many spaces (positions stay as they were)."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += (text[last:start], " " * (end - start))
        last = end
    return [*pieces, text[last:]]


def _aligned(part: Clause, quote: list[Clause], words: frozenset[str] | None = None) -> list[Clause]:
    """The quote clauses sharing most content words with the claim clause, then most name words (ties: all of
    them). What a clause says decides first: "The CFO has not been brought in" is about bringing someone in,
    not about the clause that names the CFO."""
    names = part.names if words is None else frozenset()  # a negation's scope is aligned on its words alone
    words = (part.words if words is None else words) - _SPEECH
    best, score = [], (0, 0)
    for clause in quote:
        shared = (len(words & clause.words), len(names & clause.names))
        if shared > score:
            best, score = [clause], shared
        elif shared == score and any(shared):
            best.append(clause)
    # A clause that says nothing but who ("Jonathan said it would be their CFO") is aligned on its names.
    return best if score[0] or (not words and score[1]) else []


# --- the checks: each returns why the claim clause contradicts every aligned quote clause, or None --------------

def _polarity(part: Clause, aligned: list[Clause]) -> str | None:
    reasons = []
    for clause in aligned:
        flips = [f"it says {_side(part.tokens, pair)} where the quote says "
                 f"{_side(sorted(_sentence_tokens(clause.sentence)), pair)}"
                 for pair in _antonyms_differing(part, clause)]
        if part.negated != clause.negated:
            flips.append("it negates what the quote affirms" if part.negated else
                         "it affirms what the quote negates")
        if len(flips) % 2 == 0:
            return None  # no flip, or two that cancel ("not before" = "after")
        reasons.append(flips[0])
    return f"{reasons[0]} ({_show(aligned[0])})"


def _negation_scope(part: Clause, quote: list[Clause]) -> list[Clause]:
    """For a negated claim clause, the quote clauses that the words after its negation align with: in "With two
    projects landing, the team may not have capacity" it is capacity that is negated, not the projects."""
    if not part.negated:
        return []
    at = next(n for n, token in enumerate(part.tokens) if token in NEGATIONS or token.endswith("n't"))
    negation = part.tokens[at]
    base = [stem(negation[2:])] if negation.startswith("un") and len(negation) > 5 else []  # unclear: clear
    after = base + [word for token in part.tokens[at + 1:] for word in canonical(token) if word in part.words]
    scope = frozenset(after[:2])  # what the negation is about comes right after it
    return _aligned(part, quote, scope) if scope else []


def _affirms_negated(part: Clause, aligned: list[Clause], quote: list[Clause]) -> str | None:
    """An affirmative claim clause holding what a negated clause of the same quote sentence negates: "has kept
    Mehmet updated in a meeting" for "kept Mehmet updated by email but not in a meeting yet"."""
    if part.negated:
        return None
    sentences = {clause.sentence for clause in aligned}
    for clause in quote:
        if clause.negated and clause.sentence in sentences and clause not in aligned:
            scope = _scope_words(clause)
            if scope and scope <= part.words:
                return f"it affirms what the quote negates ({_show(clause)})"
    return None


def _scope_words(clause: Clause) -> frozenset[str]:
    at = next(n for n, token in enumerate(clause.tokens) if token in NEGATIONS or token.endswith("n't"))
    return frozenset([word for token in clause.tokens[at + 1:] for word in canonical(token)
                      if word in clause.words][:2])


def _antonyms_differing(part: Clause, clause: Clause) -> list[int]:
    """Antonym pairs of which the claim uses one side and the quote only the other."""
    differing = []
    sentence = _sentence_tokens(clause.sentence)  # "the new fiscal year, which opens ...": one statement
    for n, (left, right) in enumerate(ANTONYMS):
        for ours, theirs in ((left, right), (right, left)):
            if (not ours.isdisjoint(part.tokens) and ours.isdisjoint(sentence)
                    and not theirs.isdisjoint(sentence) and theirs.isdisjoint(part.tokens)):
                differing.append(n)
                break
    return differing


def _side(tokens: Iterable[str], pair: int) -> str:
    left, right = ANTONYMS[pair]
    return "'" + next(token for token in tokens if token in left or token in right) + "'"


@lru_cache(maxsize=1 << 12)
def _sentence_tokens(sentence: str) -> frozenset[str]:
    return frozenset(token.lower().replace("’", "'") for token in TOKEN.findall(_BY_DATE.sub("before", sentence)))


def _time_unit(part: Clause, aligned: list[Clause]) -> str | None:
    """A unit of time the claim uses where the quote's sentence uses only another ("weeks" for "months")."""
    ours = {TIME_UNITS[t] for t in part.tokens if t in TIME_UNITS}
    if not ours:
        return None
    units = [_sentence_units(clause.sentence) for clause in aligned]
    if any(ours <= theirs for theirs in units) or not any(units):
        return None
    theirs = next(theirs for theirs in units if theirs)
    return (f"it speaks of {', '.join(sorted(ours - theirs))} where the quote speaks of "
            f"{', '.join(sorted(theirs))} ({_show(aligned[0])})")


@lru_cache(maxsize=1 << 12)
def _sentence_units(sentence: str) -> frozenset[str]:
    return frozenset(TIME_UNITS[t] for t in (token.lower() for token in TOKEN.findall(sentence)) if t in TIME_UNITS)


def _speaker(part: Clause, aligned: list[Clause], record_names: Sequence[str]) -> str | None:
    subject, verb = (part.speaker, "said") if part.speaker else _claim_subject(part)
    if not subject or any(_name_words(subject) <= _name_words(name) for name in record_names):
        return None  # "Green-Plus forwarded the documents": the record's company, for whom its people speak
    speech = verb in SPEECH_VERBS
    for clause in aligned:
        first_person = not FIRST_PERSON.isdisjoint(clause.tokens)
        if not clause.speaker or not (speech or first_person) or _same_person(subject, clause.speaker):
            return None
    return f"it has {subject} say or do what {aligned[0].speaker} said ({_show(aligned[0])})"


def _claim_subject(part: Clause) -> tuple[str, str]:
    """The person the claim has say or do something, and the verb: a name before a verb of saying ("Zara
    said"), or opening the clause before a verb ("Zara will send", "Zara has kept"); only a name ("the CFO is
    away" has none, nor "SOC 2 Type II certified")."""
    names, text = part.people, part.text
    if not names:
        return "", ""
    opening = len(text) - len(text.lstrip())
    for m in _SUBJECT.finditer(text):
        verb = m["verb"].lower().replace("’", "'")
        name = next((n for n in names if m["name"].endswith(n) or n.endswith(m["name"])), None)
        if name and (verb in SPEECH_VERBS or (m.start() == opening and verb not in STOPWORDS - SUBJECT_VERBS)):
            return name, verb
    return "", ""


def _someone_else(part: Clause, aligned: list[Clause], record_names: Sequence[str]) -> str | None:
    """The claim clause names someone the quote clause does not, and the quote clause someone the claim
    clause does not: one was put in the other's place ("approval sits with Camille" for "... with Javier").
    The record's own names are not counted: a claim may say whose the statement is."""
    records = [_name_words(name) for name in record_names]
    ours = {key for key in _clause_names(part) if not any(key <= record for record in records)}
    if not ours:
        return None
    for clause in aligned:
        theirs = set(_clause_names(clause))
        # "I've kept Maria updated", said by Helen: Helen may be named, but is not someone the claim left out.
        present = theirs | ({_name_words(clause.speaker)} if clause.speaker and not FIRST_PERSON.isdisjoint(
            clause.tokens) else set())
        if not (_unmatched(ours, present) and _unmatched(theirs, ours)):
            return None
    return f"it names someone else in the quote's place ({_show(aligned[0])})"


def _clause_names(clause: Clause) -> tuple[frozenset[str], ...]:
    """The names in a clause, as word sets; not a lone capitalised word opening it ("Final approval ...",
    "Orders are ..."), which is more often a common word than a name."""
    opening = clause.text.lstrip().split(" ", 1)[0].strip(",.;:")
    return tuple(_name_words(name) for name in clause.people if name != opening)


def _unmatched(names: set[frozenset[str]], others: set[frozenset[str]]) -> bool:
    """Some name in `names` is none of `others` (a first name matches the full name)."""
    return any(not any(name <= other or other <= name for other in others) for name in names)


def _same_person(subject: str, speaker: str) -> bool:
    ours, theirs = _name_words(subject), _name_words(speaker)
    return bool(ours) and (ours <= theirs or theirs <= ours)


def _name_words(name: str) -> frozenset[str]:
    return frozenset(word for token in TOKEN.findall(name) for word in canonical(token))


def _argument_order(part: Clause, aligned: list[Clause]) -> str | None:
    """Around an asymmetric verb both sides share, the words before it in the claim are after it in the quote
    and the other way round ("the leadership team will present it to Valentina" for Valentina's "I'll present
    it to the leadership team"). A "by" just after the verb is the passive: the sides are the other way."""
    ours = _around_verb(part.text, "")
    if ours is None:
        return None
    verb, before, after = ours
    for clause in aligned:
        theirs = _around_verb(clause.text, clause.speaker, verb)
        if theirs is None:
            return None
        _, their_before, their_after = theirs
        kept = len(before & their_before) + len(after & their_after)
        swapped = len(before & their_after) + len(after & their_before)
        if swapped <= kept or not (before & their_after and after & their_before):
            return None
    return f"it swaps who does what to whom ({_show(aligned[0])})"


def _around_verb(text: str, speaker: str, verb: str | None = None):
    """(verb, words before it, words after it), a passive's sides swapped back; the clause's speaker stands
    for its first person. None without an asymmetric verb (or without `verb`)."""
    words, at = [], None
    for token in TOKEN.findall(text):
        lower = token.lower().replace("’", "'")
        if speaker and lower.split("'")[0] in ("i", "me", "my", "myself"):
            words.extend(canonical_words_of(speaker))
            continue
        for word in canonical(token):
            if at is None and word in ASYMMETRIC_VERBS and (verb is None or word == verb):
                at, verb = len(words), word
            words.append(word)
    if at is None:
        return None
    # The words nearest the verb are its arguments; what lies further ("last week") is said of the whole.
    before = frozenset([w for w in words[:at] if w not in STOPWORDS and w.isalpha()][-3:])
    after_words = words[at + 1:]
    after = frozenset([w for w in after_words if w not in STOPWORDS and w.isalpha()][:3])
    if "by" in after_words[:2]:
        before, after = after, before
    return verb, before, after


_SEQUENCE = re.compile(r"\b(?:then|before|after|followed[ \t]+by)\b(?![ \t]+(?:the[ \t]+)?(?:\d|(?:Jan|Feb|Mar|Apr|May"
                       r"|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun|next|last|this|that|the[ \t]+end)))",
                       re.IGNORECASE)


def _sequence(part: Clause, quote: list[Clause]) -> str | None:
    """Steps in another order than the quote's: "procurement comes first, then the technical evaluation" for
    "Technical evaluation first, then a security review, then procurement". Steps are the words between
    "then", "before" and "after" ("A after B" is "B, then A"); a date after "before" is not a step."""
    ours = _steps(part.sentence)
    if not ours:
        return None
    for sentence in dict.fromkeys(clause.sentence for clause in quote):
        theirs = _steps(sentence)
        if not theirs:
            continue
        kept = swapped = 0
        for a, step_a in ours.items():
            for b, step_b in ours.items():
                if step_a < step_b and a in theirs and b in theirs and theirs[a] != theirs[b]:
                    kept += theirs[a] < theirs[b]
                    swapped += theirs[a] > theirs[b]
        if swapped > kept:
            return f"it puts the steps in another order (quote: “{sentence.strip()}”)"
    return None


@lru_cache(maxsize=1 << 12)
def _steps(sentence: str) -> dict[str, int] | None:
    """Each content word of a sequence and its step; a word in two steps is no clue and left out. None
    without a sequence."""
    pieces = _SEQUENCE.split(sentence)
    if len(pieces) < 2:
        return None
    markers = [m[0].lower() for m in _SEQUENCE.finditer(sentence)]
    order = [0]
    for marker in markers:  # "A after B": B is the earlier step
        order.append(order[-1] - 1 if marker == "after" else order[-1] + 1)
    steps: dict[str, int] = {}
    for piece, step in zip(pieces, order, strict=True):
        for word in content_words(piece):
            steps[word] = step if steps.get(word, step) == step else -999
    return {word: step for word, step in steps.items() if step != -999}


def _compared(part: Clause, aligned: list[Clause]) -> str | None:
    """"A over B" in the claim where the quote has "B over A"."""
    pairs = {(canonical(a)[-1], canonical(b)[-1]) for a, b in _COMPARED.findall(part.text)}
    if not pairs:
        return None
    for clause in aligned:
        theirs = {(canonical(a)[-1], canonical(b)[-1]) for a, b in _COMPARED.findall(clause.text)}
        swapped = [(a, b) for a, b in pairs if (b, a) in theirs and (a, b) not in theirs]
        if not swapped:
            return None
    return f"it swaps the sides of a comparison ({_show(aligned[0])})"


def _direction(claim: Sequence[Clause], quote: list[Clause]) -> str | None:
    """A name the claim has something come from (or go to) where the quote has another name in that place:
    "joins Brightwater from Sunnamplex" for "Sunnamplex ... Helen joins from Brightwater"."""
    ours = _directed_names(claim)
    if not ours:
        return None
    theirs = _directed_names(quote)
    for name, preposition in ours.items():
        if preposition and theirs.get(name) and theirs[name] != preposition:
            return f"it has {preposition} {name} where the quote has {theirs[name]} {name}"
    for name, preposition in theirs.items():
        if preposition in ("from", "to") and ours.get(name) == "" and preposition in ours.values():
            moved = next(n for n, p in ours.items() if p == preposition)
            return f"it has {preposition} {moved} where the quote has {preposition} {name}"
    return None


def _directed_names(clauses: Sequence[Clause]) -> dict[str, str]:
    """Each name and the preposition just before its first mention ("" for none)."""
    found: dict[str, str] = {}
    for clause in clauses:
        for name in clause.people:
            if name not in found:
                at = clause.text.find(name)
                m = _DIRECTED.search(clause.text[max(0, at - 24):at])
                found[name] = m[1].lower() if m else ""
    return found


def _date_swap(part: Clause, aligned: list[Clause]) -> str | None:
    """The claim clause dates a statement the quote clause dates otherwise ("the earliest they can sign is
    April 2" where the quote's earliest signing date is May 21 and April 2 is no longer realistic)."""
    ours = [keys for keys, _ in _date_roles(part.text)]
    if not ours:
        return None
    for clause in aligned:
        theirs = [offered for _, _, _, offered in dates_in(clause.sentence)]
        if not theirs or any(not claimed.isdisjoint(offered) for offered in theirs for claimed in ours):
            return None
    return f"it dates it otherwise ({_show(aligned[0])})"


def canonical_words_of(text: str) -> list[str]:
    return [word for token in TOKEN.findall(text) for word in canonical(token)]


def _date_role(part: Clause, quote: list[Clause]) -> str | None:
    """Each date the claim gives a role must have that role where the quote gives the date one."""
    for keys, role in _date_roles(part.text):
        if role is None:
            continue
        roles: set[str] = set()
        shown = None
        for clause in quote:
            found = _quote_date_roles(clause, keys)
            if found:
                roles |= found
                shown = shown or clause
        if roles and role not in roles:
            return f"it gives a {', '.join(sorted(roles))} date as the {role} date ({_show(shown)})"
    return None


def _date_roles(text: str) -> list[tuple[frozenset[str], str | None]]:
    """Each date of the text: (the keys a quote needs to hold it, the role the words before it give it)."""
    return [(accepted, _role_before(text[:start]) or _role_after(text[end:]))
            for start, end, accepted, _ in dates_in(text)]


def _quote_date_roles(clause: Clause, claimed: frozenset[str]) -> set[str] | None:
    """The roles the quote gives the claimed date: the cues before it (or one just after), and those of what
    follows in the turn when it refers back to it ("... before April 9, so let's plan the signature for that
    date"). None when the date is not in this clause."""
    for start, end, _, offered in dates_in(clause.text):
        if claimed.isdisjoint(offered):
            continue
        roles = _roles_before(clause.text[:start]) or {_role_after(clause.text[end:])} - {None}
        after = clause.rest
        if _ANAPHORA.search(after):
            roles |= {DATE_ROLES[t] for t in (t.lower() for t in TOKEN.findall(after)) if t in DATE_ROLES}
        return roles
    return None


def _roles_before(text: str) -> set[str]:
    """Every role cue within ten words before a quote's date: "feedback on the demo to you by" is a delivery
    and names a meeting; a claim giving the date either role is let through."""
    return {DATE_ROLES[t] for t in (token.lower() for token in TOKEN.findall(_CLAUSE.split(text)[-1])[-10:])
            if t in DATE_ROLES}


def _role_after(text: str) -> str | None:
    """A cue just after a date: "March 28 for signature"."""
    for token in TOKEN.findall(_CLAUSE.split(text)[0])[:3]:
        role = DATE_ROLES.get(token.lower())
        if role:
            return role
    return None


def _role_before(text: str) -> str | None:
    """The role cue nearest before a date, within six words and the same clause."""
    for token in reversed(TOKEN.findall(_CLAUSE.split(text)[-1])[-6:]):
        role = DATE_ROLES.get(token.lower())
        if role:
            return role
    return None


def _show(clause: Clause) -> str:
    text = clause.text.strip()
    return f"quote: “{text if len(text) <= 90 else text[:87] + '...'}”"
