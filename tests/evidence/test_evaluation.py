"""`sellerloop eval conversations`: the detectors measured on real chats (evidence/evaluation.py)."""
from __future__ import annotations

import json

import pytest

from sellerloop.errors import BadInput
from sellerloop.evidence.conversation import OBJECTION_CATEGORIES
from sellerloop.evidence.evaluation import (
    OBJECTION_LABELS,
    PERSUASION_FILE,
    REPOSITORY_DATA,
    dialogue_folds,
    evaluate,
    load_corpora,
    persuasion_customer_turns,
    sales_turns,
)
from tests.conftest import StoreHandle


@pytest.fixture(scope="module")
def customer_turns():
    return persuasion_customer_turns(REPOSITORY_DATA / PERSUASION_FILE)


def test_a_customer_turn_gathers_the_persuadees_sentences_and_their_acts(customer_turns):
    assert len(customer_turns) == 1511 and len({t.dialogue for t in customer_turns}) == 150
    objecting = [t for t in customer_turns if t.labels & OBJECTION_LABELS]
    assert len(objecting) == 103
    assert any("i cannot give any money" in t.text for t in objecting)
    # Each turn knows what the persuader said just before it: the ask it answers.
    refusal = next(t for t in objecting if t.text == "sorry but not now.")
    assert refusal.before.endswith("it will be deducted out of your task pay.")


def test_cross_validation_never_splits_a_dialogue(customer_turns):
    for train, test in dialogue_folds(customer_turns, folds=5):
        assert not {customer_turns[i].dialogue for i in train} & {customer_turns[i].dialogue for i in test}
        assert train and test


def test_the_sales_lines_are_customer_lines_after_the_sellers_line_each_labelled():
    turns = load_corpora(REPOSITORY_DATA)["sales lines"]
    assert len(turns) >= 200 and len({t.dialogue for t in turns}) >= 50
    assert {label for t in turns for label in t.labels} == set(OBJECTION_CATEGORIES)
    no_problem = next(t for t in turns if t.text == "No problem, go ahead.")
    assert not no_problem.labels and no_problem.before == "Can I record this call for my notes?"


def test_a_sales_line_that_is_not_seller_or_labelled_customer_is_bad_input(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("== d1: x\nS: Would you sign?\nC maybe: Not sure.\n", encoding="utf-8")
    with pytest.raises(BadInput, match="line 3"):
        sales_turns(path)


def test_the_scores_are_counted_from_the_units():
    scores = {(s.detector, s.corpus): s for s in evaluate(data=REPOSITORY_DATA, only=[
        "objection: negation baseline", "question"])}
    baseline = scores["objection: negation baseline", "persuasion"]
    assert (baseline.units, baseline.positives) == (1511, 103)
    assert baseline.precision == baseline.true_positives / baseline.predicted
    # The figure the issue measured for this baseline (0.31 there, by its own turn split).
    assert 0.28 < baseline.f1 < 0.36
    assert scores["question", "persuasion"].recall > 0.8


# Floors a little under the figures in docs/EVALUATION.md (5-fold cross-validation over dialogues).
FLOORS = {("objection", "persuasion"): 0.42, ("objection", "sales lines"): 0.75, ("objection", "both"): 0.56,
          ("objection category: phrases, else model", "sales lines"): 0.74,
          ("objection category: model", "sales lines"): 0.54,
          ("question", "persuasion"): 0.85, ("need", "casino"): 0.55}


@pytest.mark.slow
def test_the_detectors_keep_their_measured_figures_by_cross_validation_over_dialogues():
    scores = {(s.detector, s.corpus): s for s in evaluate(data=REPOSITORY_DATA, only={d for d, _ in FLOORS})}
    for row, floor in FLOORS.items():
        assert scores[row].f1 >= floor, scores[row].as_dict()
    # The learned model beats the negation baseline the issue measured, and the phrases the agents used alone.
    assert scores["objection", "persuasion"].f1 > 0.325 + 0.05


@pytest.mark.slow
def test_the_command_prints_every_detector_and_refuses_a_folder_without_the_corpora(cli, tmp_path):
    nowhere = StoreHandle(backend="sqlite", url="", home=tmp_path / "home")  # the command reads no store
    shown = cli(nowhere, "eval", "conversations", "--json", "--folds", "3")
    assert shown.exit_code == 0, shown.stderr
    rows = {(row["detector"], row["corpus"]): row for row in json.loads(shown.stdout)}
    assert {("objection", "persuasion"), ("objection", "sales lines"), ("objection", "both"),
            ("objection: phrases", "persuasion"), ("objection: negation baseline", "persuasion"),
            ("objection category: phrases, else model", "sales lines"), ("question", "persuasion"),
            ("commitment", "persuasion"), ("need", "casino"), ("commitment: CaSiNo submitted deals", "casino"),
            ("commitment: CaSiNo chat agreement", "casino")} <= set(rows)
    assert all(0 <= row["f1"] <= 1 for row in rows.values())
    missing = cli(nowhere, "eval", "conversations", "--data", str(tmp_path))
    assert missing.exit_code == 2 and "persuasionforgood/annotated_dev.csv" in missing.stderr
    assert "Traceback" not in missing.stderr
