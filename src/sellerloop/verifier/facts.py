"""Facts in a claim, and what a quote offers to support them.

A fact is a number, money amount, percentage, date, name (person, company, product) or job title. The verifier
demands that each fact of a claim appears in a cited quote, so both sides are normalised to comparable keys:

- numbers and amounts: 1,000 = 1000 = 1k; $1.2M = 1,200,000 = 1.2 million; 15% = 15 percent. An amount with a
  currency matches the same value with that currency or with none ("amount: 12000" supports "$12,000").
- numbers written as words: thirty = 30, a dozen = 12, two hundred = 200, twenty-five = 25 (both sides).
- units: a number followed by a unit (days, weeks, months, years, hours; seats, users, licences; people,
  employees, staff) is that number *of that unit*: "30 days" needs a quote's 30 followed by days, not weeks.
  A bare number in a claim matches the number whatever its unit in the quote.
- dates: 2017-12-08 = December 8, 2017 = 8 December 2017 = Dec 8 = 12/08/2017 = Friday, December 8. A date
  without a year matches any quote date with that month and day; a bare year matches a full date in that year.
- names and titles: their words, lower-cased, lightly stemmed and with title acronyms spelled out (CFO = Chief
  Financial Officer), must occur as a contiguous run in the quote's words.

No NER model: names are runs of capitalised words (not a sentence-initial stopword), titles come from a small
lexicon and patterns. Quote-side analysis never extracts names; it only indexes words, so a name fact is
"found" when the quote contains those words.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from sellerloop.evidence.words import (
    NUMBER_WORDS,
    STOPWORDS,
    TITLE_ACRONYMS,
    UNIT_SKIPPED,
    UNITS,
    canonical_words,
    content_words,
)

# Common words that open sentences in sales notes and agent output ("People we know at ...", "Active users
# rose ..."). Capitalised only by position, they are not names; any other sentence-initial word is taken for a
# name ("Cancity will hire ..."), because without an NER model that is the side that cannot let an invented
# company through.
_COMMON_STARTERS = """
active account accounts add added agreed all annual approved ask asked average book booked budget call called
calls champion change changed check close closed closing competitor confirm confirmed contact contacts contract
create current customer customers deal deals decision demo discount draft email emails engaged expected
follow following headcount hiring last latest legal license licenses log logged meeting meetings mention
mentioned monthly new next note notes open opened opportunity opportunities order overall pain people pilot
pipeline plan planned please prepare price pricing procurement product products prospect quarter recent
renewal reply replied request requested revenue review risk sales schedule security send sent share signed
stage support task tasks team ticket tickets total trial update updated usage users weekly won lost
"""
COMMON_STARTERS = frozenset(_COMMON_STARTERS.split())

MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
CURRENCIES = {"$": "USD", "dollars": "USD", "usd": "USD", "€": "EUR", "euro": "EUR", "euros": "EUR",
              "eur": "EUR", "£": "GBP", "pounds": "GBP", "gbp": "GBP", "¥": "JPY"}
SCALES = {"k": 10**3, "thousand": 10**3, "m": 10**6, "mm": 10**6, "million": 10**6, "b": 10**9, "bn": 10**9,
          "billion": 10**9, "trillion": 10**12}

_MON = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?"
        r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_WD = r"(?:Mon|Tue|Tues|Wed|Wednes|Thu|Thur|Thurs|Fri|Sat|Satur|Sun)(?:day)?\.?"
_DAY = r"[0-3]?\d(?!\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d(?!\d)"
# Alternatives are tried left to right at each position, so the most specific forms come first.
DATE = re.compile(rf"""
    (?<![\w/-])(?P<iy>\d{{4}})[-/](?P<im>\d{{1,2}})(?:[-/](?P<id>\d{{1,2}}))?(?![\w/-])
  | (?<![\w/.-])(?P<na>\d{{1,2}})/(?P<nb>\d{{1,2}})/(?P<ny>\d{{4}}|\d\d)(?![\w/])
  | \b(?P<wd1>{_WD},?[ \t]+)?(?P<m1>{_MON})[ \t]+(?P<d1>{_DAY})\b(?:,?[ \t]+(?P<y1>{_YEAR}))?
  | \b(?P<wd2>{_WD},?[ \t]+)?(?P<d2>{_DAY})(?:[ \t]+of)?[ \t]+(?P<m2>{_MON})(?![\w])(?:,?[ \t]+(?P<y2>{_YEAR}))?
  | \b(?P<m3>{_MON}),?[ \t]+(?P<y3>{_YEAR})
  | \b(?P<wd>(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)\b
  | \b(?P<m4>January|February|March|April|June|July|August|September|October|November|December)\b
""", re.VERBOSE)
NUMBER = re.compile(r"""
    (?=[\d$€£¥UEG])  # a first-character check the regex engine can skip ahead with: a third faster
    (?<![\w.])
    (?:(?P<sym>[$€£¥])[ ]?|(?P<code>USD|EUR|GBP)[ ]?)?
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)
    (?:(?P<mult>[kKmMbB]|bn|mm|MM)\b|[ ]?(?P<multw>thousand|million|billion|trillion)\b)?
    (?:[ ]?(?P<pct>%|percent\b|per[ ]cent\b|pct\b)|[ ]?(?P<curw>dollars|USD|euros?|EUR|pounds|GBP)\b)?
""", re.VERBOSE)

_CSUITE = r"(?:CEO|CFO|CTO|COO|CIO|CISO|CMO|CRO|CPO|CHRO|CSO|CDO|CCO|GM)s?\b"
_VP = r"(?:SVP|EVP|AVP|VP)s?\b"
_MOD = (r"(?:(?:Senior|Sr\.?|Junior|Executive|Associate|Assistant|Deputy|Interim|Acting|Regional|Global"
        r"|Principal|General|Lead)[ \t]+)")
_NOT_DET = (r"(?!(?:The|A|An|Our|Their|His|Her|My|Your|Its|This|That|Dear|Hi|Hello|Hey|Thanks"
            r"|the|a|an|our|their|his|her|my|your|its|this|that)\b)")
_CAPW = r"[A-Z][A-Za-z&/-]*"
_DOM = rf"(?:{_NOT_DET}{_CAPW}[ \t]+)"  # a capitalised domain word before a role: Sales Manager, IT Director
_OF = rf"(?:[ \t]+(?:of|for)[ \t]+(?:the[ \t]+)?{_CAPW}(?:[ \t]+(?:&[ \t]+)?{_CAPW}){{0,2}})"
_OF_LOWER = rf"(?:[ \t]+of[ \t]+{_NOT_DET}[A-Za-z&]+)"
_ROLE_ANY_CASE = ("president|director|manager|engineer|founder|co-?founder|chairman|chairwoman|architect|analyst"
                  "|administrator|specialist|consultant|controller|treasurer|developer|scientist|designer"
                  "|recruiter|accountant|coordinator|strategist|auditor")
# Common words that are titles only when capitalised ("a partner", "the lead" are not).
_ROLE_CAPITALISED = ("Officer|Owner|Partner|Lead|Executive|Buyer|Counsel|Representative|Rep|Secretary|Chair"
                     "|Assistant|Associate")
TITLE = re.compile(rf"""\b(?:
    {_MOD}*{_CSUITE}
  | {_MOD}*{_VP}{_OF}?
  | {_MOD}*Chief[ \t]+(?:{_CAPW}[ \t]+){{1,3}}Officer\b
  | {_MOD}*Vice[ \t]+President\b{_OF}?
  | [Hh]ead[ \t]+of[ \t]+{_NOT_DET}[A-Za-z&]+(?:[ \t]+(?:&[ \t]+)?{_CAPW}){{0,2}}
  | {_MOD}*{_DOM}{{0,2}}(?:{_ROLE_CAPITALISED})s?\b{_OF}?
  | {_MOD}*{_DOM}{{0,2}}(?i:{_ROLE_ANY_CASE})s?\b(?:{_OF}|{_OF_LOWER})?
)""", re.VERBOSE)
# Words a title is built around, singular and plural; a title is looked for only where one occurs (_titles).
_TITLE_HEADS = frozenset(
    word + plural
    for word in ({"chief", "vice", "head", "cofounder", "co-founder", *TITLE_ACRONYMS} - {"sr", "jr"}
                 | set(_ROLE_ANY_CASE.replace("co-?founder", "founder").split("|"))
                 | {w.lower() for w in _ROLE_CAPITALISED.split("|")})
    for plural in ("", "s"))
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
_CAPITALISED_RUN = re.compile(r"(?:[A-Z][A-Za-z&/.-]*[ \t]+){1,4}\Z")  # modifier and domain words before a head
# Where a date may start: a digit, or a month or weekday name. DATE is only tried at these positions (see
# _scan), which is several times faster than DATE.finditer; NUMBER is simple enough to run as it is.
_DATE_START = re.compile(r"""[\dJFMASONDTW](?<![\w/.,-][\dJFMASONDTW])  # a digit, a month or a weekday
    (?:(?<=\d)|(?<=J)(?=an|u[nl])|(?<=F)(?=eb|ri)|(?<=M)(?=a[ry]|on)|(?<=A)(?=pr|ug)|(?<=S)(?=ep|at|un)
      |(?<=O)(?=ct)|(?<=N)(?=ov)|(?<=D)(?=ec)|(?<=T)(?=ue|hu)|(?<=W)(?=ed))""", re.VERBOSE)
_CAP = r"[A-ZÀ-ÖØ-Þ](?:[\w&'’-]*[\w&])?"
NAME = re.compile(rf"{_CAP}(?:[ \t]+(?:(?:of|de|da|van|von|der|den|du|la|le|&)[ \t]+)?{_CAP})*")
# Numbers written as words: a run of number words ("two hundred", "twenty-five", "a dozen"); evaluated by
# _word_value. Hand-written: the libraries that read number words (word2number, text2num) read one number from
# a string given to them, not numbers found in running text, and are one more dependency for thirty lines.
_NUMBER_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
NUMBER_WORD = re.compile(rf"\b(?:an?[ \t]+(?=(?:hundred|thousand|million|billion|dozen)\b))?(?:{_NUMBER_WORD})"
                         rf"(?:(?:[ \t]+and[ \t]+|[ \t]+|-)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"[ \t]*(?:%|percent\b|per[ \t]cent\b)", re.IGNORECASE)
_UNIT_WORD = re.compile(r"[ \t_-]*([A-Za-z]+)")
_WORD_BREAKS = str.maketrans({c: " " for c in "-.,;:!?()[]{}\"'“”‘’/$%"})
# A record field's label names what its number counts: "Employees: 2822".
_UNIT_LABEL = re.compile(r"([A-Za-z]+)[ \t]*(?:\([^)\n]*\))?[ \t]*:[ \t]*\Z")
# "one" that is not a count: "one of them", "the one who", "no one".
_PRONOUN_ONE = re.compile(r"(?:\b(?:the|no|any|each|every|which|this|that|someone|anyone)[ \t]+)one\b"
                          r"|\bone(?=[ \t]+(?:of|another|who|that|which)\b|[ \t]*[.,;:!?)]|[ \t]*$)", re.IGNORECASE)
_SENTENCE_END = ".!?:;\n\"“”‘'(•*–—>|"
_GAP = "\x1f"  # stands in for a fact already taken: no word character, no space, no sentence end


class Fact(NamedTuple):  # a NamedTuple, not a dataclass: claims are analysed in hot loops (bench/)
    kind: str  # number, amount, percentage, date, name, title
    text: str  # as written in the claim
    keys: frozenset[str] = frozenset()  # numbers and dates: any one of these among a quote's keys supports it
    phrase: str = ""  # names and titles: this run of canonical words must occur in a quote

    def __str__(self) -> str:
        return f"{self.kind} {self.text}"


class QuoteIndex:
    """What a quote offers, each part worked out on first use: a claim whose facts fail early never needs
    the quote's words, and one without numbers or dates never needs its keys."""

    __slots__ = ("_keys", "_phrase", "_words", "text")

    def __init__(self, text: str):
        self.text = text
        self._keys: frozenset[str] | None = None
        self._phrase: str | None = None
        self._words: frozenset[str] | None = None

    @property
    def keys(self) -> frozenset[str]:
        """Normalised numbers, amounts, percentages and dates."""
        if self._keys is None:
            self._keys = _quote_keys(self.text)
        return self._keys

    @property
    def phrase(self) -> str:
        """All canonical words, space-separated and space-padded, for name and title runs."""
        if self._phrase is None:
            self._index_words()
        return self._phrase

    @property
    def words(self) -> frozenset[str]:
        """The same words as a set, for the content-word overlap."""
        if self._words is None:
            self._index_words()
        return self._words

    def _index_words(self) -> None:
        words = canonical_words(self.text)
        self._phrase, self._words = " " + " ".join(words) + " ", frozenset(words)


def found_in(fact: Fact, quote: QuoteIndex) -> bool:
    if fact.phrase:
        return fact.phrase in quote.phrase
    return not fact.keys.isdisjoint(quote.keys)


# --- words -------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1 << 14)
def _phrase(text: str) -> str:
    return " " + " ".join(canonical_words(text)) + " "


# --- numbers and dates ---------------------------------------------------------------------------------------

def _value(number: str, scale: str | None) -> str:
    digits = number.replace(",", "")
    factor = SCALES.get(scale.lower(), 1) if scale else 1
    if "." not in digits:
        return str(int(digits) * factor)  # the common case, without Decimal's cost
    return format((Decimal(digits) * factor).normalize(), "f")


@lru_cache(maxsize=1 << 14)
def _number(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """(kind, keys a claim accepts, keys a quote offers) for one NUMBER match's text. Cached by text: the same
    few numbers (years, small counts, round amounts) recur everywhere."""
    m = NUMBER.match(text)
    value = _value(m["num"], m["mult"] or m["multw"])
    if m["pct"]:
        key = frozenset({f"p:{value}"})
        return "percentage", key, key
    currency_word = m["sym"] or m["code"] or m["curw"]
    if currency_word:
        currency = CURRENCIES.get(currency_word.lower(), currency_word.upper())
        return ("amount", frozenset({f"n:{value}", f"m:{currency}:{value}"}),
                frozenset({f"m:{value}", f"m:{currency}:{value}"}))
    return "number", frozenset({f"n:{value}", f"m:{value}"}), frozenset({f"n:{value}"})


def _word_value(text: str) -> int:
    """The value of a NUMBER_WORD match: "two hundred and five" = 205, "a dozen" = 12, "twenty-five" = 25."""
    total = current = 0
    for word in re.split(r"[ \t-]+", text.lower()):
        value = NUMBER_WORDS.get(word)
        if word in ("a", "an"):
            current = 1
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "dozen":
            current = (current or 1) * 12
        elif word in ("thousand", "million", "billion"):
            total += (current or 1) * SCALES[word]
            current = 0
        elif value is not None:
            current += value
    return total + current


def number_words(text: str) -> list[tuple[int, int, int]]:
    """(start, end, value) of each number written as words; "one" only where it counts something."""
    if NUMBER_WORDS.keys().isdisjoint(text.lower().translate(_WORD_BREAKS).split()):
        return []  # most texts have none: a set lookup decides faster than the long alternation
    return [(m.start(), m.end(), _word_value(m[0])) for m in NUMBER_WORD.finditer(text)
            if m[0].lower() != "one" or not _is_pronoun_one(text, m)]


def _is_pronoun_one(text: str, m: re.Match) -> bool:
    return any(p.start() <= m.start() < p.end() for p in _PRONOUN_ONE.finditer(text, max(0, m.start() - 9),
                                                                               min(len(text), m.end() + 12)))


def unit_after(text: str, end: int) -> tuple[str, ...]:
    """The unit a number at text[:end] counts ("14 working days" -> day), from the next three words; none when
    no unit word follows ("40 widgets": a quote's 40 anything may support it)."""
    return _unit_span(text, end)[0]


def _unit_span(text: str, end: int) -> tuple[tuple[str, ...], int]:
    """unit_after, and where the unit word ends (it is part of the fact, not a word the overlap counts)."""
    at = end
    for _ in range(3):
        m = _UNIT_WORD.match(text, at)
        if not m:
            break
        word = m[1].lower()
        units = UNITS.get(word)
        if units:
            return units, m.end()
        if word not in UNIT_SKIPPED:
            break
        at = m.end()
    return (), end


def _month(name: str) -> int:
    return MONTHS[name[:3].lower()]


def _year(text: str) -> int:
    year = int(text)
    return year if year >= 100 else 2000 + year if year < 70 else 1900 + year


@lru_cache(maxsize=1 << 12)
def _date(text: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(keys a claim accepts, keys a quote offers) for one DATE match's text, or None when it is no real date.
    Re-matching the text alone gives the same groups: the patterns' context checks only ever reject."""
    m = DATE.match(text)
    year = month = day = None
    if m["iy"]:
        year, month, day = int(m["iy"]), int(m["im"]), int(m["id"]) if m["id"] else None
    elif m["na"]:
        first, second = int(m["na"]), int(m["nb"])
        # US order (12/08/2017 is December 8) unless the first number cannot be a month.
        month, day = (second, first) if first > 12 >= second else (first, second)
        year = _year(m["ny"])
    elif m["m1"]:
        month, day, year = _month(m["m1"]), int(m["d1"].rstrip("stndrh")), m["y1"] and int(m["y1"])
    elif m["m2"]:
        month, day, year = _month(m["m2"]), int(m["d2"].rstrip("stndrh")), m["y2"] and int(m["y2"])
    elif m["m3"]:
        month, year = _month(m["m3"]), int(m["y3"])
    elif m["wd"]:
        key = frozenset({f"w:{WEEKDAYS[m['wd'][:3].lower()]}"})
        return key, key
    else:
        key = frozenset({f"mo:{_month(m['m4'])}"})
        return key, key
    try:
        date = dt.date(year or 2000, month, day or 1)  # 2000 is a leap year, so Feb 29 without a year is valid
    except ValueError:
        return None
    offered = {f"mo:{month}"}
    if year:
        offered |= {f"d:{year}-{month}", f"n:{year}"}
    if day:
        offered.add(f"d:{month}-{day}")
    if year and day:
        offered |= {f"d:{year}-{month}-{day}", f"w:{date.weekday()}"}
    weekday = m["wd1"] or m["wd2"]
    if weekday:
        offered.add(f"w:{WEEKDAYS[weekday[:3].lower()]}")
    accepted = (f"d:{year}-{month}-{day}" if year and day else f"d:{month}-{day}" if day else f"d:{year}-{month}")
    return frozenset({accepted}), frozenset(offered)


def dates_in(text: str) -> list[tuple[int, int, frozenset[str], frozenset[str]]]:
    """(start, end, keys a claim accepts, keys a quote offers) of each date in the text."""
    return [(m.start(), m.end(), *keys) for m in _scan(DATE, _DATE_START, text) if (keys := _date(m[0]))]


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with those spans replaced by a separator, so later passes neither see nor join across them."""
    parts, last = [], 0
    for start, end in spans:
        parts += (text[last:start], _GAP * (end - start))
        last = end
    return "".join(parts) + text[last:] if parts else text


def _scan(pattern: re.Pattern, starts: re.Pattern, text: str) -> list[re.Match]:
    """pattern.finditer(text), but tried only where `starts` says a match may begin."""
    found, end = [], 0
    for start in starts.finditer(text):
        if start.start() >= end:
            m = pattern.match(text, start.start())
            if m:
                found.append(m)
                end = m.end()
    return found


def _titles(text: str):
    """TITLE matches, found from their head word ("Manager", "CFO") and tried from each of the up to four
    capitalised words just before it ("Senior Regional Sales Manager"): TITLE on every word is slow."""
    if _TITLE_HEADS.isdisjoint(map(str.lower, _WORD.findall(text))):
        return  # most sentences name no title: one cheap pass decides
    end = 0
    for head in _WORD.finditer(text):
        word, at = head[0].lower(), head.start()
        if at < end or word not in _TITLE_HEADS:
            continue
        run = _CAPITALISED_RUN.search(text, max(end, at - 80), at)
        starts = [run.start() + w.start() for w in _WORD.finditer(run[0])] if run else []
        for start in (*starts, at):
            m = TITLE.match(text, start)
            if m and m.end() > at:
                yield m
                end = m.end()
                break


# --- the two sides ---------------------------------------------------------------------------------------------

def claim_facts(text: str) -> tuple[Fact, ...]:
    """The claim's facts in the order they appear, each once."""
    return analyse_claim(text)[0]


@lru_cache(maxsize=1 << 14)
def analyse_claim(text: str) -> tuple[tuple[Fact, ...], tuple[str, ...]]:
    """The claim's facts, and the content words of the rest of it (what it says about them). The rest is what
    the word overlap measures: names and titles are already checked, and counting them again would let true
    names carry an invented statement ("Dana Whitfield, CFO of Cancity, plans to churn")."""
    found: list[tuple[int, Fact]] = []
    spans = []
    for m in _scan(DATE, _DATE_START, text):
        keys = _date(m[0])
        if keys:
            found.append((m.start(), Fact("date", m[0].strip(" ,"), keys[0])))
            spans.append(m.span())
    rest = _blank(text, spans)
    spans = []
    for m in NUMBER.finditer(rest):
        kind, accepted, _ = _number(m[0])
        units, end = _unit_span(rest, m.end()) if kind == "number" else ((), m.end())
        if units:
            value = next(iter(accepted - {key for key in accepted if key.startswith("m:")}))
            accepted = frozenset(f"{value}:{unit}" for unit in units)
        found.append((m.start(), Fact(kind, m[0].strip(), accepted)))
        spans.append((m.start(), end))
    rest = _blank(rest, spans)
    spans = []
    for start, end, value in number_words(rest):
        percent = _PERCENT_AFTER.match(rest, end)
        if percent:
            end = percent.end()
            found.append((start, Fact("percentage", rest[start:end], frozenset({f"p:{value}"}))))
        else:
            units, unit_end = _unit_span(rest, end)
            accepted = (frozenset(f"n:{value}:{unit}" for unit in units) if units
                        else frozenset({f"n:{value}", f"m:{value}"}))
            found.append((start, Fact("number", rest[start:end], accepted)))
            end = unit_end
        spans.append((start, end))
    named, rest = _titles_and_names(_blank(rest, spans))
    found += named
    unique: dict[tuple[str, frozenset[str], str], Fact] = {}
    found.sort(key=itemgetter(0))
    for _, fact in found:
        unique.setdefault((fact.kind, fact.keys, fact.phrase), fact)
    return tuple(unique.values()), content_words(rest)


@lru_cache(maxsize=1 << 14)
def names_in(text: str) -> tuple[Fact, ...]:
    """The titles and names of a text, as claim_facts finds them, without reading its numbers (which costs
    most): for the meaning checks, which read them in every sentence of a quote."""
    rest = _blank(text, [(start, end) for start, end, _, _ in dates_in(text)])
    named, _ = _titles_and_names(_blank(rest, [m.span() for m in NUMBER.finditer(rest)]))
    return tuple(fact for _, fact in sorted(named, key=itemgetter(0)))


def _titles_and_names(rest: str) -> tuple[list[tuple[int, Fact]], str]:
    """(position, fact) of each title and name in text whose dates and numbers are blanked; and the text with
    those blanked too."""
    found, spans = [], []
    for m in _titles(rest):
        found.append((m.start(), Fact("title", m[0], phrase=_phrase(m[0]))))
        spans.append(m.span())
    rest = _blank(rest, spans)
    spans = []
    for m in NAME.finditer(rest):
        name, start = _name(rest, m)
        if name:
            found.append((start, Fact("name", name, phrase=_phrase(name))))
            spans.append((start, m.end()))
    return found, _blank(rest, spans)


def _name(text: str, m: re.Match) -> tuple[str, int]:
    """The name in a run of capitalised words, without a sentence-initial stopword ("The", "We", "I'll");
    none for a lone sentence-initial common word ("People", "Budget")."""
    name, start = m[0], m.start()
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i < 0 or text[i] in _SENTENCE_END:
        first, _, remainder = name.partition(" ")
        if _is_stopword(first):
            name, start = remainder.lstrip(), start + len(name) - len(remainder.lstrip())
        elif not remainder and name.lower() in COMMON_STARTERS:
            return "", start
    if not name or _is_stopword(name):
        return "", start
    return name, start


def _is_stopword(word: str) -> bool:
    lower = word.lower().replace("’", "'")
    return lower in STOPWORDS or lower.split("'")[0] in STOPWORDS


@lru_cache(maxsize=1 << 12)
def quote_index(text: str) -> QuoteIndex:
    """Everything a quote can support a fact with. Cached: many claims cite the same few sources."""
    return QuoteIndex(text)


def _quote_keys(text: str) -> frozenset[str]:
    keys: set[str] = set()
    spans = []
    for m in _scan(DATE, _DATE_START, text):
        found = _date(m[0])
        if found:
            keys |= found[1]
            spans.append(m.span())
    rest = _blank(text, spans)
    spans = []
    for m in NUMBER.finditer(rest):
        kind, _, offered = _number(m[0])
        keys |= offered
        if kind == "number":
            value = next(iter(offered))
            keys.update(f"{value}:{unit}" for unit in _quote_units(rest, m.start(), m.end()))
        spans.append(m.span())
    rest = _blank(rest, spans)
    for start, end, value in number_words(rest):
        if _PERCENT_AFTER.match(rest, end):
            keys.add(f"p:{value}")
            continue
        keys.add(f"n:{value}")
        keys.update(f"n:{value}:{unit}" for unit in _quote_units(rest, start, end))
    return frozenset(keys)


def _quote_units(text: str, start: int, end: int) -> tuple[str, ...]:
    """The units a quote's number counts: the word after it, or its field's label ("Employees: 2822")."""
    units = unit_after(text, end)
    if units:
        return units
    label = _UNIT_LABEL.search(text, max(0, start - 40), start)
    return UNITS.get(label[1].lower(), ()) if label else ()
