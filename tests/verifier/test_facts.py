"""Fact extraction and normalisation: the same number, amount, date, name or title written differently matches."""
from __future__ import annotations

import pytest

from sellerloop.verifier.facts import claim_facts, found_in, quote_index


def facts(text: str) -> list[tuple[str, str]]:
    return [(fact.kind, fact.text) for fact in claim_facts(text)]


def supports(quote: str, claim: str) -> bool:
    """Every fact of `claim` is found in `quote`."""
    index = quote_index(quote)
    return all(found_in(fact, index) for fact in claim_facts(claim))


def test_it_finds_each_kind_of_fact_in_order():
    text = "Dana Whitfield, CFO of Cancity, approved $12,000 (15% of budget) for 40 seats on December 8, 2017."
    assert facts(text) == [("name", "Dana Whitfield"), ("title", "CFO"), ("name", "Cancity"),
                           ("amount", "$12,000"), ("percentage", "15%"), ("number", "40"),
                           ("date", "December 8, 2017")]


@pytest.mark.parametrize("claim, quote", [
    ("1,000 seats", "1000 seats"),
    ("1000 seats", "1k seats"),
    ("$1.2M", "1,200,000"),
    ("$1.2M", "1.2 million"),
    ("1.2 million dollars", "$1,200,000"),
    ("$12k", "amount: 12000"),
    ("€5,000", "5000 euros"),
    ("15%", "15 percent"),
    ("15 per cent", "15%"),
    ("$2bn", "2 billion"),
])
def test_numbers_written_differently_match(claim, quote):
    assert supports(quote, claim)


@pytest.mark.parametrize("claim, quote", [
    ("1,250", "1,200"),
    ("$1.2M", "1.2 thousand"),
    ("15%", "15 seats"),  # a percentage needs a percentage
    ("$12,000", "€12,000"),  # an amount in another currency is another amount
    ("12", "12%"),
])
def test_different_numbers_do_not_match(claim, quote):
    assert not supports(quote, claim)


@pytest.mark.parametrize("written", ["2017-12-08", "December 8, 2017", "8 December 2017", "Dec 8, 2017",
                                     "Dec. 8th, 2017", "12/08/2017", "Friday, December 8, 2017",
                                     "the 8th of December 2017", "2017/12/08"])
def test_common_date_formats_are_the_same_date(written):
    assert supports("signed on 2017-12-08", f"signed on {written}")
    assert supports(f"signed on {written}", "signed on 2017-12-08")


@pytest.mark.parametrize("claim", ["Dec 8", "December 8", "Friday, December 8", "8 December", "December 2017",
                                   "2017", "Friday", "December"])
def test_a_partial_date_matches_a_full_date_that_agrees(claim):
    assert supports("Email on 2017-12-08 09:30", f"the call on {claim}")


@pytest.mark.parametrize("claim", ["December 9, 2017", "2018-12-08", "Dec 9", "November 2017", "Monday",
                                   "12/09/2017", "March"])
def test_a_different_date_does_not_match(claim):
    assert not supports("Email on 2017-12-08 09:30", f"the call on {claim}")


def test_a_day_over_twelve_first_is_read_day_month():
    assert supports("due 2017-12-25", "due 25/12/2017")


def test_an_impossible_date_is_read_as_numbers():
    assert facts("ticket 2017-13-45") == [("number", "2017"), ("number", "13"), ("number", "45")]


@pytest.mark.parametrize("text, title", [
    ("Dana is the CFO.", "CFO"),
    ("Dana is our Chief Financial Officer.", "Chief Financial Officer"),
    ("Ravi, VP of Sales, called.", "VP of Sales"),
    ("Ravi, Vice President of Engineering, called.", "Vice President of Engineering"),
    ("Ask the Head of IT Security.", "Head of IT Security"),
    ("Ask the director of procurement.", "director of procurement"),
    ("Ana Lopez, Senior Procurement Manager, replied.", "Senior Procurement Manager"),
    ("Our Account Executive called.", "Account Executive"),
    ("They will hire 40 engineers.", "engineers"),
])
def test_it_recognises_job_titles(text, title):
    assert ("title", title) in facts(text)


@pytest.mark.parametrize("claim, quote", [
    ("the CFO", "Chief Financial Officer"),
    ("the Chief Financial Officer", "CFO, Cancity"),
    ("the VP of Sales", "Vice President of Sales"),
    ("engineers", "one engineer"),
])
def test_a_title_and_its_acronym_match(claim, quote):
    assert supports(quote, claim)


def test_a_title_after_a_name_is_not_part_of_the_name():
    assert facts("Dana Whitfield CFO signed.") == [("name", "Dana Whitfield"), ("title", "CFO")]


@pytest.mark.parametrize("text, names", [
    ("The Cancity team met Moses Frase.", ["Cancity", "Moses Frase"]),
    ("We met Bank of America in Berlin.", ["Bank of America", "Berlin"]),
    ("I'll call Dana tomorrow.", ["Dana"]),
    ("Cancity will hire staff.", ["Cancity"]),  # a sentence-initial name still counts
    ("People we know at Acme: Dana.", ["Acme", "Dana"]),  # a sentence-initial common word does not
    ("Dana's team agreed. Then Moses left.", ["Dana's", "Moses"]),
])
def test_names_are_capitalised_runs_without_sentence_initial_stopwords(text, names):
    assert [t for kind, t in facts(text) if kind == "name"] == names


def test_a_name_matches_whatever_its_case_and_possessive():
    assert supports("From: Dana Whitfield <dana@cancity.example>", "Dana Whitfield's budget")
    assert supports("Dana Whitfield", "Dana")
    assert not supports("Dana Whitfield", "Dana Smith")
    assert not supports("Whitfield Dana", "Dana Whitfield")


def test_a_claim_without_facts_has_none():
    assert facts("the security review is not finished yet.") == []
