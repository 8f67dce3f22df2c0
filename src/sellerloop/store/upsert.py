"""Insert-or-update in bulk with the database's own ON CONFLICT, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECT_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
BATCH = 2000


def upsert(session: Session, model, rows: Sequence[dict], *, keep_when_null: Iterable[str] = ()) -> None:
    """Write `rows` keyed by the primary key: new keys are inserted, existing ones updated in place.

    Columns in `keep_when_null` keep their stored value when the incoming value is NULL, so a re-import of a
    source that lacks a field does not erase what another step filled in (e.g. an expected close date).
    """
    if not rows:
        return
    table = model.__table__
    stmt = _DIALECT_INSERT[session.get_bind().dialect.name](table)
    keys = [c.name for c in table.primary_key.columns]
    keep = set(keep_when_null)
    updates = {c: (func.coalesce(stmt.excluded[c], table.c[c]) if c in keep else stmt.excluded[c])
               for c in rows[0] if c not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updates) if updates \
        else stmt.on_conflict_do_nothing(index_elements=keys)
    # One statement executed with many parameter sets: compiled once, sent in batches by the driver
    # (a multi-VALUES literal per batch would be recompiled each time and costs seconds on 8,800 rows).
    for start in range(0, len(rows), BATCH):
        session.execute(stmt, list(rows[start:start + BATCH]))
