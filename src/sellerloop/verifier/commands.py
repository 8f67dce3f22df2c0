"""`sellerloop verify CLAIMS.json [--json]` (DESIGN.md §8) and `sellerloop eval claims`. Registered on the app by
sellerloop.cli."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from sellerloop.errors import BadInput
from sellerloop.store.db import session_scope
from sellerloop.store.service import open_engine, require_current_schema
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claims

_CLAIMS = TypeAdapter(list[Claim])


def verify(
    claims_file: Annotated[Path, typer.Argument(help='JSON list of {"text": ..., "sources": [uri, ...]}')],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of results")] = False,
) -> None:
    """Check each claim against the sources it cites: supported or not, and why. Exits 0 whatever the verdicts."""
    claims = load_claims(claims_file)
    engine = open_engine()
    try:
        require_current_schema(engine)
        with session_scope(engine) as session:
            verdicts = verify_claims(session=session, claims=claims)
    finally:
        engine.dispose()
    results = [{"text": claim.text, "supported": verdict.supported, "why": verdict.why, "facts": verdict.facts,
                "overlap": round(verdict.overlap, 3)} for claim, verdict in zip(claims, verdicts, strict=True)]
    if as_json:
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
        return
    for number, result in enumerate(results, 1):
        mark = "supported" if result["supported"] else "UNSUPPORTED"
        sys.stdout.write(f"{number}. [{mark}] {result['text']}\n   {result['why']}\n")
    supported = sum(result["supported"] for result in results)
    sys.stdout.write(f"{supported} of {len(results)} claims supported\n")


def claims_command(
    data: Annotated[Path | None, typer.Option("--data", help="the folder holding claims/ (default: the "
                                                            "repository's data/)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
    misses: Annotated[bool, typer.Option("--misses", help="also list each claim the verifier got wrong")] = False,
) -> None:
    """The verifier on meaning: the share of falsified claims it blocks and of faithful paraphrases it blocks, on
    the paraphrase set written for this project from the demo book, per half (dev, held-out) and kind."""
    from sellerloop.verifier.evaluation import REPOSITORY_DATA, evaluate, kinds_table

    rates = evaluate(data=data or REPOSITORY_DATA)
    if as_json:
        sys.stdout.write(json.dumps([r.as_dict() for r in rates], indent=2) + "\n")
        return
    for r in rates:
        sys.stdout.write(f"{r.half:8}  {r.mode:12}  falsifications blocked {r.falsified_blocked:3}/{r.falsified:<3} "
                         f"= {r.falsified_blocked_share:6.1%}   faithful blocked {r.faithful_blocked:3}/"
                         f"{r.faithful:<3} = {r.faithful_blocked_share:5.1%}\n")
    columns = [f"{r.half} / {r.mode}" for r in rates]
    sys.stdout.write("\nblocked per kind (" + "; ".join(columns) + "):\n")
    for kind, counts in kinds_table(rates):
        cells = "  ".join(f"{counts[c][0]:2}/{counts[c][1]:<2}" if c in counts else "  -  " for c in columns)
        sys.stdout.write(f"  {kind:34} {cells}\n")
    if misses:
        for r in rates:
            for miss in r.misses:
                sys.stdout.write(f"[{r.half} / {r.mode}] {miss['label']} ({miss['kind']}): {miss['claim']}\n"
                                 f"    {miss['why']}\n")


def load_claims(path: Path) -> list[Claim]:
    """The claims in a file, or BadInput with a one-line reason (and the line, for broken JSON)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read it ({e.__class__.__name__})", file=str(path)) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise BadInput(f"not valid JSON: {e.msg} (column {e.colno})", file=str(path), line=e.lineno) from None
    if not isinstance(data, list):
        raise BadInput('expected a JSON list of {"text": ..., "sources": [uri, ...]} objects', file=str(path))
    try:
        return _CLAIMS.validate_python(data)
    except ValidationError as e:
        first = e.errors()[0]
        index, *where = first["loc"] or ("?",)
        field = ".".join(str(part) for part in where)
        raise BadInput(f"claim {index + 1 if isinstance(index, int) else index}: "
                       f"{field + ': ' if field else ''}{first['msg']}", file=str(path)) from None
