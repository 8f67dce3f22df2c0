"""The backtest replays the Maven history as of a date: each scorer learns only from what had closed by then, the
sellerloop scorer is never worse than the base rate, the figures add up, and next-action's stalled rule is
replayed with the book's norm of the day and the playbook's action."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select, update

from sellerloop.errors import BadInput
from sellerloop.playbooks.service import get_playbook
from sellerloop.records.models import Opportunity
from sellerloop.scoring.backtest import calibration_table, is_stalled, quantiles, run_backtest
from sellerloop.store.db import create_store_engine, session_scope

DATES = [dt.date(2017, 4, 30), dt.date(2017, 6, 30), dt.date(2017, 8, 31), dt.date(2017, 10, 31)]


def _backtest(engine, as_of: dt.date, **options):
    with session_scope(engine) as s:
        return run_backtest(session=s, as_of=as_of, **options)


@pytest.mark.parametrize("static_only", [False, True], ids=["all", "static"])
def test_on_maven_the_sellerloop_scorer_is_never_worse_than_the_base_rate(maven_engine, static_only):
    for as_of in DATES:
        report = _backtest(maven_engine, as_of, static_only=static_only)
        ours = next(r for r in report.scorers if r.scorer == "sellerloop")
        assert ours.brier <= ours.base_rate_brier + 1e-12, as_of  # unrounded; 1e-12 is float noise
        assert ours.n_train > 1000 and ours.n_test > 800


def test_the_figures_add_up(maven_engine):
    report = _backtest(maven_engine, dt.date(2017, 8, 31), bins=5)
    assert [r.scorer for r in report.scorers] == ["frequency_nb", "sklearn", "sellerloop"]
    for r in report.scorers:
        assert len(r.calibration) == 5 and sum(b.count for b in r.calibration) == r.n_test
        for b in r.calibration:
            assert b.count == 0 or b.low <= b.mean_predicted <= b.high
        # Always saying the training base rate b on a test set that won at rate t: t(1-b)^2 + (1-t)b^2.
        t, b = report.test_base_rate, r.base_rate
        assert r.base_rate_brier == pytest.approx(t * (1 - b) ** 2 + (1 - t) * b ** 2, abs=1e-12)
        assert r.brier_skill == pytest.approx(1 - r.brier / r.base_rate_brier, abs=1e-12)
        assert 0 <= r.auc <= 1
    replay = report.replay
    assert sum(q.count for q in replay.quintiles) == report.scorers[0].n_test
    assert replay.flagged_known + replay.not_flagged_known == report.scorers[0].n_test
    assert replay.flagged == len(replay.flagged_deals)
    assert replay.open_deals == replay.flagged_known + replay.not_flagged_known + replay.outcome_unknown


def test_nothing_that_happened_after_the_date_reaches_the_scorers(maven_copy):
    """Turn every outcome after the date around, close those deals a month later and wipe every amount: each
    scorer gives every deal the same probability as before (the calibration bins hold the same deals at the same
    mean), only the outcomes differ."""
    as_of = dt.date(2017, 6, 30)
    engine = create_store_engine(maven_copy.url)
    before = _backtest(engine, as_of)
    with session_scope(engine) as s:
        for deal in s.scalars(select(Opportunity).where(Opportunity.close_date > as_of,
                                                        Opportunity.stage.in_(("Won", "Lost")))):
            deal.stage = "Lost" if deal.stage == "Won" else "Won"
            deal.close_date += dt.timedelta(days=30)
        s.execute(update(Opportunity).values(amount=1, close_value=0).execution_options(synchronize_session=False))
    after = _backtest(engine, as_of)
    engine.dispose()
    assert after.test_base_rate == pytest.approx(1 - before.test_base_rate, abs=1e-4)
    for was, now in zip(before.scorers, after.scorers):
        assert [(b.count, b.mean_predicted) for b in now.calibration] == \
               [(b.count, b.mean_predicted) for b in was.calibration]
        assert (now.n_train, now.base_rate) == (was.n_train, was.base_rate)


def test_the_stalled_rule_is_next_actions_with_the_norm_of_the_day():
    # Stalled after 1.5x the norm and at least 14 days past it (agents/next_action.py).
    assert not is_stalled(60, 40) and is_stalled(61, 40)
    assert not is_stalled(23, 10) and is_stalled(24, 10)


def test_the_replay_flags_deals_by_the_books_norm_on_the_date_and_recommends_the_playbooks_action(maven_engine):
    report = _backtest(maven_engine, dt.date(2017, 8, 31))
    replay = report.replay
    assert all(is_stalled(d.days_engaged, replay.norm_days) for d in replay.flagged_deals)
    assert replay.flagged > 100 and replay.flagged_known > 100
    assert (replay.playbook, replay.element, replay.action) == ("meddicc", "decision_process", "book_meeting")
    assert {d.outcome for d in replay.flagged_deals} == {"won", "lost", "open"}
    for name, element in (("bant", "timeline"), ("spin", "need_payoff")):
        playbook = get_playbook(name)
        other = _backtest(maven_engine, dt.date(2017, 8, 31), playbook=playbook).replay
        assert other.element == element and other.action in playbook.element(element).actions


@pytest.mark.parametrize("as_of, reason", [
    (dt.date(2017, 2, 1), "as of 2017-02-01 0 deals had closed"),
    (dt.date(2017, 3, 2), None),  # 46 closed deals already: enough to replay
    (dt.date(2017, 12, 31), "as of 2017-12-31 0 deals were open and closed later"),
    (dt.date(2019, 1, 1), "as of 2019-01-01 0 deals were open and closed later"),
])
def test_dates_outside_the_history_are_refused_in_one_line(maven_engine, as_of, reason):
    if reason is None:
        assert _backtest(maven_engine, as_of).scorers[0].n_train == 46
        return
    with pytest.raises(BadInput, match=reason) as refused:
        _backtest(maven_engine, as_of)
    assert "2017-03-01 to 2017-12-31" in refused.value.one_line()


def test_a_store_without_history_is_refused(session):
    with pytest.raises(BadInput, match="no won or lost deals with a close date to replay"):
        run_backtest(session=session, as_of=dt.date(2017, 6, 30))


def test_the_calibration_table_and_quintiles_keep_every_deal_once():
    p = np.array([0.05, 0.15, 0.15, 0.5, 0.95, 1.0])
    y = np.array([0, 0, 1, 1, 1, 1])
    table = calibration_table(y, p, bins=10)
    assert [b.count for b in table] == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]
    assert table[1].observed_win_rate == 0.5 and table[2].mean_predicted is None
    # Ties stay together: a scorer that gives every deal the same probability has one group, not five.
    assert [q.count for q in quantiles(np.full(10, 0.6), np.arange(10) % 2)] == [10]
    assert [q.count for q in quantiles(np.arange(10) / 10, np.arange(10) % 2)] == [2, 2, 2, 2, 2]
