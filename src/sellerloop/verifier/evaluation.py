"""`sellerloop eval claims`: the verifier measured on a paraphrase set written for this project.

data/claims/paraphrases.jsonl holds claims about real demo sources (data/claims/sources.jsonl: the text each
source resolves to in the demo book, copied verbatim): faithful paraphrases, which the verifier must let through,
and subtle falsifications (a negation, an antonym, a changed number or unit, another speaker, swapped arguments,
a date given another role, another account), which it must block. Each is labelled with the kind of change.

The set has two halves split by source (no source in both): `dev`, which the rules were tuned on, and `held-out`,
only measured. Each claim is checked twice: citing its whole source (as agents cite a record), and citing only
the line it rests on, whose speaker the verifier then reads off the source (as agents cite a quote).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sellerloop.errors import BadInput
from sellerloop.evidence.models import SourceRef
from sellerloop.verifier.meaning import speaker_of
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claim

# The repository's data/ (a source checkout; an installed package is given --data).
REPOSITORY_DATA = Path(__file__).resolve().parents[3] / "data"
CLAIMS_FILE = Path("claims") / "paraphrases.jsonl"
SOURCES_FILE = Path("claims") / "sources.jsonl"
HALVES = ("dev", "held-out")
MODES = ("whole source", "quoted line")


@dataclass(frozen=True)
class Item:
    id: str
    half: str
    source: str
    line: str  # the source's line the claim rests on, verbatim
    claim: str
    label: str  # faithful or falsified
    kind: str
    record_names: tuple[str, ...] = ()


@dataclass
class Rates:
    """Blocked counts of one half in one citing mode, overall and per kind of change."""

    half: str
    mode: str
    faithful: int = 0
    faithful_blocked: int = 0
    falsified: int = 0
    falsified_blocked: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # "label: kind" -> [blocked, total]
    misses: list[dict] = field(default_factory=list)  # what went wrong: faithful blocked, falsified passed

    @property
    def falsified_blocked_share(self) -> float:
        return self.falsified_blocked / self.falsified if self.falsified else 0.0

    @property
    def faithful_blocked_share(self) -> float:
        return self.faithful_blocked / self.faithful if self.faithful else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "falsified_blocked_share": round(self.falsified_blocked_share, 4),
                "faithful_blocked_share": round(self.faithful_blocked_share, 4)}


def load_items(data: Path) -> tuple[list[Item], dict[str, str]]:
    """The paraphrase set and its sources, or BadInput naming what is missing."""
    paths = [data / CLAIMS_FILE, data / SOURCES_FILE]
    for path in paths:
        if not path.is_file():
            raise BadInput(f"no {path.relative_to(data)} under {data}: give --data the folder holding claims/ "
                           "(the repository's data/)")
    try:
        items = [Item(**{**row, "record_names": tuple(row.get("record_names", ()))})
                 for row in _jsonl(paths[0])]
        sources = {row["uri"]: row["text"] for row in _jsonl(paths[1])}
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise BadInput(f"malformed paraphrase set under {data}: {e}") from None
    return items, sources


def _jsonl(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(*, data: Path) -> list[Rates]:
    """Blocked shares per half and citing mode."""
    items, sources = load_items(data)
    results = {(half, mode): Rates(half, mode) for half in HALVES for mode in MODES}
    for item in items:
        for mode in MODES:
            verdict = _verdict(item, sources, mode)
            rates = results[(item.half, mode)]
            blocked = not verdict.supported
            if item.label == "faithful":
                rates.faithful += 1
                rates.faithful_blocked += blocked
            else:
                rates.falsified += 1
                rates.falsified_blocked += blocked
            counts = rates.by_kind.setdefault(f"{item.label}: {item.kind}", [0, 0])
            counts[0] += blocked
            counts[1] += 1
            if blocked == (item.label == "faithful"):
                rates.misses.append({"id": item.id, "label": item.label, "kind": item.kind, "claim": item.claim,
                                     "why": verdict.why})
    return list(results.values())


def _verdict(item: Item, sources: dict[str, str], mode: str):
    text = sources[item.source]
    if mode == "whole source":
        return verify_claim(claim=Claim(text=item.claim, sources=[SourceRef(uri=item.source)]),
                            quotes={item.source: text}, record_names=item.record_names)
    quote = _body(item.line)
    return verify_claim(claim=Claim(text=item.claim, sources=[SourceRef(uri=item.source, quote=quote)]),
                        quotes={item.source: quote}, record_names=item.record_names,
                        speakers={item.source: speaker_of(text, quote)})


def _body(line: str) -> str:
    """What an agent quotes of a transcript line: its words, without "[mm:ss] Speaker: "."""
    if line.startswith("["):
        return line.split(": ", 1)[1]
    return line


def summary(rates: list[Rates]) -> dict[str, dict[str, float]]:
    """{"dev / whole source": {"falsified_blocked": share, "faithful_blocked": share}, ...}"""
    return {f"{r.half} / {r.mode}": {"falsified_blocked": r.falsified_blocked_share,
                                     "faithful_blocked": r.faithful_blocked_share} for r in rates}


def kinds_table(rates: list[Rates]) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """Per kind of change: (kind, {"dev / whole source": (blocked, total), ...}), faithful kinds first."""
    kinds: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for r in rates:
        for kind, (blocked, total) in r.by_kind.items():
            kinds[kind][f"{r.half} / {r.mode}"] = (blocked, total)
    return sorted(kinds.items(), key=lambda pair: (not pair[0].startswith("faithful"), pair[0]))
