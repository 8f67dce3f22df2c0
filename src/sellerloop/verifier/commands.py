"""`sellerloop verify CLAIMS.json [--json]` (DESIGN.md §8). Registered on the app by sellerloop.cli."""
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
