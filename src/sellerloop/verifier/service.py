"""The verifier: is a claim supported by the quotes it cites? (DESIGN.md §5, hallucination.)

A claim is supported when
1. it cites at least one source, and every cited source exists;
2. every fact in it (number, amount, percentage, date, name, job title; see facts.py) appears in a cited quote.
   Numbers may be written as words ("thirty"), and a number followed by a unit is that number of that unit
   ("30 days" is not "30 weeks"). A name also counts as found when it is the record's own (the account or
   opportunity the output is placed on: `record_names`) or who said the quote (a transcript line's speaker,
   an email's sender: `speakers`), because a claim may say whose statement it places where without the quote
   repeating it;
3. what it says about those facts matches the quotes, in words: at least `min_overlap` (default 60%) of its
   content words other than the facts (stemmed, no stopwords, no "said"/"according to") appear in them;
4. and in meaning (meaning.py): no part of it negates or reverses the part of a quote it rests on (negation,
   antonyms), swaps a unit of time, puts the words in another person's mouth or another name in a person's
   place, swaps who does what to whom, reorders steps or a comparison, or gives a date another role.

Why 60%: facts are the hard gate; the overlap only has to catch true facts pinned onto a statement the quotes do
not make. On hand-made pairs (some are in tests/verifier/test_verifier.py) near-verbatim claims score 100%,
reordered or lightly reworded ones 67-100% ("The CFO confirmed budget approval of up to $12,000" against
"Budget is approved up to $12,000": 67%), while invented statements about true names score 0-33% ("Dana
Whitfield, CFO, asked for a discount on 40 seats": 33%). 60% sits in that gap: with the usual 2-6 remaining
content words it allows one new word in three. Rewording that replaces most words ("signed off spending": 50%)
is refused.

Why the meaning checks: a falsified claim keeps every fact and nearly every word of its quote ("procurement can
sign" for "cannot", "approved" for "frozen", "X acquires Y" for "Y acquires X"), so 2 and 3 pass it. The checks
are lexical and deterministic (no model: word lists in evidence/words.py), and run only on a claim that passed
1-3 and is not simply a quote's own words, so they cost nothing on most claims. Measured by `sellerloop eval
claims` on a paraphrase set written for this project from the demo book (data/claims; figures and date in
docs/EVALUATION.md).

A semantic rescue (wordllama similarity admitting claims below the overlap bar) was measured on that set and
removed: it rescued 2 of 299 faithful paraphrases and let 1 of 311 falsifications through.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Protocol

from sqlalchemy.orm import Session

from sellerloop.errors import BadInput
from sellerloop.evidence.models import SourceRef
from sellerloop.evidence.sources import resolve_source
from sellerloop.evidence.words import canonical_words
from sellerloop.verifier.facts import Fact, QuoteIndex, analyse_claim, claim_facts, dates_in, found_in, quote_index
from sellerloop.verifier.meaning import made_of_quotes, meaning_conflict, speaker_of
from sellerloop.verifier.models import Claim, Verdict, VerifierSettings


@lru_cache
def get_verifier_settings() -> VerifierSettings:
    return VerifierSettings()


class ClaimLike(Protocol):
    """Anything with a claim's two fields: agents' items are checked as they are, without a copy."""

    text: str
    sources: Sequence[SourceRef]


def verify_claim(*, claim: Claim | ClaimLike, quotes: Mapping[str, str | None], facts_only: bool = False,
                 record_names: Sequence[str] = (), speakers: Mapping[str, str] | None = None) -> Verdict:
    """Check one claim against the quote of each source it cites. `quotes` maps a cited URI to its quote text,
    or to None when the source does not exist. Pure: no store, no I/O.

    facts_only: check only that the claim's facts are in the quotes, not that its other words are, nor what
    it says about them. For text that is the agent's own wording around facts (a question, a draft), where
    word overlap means nothing; such text with no facts in it needs no source at all.
    record_names: the names of the record the claim is placed on (its account, its opportunity): a claim may
    name them though its quote does not repeat them.
    speakers: who said or wrote each cited URI's quote, where the quote does not say (meaning.py)."""
    facts, words = analyse_claim(claim.text)
    shown = [fact.text for fact in facts]
    uris = list(dict.fromkeys(ref.uri for ref in claim.sources))
    if facts_only and not facts and not uris:
        return Verdict(supported=True, why="no numbers, dates, names or titles to check", facts=shown)
    if not uris:
        return Verdict(supported=False, why="the claim cites no source", facts=shown)
    missing = [uri for uri in uris if quotes.get(uri) is None]
    if missing:
        noun, verb = ("source", "does") if len(missing) == 1 else ("sources", "do")
        return Verdict(supported=False, why=f"{noun} {', '.join(missing)} {verb} not exist", facts=shown)

    indexes = [(uri, quote_index(quotes[uri])) for uri in uris]
    absent, where = [], {}  # where: the sources that hold at least one fact, in citation order
    for fact in facts:
        holders = [uri for uri, index in indexes if found_in(fact, index)]
        if holders:
            where.update(dict.fromkeys(holders))
        elif not (fact.phrase and (record_names or speakers)
                  and _named_by_context(fact, record_names, (speakers or {}).values(), indexes)):
            absent.append(fact)
    if absent:  # decided: the overlap is not worked out (Verdict.overlap stays 0)
        return Verdict(supported=False, why=f"{_join(map(str, absent))} not in any cited quote", facts=shown)
    overlap = _overlap(tuple(word for word in words if word not in ATTRIBUTION), [index for _, index in indexes])

    settings = get_verifier_settings()
    found = _facts_found(facts, sorted(where, key=uris.index))
    if facts_only:
        return Verdict(supported=True, why=f"{found} (facts checked; the wording is the agent's own)",
                       facts=shown)
    share = f"{_percent(overlap)} of the claim's words (besides its facts) appear in the quotes"
    if overlap < settings.min_overlap:
        return Verdict(supported=False, why=f"only {share} (need {_percent(settings.min_overlap)})", facts=shown,
                       overlap=overlap)
    # Worked out only for a claim its words pass (most refused claims never need it), and not for a claim made
    # of its quotes' own sentences: words repeated verbatim cannot say otherwise than they do. Most agent claims
    # are such quotations, and a whole-book run checks 180,000 of them.
    conflict = _meaning_conflict(claim.text, tuple(quotes[uri] for uri in uris), uris, speakers or {},
                                 tuple(name for name in record_names if name in claim.text))
    if conflict:
        return Verdict(supported=False, why=f"{found}, but {conflict}", facts=shown, overlap=overlap)
    return Verdict(supported=True, why=f"{found}; {share}", facts=shown, overlap=overlap)


_ISO_DATE = re.compile(r"\b(?:19|20)\d\d-[01]\d-[0-3]\d\b")


def _meaning_conflict(claim: str, quotes: tuple[str, ...], uris: Sequence[str], speakers: Mapping[str, str],
                      record_names: tuple[str, ...]) -> str | None:
    """meaning.meaning_conflict, worked out once per shape of claim. A whole-book run verifies the same few
    code-written claims for every deal with other dates in them ("Engaging since 2017-09-18." against "Engaging:
    2017-09-18"): when every date in the claim and its quotes is an ISO date, the dates are renamed to stand-ins
    in the same order (the same day, the same stand-in), which keeps what the checks compare (which date is
    which, and which is earlier), and the answer is cached under the renamed texts; the quotes' speakers go by
    position and only the record names the claim uses count, so the key holds nothing of one deal's own. The
    check costs about 0.25 ms a claim, so this takes some 20 s off a 100k-account run on 2 cores."""
    if made_of_quotes(claim, quotes):  # most agent claims: checked here, before any renaming, as it is cheap
        return None
    spoken_by = tuple(speakers.get(uri, "") for uri in uris)
    texts = (claim, *quotes)
    days = sorted({day for text in texts for day in _ISO_DATE.findall(text)})
    if not days or any(len(dates_in(text)) != len(_ISO_DATE.findall(text)) for text in texts):
        return _conflict(claim, quotes, spoken_by, record_names)
    stand_in = {day: (dt.date(2001, 1, 1) + dt.timedelta(days=n)).isoformat() for n, day in enumerate(days)}
    conflict = _conflict(_ISO_DATE.sub(lambda m: stand_in[m[0]], claim),
                         tuple(_ISO_DATE.sub(lambda m: stand_in[m[0]], quote) for quote in quotes),
                         spoken_by, record_names)
    if conflict is None:
        return None
    real = {v: k for k, v in stand_in.items()}
    return _ISO_DATE.sub(lambda m: real.get(m[0], m[0]), conflict)


@lru_cache(maxsize=1 << 14)
def _conflict(claim: str, quotes: tuple[str, ...], spoken_by: tuple[str, ...],
              record_names: tuple[str, ...]) -> str | None:
    uris = [str(n) for n in range(len(quotes))]
    return meaning_conflict(claim, quotes, speakers={uri: who for uri, who in zip(uris, spoken_by) if who},
                            uris=uris, record_names=record_names)


def verify_claims(*, session: Session, claims: Sequence[Claim | ClaimLike],
                  facts_only: Sequence[bool] | None = None, record_names: Sequence[str] = ()) -> list[Verdict]:
    """Check claims against the store: each cited URI is resolved; a quote given with a source must appear
    verbatim in the source's text and is then what the claim is checked against, otherwise the whole text is.
    `facts_only[i]` applies verify_claim's facts_only to claim i; `record_names` are the names of the record
    the claims are placed on (verify_claim)."""
    texts: dict[str, str | None] = {}  # each source is resolved once, however many claims cite it
    verdicts = []
    for index, claim in enumerate(claims):
        quotes: dict[str, str | None] = {}
        first_quote: dict[str, tuple[str, str]] = {}  # who said it is read off the first quote of each source
        bad_quote = None
        for ref in claim.sources:
            if ref.uri not in texts:
                texts[ref.uri] = _source_text(session, ref.uri)
            text = texts[ref.uri]
            if text is not None and ref.quote is not None and ref.quote not in text:
                bad_quote = bad_quote or ref.uri
            elif text is not None and ref.quote is not None and ref.uri not in first_quote:
                first_quote[ref.uri] = (text, ref.quote)
            piece = text if text is None or ref.quote is None else ref.quote
            if piece is not None and quotes.get(ref.uri) is not None:
                piece = f"{quotes[ref.uri]}\n{piece}"  # two quotes from one source both count
            quotes[ref.uri] = piece
        if bad_quote and all(value is not None for value in quotes.values()):
            verdicts.append(Verdict(supported=False, why=f"quote not found in {bad_quote}",
                                    facts=[fact.text for fact in claim_facts(claim.text)]))
            continue
        verdicts.append(verify_claim(claim=claim, quotes=quotes, facts_only=bool(facts_only and facts_only[index]),
                                     record_names=record_names, speakers=_Speakers(first_quote)))
    return verdicts


class _Speakers(Mapping[str, str]):
    """Who said or wrote each cited quote, which a quoted piece no longer shows (meaning.speaker_of), worked out
    when the check asks: most claims are decided without it."""

    def __init__(self, quoted: dict[str, tuple[str, str]]) -> None:
        self._quoted = quoted
        self._found: dict[str, str] = {}

    def __getitem__(self, uri: str) -> str:
        if uri not in self._found:
            text, quote = self._quoted[uri]
            self._found[uri] = speaker_of(text, quote)
        return self._found[uri]

    def __iter__(self):
        return iter(self._quoted)

    def __len__(self) -> int:
        return len(self._quoted)


def _source_text(session: Session, uri: str) -> str | None:
    try:
        return resolve_source(session=session, uri=uri).text
    except BadInput:  # unknown record, or not a URI at all: either way there is no such source
        return None


# "said", "according to": who said it is checked against the quote's speaker (meaning.py), not as a word the
# quote must contain.
ATTRIBUTION = frozenset("said say tell told mention accord per".split())
_JOINERS = frozenset("of at from for de la van von the and &".split())


def _named_by_context(fact: Fact, record_names: Sequence[str], speakers: Iterable[str],
                      indexes: list[tuple[str, QuoteIndex]]) -> bool:
    """The name is the record's own ("Cancity" on Cancity's page), or the record's name joined to a name the
    quotes hold ("Sara Bianchi of Cancity", "Cancity's Sara Bianchi"), or the name of who said the quote: a
    claim may place a quote on its record, and say who said it, without the quote repeating either name."""
    said_by = [_record_phrase(name) for name in speakers if name]
    if any(fact.phrase in speaker for speaker in said_by):
        return True
    for name in record_names:
        record = _record_phrase(name)
        if fact.phrase in record:
            return True
        if record.strip() and record in fact.phrase:
            pieces = [_trim_joiners(piece.split()) for piece in fact.phrase.split(record)]
            if all(any(f" {piece} " in phrase for phrase in [*(i.phrase for _, i in indexes), *said_by])
                   for piece in pieces if piece):
                return True
    return False


def _trim_joiners(words: list[str]) -> str:
    while words and words[0] in _JOINERS:
        words = words[1:]
    while words and words[-1] in _JOINERS:
        words = words[:-1]
    return " ".join(words)


@lru_cache(maxsize=1 << 10)
def _record_phrase(name: str) -> str:
    return " " + " ".join(canonical_words(name)) + " "


def _overlap(words: tuple[str, ...], indexes: list[QuoteIndex]) -> float:
    if not words:
        return 1.0  # nothing but facts and stopwords: the facts decide
    if len(indexes) == 1:
        available = indexes[0].words
    else:
        available = frozenset().union(*(index.words for index in indexes))
    return sum(word in available for word in words) / len(words)


def _facts_found(facts: Sequence[Fact], where: list[str]) -> str:
    if not facts:
        return "no numbers, dates, names or titles to check"
    listed = ", ".join(fact.text for fact in facts)
    if not where:
        return f"{'the one fact' if len(facts) == 1 else f'all {len(facts)} facts'} ({listed}) named by the record"
    if len(facts) == 1:
        return f"the one fact ({listed}) found in {', '.join(where)}"
    return f"all {len(facts)} facts ({listed}) found in {', '.join(where)}"


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _percent(share: float) -> str:
    return f"{int(share * 100 + 1e-9)}%"  # floor: a claim at 59.6% must not read "60% (need 60%)"
