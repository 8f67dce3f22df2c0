"""The coaching detectors (evidence/dialogue.py) on hand-written sales lines and on CaSiNo's labels."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from sellerloop.evidence.dialogue import (
    CUSTOMER,
    SELLER,
    Turn,
    acknowledges,
    elicits_preference,
    is_question,
    longest_monologue,
    need_kinds,
    need_statements,
    next_steps,
    objection_handling,
    preference_questions,
    question_kind,
    talk_ratio,
    turns_from_texts,
)

ROOT = Path(__file__).resolve().parents[2]
CASINO = ROOT / "data" / "casino" / "casino_train.json"


def _call(*lines: str) -> list[Turn]:
    """Turns from "S: text" (seller Sam) and "C: text" (customer Cleo) lines."""
    speakers = {"S": "Sam Seller", "C": "Cleo Customer"}
    return turns_from_texts([(speakers[line[0]], line[3:]) for line in lines], {"Sam Seller"})


# ------------------------------------------------------------------------------------------------ questions

@pytest.mark.parametrize("sentence", [
    "What does your approval process look like?",
    "Tell me about your current reporting setup.",
    "Walk me through how the month-end close works today",
    "Do you have a budget set aside for this",
    "I'd love to hear how you handle renewals.",
    "So, who else is involved in the decision",
    "Is that still realistic? 🙂",
])
def test_it_finds_questions_with_or_without_a_question_mark(sentence):
    assert is_question(sentence)


@pytest.mark.parametrize("sentence", [
    "What we need is better reporting.",
    "How about I take two of the firewood and you take the water.",
    "When I was at Acme we used spreadsheets.",
    "So do I.",
    "Let me know if you have any questions.",
    "Thanks, that helps.",
])
def test_statements_and_proposals_are_not_questions(sentence):
    assert not is_question(sentence)


def test_open_questions_cannot_be_answered_yes_or_no():
    assert question_kind("How do you measure success today?") == "open"
    assert question_kind("Tell me about the last outage.") == "open"
    assert question_kind("Is the budget approved?") == "closed"
    assert question_kind("How about Tuesday?") == "closed"
    assert question_kind("We signed last week.") is None


# ----------------------------------------------------------------------------------- preference elicitation

@pytest.mark.parametrize("sentence", [
    "What matters most to you in a new vendor?",
    "Why do you need the extra firewood?",
    "Which of these is the top priority for your team?",
    "What would success look like for you in six months?",
])
def test_it_finds_questions_about_what_the_other_side_wants(sentence):
    assert elicits_preference(sentence)


@pytest.mark.parametrize("sentence", [
    "Do you want me to send the deck?",
    "How about you take two and I take one?",
    "Are you sure you need all three?",
    "Would you be interested in a pilot?",
    "What time works on Thursday?",
    "Water is important for me, how about you get three food and I get the water?",
])
def test_offers_proposals_and_challenges_do_not_ask_what_they_want(sentence):
    assert not elicits_preference(sentence)


def test_and_you_asks_their_preference_only_after_stating_ones_own():
    assert preference_questions("I need the water most. How about you?") == ["How about you?"]
    assert preference_questions("Firewood is important to me, what about you?")
    assert preference_questions("I'm doing well, thanks. How about you?") == []


# ------------------------------------------------------------------------------------------ need statements

@pytest.mark.parametrize("sentence, kinds", [
    ("We really need the reports before the audit.", {"self"}),
    ("Security is essential for us.", {"self"}),
    ("Our main priority is getting the regions on one system.", {"self"}),
    ("My team needs a way to see usage by region.", {"other"}),
    ("I need three of the firewood because it gets cold at night.", {"self"}),
    ("We're going to need more water to stay hydrated.", {"self"}),
])
def test_it_finds_need_statements_and_whose_need_it_is(sentence, kinds):
    assert need_kinds(sentence) == kinds


@pytest.mark.parametrize("sentence", [
    "We don't need more seats.",
    "If we need more, we'll call you.",
    "Do you need water?",
    "I need to check with my boss first.",
    "I need three of the firewood.",  # a position, not the need behind it
    "I'll have all the water I need.",
])
def test_negations_hypotheticals_questions_and_bare_positions_state_no_need(sentence):
    assert need_kinds(sentence) == set()


def test_a_need_in_a_turn_that_names_the_speakers_people_is_theirs_too():
    found = need_statements("I really need the food. My kids eat a lot.")
    assert found == [("I really need the food.", {"self", "other"})]


# ------------------------------------------------------------------------------------------ acknowledgement

@pytest.mark.parametrize("sentence", ["I completely understand.", "That makes sense.", "Sorry to hear that!",
                                      "Oh no, that's awful.", "That's a fair concern."])
def test_it_finds_acknowledgements(sentence):
    assert acknowledges(sentence)


@pytest.mark.parametrize("sentence", ["That sounds fair, deal.", "Sorry, that won't work for me.",
                                      "As I understand it, I get two waters.", "Great, thanks."])
def test_judging_an_offer_or_refusing_is_not_acknowledging(sentence):
    assert not acknowledges(sentence)


# ------------------------------------------------------------------------------------- talk and monologues

def test_talk_ratio_is_by_time_when_every_turn_is_timed_else_by_words():
    timed = [Turn(1, "Sam", "one two three", SELLER, 0.0, 30.0), Turn(2, "Cleo", "one", CUSTOMER, 30.0, 40.0)]
    ratio = talk_ratio(timed)
    assert ratio.by == "time" and ratio.share(SELLER) == pytest.approx(0.75)
    untimed = [Turn(1, "Sam", "one two three", SELLER), Turn(2, "Cleo", "one", CUSTOMER, 30.0, None)]
    ratio = talk_ratio(untimed)
    assert ratio.by == "words" and ratio.share(SELLER) == pytest.approx(0.75)
    assert ratio.turns == {SELLER: 1, CUSTOMER: 1}


def test_the_longest_monologue_is_a_run_of_consecutive_turns_by_one_speaker():
    turns = [Turn(1, "Sam", "Hello there.", SELLER, 0, 2), Turn(2, "Cleo", "Hi.", CUSTOMER, 2, 3),
             Turn(3, "Sam", "Let me explain the platform.", SELLER, 3, 20),
             Turn(4, "Sam", "It has three parts.", SELLER, 20, 45),
             Turn(5, "Cleo", "Okay.", CUSTOMER, 45, 46)]
    run = longest_monologue(turns)
    assert [t.seq for t in run.turns] == [3, 4] and run.seconds == 42
    assert longest_monologue(turns, side=CUSTOMER).turns[0].seq in (2, 5)


# ------------------------------------------------------------------------------------- objection handling

def test_an_objection_answered_with_proof_counts_as_handled():
    [h] = objection_handling(_call(
        "C: Our security team will need a full review, and that usually takes weeks.",
        "S: Completely understand. We're SOC 2 certified and I can send the questionnaire today."))
    assert (h.category, h.how, h.handled) == ("trust", "evidence", True)
    assert "acknowledged" in h.moves


def test_a_concession_and_a_question_about_the_concern_are_handling():
    [price] = objection_handling(_call("C: Honestly, this is too expensive for us.",
                                       "S: Let's look at a phased rollout to bring the first year down."))
    assert price.how == "concession"
    [timing] = objection_handling(_call("C: Timing is tough, the team is stretched.",
                                        "S: What's behind that, is it the reorganisation?"))
    assert timing.how == "question"


def test_parking_an_objection_or_moving_on_to_the_next_question_is_not_handling():
    [parked] = objection_handling(_call("C: My worry is the integration effort.",
                                        "S: Okay, noted. Let's park that for now."))
    assert (parked.how, parked.handled) == ("deferred", False)
    [moved_on] = objection_handling(_call("C: To be honest, Zentrix offered us a lower price.",
                                          "S: Who else is involved in the decision?"))
    assert (moved_on.how, moved_on.handled) == ("deferred", False)  # a question that changes the subject
    [silence] = objection_handling(_call("S: Any concerns?", "C: We already use Zentrix for this."))
    assert silence.how == "ignored" and silence.reply is None


def test_naming_a_topic_in_answer_to_a_question_is_not_an_objection():
    turns = _call("S: What does your approval process look like?",
                  "C: Technical evaluation first, then a security review, then procurement.",
                  "S: Who signs at the end?")
    assert objection_handling(turns) == []


# ------------------------------------------------------------------------------------------------ next steps

def test_a_dated_commitment_at_the_end_is_a_secured_next_step():
    turns = _call("S: Thanks for joining.", "C: Happy to.", "S: What is the problem?",
                  "C: Reporting is slow.",
                  "S: Got it.", "C: If anything changes, I'll tell you.",
                  "S: Great. I'll send the proposal by Friday, March 9.", "C: Thanks, bye.")
    [step] = next_steps(turns)
    assert step.dated and step.sentence == "I'll send the proposal by Friday, March 9."


def test_a_booked_meeting_without_a_date_counts_but_undated_and_early_promises_do_not():
    early = _call("S: I'll send the deck tomorrow.", *["C: Okay."] * 8, "S: Thanks, bye.")
    assert next_steps(early) == []
    meeting = _call("S: Hi.", "C: Hi.", "S: Let's book a follow-up call with your architect.", "C: Sure.")
    [step] = next_steps(meeting)
    assert not step.dated
    assert next_steps(_call("S: Hi.", "C: Hi.", "S: I'll send you more information.", "C: Thanks.")) == []


# ----------------------------------------------------------------------------------- CaSiNo, measured

def _evaluation_module():
    spec = importlib.util.spec_from_file_location("evaluate_casino", ROOT / "bench" / "evaluate_casino.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


# Floors a little under what docs/EVALUATION.md reports, so a regression in any detector fails here.
FLOORS = {  # detector: (precision, recall)
    "preference elicitation": (0.75, 0.70),
    "self-need statement": (0.55, 0.40),
    "other-need statement": (0.85, 0.25),
    "need statement (either)": (0.65, 0.42),
    "acknowledgement": (0.65, 0.33),
}


@pytest.mark.skipif(not CASINO.exists(), reason="data/casino/casino_train.json is not in this checkout")
def test_the_detectors_keep_their_measured_precision_and_recall_on_casino():
    result = _evaluation_module().evaluate(CASINO)
    assert (result.dialogues, result.annotated_dialogues, result.utterances) == (900, 347, 4047)
    for name, (precision, recall) in FLOORS.items():
        score = result.scores[name]
        assert score.precision >= precision and score.recall >= recall, score.as_dict()
    assert result.question_recall_on_elicit_pref >= 0.95
