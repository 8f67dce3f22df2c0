"""What an approved action can write: the records and fields a field change may touch, and each value as its column
holds it, refused as bad input when it does not fit (a stage outside the stage list, a date that is no date, a number
PostgreSQL cannot hold).

Approvals check a decision here before storing it (a decision that could never be carried out is refused, not kept
approved forever); the executor writes through the same functions, so both agree on every value.
"""
from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric

from sellerloop.actions.catalogue import validate_payload
from sellerloop.errors import BadInput
from sellerloop.records.models import STAGES, Account, Contact, Opportunity

RECORDS = {"account": Account, "opportunity": Opportunity, "contact": Contact}
UNWRITABLE = {"id", "synthetic"}


def check_writable(*, action: str, payload: dict) -> None:
    """BadInput if the executor could not write this payload (a field the record does not have, a value its
    column cannot hold, a value outside the field's domain), writing nothing. Every approval is checked before it
    is stored, so that a person's decision that could never be carried out is refused, not kept approved forever."""
    if action == "update_field":
        change = validate_payload(action, payload)
        _, column = column_of(change.object, change.field)
        value_for(column, change.old)
        in_domain(change.object, change.field, value_for(column, change.new))


# Fields whose values come from a closed list: anything else is refused, whoever approved it.
DOMAINS: dict[tuple[str, str], tuple[str, ...]] = {("opportunity", "stage"): STAGES}


def in_domain(table: str, field: str, value):
    domain = DOMAINS.get((table, field))
    if domain is not None and value is not None and value not in domain:
        raise BadInput(f"{field}: {value!r} is not one of {', '.join(domain)}")
    return value


def column_of(table: str, field: str):
    model = RECORDS.get(table)
    if model is None:
        raise BadInput(f"cannot change a {table}: only accounts, opportunities and contacts")
    if field not in model.__table__.c or field in UNWRITABLE:
        raise BadInput(f"{table} has no writable field {field!r}")
    return model, model.__table__.c[field]


def value_for(column, value):
    """A payload's JSON value as the column holds it (a date for a Date column, a float for a number, ...)."""
    if value is None or value == "":
        return None
    kind = column.type
    try:
        if isinstance(kind, DateTime):
            return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if isinstance(kind, Date):
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if isinstance(kind, (Float, Numeric)):
            return _fits(column, float(value))
        if isinstance(kind, Boolean):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if isinstance(kind, Integer):
            return _fits(column, int(value))
    except (TypeError, ValueError):
        raise BadInput(f"{column.name}: {value!r} is not a valid {kind}") from None
    return _fits(column, str(value))


INTEGER_RANGE = range(-2**31, 2**31)  # PostgreSQL's INTEGER


def _fits(column, value):
    """`value` if the column can hold it on every backend, else BadInput. PostgreSQL enforces widths, ranges and
    "no NUL in text" that SQLite lets pass, so an approver's edit that breaks one must be refused here, as bad
    input, not fail in the driver on one backend only."""
    kind, problem = column.type, None
    if isinstance(value, float):
        digits = None if isinstance(kind, Float) else kind.precision and kind.precision - (kind.scale or 0)
        if not math.isfinite(value) or (digits and abs(value) >= 10 ** digits):
            problem = "is out of range" + (f" (at most {digits} digits before the point)" if digits else "")
    elif isinstance(value, int) and value not in INTEGER_RANGE:
        problem = "is out of range for a whole number"
    elif isinstance(value, str):
        if "\x00" in value:
            problem = "contains a NUL character"
        elif getattr(kind, "length", None) and len(value) > kind.length:
            problem = f"is longer than {kind.length} characters"
    if problem:
        raise BadInput(f"{column.name}: {str(value)[:60]!r} {problem}")
    return value
