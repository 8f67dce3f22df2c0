"""The verdicts coaching writes in an item's label, and the check that each holds for the words the item cites.

A label such as "answered with proof" or "No next step agreed" is a claim a seller acts on, as much as the quote
beside it. Coaching (agents/coaching.py) writes its verdicts from the constants here and shows an item only when
`label_holds` finds its verdict in the quotes the item cites: "answered with proof" only when the cited reply
holds proof about the objection, "No next step agreed" only when the cited end of the call holds no agreed term
and no step. The check reads nothing but the label and the quotes, so the verifier can run it on any coaching
item: `label_holds(item.label, [source.quote for source in item.sources])`.

A label without a verdict here (a talk ratio, a count of questions: arithmetic over the call) holds by itself.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from sellerloop.evidence.commitments import find_commitments
from sellerloop.evidence.conversation import Statement
from sellerloop.evidence.dialogue import (
    asks_who_decides,
    names_someone,
    need_statements,
    preference_questions,
    reply_moves,
    slips,
    step_sentences,
    trades,
)

# How an objection was met, by the strongest move in the seller's reply (dialogue.HANDLING_ORDER).
HOW_HANDLED = {"evidence": "answered with proof", "concession": "answered with a concession",
               "question": "answered with a question", "answer": "answered",
               "acknowledged": "acknowledged, not answered", "deferred": "put off by the seller",
               "ignored": "not answered"}
UNTRADED = "nothing asked back"  # after "answered with a concession": a discount given away
NEXT_STEP_DATED = "Next step · secured, with a date"
NEXT_STEP_UNDATED = "Next step · agreed, but without a date"
NEXT_STEP_NONE = "Next step · none agreed at the end of the call"
NEXT_STEP_CLOSED = "Next step · closed on agreed terms"
NO_NEXT_STEP = "No next step agreed"
UNDATED_STEP = "Next step without a date"
DATED_STEP = "Secured a dated next step"
CLOSED = "Closed on agreed terms"
SLIPPING = "Close date slipping"
NO_NAME = "Asked who decides, got no name"
ASKED_WANTS = "Asked what the customer wants or needs"
WANTS_QUESTIONS = "Questions about what the customer wants or needs"
UNASKED_NEED = "No question about what matters most to the customer"


def cited(quotes: Sequence[str]) -> list[tuple[str, str]]:
    """(speaker, words) for each turn the quotes cite: "Speaker: text" whole, or a long turn as "Speaker:"
    followed by its one sentence."""
    found: list[tuple[str, str]] = []
    pending: str | None = None
    for quote in quotes:
        if pending is not None:
            found.append((pending, quote))
            pending = None
        elif quote.endswith(":") and ": " not in quote:
            pending = quote[:-1]
        else:
            speaker, _, text = quote.partition(": ")
            found.append((speaker, text) if text else ("", quote))
    return found


def label_holds(label: str, quotes: Sequence[str]) -> bool:
    """Does the verdict in `label` hold for the cited words (see the module's docstring)?"""
    turns = cited(quotes)
    texts = [text for _, text in turns]
    how = _objection_verdict(label)
    if how is not None:
        return _objection_holds(label, how, texts)
    if label.startswith((NEXT_STEP_CLOSED, CLOSED)):
        return _agreed(turns)
    steps = [kind for _, _, kind in step_sentences(texts)]
    if label.startswith((NEXT_STEP_DATED, DATED_STEP)):
        return "dated" in steps
    if label.startswith((NEXT_STEP_UNDATED, UNDATED_STEP)):
        return bool(steps)
    if label.startswith((NEXT_STEP_NONE, NO_NEXT_STEP)):
        return not steps and not _agreed(turns)
    if label.startswith(SLIPPING):
        return any(slips(text) for text in texts)
    if label.startswith(NO_NAME):
        return bool(texts) and asks_who_decides(texts[0]) and not any(names_someone(t) for t in texts[1:])
    if label.startswith((ASKED_WANTS, WANTS_QUESTIONS)):
        return bool(texts) and all(preference_questions(text) for text in texts)
    if label.startswith(UNASKED_NEED):
        return any(need_statements(text) for text in texts)
    return True


def _objection_verdict(label: str) -> str | None:
    """How an objection label says it was met: "Price objection put off by the seller · ...", "Price · answered"."""
    for key, words in sorted(HOW_HANDLED.items(), key=lambda item: -len(item[1])):
        if f" objection {words}" in label or f" · {words}" in label:
            return key
    return None


def _objection_holds(label: str, how: str, texts: list[str]) -> bool:
    """The objection is the first cited turn, the seller's reply the second (none: "not answered")."""
    if not texts:
        return False
    if len(texts) < 2:
        return how == "ignored"
    # The category as the label shows it, by its first word ("Security review" is security, "Price/budget"
    # price); dialogue.addresses knows the categories and their other names.
    category = re.split(r"[^a-z_]+", label.casefold(), maxsplit=1)[0]
    moves = reply_moves(texts[1], texts[0], category)
    if how == "ignored":
        return not moves or moves[0] == "ignored"
    if not moves or moves[0] != how:
        return False
    return not (how == "concession" and UNTRADED in label and trades(texts[1]))


def _agreed(turns: list[tuple[str, str]]) -> bool:
    statements = [Statement(f"cited#{n}", speaker, text, text, None, False, "transcript")
                  for n, (speaker, text) in enumerate(turns)]
    return any(c.settles_terms for c in find_commitments(statements))
