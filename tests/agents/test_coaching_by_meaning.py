"""Coaching judged by meaning: what a verdict says is what the cited words say (agents/coaching.py over
evidence/dialogue.py, evidence/coaching_labels.py), on small sales calls and on real chats (CaSiNo, PFG)."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from sellerloop.agents.coaching import coach
from sellerloop.evidence.coaching_labels import (
    CLOSED,
    DATED_STEP,
    NEXT_STEP_CLOSED,
    NO_NAME,
    NO_NEXT_STEP,
    SLIPPING,
    UNTRADED,
    label_holds,
)
from sellerloop.evidence.dialogue import CUSTOMER, SELLER, CallTurns, Turn, asks_who_decides
from sellerloop.importers.transcripts import _casino_text
from sellerloop.playbooks.service import get_playbook

DATA = Path(__file__).resolve().parents[2] / "data"
SAM, CLEO = "Sam Seller", "Cleo Customer"


def _coaching(*lines: str) -> dict[str, list[tuple[str, str]]]:
    """(label, text) per section, from "S: text" (seller Sam) and "C: text" (customer Cleo) lines."""
    turns = [Turn(n, SAM if line[0] == "S" else CLEO, line[3:], SELLER if line[0] == "S" else CUSTOMER,
                  uri=f"transcript:t#u={n}-{n}") for n, line in enumerate(lines, start=1)]
    facts, dropped = coach(CallTurns(turns, "roles", {SAM}), get_playbook())
    assert dropped == []  # every verdict shown holds for the words it cites
    sections: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for fact in facts:
        sections[fact.section].append((str(fact.item_fields["label"]), fact.statement))
    return sections


def _labels(sections, section: str) -> list[str]:
    return [label for label, _ in sections[section]]


OPENING = ("S: Thanks for making time today.", "C: Happy to.", "S: What prompted you to look at a new platform?",
           "C: Our reporting takes two weeks every month and the pricing of our current tool keeps going up.")


def test_proof_about_something_else_does_not_answer_an_objection():
    coaching = _coaching(*OPENING, "C: Honestly, the price is higher than we budgeted.",
                         "S: We're SOC 2 certified and everything is encrypted at rest.")
    assert "Price · not answered" in _labels(coaching, "call_objections")
    assert not any("objection" in label for label in _labels(coaching, "strengths"))


def test_a_question_that_changes_the_subject_puts_the_objection_off():
    coaching = _coaching(*OPENING, "C: To be honest, Zentrix offered us a lower price.",
                         "S: Who else is involved in the evaluation?")
    assert any(label.endswith("put off by the seller") for label in _labels(coaching, "call_objections"))


def test_a_competitor_mention_is_an_objection_to_handle():
    coaching = _coaching(*OPENING, "S: Who else are you looking at?", "C: We're also talking to Corvane.",
                         "S: Great. What does your rollout timeline look like?")
    assert "Competitor · put off by the seller" in _labels(coaching, "call_objections")
    answered = _coaching(*OPENING, "S: Who else are you looking at?", "C: We're also talking to Corvane.",
                         "S: Good to know. Customers who compared us with Corvane chose us for the reporting; "
                         "I can share the comparison.")
    assert "Competitor · answered with proof" in _labels(answered, "call_objections")


def test_a_concession_given_without_anything_asked_back_is_not_a_strength():
    given = _coaching(*OPENING, "C: Honestly, this is too expensive for us.",
                      "S: I understand. We can offer a 15% discount on the first year.")
    assert not any(label.startswith("Price objection") for label in _labels(given, "strengths"))
    assert any(UNTRADED in label for label in _labels(given, "improvements"))
    traded = _coaching(*OPENING, "C: Honestly, this is too expensive for us.",
                       "S: I understand. We can offer a 15% discount on the first year if you sign a two-year "
                       "term.")
    assert "Price objection answered with a concession" in _labels(traded, "strengths")
    assert not any(UNTRADED in label for label in _labels(traded, "improvements"))


def test_a_close_date_slip_is_a_risk_not_a_dated_next_step():
    coaching = _coaching(*OPENING, "S: Are we still on track to sign by June 30?",
                         "C: Legal needs another round, so we'll need to push signature to Q3.",
                         "S: Understood. Let's plan for September 30 then.", "C: Thanks, talk soon.")
    assert any(label.startswith(SLIPPING) for label in _labels(coaching, "improvements"))
    assert DATED_STEP not in _labels(coaching, "strengths")
    assert any(label.startswith(NO_NEXT_STEP) for label in _labels(coaching, "improvements"))


def test_asking_who_signs_and_getting_no_name_becomes_get_the_name():
    coaching = _coaching(*OPENING, "S: Who signs off on an investment like this?",
                         "C: Probably our CFO. I haven't talked to them about it yet.",
                         "S: I'll send the proposal by Friday, June 15.", "C: Sounds good.")
    assert any(label.startswith(NO_NAME) for label in _labels(coaching, "improvements"))
    # The coverage gap does not ask the same question again.
    assert not any(asks_who_decides(text) for _, text in coaching["coverage_gaps"])
    named = _coaching(*OPENING, "S: Who signs off on an investment like this?",
                      "C: That would be Maria Lopez, our CFO.")
    assert not any(label.startswith(NO_NAME) for label in _labels(named, "improvements"))


def test_a_chat_that_ends_on_an_accepted_deal_is_a_close():
    coaching = _coaching("S: Hi! I need the water most, we're hiking in the desert.",
                         "C: I need firewood, it gets cold where we camp.",
                         "S: How about I take 3 water and you take 3 firewood?", "C: Deal, that works for me.",
                         "S: Submit-Deal (I get: Water 3, Firewood 0; you get: Water 0, Firewood 3)",
                         "C: Accept-Deal")
    assert NEXT_STEP_CLOSED in _labels(coaching, "call_stats") and CLOSED in _labels(coaching, "strengths")
    assert not any(label.startswith(NO_NEXT_STEP) for label in _labels(coaching, "improvements"))


def test_a_sales_call_that_ends_on_accepted_terms_is_a_close():
    coaching = _coaching(*OPENING, "S: If you sign the order form this month, we can do 10% off the first year.",
                         "C: Deal. Send it over.")
    assert NEXT_STEP_CLOSED in _labels(coaching, "call_stats")
    assert not any(label.startswith(NO_NEXT_STEP) for label in _labels(coaching, "improvements"))


def test_playbook_questions_come_only_on_a_sales_call():
    chat = _coaching("S: Hello! Are you going camping too?", "C: Yes, with my kids. We need lots of water.",
                     "S: I need firewood most.", "C: Okay, you can have 2 firewood.")
    assert not chat["coverage"] and not chat["coverage_gaps"]
    sales = _coaching(*OPENING, "S: What would a demo for the finance team need to show?",
                      "C: How the contract renewals roll up.")
    assert sales["coverage_gaps"]


# ------------------------------------------------------------------------------------------- labels as claims

OBJECTION = "Cleo Customer: Honestly, the price is higher than we budgeted."


@pytest.mark.parametrize("label, reply, holds", [
    ("Price objection answered with proof", "Sam Seller: Customers like you see payback in 6 months.", True),
    ("Price objection answered with proof", "Sam Seller: Let me show you the next part first.", False),
    ("Price · put off by the seller", "Sam Seller: Hmm, okay. Let's park that for now.", True),
    ("Price · put off by the seller", "Sam Seller: Let's look at a phased rollout to bring the cost down.", False),
    ("Price · answered with a concession, nothing asked back", "Sam Seller: We can offer a 10% discount.", True),
    ("Price · answered with a concession, nothing asked back",
     "Sam Seller: We can offer a 10% discount if you sign this month.", False),
])
def test_an_objection_verdict_holds_only_when_the_cited_reply_bears_it_out(label, reply, holds):
    assert label_holds(label, [OBJECTION, reply]) is holds


def test_no_next_step_agreed_holds_only_when_the_cited_end_holds_no_agreed_term_or_step():
    label = f"{NO_NEXT_STEP} · close with a dated next step: who does what, by when"
    assert label_holds(label, ["Sam Seller: Thanks for your time.", "Cleo Customer: Thanks, bye."])
    assert not label_holds(label, ["Sam Seller: How about 3 water for you and 3 firewood for me?",
                                   "Cleo Customer: Deal, that works for me."])
    assert not label_holds(label, ["Sam Seller: I'll send the proposal by Friday, June 15."])


def test_a_slip_and_a_missing_name_hold_only_when_the_cited_words_say_so():
    slipping = f"{SLIPPING} · a risk, not a next step: ask what moved it and what would bring it back"
    assert label_holds(slipping, ["Cleo Customer: Legal needs another round, so we'll push signature to Q3."])
    assert not label_holds(slipping, ["Cleo Customer: We're on track to sign by June 30."])
    no_name = f"{NO_NAME} · get the name: ask who exactly, and offer to bring them into the next call"
    assert label_holds(no_name, ["Sam Seller: Who signs off on this?", "Cleo Customer: Probably our CFO."])
    assert not label_holds(no_name, ["Sam Seller: Who signs off on this?", "Cleo Customer: Maria Lopez does."])


def test_a_long_turn_is_checked_in_the_sentence_it_is_cited_by():
    assert label_holds("Secured a dated next step", ["Sam Seller:", "I'll send the proposal by Friday, June 15."])
    assert not label_holds("Secured a dated next step", ["Sam Seller:", "We'll see how it goes."])


# ---------------------------------------------------------------------------------------------- real chats

def _casino_calls(count: int) -> list[tuple[list[Turn], bool]]:
    dialogues = json.loads((DATA / "casino" / "casino_train.json").read_text(encoding="utf-8"))[:count]
    calls = []
    for dialogue in dialogues:
        logs = dialogue["chat_logs"]
        opener = logs[0]["id"]
        turns = [Turn(n, log["id"], _casino_text(log), SELLER if log["id"] == opener else CUSTOMER,
                      uri=f"transcript:c#u={n}-{n}") for n, log in enumerate(logs, start=1)]
        calls.append((turns, any(log["text"] == "Accept-Deal" for log in logs)))
    return calls


def _persuasion_calls(count: int) -> list[list[Turn]]:
    rows: dict[str, list[dict]] = defaultdict(list)
    with (DATA / "persuasionforgood" / "annotated_dev.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["B2"]].append(row)
    calls = []
    for dialogue in sorted(rows)[:count]:
        said: list[tuple[str, str, str]] = []
        for row in rows[dialogue]:
            speaker = "Persuader" if row["B4"] == "0" else "Persuadee"
            if said and said[-1][0] == speaker and said[-1][2] == row["Turn"]:
                said[-1] = (speaker, f"{said[-1][1]} {row['Unit']}", row["Turn"])
            else:
                said.append((speaker, row["Unit"], row["Turn"]))
        calls.append([Turn(n, speaker, text, SELLER if speaker == "Persuader" else CUSTOMER,
                           uri=f"transcript:p#u={n}-{n}") for n, (speaker, text, _) in enumerate(said, start=1)])
    return calls


def test_on_real_chats_every_verdict_holds_deals_are_closes_and_no_playbook_questions_are_asked():
    closed = 0
    for turns, accepted in _casino_calls(60):
        facts, dropped = coach(CallTurns(turns, "first speaker", {turns[0].speaker}), get_playbook())
        labels = [str(fact.item_fields["label"]) for fact in facts]
        assert dropped == []
        assert not any(fact.section in ("coverage", "coverage_gaps") for fact in facts)
        if accepted:
            assert not any(label.startswith(NO_NEXT_STEP) for label in labels)
            closed += NEXT_STEP_CLOSED in labels
    assert closed >= 50
    for turns in _persuasion_calls(40):
        facts, dropped = coach(CallTurns(turns, "roles", {"Persuader"}), get_playbook())
        assert dropped == [] and not any(fact.section == "coverage_gaps" for fact in facts)
