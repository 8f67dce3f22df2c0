"""Properties of the verifier over generated claims: the hallucination invariant (DESIGN.md §5) holds for any
names, titles, numbers and dates, not only for the hand-picked examples in test_verifier.py."""
from __future__ import annotations

import datetime as dt

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sellerloop.verifier.facts import claim_facts, found_in, quote_index
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claim

FIRST = ["Dana", "Moses", "Priya", "Ana", "Tom", "Lena", "Kofi", "Yuki", "Omar", "Greta"]
LAST = ["Whitfield", "Frase", "Nair", "Lopez", "Berg", "Okafor", "Tanaka", "Haddad", "Lindqvist", "Moreau"]
TITLES = ["CFO", "CTO", "CEO", "CISO", "VP of Sales", "Head of Security", "Director of Procurement",
          "Procurement Manager", "Chief Revenue Officer", "Senior Data Engineer"]
COMPANIES = ["Cancity", "Betatech", "Zoomit", "Kan-code", "Goodsilron", "Bank of America"]
DATE_FORMATS = ["%Y-%m-%d", "%B {d}, %Y", "{d} %B %Y", "%b {d}, %Y", "%m/%d/%Y", "%A, %B {d}, %Y"]
URI = "activity:a-1"

dates = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2030, 12, 31))
fmt = st.sampled_from(DATE_FORMATS)


def written(date: dt.date, pattern: str) -> str:
    return date.strftime(pattern.replace("{d}", str(date.day)))


@st.composite
def deals(draw):
    """The facts of one approval, as an email would state them."""
    return {
        "name": f"{draw(st.sampled_from(FIRST))} {draw(st.sampled_from(LAST))}",
        "title": draw(st.sampled_from(TITLES)),
        "company": draw(st.sampled_from(COMPANIES)),
        "amount": draw(st.integers(1_000, 5_000_000)),
        "seats": draw(st.integers(2, 900)),
        "date": draw(dates),
        "fmt": draw(fmt),
    }


def quote_of(d) -> str:
    return (f"{d['name']}, {d['title']} at {d['company']}, approved a budget of ${d['amount']:,} for "
            f"{d['seats']} seats on {written(d['date'], d['fmt'])}. The contract is signed next week.")


def verdict(text: str, quote: str, uri: str = URI, quotes=None):
    return verify_claim(claim=Claim(text=text, sources=[uri]), quotes=quotes or {URI: quote})


def absent(fact_text: str, quote: str) -> bool:
    """The fact, as a claim would state it, is not already in the quote for some other reason."""
    index = quote_index(quote)
    return not any(found_in(fact, index) for fact in claim_facts(fact_text))


@settings(max_examples=150, deadline=None)
@given(deals())
def test_a_verbatim_quote_is_always_supported(d):
    quote = quote_of(d)
    result = verdict(quote, quote)
    assert result.supported, result.why


@settings(max_examples=150, deadline=None)
@given(deals(), st.integers(2, 900))
def test_a_claim_with_a_changed_number_is_not_supported(d, seats):
    quote = quote_of(d)
    claim = quote.replace(f"for {d['seats']} seats", f"for {seats} seats")
    assume(absent(str(seats), quote))
    result = verdict(claim, quote)
    assert not result.supported and f"number {seats} not in any cited quote" in result.why


@settings(max_examples=150, deadline=None)
@given(deals(), st.integers(1_000, 5_000_000))
def test_a_claim_with_a_changed_amount_is_not_supported(d, amount):
    quote = quote_of(d)
    claim = quote.replace(f"${d['amount']:,}", f"${amount:,}")
    assume(absent(f"${amount:,}", quote))
    assert not verdict(claim, quote).supported


@settings(max_examples=150, deadline=None)
@given(deals(), dates, fmt)
def test_a_claim_with_a_changed_date_is_not_supported(d, date, pattern):
    assume(date != d["date"])
    quote = quote_of(d)
    claim = quote.replace(written(d["date"], d["fmt"]), written(date, pattern))
    result = verdict(claim, quote)
    assert not result.supported and "date " in result.why


@settings(max_examples=150, deadline=None)
@given(deals(), st.sampled_from(FIRST), st.sampled_from(LAST))
def test_a_claim_naming_a_different_person_is_not_supported(d, first, last):
    quote = quote_of(d)
    other = f"{first} {last}"
    assume(absent(f"we met {other} today", quote))
    result = verdict(quote.replace(d["name"], other), quote)
    assert not result.supported and f"name {other}" in result.why


@settings(max_examples=150, deadline=None)
@given(deals(), st.sampled_from(TITLES))
def test_a_claim_giving_a_different_job_title_is_not_supported(d, title):
    quote = quote_of(d)
    assume(absent(f"the {title}", quote))
    result = verdict(quote.replace(f", {d['title']} at", f", {title} at"), quote)
    assert not result.supported and "title " in result.why


@settings(max_examples=100, deadline=None)
@given(deals())
def test_a_claim_citing_a_source_that_does_not_exist_is_not_supported(d):
    quote = quote_of(d)
    result = verdict(quote, quote, uri="activity:missing", quotes={URI: quote, "activity:missing": None})
    assert (result.supported, result.why) == (False, "source activity:missing does not exist")


@st.composite
def paraphrases(draw, d):
    """The same facts, words reordered and a few stopwords changed, dates and numbers written another way."""
    date = written(d["date"], draw(fmt))
    amount = draw(st.sampled_from([f"${d['amount']:,}", f"${d['amount']}", f"{d['amount']:,} dollars"]))
    the = draw(st.sampled_from(["the", "a", "its", "this"]))
    return draw(st.sampled_from([
        (f"On {date}, {d['name']} ({d['title']}, {d['company']}) approved {the} budget of {amount} "
         f"for {d['seats']} seats."),
        (f"{the.capitalize()} budget of {amount} for {d['seats']} seats was approved by {d['name']}, "
         f"{d['title']} at {d['company']}, on {date}."),
        (f"{d['name']}, {d['title']} at {d['company']}, approved {amount} for {d['seats']} seats on {date}; "
         f"{the} contract is signed next week."),
    ]))


@settings(max_examples=150, deadline=None)
@given(st.data(), deals())
def test_a_paraphrase_with_the_same_facts_stays_supported(data, d):
    quote = quote_of(d)
    claim = data.draw(paraphrases(d))
    result = verdict(claim, quote)
    assert result.supported, (claim, result.why)
