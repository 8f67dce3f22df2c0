"""The verifier checks what a claim says about its facts, not only that the facts are there (issue 16): negation,
antonyms, number words and units, who said it, argument order, the role of each date, the record's own names;
and `sellerloop eval claims` measures it on the paraphrase set in data/claims."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sellerloop.errors import BadInput
from sellerloop.verifier.commands import claims_command
from sellerloop.verifier.evaluation import REPOSITORY_DATA, evaluate, load_items
from sellerloop.verifier.facts import claim_facts, quote_index
from sellerloop.verifier.meaning import speaker_of
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claim

URI = "transcript:tr-1"


def check(claim: str, quote: str, **options):
    return verify_claim(claim=Claim(text=claim, sources=[URI]), quotes={URI: quote}, **options)


def supported(claim: str, quote: str, **options) -> bool:
    return check(claim, quote, **options).supported


# --- polarity --------------------------------------------------------------------------------------------------

def test_a_claim_that_negates_its_quote_is_blocked():
    quote = "Procurement cannot sign before August 2."
    verdict = check("Procurement can sign before August 2.", quote)
    assert not verdict.supported and "affirms what the quote negates" in verdict.why
    assert supported("Procurement cannot sign before August 2.", quote)


def test_a_claim_that_denies_what_its_quote_affirms_is_blocked():
    quote = "[01:41] Mateo Costa: Budget is the real problem. Finance has frozen new spend until the next quarter."
    assert not supported("Finance has not frozen new spend until the next quarter.", quote)
    assert supported("Mateo Costa said finance has frozen new spend until the next quarter.", quote)


@pytest.mark.parametrize("claim, quote", [
    ("Finance has approved new spend.", "Finance has frozen new spend."),
    ("The deal was won last week.", "The deal was lost last week."),
    ("Legal accepted the redlines.", "Legal declined the redlines."),
    ("The quote is well below what they have this year.", "The quote is well above what we have this year."),
    ("The team disliked the demo.", "The team liked the demo."),
    ("Goodsilron is closing a regional office in Lisbon.", "Goodsilron is opening a new regional office in Lisbon."),
    ("The project is ahead of plan.", "The project is behind plan."),
])
def test_a_claim_using_the_antonym_of_its_quote_is_blocked(claim, quote):
    verdict = check(claim, quote)
    assert not verdict.supported and "where the quote says" in verdict.why, verdict.why


def test_two_flips_that_cancel_keep_the_meaning():
    quote = "Security won't finish their review before April 9, 2018, so let's plan the signature for that date."
    assert supported("Security will finish their review after April 9, 2018.", quote)
    assert not supported("Security will finish their review before April 9, 2018.", quote)


def test_a_negation_written_as_a_prefix_is_a_negation():
    quote = "[02:26] Sara Bianchi: I'm not sure this is a priority before the end of the quarter."
    assert supported("Sara Bianchi is unsure this is a priority before the end of the quarter.", quote)
    assert not supported("Sara Bianchi is sure this is a priority before the end of the quarter.", quote)


def test_a_negation_is_held_against_the_part_of_the_quote_it_is_about():
    quote = "Called Sofia Wong to check on the legal review. Legal has the contract; no comments yet."
    assert supported("Legal has the contract and no comments yet.", quote)
    assert not supported("Legal has the contract and has comments.", quote)


# --- numbers and units -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, value", [
    ("thirty", "30"), ("a dozen", "12"), ("two hundred", "200"), ("twenty-five", "25"),
    ("one hundred and twenty", "120"), ("1.5k", "1500"),
])
def test_a_number_in_words_is_the_number(written, value):
    (fact,) = claim_facts(f"We need {written} licences.")
    assert f"n:{value}:seat" in fact.keys
    assert f"n:{value}" in quote_index(f"We need {written} more").keys


def test_thirty_is_not_ten():
    quote = "[02:39] Arjun Schmidt: Ease of use, and a go-live in under ninety days."
    assert supported("Arjun Schmidt wants a go-live in under 90 days.", quote)
    verdict = check("Arjun Schmidt wants a go-live in under thirty days.", quote)
    assert verdict.why == "number thirty not in any cited quote"


@pytest.mark.parametrize("claim", ["They need 30 weeks.", "They need thirty weeks.", "They need 30 seats."])
def test_a_number_must_count_the_unit_its_quote_counts(claim):
    assert not supported(claim, "They need 30 days.")


def test_units_that_are_one_thing_match():
    assert supported("They asked for 25 licences.", "They asked for 25 seats.")
    assert supported("About 226 users are affected.", "About 226 people are affected.")
    assert supported("Acme has 2822 employees.", "Name: Acme\nEmployees: 2822")  # a field's label is its unit


def test_months_are_not_weeks_even_without_a_number():
    quote = "[02:04] Kai Silva: Connecting this to our CRM sounds like months of work."
    verdict = check("Kai Silva said connecting this to their CRM sounds like weeks of work.", quote)
    assert not verdict.supported and "speaks of week where the quote speaks of month" in verdict.why


def test_an_amount_in_words_is_an_amount_and_a_percentage_in_words_a_percentage():
    assert supported("Anything over 25,000 dollars goes to Zara.", "Anything over $25,000 goes to Zara.")
    assert supported("Revenue grew thirty percent.", "Revenue grew 30% this year.")
    assert not supported("Revenue grew thirteen percent.", "Revenue grew 30% this year.")


# --- who said it -------------------------------------------------------------------------------------------------

TRANSCRIPT = ("[00:02] Kary Hendrixson: Hi Mateo, thanks for joining.\n"
              "[01:41] Mateo Costa: Budget is the real problem. Finance has frozen new spend until the next quarter.\n"
              "[04:31] Mateo Costa: I'll set up a meeting with our CFO by Tuesday, October 31.")


def test_a_claim_putting_the_quote_in_someone_elses_mouth_is_blocked():
    verdict = check("Kary Hendrixson said finance has frozen new spend until the next quarter.", TRANSCRIPT)
    assert not verdict.supported and "what Mateo Costa said" in verdict.why
    assert supported("Mateo Costa said finance has frozen new spend until the next quarter.", TRANSCRIPT)


def test_a_first_person_promise_belongs_to_its_speaker():
    assert supported("Mateo Costa will set up a meeting with the CFO by October 31.", TRANSCRIPT)
    assert not supported("Kary Hendrixson will set up a meeting with the CFO by October 31.", TRANSCRIPT)


def test_an_agents_quotation_must_name_who_said_it():
    line = "Finance has frozen new spend until the next quarter."
    assert supported(f'Mateo Costa: "{line}"', TRANSCRIPT)
    assert not supported(f'Kary Hendrixson: "{line}"', TRANSCRIPT)


def test_an_emails_sender_is_who_wrote_it():
    email = "Email on 2017-12-06 13:45\nFrom: Yasmin Hartley <y@codehow.example>\n\nI'll send the quote today."
    assert speaker_of(email, "I'll send the quote today.") == "Yasmin Hartley"
    assert not supported("Moses Frase will send the quote today.",
                         email.replace("\n\n", "\nTo: Moses Frase <m@maventech.example>\n\n"))


def test_a_quoted_line_is_checked_against_its_speaker_read_off_the_source():
    quote = "Finance has frozen new spend until the next quarter."
    speakers = {URI: speaker_of(TRANSCRIPT, quote)}
    assert speakers == {URI: "Mateo Costa"}
    assert supported("Mateo Costa said finance has frozen new spend until the next quarter.", quote,
                     speakers=speakers)  # the speaker's name is supported by the source's label
    assert not supported("Kary Hendrixson said finance has frozen new spend.", quote, speakers=speakers)


def test_a_claim_putting_another_person_in_the_quotes_place_is_blocked():
    quote = "[01:46] Camille Ito: Final approval sits with Javier Rossi. Javier wants to see a business case first."
    assert not supported("Final approval sits with Camille Ito.", quote)
    assert supported("Final approval sits with Javier Rossi.", quote)


# --- argument order ---------------------------------------------------------------------------------------------

ACQUISITION = "Bluth Company has agreed to acquire Northwater Foods, a technology company with about 80 employees."


def test_a_claim_swapping_who_acquires_whom_is_blocked():
    verdict = check("Northwater Foods has agreed to acquire Bluth Company.", ACQUISITION)
    assert not verdict.supported and "swaps who does what to whom" in verdict.why


def test_the_passive_keeps_who_acquires_whom():
    assert supported("Northwater Foods will be acquired by Bluth Company.", ACQUISITION)
    assert not supported("Bluth Company will be acquired by Northwater Foods.", ACQUISITION)


def test_a_claim_reversing_a_comparison_or_a_sequence_is_blocked():
    assert not supported("Karen prefers calls over email.", "Reminder: Karen prefers email over calls.")
    steps = "[00:46] Camille Ito: Technical evaluation first, then a security review, then procurement."
    assert supported("The security review comes before procurement.", steps)
    assert not supported("The security review comes after procurement.", steps)
    assert not supported("Procurement comes first, then the technical evaluation.", steps)


def test_a_claim_moving_where_someone_comes_from_is_blocked():
    quote = "Sunnamplex has named Helen Haddad as its new CIO. Helen Haddad joins from Brightwater Foods."
    assert not supported("Helen Haddad joins Brightwater Foods from Sunnamplex.", quote)


# --- the role of each date ----------------------------------------------------------------------------------------

def test_a_date_keeps_the_role_its_quote_gives_it():
    quote = "Renewal on 1 March, pilot starts 12 Feb."
    verdict = check("The pilot starts 1 March.", quote)
    assert not verdict.supported and "gives a renewal date as the start date" in verdict.why
    assert supported("The pilot starts 12 Feb.", quote)


def test_a_date_named_again_later_in_the_turn_takes_that_role_too():
    quote = ("[02:52] Alejandro Whitaker: Our budget for this sits in the new fiscal year, which opens for spending on "
             "May 14, 2018. We'd have to close then.")
    assert supported("They would have to close on May 14, 2018.", quote)
    assert not supported("The security review is on May 14, 2018.", quote)


def test_a_claim_dating_a_statement_with_another_of_the_quotes_dates_is_blocked():
    quote = ("A heads-up on the timeline: the board only approves spend of this size at its meeting on April 9, 2018. "
             "Please plan around that rather than March 26, 2018.")
    assert not supported("The board meeting is on March 26, 2018.", quote)
    assert supported("The board meeting is on April 9, 2018.", quote)


# --- the record's own names --------------------------------------------------------------------------------------

def test_the_records_own_name_satisfies_the_name_check():
    quote = "Orders are missing from the nightly sync about once a week."
    assert supported("Sonron's orders go missing from the nightly sync about once a week.", quote,
                     record_names=["Sonron"])
    assert not supported("Sonron's orders go missing from the nightly sync about once a week.", quote)
    verdict = check("Cancity's orders go missing from the nightly sync.", quote, record_names=["Sonron"])
    assert verdict.why == "name Cancity's not in any cited quote"


def test_the_records_name_joined_to_a_quoted_name_is_satisfied_by_both():
    quote = "[02:26] Sara Bianchi: I'm not sure this is a priority before the end of the quarter."
    names = ["Cancity", "Cancity — MG Special"]
    assert supported("Sara Bianchi of Cancity is not sure this is a priority.", quote, record_names=names)
    assert not supported("Dana Smith of Cancity is not sure this is a priority.", quote, record_names=names)


def test_agents_pass_the_names_of_the_record_they_run_on():
    from sellerloop.agents.service import _names_of
    from sellerloop.records.models import Account, Opportunity

    account = Account(id="cancity", name="Cancity")
    opportunity = Opportunity(id="o-1", name="Cancity — MG Special", account=account)
    assert _names_of({"opportunity": opportunity}) == ("Cancity", "Cancity — MG Special")
    assert _names_of({"account": account}) == ("Cancity",)


# --- the paraphrase set and `sellerloop eval claims` --------------------------------------------------------------

def test_the_paraphrase_set_has_two_labelled_halves_over_different_demo_sources():
    items, sources = load_items(REPOSITORY_DATA)
    counts = {(half, label): sum(i.half == half and i.label == label for i in items)
              for half in ("dev", "held-out") for label in ("faithful", "falsified")}
    assert sum(n for (_, label), n in counts.items() if label == "faithful") >= 100
    assert sum(n for (_, label), n in counts.items() if label == "falsified") >= 100
    assert min(counts.values()) >= 50
    by_half = {half: {i.source for i in items if i.half == half} for half in ("dev", "held-out")}
    assert not by_half["dev"] & by_half["held-out"]
    assert all(i.line in sources[i.source] for i in items)  # each rests on a verbatim line of its source
    assert all(i.kind for i in items)


# Measured on 2026-12-05 (docs/EVALUATION.md); pinned just under, so that a regression fails. The held-out half
# was measured once, after the rules were tuned on the dev half.
PINNED = {  # (half, mode): (falsified blocked at least, faithful blocked at most)
    ("dev", "whole source"): (0.97, 0.01),
    ("dev", "quoted line"): (0.97, 0.01),
    ("held-out", "whole source"): (0.87, 0.06),
    ("held-out", "quoted line"): (0.91, 0.06),
}


def test_the_measured_rates_do_not_regress():
    rates = {(r.half, r.mode): r for r in evaluate(data=REPOSITORY_DATA)}
    for key, (falsified_at_least, faithful_at_most) in PINNED.items():
        assert rates[key].falsified_blocked_share >= falsified_at_least, (key, rates[key].misses)
        assert rates[key].faithful_blocked_share <= faithful_at_most, (key, rates[key].misses)


def test_eval_claims_prints_the_rates_per_half_and_kind(capsys):
    claims_command(data=None, as_json=False, misses=False)
    out = capsys.readouterr().out
    assert "held-out  whole source  falsifications blocked" in out
    assert "falsified: negation" in out and "faithful: paraphrase" in out
    claims_command(data=None, as_json=True, misses=False)
    rates = json.loads(capsys.readouterr().out)
    assert {(r["half"], r["mode"]) for r in rates} == set(PINNED)


def test_eval_claims_without_the_set_is_bad_input(tmp_path: Path):
    with pytest.raises(BadInput, match="no claims/paraphrases.jsonl under"):
        evaluate(data=tmp_path)


def test_a_field_label_before_a_colon_is_no_speaker():
    assert supported("Stage: Engaging. Close date: 2018-05-21.", "Stage: Engaging\nClose date: 2018-05-21")
