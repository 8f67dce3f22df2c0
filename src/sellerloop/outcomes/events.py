"""Downstream events: what happened on a record after the agents spoke, whichever way it became known.

An event is a fact about one record at one time: an email replied to, a meeting booked, a stage moved, a task
completed, a close date moved, a deal won or lost. It arrives through the API (`POST /api/outcomes/events`),
through an import (`sellerloop import events FILE`), or is read off the CRM's own history in the store
(`collect_crm_events`, `sellerloop outcomes collect`). `outcomes/linking.py` ties events to what was recommended.

Arrival is idempotent on (source, external_id): the same event sent again is the stored one, and a different
event sent under an id already used is refused as a conflict, never silently overwritten.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, get_args

from sqlalchemy import Select, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sellerloop.access.fields import served_user
from sellerloop.access.service import account_filter, opportunity_filter, visible_owner_ids
from sellerloop.errors import BadInput
from sellerloop.outcomes.models import OutcomeEvent
from sellerloop.records.ids import stable_id
from sellerloop.records.models import (
    Account,
    Activity,
    ActivityKind,
    FieldChange,
    Opportunity,
    StageChange,
    Task,
)
from sellerloop.records.refs import RecordRef
from sellerloop.records.service import get_account, get_opportunity

EventKind = Literal["email_replied", "meeting_booked", "stage_moved", "task_completed", "close_date_moved", "won",
                    "lost"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
EventSource = Literal["api", "import", "crm"]
EVENT_SOURCES: tuple[str, ...] = get_args(EventSource)
SUBJECT_KINDS = ("opportunity", "account")
MAX_EXTERNAL_ID = 200  # the column's width
INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # the two stores' INSERT ... ON CONFLICT
# The closed stages (records/models.py CLOSED_STAGES) by the event entering one is besides a stage move.
CLOSING_EVENT: dict[str, EventKind] = {"Won": "won", "Lost": "lost"}


class EventConflict(BadInput):
    """Another event was stored under the same source and id. Permanent: send it under an id of its own."""

    http_status = 409


def store_event(*, session: Session, kind: str, subject: str, occurred_at: dt.datetime, source: str,
                external_id: str, detail: dict[str, Any] | None = None) -> tuple[OutcomeEvent, bool]:
    """Store one event on a record the session's viewer may see (records/service.py: NotFound for no such
    record, AccessDenied for one they may not see; the local operator sees all), and whether it is new. The same
    event again returns the stored one; a different one under the same (source, external_id) is an EventConflict.
    What learns from a new event (the win model) is the caller's: pipeline/outcomes.py."""
    check_kind(kind)
    if source not in EVENT_SOURCES:
        raise BadInput(f"unknown event source {source!r}; choose one of {', '.join(EVENT_SOURCES)}")
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        raise BadInput(f"external_id: give the event's own id, 1 to {MAX_EXTERNAL_ID} characters")
    require_subject(session=session, subject=subject)
    at = as_moment(occurred_at)
    detail = _json_object(detail)
    stored = _stored(session, source, external_id)
    new = stored is None
    if new:
        _check_agrees_with_record(session, kind, subject)
        # ON CONFLICT DO NOTHING: of two requests sending the same event at once, one stores it and the other
        # finds it stored, instead of failing on the unique key.
        insert_for = INSERTS[session.get_bind().dialect.name]
        session.execute(insert_for(OutcomeEvent).values(
            id=event_id(source, external_id), kind=kind, subject=subject, occurred_at=at, source=source,
            external_id=external_id, detail=detail, recorded_at=_now()).on_conflict_do_nothing())
        stored = _stored(session, source, external_id)
    if (stored.kind, stored.subject, stored.occurred_at, stored.detail) != (kind, subject, at, detail):
        raise EventConflict(f"{source} event {external_id!r} was stored already as {stored.kind} on "
                            f"{stored.subject} at {stored.occurred_at:%Y-%m-%d %H:%M}; send a new event under an "
                            "id of its own")
    return stored, new


class EventContradictsRecord(BadInput):
    """A won or lost event the record says did not happen. Permanent until the record agrees: update the deal's
    stage first (in the CRM, then sync or import), and send the event again."""

    http_status = 409


def _check_agrees_with_record(session: Session, kind: str, subject: str) -> None:
    """Won and lost move the book's win model, so they must be what the record says: a deal closed at that stage.
    Anyone may see an open deal; a "lost" posted on it by one seller would otherwise skew every seller's odds."""
    if kind not in CLOSING:
        return
    ref = RecordRef.of(subject)
    if ref.kind != "opportunity":
        raise BadInput(f"a {kind} event is about a deal: send it on opportunity:ID, not {subject}")
    stage = session.get(Opportunity, ref.id).stage
    if CLOSING_EVENT.get(stage) != kind:
        raise EventContradictsRecord(f"{subject} is {stage} in the record, so it was not {kind}: update its stage "
                                     "first, then send the event")


def _stored(session: Session, source: str, external_id: str) -> OutcomeEvent | None:
    return session.scalars(select(OutcomeEvent).where(OutcomeEvent.source == source,
                                                      OutcomeEvent.external_id == external_id)).first()


# The record fields the details of collected events quote (their old and new values). None of them may be a
# sensitive field (policy/models.py MASKABLE), so an event shows nothing record access does not already allow;
# tests/outcomes/test_events.py keeps it so if either list changes.
DETAIL_FIELDS = {"close_date_moved": "Opportunity.close_date", "stage_moved": "Opportunity.stage",
                 "won": "Opportunity.stage", "lost": "Opportunity.stage"}


def list_events(*, session: Session, subjects: Sequence[str] | None = None, since: dt.datetime | None = None,
                until: dt.datetime | None = None, kinds: Iterable[str] | None = None) -> list[OutcomeEvent]:
    """Events on records the session's viewer may see (all for the local operator), oldest first. `subjects`
    ("opportunity:ID", "account:ID"), `kinds` and the half-open span [since, until) narrow it down."""
    owners = visible_owner_ids(session=session, user=served_user(session))
    return list(session.scalars(select_events(subjects=subjects, since=since, until=until, kinds=kinds,
                                              owners=owners)))


def select_events(*, subjects: Sequence[str] | None = None, since: dt.datetime | None = None,
                  until: dt.datetime | None = None, kinds: Iterable[str] | None = None,
                  owners: set[str] | None = None) -> Select:
    """The query behind list_events, for callers that page it or scope it to someone other than the session's
    viewer: `owners` as access.service.visible_owner_ids gives them (None: everyone's records)."""
    stmt = select(OutcomeEvent).order_by(OutcomeEvent.occurred_at, OutcomeEvent.id)
    if subjects is not None:
        stmt = stmt.where(OutcomeEvent.subject.in_(list(subjects)))
    if kinds is not None:
        kinds = list(kinds)
        for kind in kinds:
            check_kind(kind)
        stmt = stmt.where(OutcomeEvent.kind.in_(kinds))
    if since is not None:
        stmt = stmt.where(OutcomeEvent.occurred_at >= as_moment(since))
    if until is not None:
        stmt = stmt.where(OutcomeEvent.occurred_at < as_moment(until))
    if owners is not None:
        stmt = stmt.where(visible_subjects(owners))
    return stmt


def visible_subjects(owners: set[str]):
    """SQL: the event's subject is a record these owners' records include, by the rule of access/service.py (an
    account is visible through any of its deals)."""
    opportunities = select(literal("opportunity:") + Opportunity.id).where(opportunity_filter(owners))
    accounts = select(literal("account:") + Account.id).where(account_filter(owners))
    return or_(OutcomeEvent.subject.in_(opportunities), OutcomeEvent.subject.in_(accounts))


def check_kind(kind: str) -> None:
    if kind not in EVENT_KINDS:
        raise BadInput(f"unknown event kind {kind!r}; choose one of {', '.join(EVENT_KINDS)}")


def require_subject(*, session: Session, subject: str) -> None:
    """The record behind "opportunity:ID" or "account:ID", as the session's viewer may see it."""
    try:
        ref = RecordRef.parse(subject, kinds=SUBJECT_KINDS)
    except BadInput:
        raise BadInput(f"subject {subject!r}: name the record as opportunity:ID or account:ID") from None
    if ref.kind == "opportunity":
        get_opportunity(session=session, opportunity_id=ref.id)
    else:
        get_account(session=session, account_id=ref.id)


def as_moment(value: dt.datetime | dt.date | str) -> dt.datetime:
    """A naive UTC datetime, as the store keeps every time: from a datetime (an aware one converted), a date
    (its midnight) or ISO text ("2017-06-20", "2017-06-20T10:00:00Z")."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadInput(f"not a date or time: {value!r} (use ISO 8601, e.g. 2017-06-20T10:00:00Z)") from None
    if not isinstance(value, dt.datetime):
        if not isinstance(value, dt.date):
            raise BadInput(f"not a date or time: {value!r}")
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def event_id(source: str, external_id: str) -> str:
    """The same (source, external_id) always gives the same row id, so bulk arrival can skip what it has."""
    return stable_id("ev", source, external_id)


def _json_object(detail: Any) -> dict[str, Any]:
    if detail is None:
        return {}
    if not isinstance(detail, dict):
        raise BadInput("detail: give a JSON object, e.g. {\"from\": \"Engaging\", \"to\": \"Won\"}")
    try:
        # Round-tripped so that what is compared for idempotency is what the JSON column gives back.
        return json.loads(json.dumps(detail, allow_nan=False))
    except (TypeError, ValueError):
        raise BadInput("detail: only JSON values (text, numbers, true/false, null, lists, objects)") from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


# --- the CRM's own history ------------------------------------------------------------------------------------

def collect_crm_events(*, session: Session, since: dt.datetime | None = None) -> CollectedEvents:
    """Record what the CRM's history in the store shows as events with source "crm"; how many were new, and the
    deals among them that closed (what the win model learns from: pipeline/outcomes.py).

    Each event's external_id comes from the history row's natural key (not its row id: a Maven re-import writes
    the stage history anew), so collecting again adds nothing. Read as the local operator: every record.
    """
    since = as_moment(since) if since is not None else None
    found: dict[str, dict] = {}
    for row in _crm_history(session, since):
        found.setdefault(row["external_id"], row)
    stored = set(session.scalars(select(OutcomeEvent.external_id).where(OutcomeEvent.source == "crm")))
    recorded_at = _now()
    new = [{"id": event_id("crm", key), "source": "crm", "recorded_at": recorded_at, **row}
           for key, row in found.items() if key not in stored]
    for start in range(0, len(new), 2000):
        session.execute(insert(OutcomeEvent), new[start:start + 2000])
    return CollectedEvents(len(new), closed_deals((row["kind"], row["subject"], row["occurred_at"]) for row in new))


CLOSING = {"won": True, "lost": False}
ClosedDeal = tuple[str, bool, dt.datetime]  # (opportunity id, won, when): what the win model counts


class CollectedEvents(NamedTuple):
    new: int
    closed: list[ClosedDeal]


def closed_deals(events: Iterable[tuple[str, str, dt.datetime]]) -> list[ClosedDeal]:
    """The deals won or lost among (kind, subject, occurred_at) events."""
    refs = [(RecordRef.of(subject), kind, at) for kind, subject, at in events]
    return [(ref.id, CLOSING[kind], at) for ref, kind, at in refs if kind in CLOSING and ref.kind == "opportunity"]


def _crm_history(session: Session, since: dt.datetime | None):
    yield from _replies(session, since)
    yield from _meetings(session, since)
    yield from _stage_moves(session, since)
    yield from _close_date_moves(session, since)
    yield from _completed_tasks(session, since)


def _event(kind: str, subject: str, at: dt.datetime, key: str, **detail) -> dict:
    return {"kind": kind, "subject": subject, "occurred_at": at, "external_id": key, "detail": detail}


def _record_of(opportunity_id: str | None, account_id: str | None) -> str | None:
    if opportunity_id:
        return f"opportunity:{opportunity_id}"
    return f"account:{account_id}" if account_id else None


def _replies(session: Session, since: dt.datetime | None):
    """An inbound email in a thread where we wrote first: the buyer answered us. Every such inbound message
    counts (a thread can hold several rounds); an inbound message that opens a thread is not a reply."""
    rows = session.execute(select(Activity.id, Activity.thread_id, Activity.direction, Activity.occurred_at,
                                  Activity.opportunity_id, Activity.account_id)
                           .where(Activity.kind == ActivityKind.email.value, Activity.thread_id.is_not(None))
                           .order_by(Activity.thread_id, Activity.occurred_at, Activity.id))
    wrote_first: set[str] = set()
    for activity_id, thread, direction, at, opportunity_id, account_id in rows:
        if direction == "outbound":
            wrote_first.add(thread)
        elif direction == "inbound" and thread in wrote_first and (since is None or at >= since):
            subject = _record_of(opportunity_id, account_id)
            if subject:
                yield _event("email_replied", subject, at, f"reply:{activity_id}", activity_id=activity_id,
                             thread_id=thread)


def _meetings(session: Session, since: dt.datetime | None):
    """A meeting on the record. The CRM keeps when it takes place, not when it was booked, so that is its time:
    a recommendation to book one is borne out when the meeting is held within the window."""
    stmt = select(Activity.id, Activity.occurred_at, Activity.opportunity_id, Activity.account_id).where(
        Activity.kind == ActivityKind.meeting.value)
    if since is not None:
        stmt = stmt.where(Activity.occurred_at >= since)
    for activity_id, at, opportunity_id, account_id in session.execute(stmt):
        subject = _record_of(opportunity_id, account_id)
        if subject:
            yield _event("meeting_booked", subject, at, f"meeting:{activity_id}", activity_id=activity_id)


def _stage_moves(session: Session, since: dt.datetime | None):
    """Each dated stage a deal entered after another: a move from the one before (a deal's first stage is where it
    started, not a move; an undated entry cannot be placed in time). Entering Won or Lost is also a win or loss."""
    rows = session.execute(select(StageChange.opportunity_id, StageChange.stage, StageChange.entered_on)
                           .order_by(StageChange.opportunity_id, StageChange.id))
    previous: dict[str, str] = {}
    for opportunity_id, stage, entered_on in rows:
        before = previous.get(opportunity_id)
        previous[opportunity_id] = stage
        if before is None or before == stage or entered_on is None:
            continue
        at = dt.datetime.combine(entered_on, dt.time())
        if since is not None and at < since:
            continue
        subject, key = f"opportunity:{opportunity_id}", f"stage:{opportunity_id}:{stage}:{entered_on.isoformat()}"
        yield _event("stage_moved", subject, at, key, **{"from": before, "to": stage})
        if stage in CLOSING_EVENT:
            kind = CLOSING_EVENT[stage]
            yield _event(kind, subject, at, f"{kind}:{opportunity_id}:{entered_on.isoformat()}")


def _close_date_moves(session: Session, since: dt.datetime | None):
    """A change of an opportunity's close date from one date to another. Setting it for the first time (no old
    value) is not a move."""
    stmt = select(FieldChange.record_id, FieldChange.old_value, FieldChange.new_value, FieldChange.changed_at).where(
        FieldChange.object_type == "opportunity", FieldChange.field == "close_date",
        FieldChange.old_value.is_not(None))
    if since is not None:
        stmt = stmt.where(FieldChange.changed_at >= since)
    for record_id, old, new, at in session.execute(stmt):
        if old == new:
            continue
        key = f"close_date:{record_id}:{at.isoformat()}:{new}"
        yield _event("close_date_moved", f"opportunity:{record_id}", at, key, old=old, new=new)


def _completed_tasks(session: Session, since: dt.datetime | None):
    """A task marked done. The CRM's task table keeps no completion time, so it is dated by its due date (when the
    seller meant to do it: the best evidence there is), or its creation when that is later or there is no due
    date (nothing is done before it exists). Never "now": that would date a task done months ago to the day
    collect happened to run, and link it to whatever was recommended lately."""
    rows = session.execute(select(Task.id, Task.due_date, Task.created_at, Task.opportunity_id, Task.account_id)
                           .where(Task.status == "done"))
    for task_id, due, created, opportunity_id, account_id in rows:
        at = max(created, dt.datetime.combine(due, dt.time())) if due is not None else created
        subject = _record_of(opportunity_id, account_id)
        if subject and (since is None or at >= since):
            yield _event("task_completed", subject, at, f"task:{task_id}", task_id=task_id)
