"""Wrapping quoted words in <mark>, safely.

A quote comes from the address bar (anyone can write one) and the text it is looked for in comes from the
store (imported email bodies, web pages): both are untrusted. So the text is cut at the quote's positions and
every piece is escaped on its own; the only markup in the result is the <mark> tags written here. The result
is a `Markup`, so Jinja's autoescape leaves it alone and escapes everything else as usual.

A quote is the text of a source (see evidence/sources.py), which is not always the text a page shows: a
transcript line reads "[00:12] Helen Lopez: words" where the page shows the speaker apart from the words, an
activity's header reads "Subject: ...", a field reads "Label: value". So each line of a quote is tried as it
is, then without a "[...]" time stamp, then without a leading "Name: "; the first form found in the text is
marked.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

MIN_FRAGMENT = 2  # a one-letter fragment would mark every "a" in the text
_STAMP = re.compile(r"^\[[^\]\n]{1,20}\]\s*")


def _candidates(line: str) -> list[str]:
    line = line.strip()
    unstamped = _STAMP.sub("", line)
    forms = [line, unstamped]
    head, sep, tail = unstamped.partition(": ")
    if sep and len(head) <= 80:
        forms.append(tail.strip())
    return [f for f in dict.fromkeys(forms) if len(f) >= MIN_FRAGMENT]


def fragments_in(text: str, quotes: Iterable[str]) -> list[str]:
    """The pieces of the quotes that occur verbatim in `text`: per quote line, its first form that does."""
    found = []
    for quote in quotes:
        for line in (quote or "").splitlines():
            form = next((f for f in _candidates(line) if f in text), None)
            if form:
                found.append(form)
    return found


def mark_quotes(text: str | None, quotes: Iterable[str] | None = ()) -> Markup:
    """`text` escaped, with each occurrence of the quoted words wrapped in <mark>."""
    if not text:
        return Markup("")
    ranges = []
    for fragment in fragments_in(text, quotes or ()):
        start = text.find(fragment)
        while start != -1:
            ranges.append((start, start + len(fragment)))
            start = text.find(fragment, start + len(fragment))
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, pos = [], 0
    for start, end in merged:
        pieces += [escape(text[pos:start]), Markup("<mark>"), escape(text[start:end]), Markup("</mark>")]
        pos = end
    pieces.append(escape(text[pos:]))
    return Markup("").join(pieces)


def has_quote(text: str | None, quotes: Iterable[str] | None) -> bool:
    return bool(text) and bool(fragments_in(text, quotes or ()))
