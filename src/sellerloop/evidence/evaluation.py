"""How well the conversation detectors read real language: precision, recall and F1 of each, on real chats no one
here wrote (`sellerloop eval conversations`, figures in docs/EVALUATION.md).

The corpora (shipped in the repository's `data/`, each with its SOURCE.md):
- PersuasionForGood, annotated development split (Wang et al., ACL 2019; Apache 2.0): a persuader asks a persuadee
  to donate. The persuadee is the customer; a customer turn (their sentences between two persuader turns) is the
  unit, positive for a detector when any of its sentences carries one of the detector's labels.
- Sales lines written for this project (data/sales_lines/SOURCE.md): B2B sales-call mini-dialogues, each customer
  line labelled with its objection category or none, after the seller line it answers.
- CaSiNo, training split (Chawla et al., NAACL 2021; CC BY 4.0): campsite negotiations whose annotated utterances
  say when someone states a need.

A rule detector has nothing to learn, so it is scored on every unit. The learned objection model (the one the
agents use, evidence/classifier.py) is scored by cross-validation over dialogues: it is retrained for each fold on
the other dialogues of PersuasionForGood and the sales lines together, so the units of one dialogue are never on
both sides of a split (`GroupKFold`) and it is never tested on a conversation it has seen part of.
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sellerloop.errors import BadInput
from sellerloop.evidence.classifier import Model, fit
from sellerloop.evidence.commitments import AGREED, find_commitments
from sellerloop.evidence.conversation import (
    OBJECTION_CATEGORIES,
    Statement,
    phrase_category,
    precise_objection,
    sentences,
)
from sellerloop.evidence.dialogue import is_question, need_statements

# The repository's data/ (a source checkout; an installed package is given --data).
REPOSITORY_DATA = Path(__file__).resolve().parents[3] / "data"
PERSUASION_FILE = Path("persuasionforgood") / "annotated_dev.csv"
CASINO_FILE = Path("casino") / "casino_train.json"
SALES_FILE = Path("sales_lines") / "sales_lines.txt"

# The persuadee's acts that resist the ask: the objections of this corpus.
OBJECTION_LABELS = frozenset({"negative-reaction-to-donation", "disagree-donation", "disagree-donation-more"})
QUESTION_LABELS = frozenset({"ask-org-info", "ask-donation-procedure", "task-related-inquiry",
                             "personal-related-inquiry", "ask-persuader-donation-intention"})
# Saying yes to the ask, with or without an amount: the commitments of this corpus.
COMMITMENT_LABELS = frozenset({"agree-donation", "provide-donation-amount", "confirm-donation"})
# The sales lines are labelled with the objection's category.
SALES_OBJECTIONS = frozenset(OBJECTION_CATEGORIES)
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
    fires: Callable[[Turn], bool] | None  # None: the learned model, scored by cross-validation
    note: str
    with_phrases: bool = False  # the learned model's verdict, or a precise phrase (the agents' way)


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


def sales_turns(path: Path) -> list[Turn]:
    """The customer lines of the sales mini-dialogues written for this project (data/sales_lines/SOURCE.md), each
    with the seller's line before it; labelled with its objection category, or nothing."""
    turns: list[Turn] = []
    dialogue, before = "", ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("== "):
            dialogue, before = line[3:].split(":", 1)[0], ""
            continue
        found = _SALES_LINE.match(line)
        if not found or (found["side"] == "C") != (found["label"] in (*OBJECTION_CATEGORIES, "-")):
            raise BadInput(f"{path.name}, line {number}: not 'S: text' or 'C LABEL: text' ({line[:60]!r})")
        if found["side"] == "S":
            before = found["text"]
            continue
        labels = frozenset() if found["label"] == "-" else frozenset({found["label"]})
        turns.append(Turn(dialogue, found["text"], tuple(sentences(found["text"])), labels, before))
        before = ""
    return turns


_SALES_LINE = re.compile(r"^(?P<side>S|C)(?: (?P<label>[\w-]+))?: (?P<text>.+)$")


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


def _phrases(turn: Turn) -> bool:
    return any(precise_objection(s) for s in turn.sentences)


_AGENTS = "the agents' detector: the learned model (cross-validated over dialogues) or a precise phrase"
_MODEL = "the learned model alone (evidence/classifier.py), cross-validated over dialogues"
_PHRASES = "the precise phrases alone (conversation.OBJECTION_PATTERNS, the agents' rules before the model)"
_NEGATION = "a negation word anywhere in the turn"
DETECTORS: tuple[Detector, ...] = (
    Detector("objection", "persuasion", OBJECTION_LABELS, None, _AGENTS, with_phrases=True),
    Detector("objection", "sales lines", SALES_OBJECTIONS, None, _AGENTS, with_phrases=True),
    Detector("objection", "both", OBJECTION_LABELS | SALES_OBJECTIONS, None, _AGENTS, with_phrases=True),
    Detector("objection: model alone", "persuasion", OBJECTION_LABELS, None, _MODEL),
    Detector("objection: model alone", "sales lines", SALES_OBJECTIONS, None, _MODEL),
    Detector("objection: model alone", "both", OBJECTION_LABELS | SALES_OBJECTIONS, None, _MODEL),
    Detector("objection: phrases", "persuasion", OBJECTION_LABELS, _phrases, _PHRASES),
    Detector("objection: phrases", "sales lines", SALES_OBJECTIONS, _phrases, _PHRASES),
    Detector("objection: negation baseline", "persuasion", OBJECTION_LABELS,
             lambda t: bool(NEGATION.search(t.text)), _NEGATION),
    Detector("objection: negation baseline", "sales lines", SALES_OBJECTIONS,
             lambda t: bool(NEGATION.search(t.text)), _NEGATION),
    Detector("question", "persuasion", QUESTION_LABELS, lambda t: any(is_question(s) for s in t.sentences),
             "the rules the agents use"),
    Detector("commitment", "persuasion", COMMITMENT_LABELS, _commits,
             "the rules the agents use: a promise or agreed terms, read with the persuader's turns around it"),
    Detector("need", "casino", NEED_LABELS, lambda t: bool(need_statements(t.text)), "the rules the agents use"),
)
# The category of a sales-line objection, named three ways, each scored as accuracy on the labelled objections
# (units = positives = predicted, so precision, recall and F1 all equal the share named right).
CATEGORY_WAYS = {
    "objection category: phrases, else model": "the agents' way (conversation.objection_category), cross-validated",
    "objection category: model": "the learned category classifier alone, cross-validated",
    "objection category: phrases": "the precise phrases alone (no phrase: wrong)",
}


def load_corpora(data: Path) -> dict[str, list[Turn]]:
    """The corpora from `data` (the repository's data/ folder, or a copy laid out the same way); "both" is the
    objection corpora together, PersuasionForGood first."""
    found = {}
    for corpus, relative, read in (("persuasion", PERSUASION_FILE, persuasion_customer_turns),
                                   ("sales lines", SALES_FILE, sales_turns),
                                   ("casino", CASINO_FILE, casino_turns)):
        path = data / relative
        if not path.is_file():
            raise BadInput(f"no {relative} under {data}: give --data the folder holding persuasionforgood/, "
                           "sales_lines/ and casino/ (the repository's data/)")
        found[corpus] = read(path)
    found["both"] = found["persuasion"] + found["sales lines"]
    return found


def training_labels(turns: list[Turn]) -> list[str | None]:
    """What the model learns of each turn: its objection category, "" for an objection whose corpus names no
    category (PersuasionForGood), None for no objection."""
    return [next(iter(sorted(t.labels & SALES_OBJECTIONS)), "") if t.labels & (OBJECTION_LABELS | SALES_OBJECTIONS)
            else None for t in turns]


def train_objection_model(*, data: Path) -> Model:
    """The objection model the agents use, trained on every turn of the objection corpora
    (scripts/train_conversation_model.py writes it into the package)."""
    turns = load_corpora(data)["both"]
    return fit([t.text for t in turns], [t.before for t in turns], training_labels(turns),
               [t.dialogue for t in turns])


@dataclass(frozen=True)
class CrossValidation:
    """What models trained without a dialogue said of its turns."""

    fired: list[bool]
    model_category: list[str]
    agents_category: list[str]


def cross_validated(turns: list[Turn], *, folds: int) -> CrossValidation:
    """Each turn as seen by models trained on the other dialogues' turns only."""
    labels = training_labels(turns)
    fired, model_category, agents_category = [False] * len(turns), [""] * len(turns), [""] * len(turns)
    for train, test in dialogue_folds(turns, folds=folds):
        model = fit([turns[i].text for i in train], [turns[i].before for i in train], [labels[i] for i in train],
                    [turns[i].dialogue for i in train])
        for i in test:
            fired[i] = model.is_objection(turns[i].text, turns[i].before)
            model_category[i] = model.category(turns[i].text)
            agents_category[i] = phrase_category(turns[i].text) or model_category[i]
    return CrossValidation(fired, model_category, agents_category)


def evaluate(*, data: Path, folds: int = 5, only: Iterable[str] | None = None) -> list[Score]:
    """Each detector's score on its corpus (see the module's docstring)."""
    if not 2 <= folds <= 20:
        raise BadInput(f"folds: 2 to 20 (got {folds})")
    corpora = load_corpora(data)
    wanted = set(only) if only is not None else None
    learned: list[CrossValidation] = []  # computed once, when a row needs it

    def verdicts() -> CrossValidation:
        if not learned:
            learned.append(cross_validated(corpora["both"], folds=folds))
        return learned[0]

    offset = {"persuasion": 0, "sales lines": len(corpora["persuasion"]), "both": 0}
    scores = []
    for detector in DETECTORS:
        if wanted is not None and detector.name not in wanted:
            continue
        turns = corpora[detector.corpus]
        truth = [bool(t.labels & detector.truth) for t in turns]
        if detector.fires is not None:
            fired = [detector.fires(t) for t in turns]
        else:
            fired = verdicts().fired[offset[detector.corpus]:offset[detector.corpus] + len(turns)]
            if detector.with_phrases:
                fired = [f or _phrases(t) for f, t in zip(fired, turns)]
        scores.append(Score(detector.name, detector.corpus, detector.note, len(turns), sum(truth),
                            sum(f and y for f, y in zip(fired, truth)), sum(fired)))
    for name, note in CATEGORY_WAYS.items():
        if wanted is not None and name not in wanted:
            continue
        said = {"objection category: phrases, else model": lambda i, t: verdicts().agents_category[i],
                "objection category: model": lambda i, t: verdicts().model_category[i],
                "objection category: phrases": lambda i, t: phrase_category(t.text)}[name]
        objecting = [(i, t) for i, t in enumerate(corpora["sales lines"], start=offset["sales lines"]) if t.labels]
        right = sum(said(i, t) in t.labels for i, t in objecting)
        scores.append(Score(name, "sales lines", note, len(objecting), len(objecting), right, len(objecting)))
    if wanted is None or wanted & set(AGREEMENT_ROWS):
        scores += casino_agreement_scores(data / CASINO_FILE, wanted=wanted)
    return scores


def dialogue_folds(turns: list[Turn], *, folds: int) -> list[tuple[list[int], list[int]]]:
    """(train, test) positions for each fold; all the turns of a dialogue fall in the same fold."""
    from sklearn.model_selection import GroupKFold  # imported when evaluating: it loads slowly

    groups = [t.dialogue for t in turns]
    return [(list(train), list(test)) for train, test in GroupKFold(n_splits=folds).split(turns, groups=groups)]
