"""The learned objection detector: shipped in the package, read offline, reproducible from the repository's data."""
from __future__ import annotations

import socket

import pytest

from sellerloop.evidence import classifier
from sellerloop.evidence.classifier import MODEL_FILE, Model, shipped_model
from sellerloop.evidence.conversation import Statement, objection_category, objections
from sellerloop.evidence.evaluation import REPOSITORY_DATA, train_objection_model


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_shipped_model_loads_offline_and_names_a_plain_price_objection(no_network):
    shipped_model.cache_clear()
    classifier._embedder.cache_clear()
    classifier._embedding.cache_clear()
    said = "Honestly, that's well over our budget for this year."
    assert objection_category(said, before="Would you like to go ahead with the annual plan?") == "price"
    assert MODEL_FILE.suffix == ".json"


def test_a_polite_no_problem_or_a_question_about_price_is_not_an_objection():
    assert objection_category("No problem, go ahead.", before="Can I record this call?") is None
    assert objection_category("What does the enterprise tier cost per seat?",
                              before="Do you have any questions about the proposal?") is None
    assert objection_category("Sounds good, send me the order form.") is None


def test_an_objection_without_its_usual_words_still_gets_a_category():
    category = objection_category("We're locked in with our current provider until 2027, so there's not much "
                                  "I can do.", before="When does your current contract end?")
    assert category == "competitor"
    assert objection_category("Legal hasn't reviewed it yet, and I can't sign anything until they have.",
                              before="Can we get this signed this week?") == "authority"


def test_a_refusal_reads_as_more_of_an_objection_after_an_ask_than_after_a_plain_question():
    model = shipped_model()
    after_ask = model.probability("No thanks.", "Would you like to sign the order today?")
    after_question = model.probability("No thanks.", "Have you heard of us before?")
    assert after_ask > after_question


def test_objections_in_statements_read_the_sellers_turn_before_each_customer_line():
    def said(text, by_customer):
        return Statement("transcript:1#u=1-1", "x", text, text, None, by_customer, "transcript")

    found = objections([said("Would you like to go ahead today?", False),
                        said("Our security team will want to know where the data is stored, and they are strict.",
                             True),
                        said("Great, thanks for the demo.", True)])
    assert [(category, s.text[:12]) for category, s in found] == [("trust", "Our security")]


@pytest.mark.slow
def test_the_training_script_reproduces_the_shipped_model():
    trained = Model.from_dict(train_objection_model(data=REPOSITORY_DATA).as_dict())
    assert trained.differences(shipped_model()) == []


def test_a_changed_weight_is_a_difference_between_models():
    shipped = shipped_model()
    changed = Model(classifier.Linear({**shipped.objection.weights, "w:budget": 9.0}, shipped.objection.intercept),
                    shipped.threshold, shipped.categories)
    assert changed.differences(shipped) == ["objection: w:budget"]
