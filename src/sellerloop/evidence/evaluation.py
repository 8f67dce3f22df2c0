"""How well the conversation detectors read real language: precision, recall and F1 of each, on real chats no one
here wrote (`sellerloop eval conversations`, figures in docs/EVALUATION.md).

The corpora (shipped in the repository's `data/`, each with its SOURCE.md):
- PersuasionForGood, annotated development split (Wang et al., ACL 2019; Apache 2.0): a persuader asks a persuadee
  to donate. The persuadee is the customer; a customer turn (their sentences between two persuader turns) is the
  unit, positive for a detector when any of its sentences carries one of the detector's labels.
- CaSiNo, training split (Chawla et al., NAACL 2021; CC BY 4.0): campsite negotiations whose annotated utterances
  say when someone states a need.

A rule detector has nothing to learn, so it is scored on every unit. A learned candidate is scored by
cross-validation over dialogues: the units of one dialogue are never on both sides of a split (`GroupKFold`), so it
is never tested on a conversation it has seen part of.
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sellerloop.errors import BadInput
from sellerloop.evidence.commitments import AGREED, find_commitments
from sellerloop.evidence.conversation import Statement, objection_category, sentences
from sellerloop.evidence.dialogue import is_question, need_statements

# The repository's data/ (a source checkout; an installed package is given --data).
REPOSITORY_DATA = Path(__file__).resolve().parents[3] / "data"
PERSUASION_FILE = Path("persuasionforgood") / "annotated_dev.csv"
CASINO_FILE = Path("casino") / "casino_train.json"

# The persuadee's acts that resist the ask: the objections of this corpus.
OBJECTION_LABELS = frozenset({"negative-reaction-to-donation", "disagree-donation", "disagree-donation-more"})
QUESTION_LABELS = frozenset({"ask-org-info", "ask-donation-procedure", "task-related-inquiry",
                             "personal-related-inquiry", "ask-persuader-donation-intention"})
# Saying yes to the ask, with or without an amount: the commitments of this corpus.
COMMITMENT_LABELS = frozenset({"agree-donation", "provide-donation-amount", "confirm-donation"})
NEED_LABELS = frozenset({"self-need", "other-need"})
# The baseline the issue measured: a customer turn with a negation word is an objection.
NEGATION = re.compile(r"\b(no|not|never|nope|can't|cannot|won't|don't|doesn't|isn't)\b", re.I)


@dataclass(frozen=True)
class Turn:
    dialogue: str
    text: str  # the turn's sentences, joined by a space
    sentences: tuple[str, ...]
    labels: frozenset[str]
    before: str = ""  # the other side's words just before the turn (what it answers), when the corpus has them
    after: str = ""  # and just after it (how it was met)


@dataclass(frozen=True)
class Detector:
    name: str
    corpus: str  # "persuasion" or "casino"
    truth: frozenset[str]
    fires: Callable[[Turn], bool] | None  # None: a learned candidate, scored by cross-validation
    note: str


@dataclass(frozen=True)
class Score:
    detector: str
    corpus: str
    note: str
    units: int
    positives: int
    true_positives: int
    predicted: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"detector": self.detector, "corpus": self.corpus, "note": self.note, "units": self.units,
                "positives": self.positives, "predicted": self.predicted, "true_positives": self.true_positives,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3), "f1": round(self.f1, 3)}


def persuasion_customer_turns(path: Path) -> list[Turn]:
    """The persuadee's turns of PersuasionForGood, in file order, with the acts annotated on their sentences."""
    turns: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
    persuader: dict[tuple[str, int], list[str]] = {}  # the persuader's words of each turn, for context
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["B4"] != "1":
                persuader.setdefault((row["B2"], int(row["Turn"])), []).append(row["Unit"].strip())
                continue
            said, labels = turns.setdefault((row["B2"], row["Turn"]), ([], set()))
            said.append(row["Unit"].strip())
            labels.update(label for label in (row["ee_label_1"], row["ee_label_2"]) if label)
    return [Turn(dialogue, " ".join(said), tuple(said), frozenset(labels),
                 " ".join(persuader.get((dialogue, int(turn)), ())),
                 " ".join(persuader.get((dialogue, int(turn) + 1), ())))
            for (dialogue, turn), (said, labels) in turns.items()]


def casino_turns(path: Path) -> list[Turn]:
    """CaSiNo's annotated utterances (a chat message is a turn), with their strategy labels."""
    turns = []
    for dialogue in json.loads(path.read_text(encoding="utf-8")):
        for text, labels in dialogue.get("annotations") or ():
            turns.append(Turn(str(dialogue["dialogue_id"]), text, tuple(sentences(text)),
                              frozenset(labels.split(","))))
    return turns


def _commits(turn: Turn) -> bool:
    """Does the customer commit in this turn: a promise, or terms agreed (a yes to the persuader's ask just
    before, or an offer the persuader accepts just after)? Offers nobody accepted do not count."""
    def said(speaker: str, text: str) -> Statement:
        return Statement(uri=f"chat:{turn.dialogue}", speaker=speaker, text=text, quote=text, when=None,
                         by_customer=speaker == "customer", kind="transcript")

    statements = [said("customer", turn.text)]
    if turn.before:
        statements.insert(0, said("persuader", turn.before))
    if turn.after:
        statements.append(said("persuader", turn.after))
    return any(c.statement.by_customer for c in find_commitments(statements))


# CaSiNo chats end in agreed terms: a "Submit-Deal" (an offer, its terms from the submitter's side) met by an
# "Accept-Deal" or a "Reject-Deal" from the other side. Two commitment rows read them (`casino_agreement_scores`):
# each submitted deal, agreed when it was accepted (the words the transcript importer keeps); and each dialogue's
# chat without the deal buttons, which should hold an agreed term when the deal was accepted.
AGREEMENT_ROWS = ("commitment: CaSiNo submitted deals", "commitment: CaSiNo chat agreement")
_DEAL_ACTS = frozenset({"Submit-Deal", "Accept-Deal", "Reject-Deal", "Walk-Away"})


def casino_agreement_scores(path: Path, *, wanted: set[str] | None = None) -> list[Score]:
    """The two AGREEMENT_ROWS over every dialogue of the CaSiNo file."""
    submitted = [0, 0, 0, 0]  # units, positives, true positives, predicted
    chats = [0, 0, 0, 0]
    for dialogue in json.loads(path.read_text(encoding="utf-8")):
        logs = dialogue.get("chat_logs") or []
        uri = f"casino:{dialogue['dialogue_id']}"
        said = [Statement(uri=f"{uri}#{n}", speaker=log["id"], text=_deal_text(log), quote=log["text"], when=None,
                          by_customer=log["id"] == "mturk_agent_2", kind="transcript") for n, log in enumerate(logs)]
        agreed = {c.statement.uri for c in find_commitments(said, offers=True) if c.kind == AGREED}
        for n, log in enumerate(logs):
            if log["text"] == "Submit-Deal":
                accepted = n + 1 < len(logs) and logs[n + 1]["text"] == "Accept-Deal"
                _count(submitted, truth=accepted, fired=said[n].uri in agreed)
        chat = [s for s, log in zip(said, logs) if log["text"] not in _DEAL_ACTS]
        chat_agreed = any(c.kind == AGREED for c in find_commitments(chat, offers=True))
        _count(chats, truth=any(log["text"] == "Accept-Deal" for log in logs), fired=chat_agreed)
    rows = zip(AGREEMENT_ROWS, (submitted, chats), (
        "unit: a Submit-Deal; agreed when the other side's Accept-Deal follows",
        "unit: a dialogue's chat without the deal buttons; agreed when the deal was accepted"))
    return [Score(name, "casino", note, units, positives, true_positives, predicted)
            for name, (units, positives, true_positives, predicted), note in rows
            if wanted is None or name in wanted]


def _deal_text(log: dict) -> str:
    """A chat log as the transcript importer words it: a Submit-Deal carries its terms."""
    task = log.get("task_data") or {}
    if log["text"] == "Submit-Deal" and isinstance(task.get("issue2youget"), dict):
        terms = lambda items: ", ".join(f"{item} {count}" for item, count in items.items())  # noqa: E731
        return f"Submit-Deal (I get: {terms(task['issue2youget'])}; you get: {terms(task['issue2theyget'])})"
    return log["text"]


def _count(tally: list[int], *, truth: bool, fired: bool) -> None:
    tally[0] += 1
    tally[1] += truth
    tally[2] += truth and fired
    tally[3] += fired


DETECTORS: tuple[Detector, ...] = (
    Detector("objection", "persuasion", OBJECTION_LABELS,
             lambda t: any(objection_category(s) for s in t.sentences), "the rules the agents use"),
    Detector("objection: negation baseline", "persuasion", OBJECTION_LABELS,
             lambda t: bool(NEGATION.search(t.text)), "a negation word anywhere in the turn"),
    Detector("objection: learned candidate", "persuasion", OBJECTION_LABELS, None,
             "word and character n-grams, logistic regression; not used by the agents yet"),
    Detector("question", "persuasion", QUESTION_LABELS, lambda t: any(is_question(s) for s in t.sentences),
             "the rules the agents use"),
    Detector("commitment", "persuasion", COMMITMENT_LABELS, _commits,
             "the rules the agents use: a promise or agreed terms, read with the persuader's turns around it"),
    Detector("need", "casino", NEED_LABELS, lambda t: bool(need_statements(t.text)), "the rules the agents use"),
)


def load_corpora(data: Path) -> dict[str, list[Turn]]:
    """Both corpora from `data` (the repository's data/ folder, or a copy laid out the same way)."""
    found = {}
    for corpus, relative, read in (("persuasion", PERSUASION_FILE, persuasion_customer_turns),
                                   ("casino", CASINO_FILE, casino_turns)):
        path = data / relative
        if not path.is_file():
            raise BadInput(f"no {relative} under {data}: give --data the folder holding persuasionforgood/ and "
                           "casino/ (the repository's data/)")
        found[corpus] = read(path)
    return found


def evaluate(*, data: Path, folds: int = 5, only: Iterable[str] | None = None) -> list[Score]:
    """Each detector's score on its corpus (see the module's docstring)."""
    if not 2 <= folds <= 20:
        raise BadInput(f"folds: 2 to 20 (got {folds})")
    corpora = load_corpora(data)
    wanted = set(only) if only is not None else None
    scores = []
    for detector in DETECTORS:
        if wanted is not None and detector.name not in wanted:
            continue
        turns = corpora[detector.corpus]
        truth = [bool(t.labels & detector.truth) for t in turns]
        fired = ([detector.fires(t) for t in turns] if detector.fires is not None
                 else cross_validated(turns, truth, folds=folds))
        scores.append(Score(detector.name, detector.corpus, detector.note, len(turns), sum(truth),
                            sum(f and y for f, y in zip(fired, truth)), sum(fired)))
    if wanted is None or wanted & set(AGREEMENT_ROWS):
        scores += casino_agreement_scores(data / CASINO_FILE, wanted=wanted)
    return scores


def dialogue_folds(turns: list[Turn], *, folds: int) -> list[tuple[list[int], list[int]]]:
    """(train, test) positions for each fold; all the turns of a dialogue fall in the same fold."""
    from sklearn.model_selection import GroupKFold  # imported when evaluating: it loads slowly

    groups = [t.dialogue for t in turns]
    return [(list(train), list(test)) for train, test in GroupKFold(n_splits=folds).split(turns, groups=groups)]


def cross_validated(turns: list[Turn], truth: list[bool], *, folds: int) -> list[bool]:
    """What the learned candidate says of each turn when it was trained on the other dialogues' turns only."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    fired = [False] * len(turns)
    for train, test in dialogue_folds(turns, folds=folds):
        model = make_pipeline(
            make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000))
        model.fit([turns[i].text for i in train], [truth[i] for i in train])
        for i, said in zip(test, model.predict([turns[i].text for i in test])):
            fired[i] = bool(said)
    return fired
