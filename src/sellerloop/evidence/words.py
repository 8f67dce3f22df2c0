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
