"""Linking what followed to what was recommended (outcomes/linking.py): the decision and its edits, whether it
ran, and the events on its record within each kind's window."""
from __future__ import annotations

import pytest

from sellerloop.executor.service import execute, rollback
from sellerloop.outcomes.linking import linked_outcomes
from sellerloop.store.db import session_scope
from tests.outcomes.conftest import T0, days


def outcomes(book, user_id=None, **kw) -> dict:
    with session_scope(book.engine) as s:
        return {o.key: o for o in linked_outcomes(session=s, user_id=user_id, **kw)}


def test_an_event_links_only_within_its_kinds_window_after_the_recommendation(book):
    key = book.decide("a", decision="accepted", recommended="book_meeting", element="champion")
    book.event("meeting_booked", on="a", at=T0 - days(1))  # before it: not its doing
    book.event("meeting_booked", on="a", at=T0 + days(13))
    book.event("email_replied", on="a", at=T0 + days(15))  # a reply two weeks on answers something else
    book.event("close_date_moved", on="a", at=T0 + days(29), old="2017-04-01", new="2017-05-01")
    book.event("stage_moved", on="a", at=T0 + days(31), **{"from": "Engaging", "to": "Won"})
    book.event("won", on="a", at=T0 + days(179))
    book.event("lost", on="a", at=T0 + days(181))
    linked = outcomes(book)[key]
    assert linked.events == (("meeting_booked", T0 + days(13)), ("close_date_moved", T0 + days(29)),
                             ("won", T0 + days(179)))
    assert linked.converted and linked.won is True


def test_only_positive_events_convert_and_a_stage_move_counts_only_forward(book):
    backward = book.decide("a", decision="accepted")
    lost = book.decide("b", decision="accepted")
    forward = book.decide("d", decision="accepted")
    book.event("stage_moved", on="a", at=T0 + days(3), **{"from": "Engaging", "to": "Prospecting"})
    book.event("close_date_moved", on="a", at=T0 + days(3), old="2017-04-01", new="2017-06-01")
    book.event("stage_moved", on="b", at=T0 + days(3), **{"from": "Engaging", "to": "Lost"})
    book.event("lost", on="b", at=T0 + days(3))
    book.event("stage_moved", on="d", at=T0 + days(3), **{"from": "Prospecting", "to": "Engaging"})
    found = outcomes(book)
    assert [(found[k].converted, found[k].won) for k in (backward, lost, forward)] == [
        (False, None), (False, False), (True, None)]


def test_an_account_recommendation_takes_its_deals_events_and_a_deal_its_accounts(book):
    on_account = book.decide("a", decision="accepted", on=f"account:{book.account}", subject="Map the org", by="rita")
    on_deal = book.decide("a", decision="accepted", subject="Send the agenda")
    book.event("meeting_booked", on="a", at=T0 + days(2))  # on deal a, at the account
    book.event("email_replied", on=f"account:{book.account}", at=T0 + days(3))
    book.event("task_completed", on="b", at=T0 + days(4))  # another account's deal
    found = outcomes(book)
    assert found[on_account].events == (("meeting_booked", T0 + days(2)), ("email_replied", T0 + days(3)))
    assert found[on_deal].events == found[on_account].events


def test_the_window_runs_from_a_late_decision(book):
    late = book.decide("a", decision="accepted", at=T0 + days(10))
    book.shown("a", [("book_meeting", "champion")], at=T0)
    book.event("email_replied", on="a", at=T0 + days(20))  # 10 days after the decision, 20 after it was shown
    found = outcomes(book)
    shown = found["shown:next-action:opportunity:" + book.deals["a"] + ":1"]
    assert found[late].events == (("email_replied", T0 + days(20)),) and found[late].converted
    assert shown.events == () and not shown.converted


def test_edit_distance_counts_the_characters_a_person_changed(book):
    edited = book.decide("a", decision="edited", subject="Send the ROI case study",
                         edited="Send the ROI case study to Ben")
    accepted = book.decide("b", decision="accepted")
    rejected = book.decide("d", decision="rejected")
    found = outcomes(book)
    assert (found[edited].decision, found[edited].edit_distance) == ("edited", len(" to Ben"))
    assert found[edited].edit_ratio == pytest.approx(7 / len("Send the ROI case study to Ben"))
    for key in (accepted, rejected):
        assert (found[key].edit_distance, found[key].edit_ratio) == (None, None)
    assert (found[rejected].decision, found[rejected].decided_by) == ("rejected", book.seller)


def test_it_says_whether_and_how_an_approval_was_carried_out(book):
    done = book.decide("a", decision="accepted", subject="Call Ben")
    undone = book.decide("b", decision="accepted", subject="Call Ann")
    waiting = book.decide("d", decision="accepted", subject="Call Bob")
    expired = book.expire("c")
    with session_scope(book.engine) as s:
        execute(session=s, approval_id=done, at=T0 + days(1))
        execution = execute(session=s, approval_id=undone, at=T0 + days(1))
        rollback(session=s, execution_id=execution.id, by=book.seller, at=T0 + days(2))
    found = outcomes(book)
    assert [(found[k].decision, found[k].executed, found[k].execution_result) for k in
            (done, undone, waiting, expired)] == [("accepted", True, "done"), ("rolled_back", True, "rolled_back"),
                                                  ("accepted", False, "waiting"), ("expired", False, None)]
    assert found[undone].decided_at == T0 and found[undone].decided_by == book.seller  # the approval, not the undo
    assert found[expired].decided_at == T0 + days(8) and found[expired].decided_by is None
    assert found[expired].ignored and not found[done].ignored


def test_a_recommendation_shown_and_never_taken_up_is_shown_only(book):
    book.shown("a", [("book_meeting", "champion"), ("share_asset", "metrics"), ("request_intro", None)])
    taken = book.decide("a", decision="accepted", recommended="book_meeting", element="champion")
    found = outcomes(book, as_of=T0 + days(10))
    prefix = f"shown:next-action:opportunity:{book.deals['a']}"
    assert sorted(found) == sorted([taken, f"{prefix}:2", f"{prefix}:3"])
    shown = found[f"{prefix}:2"]
    assert (shown.use_case, shown.level, shown.action, shown.recommended_action, shown.playbook_element) == (
        "next-action", "L2", "share_asset", "share_asset", "metrics")
    assert (shown.decision, shown.recommended_at, shown.seller, shown.segment) == (None, T0, book.seller, None)
    assert not shown.ignored  # ten days on: still within the policy's 14 days
    assert outcomes(book, as_of=T0 + days(14))[f"{prefix}:2"].ignored
    taken_up = found[taken]
    assert (taken_up.action, taken_up.recommended_action, taken_up.playbook_element) == (
        "create_task", "book_meeting", "champion")


def test_a_seller_sees_only_what_was_recommended_on_records_they_may_see(book):
    mine = book.decide("a", decision="accepted")
    theirs = book.decide("c", decision="accepted")
    book.shown("c", [("book_meeting", "champion")])
    assert set(outcomes(book, user_id=book.seller)) == {mine}
    assert {mine, theirs} <= set(outcomes(book))
    assert set(outcomes(book, user_id=book.other)) == {theirs, f"shown:next-action:opportunity:{book.deals['c']}:1"}


def test_since_leaves_out_what_was_recommended_before(book):
    book.decide("a", decision="accepted", at=T0)
    later = book.decide("b", decision="rejected", at=T0 + days(5))
    assert set(outcomes(book, since=T0 + days(1))) == {later}


def test_it_can_leave_out_what_was_only_shown(book):
    decided = book.decide("a", decision="accepted")
    book.shown("a", [("book_meeting", "champion")])
    assert set(outcomes(book, include_shown=False)) == {decided}
