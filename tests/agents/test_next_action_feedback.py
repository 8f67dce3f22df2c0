"""Outcomes re-rank next-best actions: a run of rejections of one action type moves it down on a deal, and
acceptances bring it back (issue 7, 2b). Everything goes through the real flow on the demo book: next-action's
recommendations, the panel's offer for each, a seller taking it up or rejecting it, then next-action again.

The session is never committed, so the shared demo book is left as it was."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.drafts import offer_for, take_up
from sellerloop.outcomes.linking import linked_outcomes
from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.scoring.feedback import action_feedback, forget, segment_of


def recommendations(session: Session, deal: Opportunity) -> tuple[object, list]:
    # Every recommendation the findings support, not only the shown three: a pushed-down one is still in the list.
    run = run_agent(session=session, use_case="next-action", subject=Subject(type="opportunity", id=deal.id),
                    limit=10)
    return run, [i for i in run.items if i.kind == "recommendation"]


def decide_on(session: Session, deals: list[Opportunity], action: str, *, approved: bool, times: int) -> list[str]:
    """Take up (or reject) the `action` recommendation on `times` deals, as each deal's owner; the deals used."""
    used = []
    for deal in deals:
        run, items = recommendations(session, deal)
        item = next((i for i in items if i.action == action), None)
        if item is None:
            continue
        take_up(session=session, proposal=offer_for(run=run, item=item, subject=f"opportunity:{deal.id}"),
                user_id=deal.owner_id, approved=approved, reason=None if approved else "not what this deal needs")
        used.append(deal.id)
        if len(used) == times:
            return used
    pytest.fail(f"the demo book has fewer than {times} more deals recommending {action}")


@pytest.fixture
def sample_of_five(tmp_path, monkeypatch):
    """The shipped policy with feedback moving ranks from five decisions on an action type (ten by default), so
    that the mechanics show on the demo book's few deals per segment."""
    from sellerloop.config import get_settings
    from sellerloop.policy.service import DEFAULT_POLICY_FILE

    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace(
        "min_decisions_to_rank: 10", "min_decisions_to_rank: 5"), encoding="utf-8")
    monkeypatch.setenv("SELLERLOOP_POLICY", str(path))
    get_settings.cache_clear()
    return path


def test_two_acceptances_do_not_move_the_ranking_below_the_policys_sample(demo_engine):
    with Session(demo_engine) as session:
        deals = session.scalars(select(Opportunity).where(Opportunity.stage.in_(OPEN_STAGES),
                                                          Opportunity.owner_id.is_not(None))
                                .order_by(Opportunity.id)).all()
        used = decide_on(session, deals, "book_meeting", approved=True, times=2)
        session.flush()
        forget(session)
        segment = segment_of(session.get(Opportunity, used[0]).account)
        feedback = action_feedback(session=session)
        assert feedback.by_action["book_meeting"].decided == 2
        assert (
            feedback.factor("book_meeting", segment) == 1.0 and feedback.adjustment("book_meeting", segment).why == ""
        )
        session.rollback()
        forget(session)


def test_a_run_of_rejections_moves_an_action_down_and_acceptances_bring_it_back(demo_engine, sample_of_five):
    with Session(demo_engine) as session:
        deals = session.scalars(select(Opportunity).where(Opportunity.stage.in_(OPEN_STAGES),
                                                          Opportunity.owner_id.is_not(None))
                                .order_by(Opportunity.id)).all()
        # A deal at an account (so in a real segment) whose first two recommendations are different actions, each
        # still its own after the first is pushed down (so the order between them can change).
        for deal in (d for d in deals if d.account is not None and d.account.employees is not None):
            _, before = recommendations(session, deal)
            if len(before) >= 2 and before[0].action != before[1].action:
                break
        else:
            pytest.fail("no deal in the demo book with two different recommended actions")
        top, second = before[0], before[1]
        same_segment = [d for d in deals if d.id != deal.id and segment_of(d.account) == segment_of(deal.account)]
        assert top.score > second.score

        rejected = decide_on(session, same_segment, top.action, approved=False, times=8)
        session.flush()
        forget(session)
        _, after_rejections = recommendations(session, deal)
        moved = next(i for i in after_rejections if i.text == top.text)
        assert moved.score < top.score
        assert after_rejections.index(moved) > 0, "the rejected action should no longer come first"
        assert moved.ranking.startswith("feedback ×") and "0 of 8 accepted" in moved.ranking
        assert moved.label == top.label  # the ask itself is the same: a decision on it is still found

        others = [d for d in same_segment if d.id not in rejected]
        decide_on(session, others, top.action, approved=True, times=8)
        session.flush()
        forget(session)
        _, recovered = recommendations(session, deal)
        assert [i.text for i in recovered][:2] == [top.text, second.text]
        assert recovered[0].score == pytest.approx(top.score, rel=0.05)
        print(f"\n{deal.id} ({segment_of(deal.account)}): {top.action} {top.score} over {second.action} "
              f"{second.score}; after 8 rejections {moved.score} (rank {after_rejections.index(moved) + 1}, "
              f"{moved.ranking}); after 8 acceptances {recovered[0].score}")
        session.rollback()


def test_a_replay_of_a_past_day_ranks_by_the_decisions_people_had_taken_by_then(demo_engine, sample_of_five):
    with Session(demo_engine) as session:
        deals = session.scalars(select(Opportunity).where(Opportunity.stage.in_(OPEN_STAGES),
                                                          Opportunity.owner_id.is_not(None))
                                .order_by(Opportunity.id)).all()
        used = decide_on(session, deals, "book_meeting", approved=False, times=6)
        session.flush()
        forget(session)
        now = max(a.decided_at for a in linked_outcomes(session=session, user_id=None, include_shown=False))
        segment = segment_of(session.get(Opportunity, used[0]).account)
        assert action_feedback(session=session).factor("book_meeting", segment) < 1
        forget(session)
        before = action_feedback(session=session, until=now - dt.timedelta(days=1))
        assert before.book.decided == 0 and before.factor("book_meeting", segment) == pytest.approx(1.0)
        session.rollback()


def test_feedback_is_worked_out_again_only_when_a_decision_or_event_came_in(demo_engine, monkeypatch):
    from sellerloop.outcomes import linking
    from sellerloop.scoring import feedback

    monkeypatch.setattr(feedback, "_REMEMBERED", {})  # what earlier tests in this process left
    reads = []
    real = linking.linked_outcomes
    monkeypatch.setattr(feedback, "linked_outcomes", lambda **kw: reads.append(1) or real(**kw))
    with Session(demo_engine) as session:
        deals = session.scalars(select(Opportunity).where(Opportunity.stage.in_(OPEN_STAGES),
                                                          Opportunity.owner_id.is_not(None))
                                .order_by(Opportunity.id).limit(40)).all()
        action_feedback(session=session)
        forget(session)  # a new page: nothing new, so nothing is read again
        action_feedback(session=session)
        assert len(reads) == 1
        decide_on(session, deals, "book_meeting", approved=False, times=1)
        session.flush()
        forget(session)
        assert action_feedback(session=session).book.decided == 1 and len(reads) == 2
        session.rollback()
        forget(session)
        assert action_feedback(session=session).book.decided == 0  # the rolled-back decision is gone again
