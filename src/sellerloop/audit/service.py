"""Appending to the audit log and proving it was not changed since.

The hash of a row is

    sha256( canonical_json([seq, recorded_at, actor, action, subject, payload, prev_hash]) ), hex

where canonical_json is `json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)` encoded as UTF-8, and recorded_at is ISO 8601 with microseconds, naive UTC
("2026-11-25T09:30:00.123456"). Each field is in it for a reason:

- seq: the row's position. A row moved to another position no longer matches its hash (reordering).
- recorded_at: when it happened. Backdating an entry is an edit.
- actor: who did it (a user id, or a service identity such as "executor"). Blaming someone else is an edit.
- action, subject: what was done, to which record.
- payload: the evidence: sources used, output, policy decision, approver, diff.
- prev_hash: the previous row's hash (GENESIS for row 1). This is what makes it a chain: each row vouches for
  everything before it, so removing, inserting or moving a row breaks the next row's link, and an edit that
  recomputes one row's hash breaks the link of the row after it.

What `verify` detects, walking the rows in seq order and reporting the first bad one: an edited row (its hash
does not match its contents), a deleted row (a gap in seq, or the first rows gone), a moved row (its contents
were hashed under another seq, or it links to a row other than the one before it), an inserted row (the next
row skips over it to link to an older one), and recorded_at going backwards (a reordering that rewrote every
hash after it consistently, which the links alone would not show).

Its limit: a chain proves only that each row follows from the ones before it. Whoever can write to the database
can cut off the tail, or rewrite the log from some row on with fresh, consistent hashes (sha256 needs no key), and
what is left is a valid chain. Only a copy of the head kept elsewhere can tell: `head()` gives the last seq and
hash; keep it outside the database (a ticket, a log shipper, a signed note), and `verify(expect_head=...)` then
also proves that the row at that seq is still there with that hash, i.e. that nothing up to it was rewritten or
cut. Rows appended after the anchor are taken as genuine appends: forged ones there look just like them.

Concurrency: appending reads the last row and writes the next seq, so two writers must not read the same last
row. On PostgreSQL `append` takes a lock on the table that only appenders conflict on (readers and `verify` go
on); a waiting writer then reads the row the first one committed. (FOR UPDATE on the last row would not do: it
locks nothing on an empty table, and in READ COMMITTED a waiter gets the same old last row back once the lock is
released.) On SQLite the database has one writer at a time, and `append` takes the write lock before it reads.
Should two writers still pick the same seq (a snapshot taken earlier in a REPEATABLE READ transaction, say), the
primary key on seq refuses the second: `AuditConflict`, permanent=False, and nothing forks. Roll back, try again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, literal_column, or_, select, text, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sellerloop.access.fields import HIDDEN, field_hidden
from sellerloop.access.service import account_filter, visible_owner_ids
from sellerloop.audit.models import GENESIS, AuditEntry
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.records.models import Account, Contact, Opportunity, Transcript, User

TICK = dt.timedelta(microseconds=1)
LIMITS = {"actor": 100, "action": 50, "subject": 300}  # the column widths (audit/models.py)
# How far past the last seq `verify` looks for the position a moved or renumbered row was recorded at.
RENUMBER_WINDOW = 1000
_COLUMNS = (AuditEntry.seq, AuditEntry.recorded_at, AuditEntry.actor, AuditEntry.action, AuditEntry.subject,
            AuditEntry.payload, AuditEntry.prev_hash, AuditEntry.hash)


class AuditConflict(SellerloopError):
    """Another writer took the same position in the log at the same moment. Nothing was written; roll the
    transaction back and try again."""

    exit_code = 1
    http_status = 409
    permanent = False


class ChainBroken(SellerloopError):
    """`verify` found a row that was edited, deleted, inserted or moved."""

    exit_code = 1
    http_status = 409


@dataclass(frozen=True)
class Head:
    """The last row of the log: keep it outside the database to detect a cut or rewritten tail later."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, value: str) -> Head:
        seq, _, digest = value.strip().partition(":")
        digits = seq.isascii() and seq.isdigit()  # not just isdigit: "²" is a digit that int() refuses
        if not digits or int(seq) < 1 or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
            raise BadInput(f"an audit head is SEQ:SHA256 (e.g. 17:{'ab' * 32}), not {value!r}")
        return cls(int(seq), digest)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # rows found intact (all of them when ok; those before the first bad one otherwise)
    first_bad_seq: int | None = None
    problem: str | None = None  # one line naming the first bad row and what is wrong with it


# --- the hash -----------------------------------------------------------------------------------------------------

def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")


def _hasher(*, recorded_at: dt.datetime, actor: str, action: str, subject: str, payload: Any, prev_hash: str):
    """The row's hash as a function of its seq: everything but the seq is serialised once, so trying a row at
    many positions (finding where a moved row came from) costs one sha256 each."""
    rest = canonical_json([_iso(recorded_at), actor, action, subject, payload, prev_hash])[1:]  # without "["
    return lambda seq: hashlib.sha256(f"[{int(seq)},{rest}".encode()).hexdigest()


def entry_hash(*, seq: int, recorded_at: dt.datetime, actor: str, action: str, subject: str, payload: Any,
               prev_hash: str) -> str:
    """sha256 of canonical_json([seq, recorded_at, actor, action, subject, payload, prev_hash])."""
    return _hasher(recorded_at=recorded_at, actor=actor, action=action, subject=subject, payload=payload,
                   prev_hash=prev_hash)(seq)


def _row_hasher(row):
    return _hasher(recorded_at=row.recorded_at, actor=row.actor, action=row.action, subject=row.subject,
                   payload=row.payload, prev_hash=row.prev_hash)


# --- appending ----------------------------------------------------------------------------------------------------

def plain_json(value: Any, path: str = "payload") -> Any:
    """A copy of `value` made only of dict (string keys), list, str, int, finite float, bool and None, so that it
    is stored and read back exactly as it was hashed; anything else is refused, naming where it is."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(f"the audit payload must be JSON: {path} is not valid Unicode text") from None
        return str.__str__(value)  # a str enum member becomes its plain value
    if isinstance(value, int):
        return int(value)  # an int enum member becomes its plain value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"the audit payload must be JSON: {path} is {value}, which JSON cannot hold")
        return float(value)
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise BadInput(f"the audit payload must be JSON: {path} has a key {key!r} that is a "
                               f"{type(key).__name__}, not a string")
        return {str.__str__(k): plain_json(v, f"{path}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise BadInput(f"the audit payload must be JSON: {path} is a {type(value).__name__} "
                   f"({str(value)[:40]!r}); convert it to a string, number, list or object first")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"an audit entry needs a non-empty {name}, not {value!r}")
    if len(value) > LIMITS[name]:
        raise BadInput(f"an audit entry's {name} has at most {LIMITS[name]} characters: {value[:40]!r}...")
    return value


def _take_append_lock(session: Session) -> None:
    table = AuditEntry.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        # Conflicts with itself and with writes, not with plain reads: appenders queue, readers go on.
        session.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
    else:
        # An UPDATE that matches no row (so no trigger fires) still opens SQLite's write transaction: from here
        # on no other connection can write, and the last row read below stays the last one until commit.
        session.execute(text(f"UPDATE {table} SET seq = seq WHERE 0"))


def _last(session: Session):
    return session.execute(select(AuditEntry.seq, AuditEntry.hash, AuditEntry.recorded_at)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()


def append(*, session: Session, actor: str, action: str, subject: str, payload: Any) -> AuditEntry:
    """Add one row at the end of the log, in the caller's transaction (it is kept only if that commits).

    Raises BadInput for an empty or too long actor/action/subject or a payload that is not plain JSON, and
    AuditConflict (permanent=False) if another writer took the same seq at the same moment."""
    actor, action, subject = _text("actor", actor), _text("action", action), _text("subject", subject)
    payload = plain_json(payload)
    session.flush()  # the caller's pending rows first, so that an error below can only be about this entry
    _take_append_lock(session)
    last = _last(session)
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    # Strictly increasing with seq, even if the clock steps back, so that `verify` can hold it to that.
    recorded_at = max(now(), last.recorded_at + TICK) if last else now()
    entry = AuditEntry(seq=seq, recorded_at=recorded_at, actor=actor, action=action, subject=subject,
                       payload=payload, prev_hash=prev_hash)
    entry.hash = entry_hash(seq=seq, recorded_at=recorded_at, actor=actor, action=action, subject=subject,
                            payload=payload, prev_hash=prev_hash)
    session.add(entry)
    try:
        session.flush()
    except IntegrityError as e:
        raise AuditConflict(f"another writer appended audit row {seq} at the same moment; nothing was written, "
                            "roll back and try again") from e
    return entry


# --- reading ------------------------------------------------------------------------------------------------------

def head(*, session: Session) -> Head | None:
    """The last row's seq and hash (None for an empty log)."""
    row = _last(session)
    return Head(row.seq, row.hash) if row else None


def list_entries(*, session: Session, limit: int | None = None) -> list[AuditEntry]:
    """The newest rows first."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).execution_options(populate_existing=True)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def find_entries(*, session: Session, seen_by: User | None = None, actor: str | None = None,
                 action: str | None = None, action_prefix: str | None = None, subject_prefix: str | None = None,
                 start: dt.date | None = None, end: dt.date | None = None, offset: int = 0,
                 limit: int = 25) -> tuple[list[AuditEntry], int]:
    """One page of rows, newest first, and how many match: by who did it, what they did (exactly, or its start),
    the record it was about (its URI's start) and the days (UTC) it was recorded on. For `seen_by` a person who
    does not see the whole book: only entries about records they may see, and so none about the policy."""
    query = select(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if action_prefix is not None:
        query = query.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    if subject_prefix is not None:
        query = query.where(AuditEntry.subject.startswith(subject_prefix, autoescape=True))
    if start is not None:
        query = query.where(AuditEntry.recorded_at >= dt.datetime.combine(start, dt.time()))
    if end is not None and end < dt.date.max:
        query = query.where(AuditEntry.recorded_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    owners = visible_owner_ids(session=session, user=seen_by) if seen_by is not None else None
    if owners is not None:
        query = query.where(AuditEntry.subject.in_(visible_subjects(owners)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)
                           .execution_options(populate_existing=True))
    return list(rows), total


def visible_subjects(owners: set[str]):
    """The subjects (record URIs) of the records the owners' viewer may see, as one SQL union: the rule of
    access.service in set form (an account also through its deals, a contact through its account, a call through
    its deal, else its account)."""
    def uri(prefix: str, column):
        return literal_column(f"'{prefix}:'", String).concat(column)

    visible_deals = select(Opportunity.id).where(Opportunity.owner_id.in_(owners))
    visible_accounts = select(Account.id).where(account_filter(owners))
    return union_all(
        select(uri("opportunity", Opportunity.id)).where(Opportunity.owner_id.in_(owners)),
        select(uri("account", Account.id)).where(account_filter(owners)),
        select(uri("contact", Contact.id)).where(Contact.account_id.in_(visible_accounts)),
        select(uri("transcript", Transcript.id)).where(or_(
            Transcript.opportunity_id.in_(visible_deals),
            Transcript.opportunity_id.is_(None) & Transcript.account_id.in_(visible_accounts))),
    )


# --- what a person may read of an entry ---------------------------------------------------------------------

VALUE_KEYS = ("old", "new", "before", "after")
MIN_SCRUBBED = 4  # a hidden value shorter than this is not searched for inside other text: "1" is everywhere


def _field_changes(value: Any) -> Iterator[tuple[dict, str, str | None]]:
    """Every part of a payload that holds one field of one record: an update_field payload (object, record_id,
    field, old, new) or an execution's diff (table, id, field, before, after)."""
    if isinstance(value, dict):
        if isinstance(value.get("field"), str):
            for kind_key, id_key in (("object", "record_id"), ("table", "id")):
                if isinstance(value.get(kind_key), str):
                    yield value, value[kind_key], value.get(id_key)
                    break
        for inner in value.values():
            yield from _field_changes(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _field_changes(inner)


def masked_payload(session: Session, *, user: User | None, payload: Any) -> tuple[Any, bool]:
    """The payload as `user` may read it, and whether anything was hidden. The old and new values of a sensitive
    field they may not see (access.fields.field_hidden, as the approvals inbox masks them) become "(hidden)", and
    so does every other place those values occur: an agent's reason and its source quotes carry them too."""
    if user is None:
        return payload, False
    hidden: set[int] = set()
    secrets: set[str] = set()
    for change, kind, record_id in _field_changes(payload):
        if field_hidden(session, user=user, object_type=kind, record_id=record_id, name=change["field"]):
            hidden.add(id(change))
            secrets |= {str(change[k]) for k in VALUE_KEYS if change.get(k) not in (None, "")}
    if not hidden:
        return payload, False
    return _scrub(payload, hidden, secrets), True


def _scrub(value: Any, hidden: set[int], secrets: set[str]) -> Any:
    if isinstance(value, dict):
        masked = {k: _scrub(v, hidden, secrets) for k, v in value.items()}
        if id(value) in hidden:
            masked |= {k: HIDDEN for k in VALUE_KEYS if k in value}
        return masked
    if isinstance(value, list):
        return [_scrub(v, hidden, secrets) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if str(value) in secrets:
        return HIDDEN
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= MIN_SCRUBBED:
                value = value.replace(secret, HIDDEN)
    return value


def _rows(session: Session) -> Iterator:
    # Plain rows, not ORM objects: an object this session already holds would hide what the table holds now.
    return iter(session.execute(select(*_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=1000)))


def _span(first: int, last: int, verb: tuple[str, str] = ("is", "are")) -> str:
    return f"row {first} {verb[0]}" if first == last else f"rows {first}-{last} {verb[1]}"


def _recorded_seq(session: Session, row) -> int | None:
    """The seq under which a row whose hash does not match its own seq was hashed, if any: the row was moved (or
    renumbered) rather than edited. One sha256 per candidate position."""
    hash_at = _row_hasher(row)
    top = session.scalar(select(func.max(AuditEntry.seq))) or 0
    return next((s for s in range(1, top + RENUMBER_WINDOW + 1) if s != row.seq and hash_at(s) == row.hash), None)


def _diagnose(session: Session, row, prev) -> tuple[int, str] | None:
    """What is wrong with `row`, given the intact row before it (None at the start), or None if nothing."""
    expected_seq, expected_link = (prev.seq + 1, prev.hash) if prev else (1, GENESIS)
    if row.seq < expected_seq:  # seq is unique and rows come in seq order, so only before row 1
        return row.seq, f"row {row.seq} was inserted: the log starts at row 1"
    if row.seq > expected_seq:
        # Rows expected_seq.. are not here. A row that links to the previous one and was hashed as the next one
        # was moved away; otherwise they were deleted.
        for other in session.execute(select(*_COLUMNS).where(AuditEntry.prev_hash == expected_link,
                                                             AuditEntry.seq != row.seq)):
            if _row_hasher(other)(expected_seq) == other.hash:
                return expected_seq, f"row {expected_seq} is out of order: it is stored as row {other.seq}"
        after = f"row {row.seq} follows row {prev.seq}" if prev else f"the log starts at row {row.seq}"
        return expected_seq, f"{_span(expected_seq, row.seq - 1)} missing (deleted): {after}"
    if _row_hasher(row)(row.seq) != row.hash:
        recorded = _recorded_seq(session, row)
        if recorded is not None:
            if row.prev_hash == GENESIS or session.scalar(select(AuditEntry.seq).where(
                    AuditEntry.hash == row.prev_hash)) is not None:
                return row.seq, f"row {row.seq} is out of order: its contents were recorded as row {recorded}"
            if recorded > row.seq:  # its predecessor is gone and everything after was moved up to close the gap
                return row.seq, (f"row {recorded - 1} is missing (deleted): the rows after it were renumbered "
                                 f"(row {row.seq} holds what was recorded as row {recorded})")
        return row.seq, f"row {row.seq} was edited: its hash does not match its contents"
    if row.prev_hash != expected_link:
        linked = 0 if row.prev_hash == GENESIS else session.scalar(
            select(AuditEntry.seq).where(AuditEntry.hash == row.prev_hash))
        if linked is not None and linked < row.seq - 1:
            follows = f"follows row {linked}" if linked else "starts the chain"
            inserted = _span(linked + 1, row.seq - 1, ("was", "were"))
            return linked + 1, f"{inserted} inserted: row {row.seq} {follows} in the chain"
        if linked is not None:
            return row.seq, f"row {row.seq} is out of order: it follows row {linked} in the chain"
        if prev is None:
            return row.seq, f"row {row.seq} was edited: it links to a row that does not exist"
        # It links to a hash no row has: the row before it was changed and given a fresh hash.
        return prev.seq, (f"row {prev.seq} was edited: its hash was recomputed, and row {row.seq} is chained to "
                          "the old one")
    if prev is not None and row.recorded_at <= prev.recorded_at:
        return row.seq, (f"row {row.seq} is out of order: recorded at {_iso(row.recorded_at)}, not after row "
                         f"{prev.seq} ({_iso(prev.recorded_at)})")
    return None


def verify(*, session: Session, expect_head: Head | None = None) -> VerifyResult:
    """Walk the whole log in seq order and report the first row that was edited, deleted, inserted or moved.

    With `expect_head` (a `head()` kept outside the database earlier), also check that the log still reaches that
    row and that it still has that hash: this catches a cut-off tail and a log rewritten consistently up to there,
    which the chain alone cannot show (see the module notes)."""
    prev, checked, anchored = None, 0, None
    for row in _rows(session):
        problem = _diagnose(session, row, prev)
        if problem is not None:  # the rows walked so far are 1..prev.seq; those before the bad one are intact
            return VerifyResult(False, min(checked, problem[0] - 1), *problem)
        if expect_head is not None and row.seq == expect_head.seq:
            anchored = row.hash
        prev, checked = row, checked + 1
    if expect_head is not None:
        if prev is None or prev.seq < expect_head.seq:
            first = prev.seq + 1 if prev else 1
            ends = f"the log ends at row {prev.seq}" if prev else "the log is empty"
            return VerifyResult(False, checked, first, f"{_span(first, expect_head.seq)} missing (cut off): {ends},"
                                                       f" the anchor is row {expect_head.seq}")
        if anchored != expect_head.hash:
            return VerifyResult(False, checked, expect_head.seq,
                                f"row {expect_head.seq} does not match the anchor: the log up to it was rewritten")
    return VerifyResult(True, checked)
