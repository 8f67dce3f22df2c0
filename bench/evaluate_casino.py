"""Precision and recall of the coaching detectors (sellerloop.evidence.dialogue) on CaSiNo's strategy labels.

    .venv/bin/python bench/evaluate_casino.py [--data data/casino/casino_train.json] [--examples 4] [--json]

CaSiNo (Chawla et al., NAACL 2021; CC BY 4.0) holds 900 real negotiation chats; part of them carry, per
utterance, the negotiation strategies its author used. Each detector runs on every annotated utterance (an
utterance fires when any of its sentences does) and is compared with the label that means the same thing:

    detector                      label(s) counted as positive
    elicits_preference            elicit-pref
    need_kinds -> "self"          self-need
    need_kinds -> "other"         other-need
    states_need (self or other)   self-need or other-need
    acknowledges                  showing-empathy
    is_question                   recall only, on elicit-pref utterances (CaSiNo has no question label; every
                                  way of asking for preferences should be caught as a question)

Results are written by hand into docs/EVALUATION.md, with the date and this command.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sellerloop.evidence.conversation import sentences
from sellerloop.evidence.dialogue import acknowledges, is_question, need_statements, preference_questions

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "casino" / "casino_train.json"


def _any(predicate: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda text: any(predicate(s) for s in sentences(text))


# name: (what fires, which labels are the truth, what it means)
DETECTORS: dict[str, tuple[Callable[[str], bool], frozenset[str], str]] = {
    "preference elicitation": (lambda t: bool(preference_questions(t)), frozenset({"elicit-pref"}),
                               "`preference_questions` not empty vs `elicit-pref`"),
    "self-need statement": (lambda t: any("self" in k for _, k in need_statements(t)),
                            frozenset({"self-need"}), "`need_statements` with kind `self` vs `self-need`"),
    "other-need statement": (lambda t: any("other" in k for _, k in need_statements(t)),
                             frozenset({"other-need"}),
                             "`need_statements` with kind `other` vs `other-need`"),
    "need statement (either)": (lambda t: bool(need_statements(t)), frozenset({"self-need", "other-need"}),
                                "`need_statements` not empty vs `self-need` or `other-need`"),
    "acknowledgement": (_any(acknowledges), frozenset({"showing-empathy"}),
                        "`acknowledges` vs `showing-empathy`"),
}


@dataclass
class Score:
    name: str
    compared: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    false_positives: list[tuple[str, list[str]]] = field(default_factory=list)
    false_negatives: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"detector": self.name, "compared": self.compared, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "tn": self.tn, "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3)}


@dataclass
class Evaluation:
    dialogues: int
    annotated_dialogues: int
    utterances: int
    scores: dict[str, Score]
    question_recall_on_elicit_pref: float
    questions_without_mark: list[str]

    def as_dict(self) -> dict:
        return {"dialogues": self.dialogues, "annotated_dialogues": self.annotated_dialogues,
                "utterances": self.utterances, "scores": [s.as_dict() for s in self.scores.values()],
                "question_recall_on_elicit_pref": round(self.question_recall_on_elicit_pref, 3)}


def annotated_utterances(path: Path | str = DEFAULT_DATA) -> tuple[int, int, list[tuple[str, list[str]]]]:
    """(dialogues, annotated dialogues, [(utterance, labels)]) from a CaSiNo JSON file."""
    dialogues = json.loads(Path(path).read_text(encoding="utf-8"))
    annotated = [d for d in dialogues if d.get("annotations")]
    rows = [(text, [label.strip() for label in labels.split(",") if label.strip()])
            for d in annotated for text, labels in d["annotations"]]
    return len(dialogues), len(annotated), rows


def evaluate(path: Path | str = DEFAULT_DATA, *, keep_examples: int = 50) -> Evaluation:
    """Run every detector on every annotated utterance and count agreements with the labels."""
    n_dialogues, n_annotated, rows = annotated_utterances(path)
    scores = {name: Score(name, compared) for name, (_, _, compared) in DETECTORS.items()}
    for text, labels in rows:
        for name, (fires, truth, _) in DETECTORS.items():
            score, predicted, actual = scores[name], fires(text), bool(truth & set(labels))
            if predicted and actual:
                score.tp += 1
            elif predicted:
                score.fp += 1
                if len(score.false_positives) < keep_examples:
                    score.false_positives.append((text, labels))
            elif actual:
                score.fn += 1
                if len(score.false_negatives) < keep_examples:
                    score.false_negatives.append((text, labels))
            else:
                score.tn += 1
    elicit = [text for text, labels in rows if "elicit-pref" in labels]
    asked = [text for text in elicit if any(is_question(s) for s in sentences(text))]
    without_mark = [s for text, _ in rows for s in sentences(text) if is_question(s) and "?" not in s]
    return Evaluation(n_dialogues, n_annotated, len(rows), scores,
                      len(asked) / len(elicit) if elicit else 0.0, without_mark)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--examples", type=int, default=4, help="misclassified examples shown per detector")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = evaluate(args.data)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    print(f"CaSiNo {args.data} · {dt.date.today().isoformat()} · {result.dialogues} dialogues, "
          f"{result.annotated_dialogues} annotated, {result.utterances} annotated utterances\n")
    print("| detector | compared | TP | FP | FN | precision | recall | F1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for s in result.scores.values():
        print(f"| {s.name} | {s.compared} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.2f} | {s.recall:.2f} "
              f"| {s.f1:.2f} |")
    print(f"\nis_question recall on elicit-pref utterances: {result.question_recall_on_elicit_pref:.2f}")
    print(f"questions found without a '?': {len(result.questions_without_mark)}, e.g.")
    for sentence in result.questions_without_mark[:args.examples * 2]:
        print(f"  - {sentence}")
    for s in result.scores.values():
        print(f"\n{s.name}: false positives")
        for text, labels in s.false_positives[:args.examples]:
            print(f"  - [{', '.join(labels)}] {text}")
        print(f"{s.name}: false negatives")
        for text, labels in s.false_negatives[:args.examples]:
            print(f"  - [{', '.join(labels)}] {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
