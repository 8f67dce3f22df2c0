"""Importing downstream events (`sellerloop import events FILE`): a CSV with a header, or JSON Lines.

Columns (CSV) or keys (JSON Lines): kind, subject, occurred_at, external_id, and optionally detail (a JSON
object; in a CSV, its JSON text). Each event is stored through pipeline/outcomes.record_event with source
"import", so importing the same file again stores nothing new, and an id reused for another event is refused.

All or nothing: every line is read and checked before the caller commits, and the first bad one is a BadInput
naming the file and the line; the caller's transaction (store.db.session_scope) then stores none of them.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.errors import BadInput, SellerloopError
from sellerloop.importers.csvfiles import read_csv, read_text
from sellerloop.outcomes.models import OutcomeEvent
from sellerloop.pipeline.outcomes import record_event

REQUIRED = ("kind", "subject", "occurred_at", "external_id")
OPTIONAL = ("detail",)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
CHUNK = 500  # ids per IN (...) list: well under every backend's limit on bound parameters


@dataclass(frozen=True)
class EventImport:
    read: int  # events in the file
    stored: int  # new ones
    already: int  # stored before (an earlier import of the same events), or repeated in the file

    def as_dict(self) -> dict:
        return {"read": self.read, "stored": self.stored, "already": self.already}


def import_events(*, session: Session, path: Path) -> EventImport:
    """Store every event in the file, in the caller's transaction."""
    rows = list(_rows(path))
    known = _stored_ids(session, [row["external_id"].strip() for _, row in rows])
    for line, row in rows:
        try:
            record_event(session=session, kind=row["kind"], subject=row["subject"], occurred_at=row["occurred_at"],
                         source="import", external_id=row["external_id"], detail=_detail(row.get("detail")))
        except SellerloopError as e:
            raise BadInput(e.message, file=str(path), line=line) from None
    new = {row["external_id"].strip() for _, row in rows} - known
    return EventImport(read=len(rows), stored=len(new), already=len(rows) - len(new))


def _stored_ids(session: Session, external_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(external_ids), CHUNK):
        found.update(session.scalars(select(OutcomeEvent.external_id).where(
            OutcomeEvent.source == "import", OutcomeEvent.external_id.in_(external_ids[start:start + CHUNK]))))
    return found


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    if path.suffix.lower() in JSON_LINES_SUFFIXES:
        yield from _json_lines(path)
    else:
        yield from read_csv(path, REQUIRED)


def _json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    for line, text in enumerate(read_text(path).splitlines(), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as e:
            raise BadInput(f"not JSON ({e.msg} at column {e.colno})", file=str(path), line=line) from None
        if not isinstance(row, dict):
            raise BadInput("each line must be a JSON object", file=str(path), line=line)
        missing = [k for k in REQUIRED if row.get(k) in (None, "")]
        unknown = sorted(set(row) - set(REQUIRED) - set(OPTIONAL))
        if missing or unknown:
            what = f"missing {', '.join(missing)}" if missing else f"unknown key(s) {', '.join(unknown)}"
            raise BadInput(f"{what} (an event has {', '.join(REQUIRED)} and optionally detail)", file=str(path),
                           line=line)
        if not all(isinstance(row[k], str) for k in REQUIRED):
            raise BadInput(f"{', '.join(REQUIRED)} must be text", file=str(path), line=line)
        yield line, row


def _detail(value) -> dict | None:
    """A CSV cell holds the detail as JSON text; a JSON line holds the object itself."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise BadInput(f"detail: not JSON ({e.msg})") from None
    return value
