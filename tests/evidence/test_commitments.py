"""Commitments (evidence/commitments.py): an offer binds nobody until the other side agrees; an agreed term does;
plans and circumstances told in the future tense are no commitments."""
from __future__ import annotations

import pytest

from sellerloop.evidence.commitments import AGREED, OFFER, PROMISE, accepts, find_commitments
from sellerloop.evidence.conversation import Statement


def _chat(*lines: str) -> list[Statement]:
    """Statements of one conversation from "S: text" (seller Sam) and "C: text" (customer Cleo) lines."""
    speakers = {"S": ("Sam Seller", False), "C": ("Cleo Customer", True)}
    said = []
    for n, line in enumerate(lines, start=1):
        speaker, customer = speakers[line[0]]
        said.append(Statement(f"transcript:t#u={n}-{n}", speaker, line[3:], f"{speaker}: {line[3:]}", None,
                              customer, "transcript"))
    return said


def test_an_opening_offer_the_other_side_rejects_is_an_offer_not_a_commitment():
    chat = _chat("C: I will give you 3 food if you give me 3 water.",
                 "S: No, I really need the water. How about I give you 2 food?")
    assert find_commitments(chat) == []
    [offer, counter] = find_commitments(chat, offers=True)
    assert (offer.kind, offer.who, offer.amount) == (OFFER, "Cleo Customer", "3 food")
    assert counter.kind == OFFER and not counter.binding


def test_an_offer_the_other_side_accepts_is_an_agreed_term():
    chat = _chat("S: We can do 10% off if you sign by Friday.", "C: Deal, that works for us.")
    [agreed] = find_commitments(chat)
    assert (agreed.kind, agreed.who, agreed.amount) == (AGREED, "Sam Seller", "10%")
    assert agreed.accepted_by is chat[1] and agreed.binding


def test_a_yes_to_an_ask_is_an_agreed_term_of_what_was_asked():
    chat = _chat("S: Would you be willing to donate $1 to Save the Children?", "C: Sure, of course.")
    [agreed] = find_commitments(chat)
    assert (agreed.kind, agreed.who, agreed.by_customer) == (AGREED, "Cleo Customer", True)
    assert agreed.what == "donate $1 to Save the Children" and agreed.amount == "$1"
    assert agreed.sentence == "Sure, of course."


def test_a_yes_that_names_its_own_amount_agrees_to_that_amount():
    chat = _chat("S: How much would you like to donate today?", "C: Let's do 50 cents.")
    [agreed] = find_commitments(chat)
    assert (agreed.kind, agreed.amount) == (AGREED, "50 cents")


def test_an_answer_that_is_no_yes_agrees_to_nothing():
    chat = _chat("S: Would you like to donate today?", "C: Not today, sorry. I will look at the website later.")
    assert [c.kind for c in find_commitments(chat)] == [PROMISE]  # looking at the website: a promise, no agreement


@pytest.mark.parametrize("text", [
    "I will have my husband and my dog with me.",
    "We will use the water to cook.",
    "I'm going to the High Desert next week.",
    "I will donate nothing to this.",
    "I would like to donate $0.",
])
def test_plans_circumstances_and_refusals_are_no_commitments(text):
    assert find_commitments(_chat(f"C: {text}"), offers=True) == []


def test_a_promise_needs_nobodys_yes():
    [promise] = find_commitments(_chat("S: I'll send the security questionnaire by Friday."))
    assert promise.kind == PROMISE and promise.what == "send the security questionnaire"
    [yes] = find_commitments(_chat("C: Yes I will donate."))
    assert yes.kind == PROMISE
    [deadline] = find_commitments(_chat("S: I'll send the order form no later than Friday."))
    assert deadline.when == "no later than Friday"


def test_a_submitted_deal_is_agreed_when_accepted_and_stays_an_offer_when_rejected():
    accepted = _chat("C: Submit-Deal (I get: Water 3, Food 0; you get: Water 0, Food 3)", "S: Accept-Deal")
    [deal] = find_commitments(accepted)
    assert (deal.kind, deal.amount) == (AGREED, "I get: Water 3, Food 0; you get: Water 0, Food 3")
    rejected = _chat("C: Submit-Deal (I get: Water 3; you get: Water 0)", "S: Reject-Deal")
    assert find_commitments(rejected) == [] and [c.kind for c in find_commitments(rejected, offers=True)] == [OFFER]


@pytest.mark.parametrize("reply", ["Deal!", "Sounds good to me.", "OK, that works for me. But I'd like a lot of "
                                   "firewood.", "Accept-Deal", "Sure, thanks.", "hmm yes friend, so i accept the deal"])
def test_words_that_accept_terms(reply):
    assert accepts(reply)


@pytest.mark.parametrize("reply", ["No, that won't work.", "Ok, how about I get 2 water instead?", "Reject-Deal",
                                   "Sure, but only if you give me the firewood.", "Thanks. Can I get one more food?"])
def test_a_refusal_or_a_counter_offer_does_not_accept(reply):
    assert not accepts(reply)
