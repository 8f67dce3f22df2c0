"""Events arriving one at a time (outcomes/events.py): checked, stored once, and read back only by those who may
see their record."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from sellerloop.access.fields import bind_viewer
from sellerloop.access.service import AccessDenied
from sellerloop.errors import BadInput, NotFound
from sellerloop.outcomes.events import DETAIL_FIELDS, EventConflict, list_events
from sellerloop.outcomes.models import OutcomeEvent
from sellerloop.pipeline.outcomes import record_event
from sellerloop.policy.models import MASKABLE
from sellerloop.records.models import User
from sellerloop.store.db import session_scope
from tests.outcomes.conftest import T0, days


def _record(session, book, **overrides):
    event = {"kind": "email_replied", "subject": book.subject("a"), "occurred_at": T0, "source": "api",
             "external_id": "msg-1", "detail": {"thread": "t1"}} | overrides
    return record_event(session=session, **event)


def _count(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(OutcomeEvent))


def test_it_stores_the_same_event_once_however_often_it_is_sent(book):
    with session_scope(book.engine) as s:
        first = _record(s, book)
    with session_scope(book.engine) as s:
        again = _record(s, book, occurred_at=T0.replace(tzinfo=dt.UTC))  # the same moment, said in UTC
    assert again.id == first.id and _count(book.engine) == 1
    assert (again.kind, again.subject, again.occurred_at, again.detail) == ("email_replied", book.subject("a"), T0,
                                                                           {"thread": "t1"})


def test_a_different_event_under_an_id_already_used_is_a_conflict_and_changes_nothing(book):
    with session_scope(book.engine) as s:
        _record(s, book)
    for change in ({"kind": "meeting_booked"}, {"occurred_at": T0 + days(1)}, {"detail": {"thread": "t2"}},
                   {"subject": book.subject("b")}):
        with pytest.raises(EventConflict, match="msg-1.*stored already") as refused, session_scope(book.engine) as s:
            _record(s, book, **change)
        assert refused.value.http_status == 409 and refused.value.exit_code == 2
    with session_scope(book.engine) as s:
        # The same id from another source is another event.
        _record(s, book, source="import")
        stored = s.scalars(select(OutcomeEvent).order_by(OutcomeEvent.source)).all()
    assert [(e.source, e.kind, e.detail) for e in stored] == [("api", "email_replied", {"thread": "t1"}),
                                                                ("import", "email_replied", {"thread": "t1"})]


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"kind": "replied"}, BadInput, "unknown event kind 'replied'"),
    ({"subject": "opportunity:NO-SUCH-DEAL"}, NotFound, "no opportunity with id 'NO-SUCH-DEAL'"),
    ({"subject": "account:no-such-account"}, NotFound, "no account with id 'no-such-account'"),
    ({"subject": "contact:someone"}, BadInput, "opportunity:ID or account:ID"),
    ({"occurred_at": "2017-02-30"}, BadInput, "not a date or time: '2017-02-30'"),
    ({"external_id": " "}, BadInput, "external_id"),
    ({"source": "email"}, BadInput, "unknown event source 'email'"),
    ({"detail": ["not", "an", "object"]}, BadInput, "detail: give a JSON object"),
])
def test_it_refuses_what_it_cannot_place_with_one_line(book, change, error, message):
    with pytest.raises(error, match=message) as refused, session_scope(book.engine) as s:
        _record(s, book, **change)
    assert "\n" not in refused.value.one_line()
    assert _count(book.engine) == 0


def test_a_date_alone_is_its_midnight_and_an_aware_time_is_kept_in_utc(book):
    with session_scope(book.engine) as s:
        by_date = _record(s, book, occurred_at="2017-06-20", external_id="d")
        by_text = _record(s, book, occurred_at="2017-06-20T12:30:00+02:00", external_id="t")
    assert (by_date.occurred_at, by_text.occurred_at) == (dt.datetime(2017, 6, 20),
                                                          dt.datetime(2017, 6, 20, 10, 30))


def test_listing_narrows_by_record_kind_and_time_oldest_first(book):
    with session_scope(book.engine) as s:
        _record(s, book, external_id="1", occurred_at=T0 + days(2))
        _record(s, book, external_id="2", occurred_at=T0, kind="meeting_booked")
        _record(s, book, external_id="3", occurred_at=T0 + days(1), subject=book.subject("b"))
        _record(s, book, external_id="4", occurred_at=T0 + days(3), subject=f"account:{book.account}")
    with session_scope(book.engine) as s:
        ids = lambda **kw: [e.external_id for e in list_events(session=s, **kw)]  # noqa: E731
        assert ids() == ["2", "3", "1", "4"]
        assert ids(subjects=[book.subject("a")]) == ["2", "1"]
        assert ids(kinds=["email_replied"]) == ["3", "1", "4"]
        assert ids(since=T0 + days(1), until=T0 + days(3)) == ["3", "1"]
        with pytest.raises(BadInput, match="unknown event kind"):
            ids(kinds=["won", "signed"])


def test_a_seller_lists_only_events_on_records_they_may_see(book):
    with session_scope(book.engine) as s:
        _record(s, book, external_id="mine")
        _record(s, book, external_id="theirs", subject=book.subject("c"))
        _record(s, book, external_id="my-account", subject=f"account:{book.account}")
    with session_scope(book.engine) as s:
        bind_viewer(s, user=s.get(User, book.seller))
        assert sorted(e.external_id for e in list_events(session=s)) == ["mine", "my-account"]
        with pytest.raises(AccessDenied):  # nor write one there
            _record(s, book, external_id="sneaky", subject=book.subject("c"))
    with session_scope(book.engine) as s:
        assert sorted(e.external_id for e in list_events(session=s)) == ["mine", "my-account", "theirs"]


def test_collected_events_quote_no_field_a_team_may_mark_sensitive():
    assert set(DETAIL_FIELDS.values()).isdisjoint(MASKABLE)
    assert {"close_date_moved", "stage_moved"} <= set(DETAIL_FIELDS)  # the kinds whose detail quotes values
