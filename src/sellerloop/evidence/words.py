"""Words as the verifier and the conversation detectors compare them: tokens, stopwords, title acronyms spelled
out, a light stemmer. One place, so that a detector and the verifier agree on what counts as the same word."""
from __future__ import annotations

import re
from functools import lru_cache

_STOPWORDS = """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i i'd i'll i'm i've if in into is it it's its itself just let's me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should so some such
than that that's the their theirs them themselves then there there's these they this those through to too under
until up very was we we'd we'll we're we've were what when where which while who whom why will with would you
you'd you'll you're you've your yours yourself yourselves per via re fwd cc hi hello hey dear thanks thank please
yes ok okay however meanwhile also still yet may might must shall can't won't don't doesn't didn't isn't aren't
wasn't weren't hasn't haven't hadn't shouldn't wouldn't couldn't ever every either neither whether since though
although unless whose one's today tomorrow yesterday
"""
STOPWORDS = frozenset(_STOPWORDS.split())
TITLE_ACRONYMS = {
    "ceo": "chief executive officer", "cfo": "chief financial officer", "cto": "chief technology officer",
    "coo": "chief operating officer", "cio": "chief information officer", "cmo": "chief marketing officer",
    "ciso": "chief information security officer", "cro": "chief revenue officer", "cpo": "chief product officer",
    "chro": "chief human resources officer", "cso": "chief security officer", "cdo": "chief data officer",
    "cco": "chief commercial officer", "vp": "vice president", "svp": "senior vice president",
    "evp": "executive vice president", "avp": "assistant vice president", "gm": "general manager",
    "sr": "senior", "jr": "junior",
}
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@lru_cache(maxsize=1 << 16)
def canonical(token: str) -> tuple[str, ...]:
    """One token as comparable words: lower case, no possessive, title acronyms spelled out, lightly stemmed."""
    word = token.lower().replace("’", "'")
    word = word.removesuffix("'s")
    expansion = TITLE_ACRONYMS.get(word)
    if expansion:
        return tuple(stem(w) for w in expansion.split())
    return (stem(word),)


def stem(word: str) -> str:
    """A light suffix stripper (a small part of Porter's steps 1-2): enough to equate approve/approved/
    approval, engineer/engineers, review/reviewing. It only has to be consistent: both sides go through it."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ment", ""), ("ing", ""),
                                ("ed", ""), ("es", ""), ("s", ""), ("al", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]  # hire/hiring, sale/sales
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # planned -> plann -> plan
    return word


def canonical_words(text: str) -> list[str]:
    return [w for token in TOKEN.findall(text) for w in canonical(token)]


def content_words(text: str) -> tuple[str, ...]:
    """Words that carry meaning, each once: no stopwords, no numbers (numbers are checked as facts)."""
    return tuple(dict.fromkeys(word for token in TOKEN.findall(text) for word in _content(token)))


@lru_cache(maxsize=1 << 16)
def _content(token: str) -> tuple[str, ...]:
    lower = token.lower().replace("’", "'")
    if lower in STOPWORDS or not lower[0].isalpha():
        return ()
    return tuple(word for word in canonical(token) if word not in STOPWORDS and word.isalpha())


# Numbers written as words, as the verifier reads them (facts.py): "thirty" states the same fact as "30".
NUMBER_WORDS = {
    **{word: n for n, word in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                        "fourteen fifteen sixteen seventeen eighteen nineteen".split())},
    **{word: 10 * n for n, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)},
    "hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12,
}
# What a number counts, when the word after it says: "30 days" and "30 weeks" are different facts. Units that
# are one thing share a name (seats and licences); "users" are seats and people both.
UNITS = {
    **dict.fromkeys(("day", "days"), ("day",)), **dict.fromkeys(("week", "weeks"), ("week",)),
    **dict.fromkeys(("month", "months"), ("month",)), **dict.fromkeys(("quarter", "quarters"), ("quarter",)),
    **dict.fromkeys(("year", "years"), ("year",)), **dict.fromkeys(("hour", "hours"), ("hour",)),
    **dict.fromkeys(("minute", "minutes"), ("minute",)),
    **dict.fromkeys(("seat", "seats", "licence", "licences", "license", "licenses"), ("seat",)),
    **dict.fromkeys(("user", "users"), ("seat", "people")),
    **dict.fromkeys(("people", "person", "persons", "employee", "employees", "staff", "headcount", "hires",
                     "heads", "fte", "ftes"), ("people",)),
    **dict.fromkeys(("location", "locations", "office", "offices", "site", "sites", "branch", "branches", "store",
                     "stores"), ("site",)),
    **dict.fromkeys(("administrator", "administrators", "admin", "admins"), ("administrator",)),
    **{word + plural: (word,) for word in ("vendor", "project", "system", "tool", "region", "customer",
                                           "report", "spreadsheet", "ticket", "order", "meeting",
                                           "call", "team", "product", "module", "integration", "country")
       for plural in ("", "s")},
}
# Words that may stand between a number and its unit ("14 working days", "two more people").
UNIT_SKIPPED = frozenset("""more other additional extra new full working business calendar straight consecutive
whole further fewer less extra paid named active""".split())


# --- meaning: the verifier's checks of what a claim says about its facts (verifier/meaning.py) -----------------

# Words that negate their clause. An odd number of them makes a clause negative.
NEGATIONS = frozenset("""not no never none nobody nothing neither nor without cannot cant nowhere unable unsure
unclear unlikely unknown unsigned unapproved unavailable uninterested unhappy unresolved unfinished lack lacks
lacking stop stops stopped ceased""".split())

# Antonyms: a claim using one side where its quote uses only the other says the opposite. Lower-case word
# forms, not stems: the stemmer merges "close" (a date) with "closed" (a state).
_ANTONYM_PAIRS = """
open opened opening opens reopened reopening | closed shut closing closes close
approved approve approves approval approving greenlit | frozen freeze froze freezes rejected reject rejects denied
    refused blocked
accepted accept accepts agreed agree agrees | declined decline declines rejected reject refused
increase increased increases increasing rise rose rising grow grew grows growing growth | decrease decreased
    decreases decreasing fall fell falling drop dropped drops dropping shrink shrank shrinking decline declined
    cut cuts cutting reduce reduces reduced reducing
won win wins winning | lost lose loses losing
signed | cancelled canceled withdrawn
before earlier prior ahead | after later behind
above over exceeds exceed higher more | below under lower less fewer
early earliest | late latest
start starts started starting begin begins began beginning kickoff | end ends ended ending finish finishes
    finished finishing
cheaper cheapest lower | pricier expensive dearer
easy easier simple | tough hard harder difficult
include includes included including | exclude excludes excluded excluding
pass passes passed | fail fails failed failing
like liked likes love loved prefer prefers preferred | dislike disliked dislikes hate hated
manual manually | automated automatic automatically
bigger biggest larger largest big large | smaller smallest small
better best | worse worst
faster fastest quick quicker fast speed accelerate | slower slowest slow
strict stricter | lenient relaxed
front leading | trailing lagging
confirmed | unconfirmed postponed
same | different
internal internally | external externally
most | least
first | last
new newer newest | old older oldest
today now immediately | later
"""
ANTONYMS = tuple(tuple(frozenset(side.split()) for side in line.split("|"))
                 for line in _ANTONYM_PAIRS.replace("\n    ", " ").strip().splitlines())

# Units of time a claim must not swap, numbered or not ("months of work" is not "weeks of work").
TIME_UNITS = {
    **dict.fromkeys("hour hours hourly".split(), "hour"), **dict.fromkeys("day days daily".split(), "day"),
    **dict.fromkeys("week weeks weekly".split(), "week"), **dict.fromkeys("month months monthly".split(), "month"),
    **dict.fromkeys("quarter quarters quarterly".split(), "quarter"),
    **dict.fromkeys("year years yearly annual annually".split(), "year"),
    **dict.fromkeys("morning mornings afternoon afternoons evening evenings night tonight".split(), "part of a day"),
}

# Verbs that attribute words to a person ("Zara said"), and verbs of a person doing something ("Zara will send"):
# the claim's subject must then be the quote's speaker.
SPEECH_VERBS = frozenset("""said says told tells mentioned mentions asked asks wrote writes confirmed confirms noted
notes explained explains stated states admitted admits warned warns flagged flags replied replies added adds
answered answers shared shares emailed raised raises reported reports promised promises""".split())
SUBJECT_VERBS = SPEECH_VERBS | frozenset("""will 'll to plans plan intends expects wants needs committed commits
agreed agrees offered offers prefers preferred""".split())
FIRST_PERSON = frozenset("i i'll i'm i've i'd me my mine myself".split())

# Verbs whose arguments cannot be swapped ("X acquires Y" is not "Y acquires X"), as stems.
ASYMMETRIC_VERBS = frozenset(stem(word) for word in """acquire acquires acquired acquiring acquisition buy buys
bought purchase purchased replace replaces replaced beat beats outperform outperforms
escalate escalates send sends sent forward forwards forwarded introduce introduces introduced present presents
presented hire hires hired appoint appoints appointed join joins joined switch switched prefer prefers preferred
pay pays paid sell sells sold owe owes invite invites invited goes go""".split())

# Words that give a date its role, and the role ("close" and "signature" are one: the day the deal is signed).
DATE_ROLES = {
    **dict.fromkeys("sign signs signed signing signature contract close closes closing closed".split(), "signature"),
    **dict.fromkeys("start starts started starting begin begins kickoff kick live go-live launch launches".split(),
                    "start"),
    **dict.fromkeys("renewal renew renews renewing".split(), "renewal"),
    **dict.fromkeys("review reviews reviewed audit".split(), "review"),
    **dict.fromkeys("meeting meets meet call session demo workshop board committee".split(), "meeting"),
    **dict.fromkeys("fiscal spending".split(), "budget"),
    # A thing promised by a date: the day it is due.
    **dict.fromkeys("send sends sent share shares deliver delivers book arrange draft feedback checklist proposal "
                    "deadline due".split(), "delivery"),
    **dict.fromkeys("expires expiry".split(), "expiry"),
}
