"""Date-times that leave through the API say their timezone.

The store keeps naive UTC (SQLite has no zone type, and both backends must agree), so a response model that
passed those values through printed "2017-06-20T10:00:00": a client could not tell UTC from its own local time.
`UtcDateTime` reads a naive value as UTC and an aware one as it is, and serialises with its offset.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


UtcDateTime = Annotated[dt.datetime, AfterValidator(as_utc)]
