"""An outcome arrives: it is stored on its record (outcomes/events.py) and, when it is a deal won or lost after the
win-probability model was last rebuilt, the model counts it at once (scoring/win.py, which skips what a rebuild
counted already). Every way in goes through here: the API, `sellerloop import events`, `sellerloop outcomes
collect` and the demo."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from sellerloop.outcomes import events
from sellerloop.outcomes.models import OutcomeEvent
from sellerloop.scoring.win import observe_events


def record_event(*, session: Session, kind: str, subject: str, occurred_at: dt.datetime, source: str,
                 external_id: str, detail: dict[str, Any] | None = None) -> OutcomeEvent:
    """Store one event (outcomes.events.store_event: the same event again is stored once) and learn from it if
    it is new."""
    stored, new = events.store_event(session=session, kind=kind, subject=subject, occurred_at=occurred_at,
                                     source=source, external_id=external_id, detail=detail)
    if new:
        observe_events(session=session, closed=events.closed_deals([(stored.kind, stored.subject,
                                                                     stored.occurred_at)]))
    return stored


def collect_crm_events(*, session: Session, since: dt.datetime | None = None) -> int:
    """Record the CRM's own history as events (outcomes.events.collect_crm_events) and learn from the deals among
    them that closed; how many events were new."""
    collected = events.collect_crm_events(session=session, since=since)
    observe_events(session=session, closed=collected.closed)
    return collected.new
