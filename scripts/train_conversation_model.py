"""Train the objection detector the agents use and write it into the package.

    PYTHONPATH=src python scripts/train_conversation_model.py [--data data] [--check]

It learns from the repository's data/: PersuasionForGood's annotated development split and the sales lines
written for this project (data/sales_lines/), and writes src/sellerloop/evidence/objection_model.json (see
evidence/classifier.py for what the model reads and why it is JSON). Deterministic: the same data gives the same
file (up to the last digits of a weight on another machine). `--check` writes nothing and exits 1 when the shipped
file is not what the data trains. How well it does,
measured by cross-validation over dialogues: `sellerloop eval conversations` (docs/EVALUATION.md).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sellerloop.evidence.classifier import MODEL_FILE, Model, shipped_model
from sellerloop.evidence.evaluation import REPOSITORY_DATA, train_objection_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY_DATA, help="the folder holding the corpora")
    parser.add_argument("--check", action="store_true", help="only compare with the shipped model")
    args = parser.parse_args()
    trained = train_objection_model(data=args.data).as_dict()
    if args.check:
        # Compared as read back from JSON, both rounded the same way.
        differences = Model.from_dict(trained).differences(shipped_model())
        print(f"{MODEL_FILE.name}: " + (f"differs from what the data trains ({len(differences)} weights, e.g. "
                                         f"{differences[:3]})" if differences else "as the data trains it"))
        return 1 if differences else 0
    text = json.dumps(trained, indent=0, sort_keys=True) + "\n"
    MODEL_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_FILE} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
