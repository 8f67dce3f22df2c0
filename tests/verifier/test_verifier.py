"""The verifier decides whether a claim's cited quotes support it, and says why (DESIGN.md §5 hallucination)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import typer
from typer.testing import CliRunner

from sellerloop.config import get_settings
from sellerloop.errors import BadInput
from sellerloop.evidence.models import SourceRef
from sellerloop.records.models import Activity, Transcript, Utterance
from sellerloop.store.db import session_scope
from sellerloop.verifier.commands import verify
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import get_verifier_settings, verify_claim, verify_claims

EMAIL = ("Hi Moses,\nBudget is approved up to $12,000 for 40 seats.\nWe sign on December 8, 2017.\n"
         "Dana Whitfield\nCFO, Cancity")
QUOTES = {"activity:a-1": EMAIL}


def check(text: str, *sources: str, quotes=QUOTES):
    return verify_claim(claim=Claim(text=text, sources=list(sources or ["activity:a-1"])), quotes=quotes)


# --- verify_claim: pure ------------------------------------------------------------------------------------

def test_a_claim_whose_facts_and_words_are_in_the_quote_is_supported():
    verdict = check("Dana Whitfield, CFO, approved a budget of $12,000 for 40 seats.")
    assert verdict.supported
    assert verdict.why.startswith("all 4 facts (Dana Whitfield, CFO, $12,000, 40) found in activity:a-1")
    assert verdict.facts == ["Dana Whitfield", "CFO", "$12,000", "40"]
    assert verdict.overlap == 1.0


def test_a_changed_amount_is_not_supported():
    verdict = check("Dana Whitfield approved a budget of $12,500.")
    assert not verdict.supported
    assert verdict.why == "amount $12,500 not in any cited quote"


def test_a_changed_number_is_not_supported():
    assert check("The budget covers 1,250 seats.").why == "number 1,250 not in any cited quote"


def test_a_changed_date_is_not_supported():
    assert check("We sign on December 9, 2017.").why == "date December 9, 2017 not in any cited quote"


def test_a_changed_person_or_title_is_not_supported():
    assert check("Dana Smith approved the budget.").why == "name Dana Smith not in any cited quote"
    assert check("Dana Whitfield, the CTO, approved the budget.").why == "title CTO not in any cited quote"


def test_every_missing_fact_is_named():
    verdict = check("Dana Smith, the CTO, approved $9,000.")
    assert verdict.why == "name Dana Smith, title CTO and amount $9,000 not in any cited quote"


def test_the_same_fact_written_differently_is_supported():
    assert check("Budget approved: 12k, signing 2017-12-08, per the Chief Financial Officer.").supported


def test_a_claim_that_cites_no_source_is_not_supported():
    verdict = verify_claim(claim=Claim(text="Dana approved the budget.", sources=[]), quotes=QUOTES)
    assert (verdict.supported, verdict.why) == (False, "the claim cites no source")


def test_a_claim_that_cites_a_missing_source_is_not_supported():
    verdict = check("Dana Whitfield approved the budget.", "activity:a-1", "activity:x",
                    quotes={**QUOTES, "activity:x": None})
    assert (verdict.supported, verdict.why) == (False, "source activity:x does not exist")


def test_a_cited_uri_absent_from_the_quotes_counts_as_missing():
    assert check("Dana approved it.", "activity:nowhere").why == "source activity:nowhere does not exist"


def test_facts_may_come_from_different_cited_quotes():
    quotes = {**QUOTES, "transcript:tr-1#t=4.5-12.5": "Dana Whitfield: IT finishes the security review in March."}
    verdict = check("Dana Whitfield approved $12,000 once IT finishes the security review in March.",
                    "activity:a-1", "transcript:tr-1#t=4.5-12.5", quotes=quotes)
    assert verdict.supported, verdict.why
    assert "found in activity:a-1, transcript:tr-1#t=4.5-12.5" in verdict.why


def test_true_facts_on_an_unrelated_statement_are_not_supported():
    verdict = check("Dana Whitfield, CFO, is unhappy with our onboarding and plans to churn.")
    assert not verdict.supported
    assert verdict.why == "only 0% of the claim's words (besides its facts) appear in the quotes (need 60%)"
    assert verdict.overlap < 0.6


def test_a_claim_without_facts_is_decided_by_its_words():
    assert check("The budget is approved.").supported
    assert not check("The security review failed badly.").supported


def test_sources_may_be_given_as_plain_uris_or_objects():
    claim = Claim.model_validate({"text": "t", "sources": ["activity:a-1", {"uri": "ticket:t", "quote": "q"}]})
    assert claim.sources == [SourceRef(uri="activity:a-1"), SourceRef(uri="ticket:t", quote="q")]


def test_the_overlap_bar_is_a_setting(monkeypatch):
    monkeypatch.setenv("SELLERLOOP_VERIFIER_MIN_OVERLAP", "0")
    get_verifier_settings.cache_clear()
    try:
        assert check("Dana Whitfield, CFO, is unhappy with our onboarding and plans to churn.").supported
    finally:
        get_verifier_settings.cache_clear()


# --- verify_claims and `sellerloop verify`: on a real store ---------------------------------------------------

OPP = "1C1I7A6R"
TRANSCRIPT = [("Moses Frase", 0.0, 4.5, "Who signs off on this purchase?"),
              ("Dana Whitfield", 4.5, 12.5,
               "I do. Our CISO, Priya Nair, finishes the security review by March 15."),
              ("Moses Frase", 12.5, 18.0, "I'll send the security questionnaire by Friday.")]


@pytest.fixture
def book(store, engine, cli, maven_dir):
    assert cli(store, "import", "maven", maven_dir).exit_code == 0
    with session_scope(engine) as s:
        s.add(Activity(id="a-1", kind="email", account_id="cancity", opportunity_id=OPP,
                       occurred_at=dt.datetime(2017, 12, 1, 9, 30), subject="Pricing follow-up", body=EMAIL,
                       direction="inbound", participants=[
                           {"name": "Dana Whitfield", "email": "dana@cancity.example", "role": "from"},
                           {"name": "Moses Frase", "email": "moses.frase@maventech.example", "role": "to"}]))
        s.add(Transcript(id="tr-1", opportunity_id=OPP, account_id="cancity", title="Discovery call",
                         source_format="vtt", utterances=[
                             Utterance(seq=n, speaker=who, start_s=start, end_s=end, text=said)
                             for n, (who, start, end, said) in enumerate(TRANSCRIPT, 1)]))
    return store


CLAIMS = [
    {"text": "Dana Whitfield, CFO of Cancity, approved a budget of $12,000 for 40 seats.",
     "sources": ["activity:a-1"]},
    {"text": "Priya Nair, the CISO, finishes the security review by March 15.",
     "sources": ["transcript:tr-1#t=4.5-12.5"]},
    {"text": "Cancity signs on 2017-12-08.", "sources": ["activity:a-1"]},
    {"text": "Cancity approved $15,000.", "sources": ["activity:a-1"]},
    {"text": "Dana Whitfield approved the budget.", "sources": ["activity:does-not-exist"]},
    {"text": "Cancity's GTX Plus Basic stage is Won, with close date March 1, 2017 and amount $1,054.",
     "sources": [f"opportunity:{OPP}"]},
]


def test_claims_are_checked_against_the_sources_in_the_store(book, engine):
    with session_scope(engine) as s:
        verdicts = verify_claims(session=s, claims=[Claim.model_validate(c) for c in CLAIMS])
    assert [v.supported for v in verdicts] == [True, True, True, False, False, True]
    assert verdicts[3].why == "amount $15,000 not in any cited quote"
    assert verdicts[4].why == "source activity:does-not-exist does not exist"


def test_a_cited_quote_must_appear_verbatim_in_its_source(book, engine):
    claims = [Claim(text="Budget is approved up to $12,000.",
                    sources=[SourceRef(uri="activity:a-1", quote="Budget is approved up to $12,000")]),
              Claim(text="Budget is approved up to $20,000.",
                    sources=[SourceRef(uri="activity:a-1", quote="Budget is approved up to $20,000")]),
              # True of the whole email but not of the quote given: the quote is what the claim stands on (with
              # who wrote it: the sender's name is supported, her title is not).
              Claim(text="Dana Whitfield is the CFO.",
                    sources=[SourceRef(uri="activity:a-1", quote="Budget is approved up to $12,000")]),
              # Two quotes from one source: the facts may come from either.
              Claim(text="Dana Whitfield approved up to $12,000.",
                    sources=[SourceRef(uri="activity:a-1", quote="Budget is approved up to $12,000"),
                             SourceRef(uri="activity:a-1", quote="Dana Whitfield")])]
    with session_scope(engine) as s:
        verdicts = verify_claims(session=s, claims=claims)
    assert [v.supported for v in verdicts] == [True, False, False, True]
    assert verdicts[1].why == "quote not found in activity:a-1"
    assert verdicts[2].why == "title CFO not in any cited quote"


def _run(store, monkeypatch, *args: str):
    """`sellerloop verify ARGS` on a throwaway Typer app, against `store`."""
    app = typer.Typer()
    app.command()(verify)
    app.command("unused")(lambda: None)  # two commands, so `verify` is a subcommand as in the real app
    for key, value in store.env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["verify", *args])
    finally:
        get_settings.cache_clear()


def test_verify_prints_one_json_result_per_claim_in_input_order(book, monkeypatch, tmp_path):
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps(CLAIMS))
    result = _run(book, monkeypatch, str(claims_file), "--json")
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert [r["text"] for r in results] == [c["text"] for c in CLAIMS]
    assert [r["supported"] for r in results] == [True, True, True, False, False, True]
    assert all(r["why"] for r in results)


def test_verify_prints_a_readable_list_and_exits_0_with_unsupported_claims(book, monkeypatch, tmp_path):
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps(CLAIMS[3:5]))
    result = _run(book, monkeypatch, str(claims_file))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "1. [UNSUPPORTED] Cancity approved $15,000.",
        "   amount $15,000 not in any cited quote",
        "2. [UNSUPPORTED] Dana Whitfield approved the budget.",
        "   source activity:does-not-exist does not exist",
        "0 of 2 claims supported",
    ]


@pytest.mark.parametrize("content, reason", [
    (None, "missing.json: no such file"),
    ('[{"text": "a",\n "sources": [}]', "bad.json:2: not valid JSON: Expecting value (column 14)"),
    ('{"text": "a", "sources": []}',
     'bad.json: expected a JSON list of {"text": ..., "sources": [uri, ...]} objects'),
    ('[{"text": "a", "sources": []}, {"text": "b"}]', "bad.json: claim 2: sources: Field required"),
    ('[{"text": 5, "sources": []}]', "bad.json: claim 1: text: Input should be a valid string"),
])
def test_verify_rejects_bad_input_with_a_one_line_reason(tmp_path, content, reason):
    path = tmp_path / ("missing.json" if content is None else "bad.json")
    if content is not None:
        path.write_text(content)
    with pytest.raises(BadInput) as raised:
        verify(path)
    assert raised.value.one_line() == reason.replace("missing.json", str(path)).replace("bad.json", str(path))
