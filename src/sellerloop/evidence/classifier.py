"""The learned objection detector: is a customer turn pushing back, given what the seller said just before it?

A logistic regression over features meant to carry from one kind of conversation to another: the turn's words
and word pairs (the words a negation governs marked as negated), a few flags about the seller's turn before it
(an ask, a question) and their combinations with the turn's own cues ("no" right after "would you…?" is an
objection; after "have you heard of us?" it is not), and the meaning of both turns as WordLlama embeddings
(whose weights ship in its wheel). A second, one-vs-rest classifier names an objection's category. Both are
trained by `scripts/train_conversation_model.py` on PersuasionForGood and the sales lines written for this
project (data/sales_lines/), and measured by `sellerloop eval conversations` with cross-validation over
dialogues (docs/EVALUATION.md). A sentiment lexicon (VADER) was tried as a feature and added nothing measurable.

The trained model ships as a plain JSON file beside this module (`objection_model.json`): named weights and
intercepts, and a threshold. Not a pickle: a pickle is code (loading one runs it) and scikit-learn's pickles
break across its versions; weights are data, and scoring a turn with them is the sum written out below.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("objection_model.json")
EMBEDDING_SCALE = 0.4
FORMAT = 1

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.,;:!?]")
# A negation governs the words after it up to the next punctuation ("not sure this is worth it, but…").
_NEGATORS = frozenset({"no", "not", "never", "nope", "nah", "nothing", "nobody", "none", "neither", "nor",
                       "without", "cannot", "cant", "dont", "wont", "isnt", "doesnt", "didnt", "wouldnt",
                       "couldnt", "shouldnt", "arent", "havent", "hasnt", "wasnt", "aint"})
_SCOPE_END = re.compile(r"[.,;:!?]|\b(?:but|and|though|although|because|so)\b")
# The seller asked for something: a decision, a step, money, time. The ask's form, not its topic, so that it
# reads "would you donate?" and "can we sign this week?" alike (a list of verbs such as "donate" measured no better
# and would tie the flag to one corpus).
_ASK = re.compile(
    r"\b(?:would|will|could|can|shall) (?:you|we|i)\b|\b(?:are|were) you (?:willing|interested|open|able|ready|"
    r"happy|okay|ok)\b|\bdo you want\b|\bhow about\b|\bwhat about\b|\blet's\b|\bwhy not\b|\bwould it (?:help|"
    r"make sense|work)\b", re.I)
_OPENING_REFUSAL = re.compile(
    r"^\W*(?:no|nope|nah|not|sorry|unfortunately|i can't|i cannot|i won't|i don't|we can't|we won't|we don't|"
    r"i'd rather not|i'll pass|i'm (?:ok|okay|fine|good)|honestly|to be honest|maybe later|not today)\b", re.I)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'").replace("n't", "nt").replace("can not", "cannot"))


def _negated(tokens: list[str]) -> list[str]:
    """The tokens, those inside a negation's scope prefixed with "not_" (Das and Chen's marking, as in
    Pang, Lee and Vaithyanathan 2002)."""
    out, scope = [], False
    for token in tokens:
        if _SCOPE_END.fullmatch(token):
            scope = False
            out.append(token)
        elif token in _NEGATORS:
            scope = True
            out.append(token)
        else:
            out.append(f"not_{token}" if scope else token)
    return out


@lru_cache(maxsize=1)
def _embedder():
    # WordLlama's weights ship inside its wheel: loaded from the package folder, never downloaded.
    import wordllama
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)


@lru_cache(maxsize=4096)  # a training run reads each turn and seller turn once per fit; 1 KiB each
def _embedding(text: str):
    vector = _embedder().embed([text])[0]
    vector.flags.writeable = False  # shared by every caller through the cache
    return vector


def features(text: str, before: str = "") -> dict[str, float]:
    """The named features of one customer turn, `before` being the seller's turn just before it ("" if none)."""
    words = _negated(_tokens(text))
    found: dict[str, float] = {}
    grams = [f"w:{w}" for w in words if w not in ".,;:"] + [f"b:{a} {b}" for a, b in zip(words, words[1:])]
    if grams:
        weight = 1.0 / math.sqrt(len(set(grams)))  # a long turn's words count no more in all than a short one's
        for gram in grams:
            found[gram] = weight
    cues = {"refuses": bool(_OPENING_REFUSAL.search(text)), "negation": any(w in _NEGATORS for w in words),
            "asks": "?" in text, "short": len(words) <= 6}
    context = {"after an ask": bool(before and _ASK.search(before)), "after a question": "?" in before}
    for name, on in (*cues.items(), *context.items()):
        if on:
            found[name] = 1.0
    for name, on in context.items():
        for cue, cue_on in cues.items():
            if on and cue_on:
                found[f"{cue} {name}"] = 1.0
    # What the turn and the seller's turn mean, beyond their words: "we're happy with what we have" and
    # "we already use another tool" land close together. Scaled down so that 512 numbers do not drown the words
    # and the cues: 0.4 and 1 scored alike pooled, 0.4 better on PersuasionForGood and on a bare refusal after an
    # ask; none scored clearly worse (docs/EVALUATION.md).
    for i, x in enumerate(_embedding(text).tolist()):
        found[f"e:{i}"] = EMBEDDING_SCALE * x
    if before:
        for i, x in enumerate(_embedding(before).tolist()):
            found[f"before e:{i}"] = EMBEDDING_SCALE * x
    return found


def category_features(text: str) -> dict[str, float]:
    """What the category classifier reads: the turn alone (what it is about, not what it answers)."""
    return {name: value for name, value in features(text).items() if name.startswith(("w:", "b:", "e:"))}


@dataclass(frozen=True)
class Linear:
    """A linear score over named features."""

    weights: dict[str, float]
    intercept: float

    def score(self, found: dict[str, float]) -> float:
        return self.intercept + sum(self.weights.get(name, 0.0) * value for name, value in found.items())

    def as_dict(self) -> dict:
        return {"intercept": round(self.intercept, 6),
                "weights": {name: round(w, 6) for name, w in sorted(self.weights.items()) if round(w, 6)}}


@dataclass(frozen=True)
class Model:
    objection: Linear
    threshold: float  # the probability from which a turn is an objection
    categories: dict[str, Linear]  # one score per category; the highest names an objection's category

    def probability(self, text: str, before: str = "") -> float:
        return 1.0 / (1.0 + math.exp(-self.objection.score(features(text, before))))

    def is_objection(self, text: str, before: str = "") -> bool:
        return self.probability(text, before) >= self.threshold

    def category(self, text: str) -> str:
        found = category_features(text)
        return max(self.categories, key=lambda name: self.categories[name].score(found))

    def as_dict(self) -> dict:
        return {"format": FORMAT, "objection": self.objection.as_dict(), "threshold": round(self.threshold, 4),
                "categories": {name: linear.as_dict() for name, linear in sorted(self.categories.items())}}

    def differences(self, other: Model, *, tolerance: float = 1e-4) -> list[str]:
        """Where two models differ by more than `tolerance` (retraining on another machine may move the last
        digits of a weight, not more)."""
        found = [] if abs(self.threshold - other.threshold) <= tolerance else ["threshold"]
        for part, mine, theirs in (("objection", self.objection, other.objection),
                                   *((name, self.categories.get(name), other.categories.get(name))
                                     for name in self.categories.keys() | other.categories.keys())):
            if mine is None or theirs is None:
                found.append(part)
                continue
            if abs(mine.intercept - theirs.intercept) > tolerance:
                found.append(f"{part}: intercept")
            found += [f"{part}: {name}" for name in mine.weights.keys() | theirs.weights.keys()
                      if abs(mine.weights.get(name, 0.0) - theirs.weights.get(name, 0.0)) > tolerance]
        return sorted(found)

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        if data.get("format") != FORMAT:
            raise ValueError(f"objection model format {data.get('format')}; this code reads {FORMAT}")

        def linear(part: dict) -> Linear:
            return Linear(part["weights"], part["intercept"])

        return cls(linear(data["objection"]), data["threshold"],
                   {name: linear(part) for name, part in data["categories"].items()})


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """The trained model beside this module, read once, when first needed."""
    return Model.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


# The regularisation strength and the inner folds that pick the threshold.
C = 1.0
INNER_FOLDS = 4


def fit(texts: Sequence[str], befores: Sequence[str], labels: Sequence[str | None],
        groups: Sequence[str]) -> Model:
    """A model trained on these customer turns: `labels` gives each turn's objection category, "" for an objection
    without one (a corpus that does not say), None for no objection; `groups` its dialogue. The threshold is the
    one with the best F1 when each dialogue's turns were scored by a model trained without them (an inner
    cross-validation over dialogues); the category classifier learns from the turns with a category."""
    from sklearn.model_selection import GroupKFold

    rows = [features(t, b) for t, b in zip(texts, befores)]
    # Each turn is learned twice, with the seller's turn before it and without: a statement often comes with no
    # seller turn to read (an email, a customer's second message in a row), and the model must not take the
    # absence for a sign.
    alone = [features(t) if b else None for t, b in zip(texts, befores)]
    y = [label is not None for label in labels]

    def learn(indices: Sequence[int]) -> Linear:
        return _logistic([rows[i] for i in indices] + [alone[i] for i in indices if alone[i] is not None],
                         [y[i] for i in indices] + [y[i] for i in indices if alone[i] is not None])

    inner = [0.0] * len(rows)
    for train, test in GroupKFold(n_splits=INNER_FOLDS).split(rows, groups=groups):
        model = learn(train)
        for i in test:
            inner[i] = 1.0 / (1.0 + math.exp(-model.score(rows[i])))
    named = [(category_features(t), label) for t, label in zip(texts, labels) if label]
    classes = sorted({label for _, label in named})
    categories = {name: _logistic([f for f, _ in named], [label == name for _, label in named])
                  for name in classes}
    return Model(learn(range(len(rows))), _best_threshold(inner, y), categories)


def _logistic(rows: Sequence[dict[str, float]], truth: Sequence[bool]) -> Linear:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    model.fit(vectorizer.fit_transform(rows), truth)
    return Linear({name: float(model.coef_[0][i]) for name, i in vectorizer.vocabulary_.items()},
                  float(model.intercept_[0]))


def _best_threshold(probabilities: Sequence[float], truth: Sequence[bool]) -> float:
    positives = sum(truth)
    best, best_f1 = 0.5, -1.0
    for step in range(10, 91):
        threshold = step / 100
        hits = sum(p >= threshold and t for p, t in zip(probabilities, truth))
        predicted = sum(p >= threshold for p in probabilities)
        f1 = 2 * hits / (predicted + positives) if predicted + positives else 0.0
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best
