"""Win probability per opportunity: counts updated on each won/lost equal a rebuild's, a rebuild is repeatable,
an outcome moves the deals like it, scores never refit, nothing from after a deal closed is a feature, and a
store with nothing to learn from says so in one line."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select, update

from sellerloop.errors import BadInput
from sellerloop.records.models import Account, Opportunity, Product, User
from sellerloop.scoring import win
from sellerloop.scoring.features import DealFacts, learning_features, load_facts, scoring_features
from sellerloop.scoring.models import ScoringState
from sellerloop.scoring.scorers import SellerloopScorer
from sellerloop.scoring.win import (
    WinModelNotBuilt,
    model_info,
    observe_closed,
    rebuild,
    win_probabilities,
    win_probability,
)
from sellerloop.store.db import session_scope


def _state(session) -> dict:
    return session.get(ScoringState, win.STATE_NAME, populate_existing=True).state


def _counts(state: dict) -> tuple:
    return state["won"], state["lost"], state["counts"]


def test_observing_closed_deals_one_by_one_gives_exactly_the_counts_a_rebuild_gives(maven_copy_engine):
    start, end = dt.date(2017, 9, 30), dt.date(2017, 10, 7)
    with session_scope(maven_copy_engine) as s:
        rebuild(session=s, as_of=start)
        later = list(s.scalars(select(Opportunity).where(Opportunity.stage.in_(("Won", "Lost")),
                                                         Opportunity.close_date > start,
                                                         Opportunity.close_date <= end).order_by(Opportunity.id)))
        assert len(later) > 100
        for o in later:
            assert observe_closed(session=s, opportunity_id=o.id, won=o.stage == "Won")
    with session_scope(maven_copy_engine) as s:
        incremental = _state(s)
        assert model_info(session=s).observed_since_rebuild == len(later)
        rebuild(session=s, as_of=end)
    with session_scope(maven_copy_engine) as s:
        rebuilt = _state(s)
    assert _counts(incremental) == _counts(rebuilt)
    with session_scope(maven_copy_engine) as s:
        closed = [o for o in s.scalars(select(Opportunity).where(Opportunity.stage.in_(("Won", "Lost"))))
                  if o.close_date <= end]
        assert rebuilt["won"] == sum(o.stage == "Won" for o in closed)
        assert rebuilt["won"] + rebuilt["lost"] == len(closed)


def test_a_deal_observed_twice_counts_once_and_a_corrected_outcome_moves_it_across(maven_copy_engine):
    with session_scope(maven_copy_engine) as s:
        rebuild(session=s, as_of=dt.date(2017, 9, 30))
        deal = s.scalars(select(Opportunity).where(Opportunity.stage == "Won",
                                                   Opportunity.close_date > dt.date(2017, 9, 30))).first()
        before = _state(s)
        assert observe_closed(session=s, opportunity_id=deal.id, won=True)
        once = _state(s)
        assert observe_closed(session=s, opportunity_id=deal.id, won=True) is False
        assert _state(s) == once
        assert observe_closed(session=s, opportunity_id=deal.id, won=False)
        corrected = _state(s)
    assert (once["won"], once["lost"]) == (before["won"] + 1, before["lost"])
    assert (corrected["won"], corrected["lost"]) == (before["won"], before["lost"] + 1)
    seller = once["counts"]["seller"][deal.owner_id]
    assert corrected["counts"]["seller"][deal.owner_id] == [seller[0] - 1, seller[1] + 1]


def test_a_rebuild_gives_the_same_state_every_time_and_bumps_the_version(maven_copy_engine):
    with session_scope(maven_copy_engine) as s:
        first = rebuild(session=s)
        state = _state(s)
    with session_scope(maven_copy_engine) as s:
        second = rebuild(session=s)
        again = _state(s)
    assert second.version == first.version + 1
    assert state.pop("rebuilt_at") <= again.pop("rebuilt_at")
    assert state == again
    assert first.closed_deals == 6711 and first.won == 4238


def test_a_rebuild_over_the_same_closed_deals_keeps_the_state_without_fitting_again(maven_copy_engine, monkeypatch):
    with session_scope(maven_copy_engine) as s:
        rebuild(session=s)
        state = _state(s)
    fits = []
    real_fit = SellerloopScorer.fit
    monkeypatch.setattr(SellerloopScorer, "fit", lambda self, deals: fits.append(len(deals)) or real_fit(self, deals))
    with session_scope(maven_copy_engine) as s:
        rebuild(session=s)
        again = _state(s)
    assert fits == []
    assert state.pop("rebuilt_at") <= again.pop("rebuilt_at")
    assert state == again
    with session_scope(maven_copy_engine) as s:  # one more deal lost: the closed deals differ, so it fits again
        deal = s.scalars(select(Opportunity).where(Opportunity.stage == "Engaging").order_by(Opportunity.id)).first()
        deal.stage, deal.close_date = "Lost", dt.date(2017, 12, 30)
    with session_scope(maven_copy_engine) as s:
        info = rebuild(session=s)
    assert fits == [6712] and info.closed_deals == 6712 and info.won == 4238


def test_a_rebuild_after_deals_were_counted_one_by_one_fits_again(maven_copy_engine, monkeypatch):
    with session_scope(maven_copy_engine) as s:
        rebuild(session=s)
        deal = s.scalars(select(Opportunity).where(Opportunity.stage == "Won").order_by(Opportunity.id)).first()
        assert observe_closed(session=s, opportunity_id=deal.id, won=False)  # counted twice until the rebuild
    fits = []
    real_fit = SellerloopScorer.fit
    monkeypatch.setattr(SellerloopScorer, "fit", lambda self, deals: fits.append(len(deals)) or real_fit(self, deals))
    with session_scope(maven_copy_engine) as s:
        info = rebuild(session=s)
        assert _state(s)["recent"] == {}
    assert fits == [6711] and (info.closed_deals, info.won) == (6711, 4238)


def test_on_maven_every_deal_gets_the_base_rate_because_no_field_predicted_outcomes_out_of_time(maven_copy_engine):
    with session_scope(maven_copy_engine) as s:
        info = rebuild(session=s)
        deals = list(s.scalars(select(Opportunity).where(Opportunity.stage == "Engaging").order_by(Opportunity.id)
                               .limit(50)))
        scores = win_probabilities(session=s, opportunities=deals)
    assert info.slope == 0 and info.calibrated_on > 1000
    assert {x.probability for x in scores} == {round(4238 / 6711, 4)}
    assert all(x.drivers == [] and "no field predicted" in x.note for x in scores)
    assert [x.opportunity_id for x in scores] == [d.id for d in deals]


def test_a_store_with_nothing_closed_says_so_in_one_line(session):
    with pytest.raises(BadInput, match="no won or lost deals to learn win probability from") as refused:
        rebuild(session=session)
    assert "\n" not in refused.value.one_line()
    session.add(User(id="u1", name="Sam Seller"))
    session.flush()
    session.add(Opportunity(id="d1", name="Acme", owner_id="u1", stage="Engaging"))
    session.flush()
    with pytest.raises(WinModelNotBuilt, match="sellerloop scoring rebuild"):
        win_probability(session=session, opportunity=session.get(Opportunity, "d1"))


# --- a book where the seller decides the outcome -------------------------------------------------------------


@pytest.fixture
def signal_book(engine):
    """Two sellers of one team on one account and product: Ada Ace wins about 85% of her deals, Bo Dud about
    25%; 600 closed deals over 2017, each open 20 to 60 days; one open deal each."""
    rng = random.Random(7)
    with session_scope(engine) as s:
        s.add(User(id="mia", name="Mia Manager", role="manager", team="Mia Manager", region="East"))
        s.add(Account(id="acme", name="Acme", sector="retail", revenue_musd=700, employees=1200))
        s.add(Product(id="gtx", name="GTX Basic", series="GTX", sales_price=550))
        s.flush()
        s.add_all([User(id=u, name=name, manager_id="mia", team="Mia Manager", region="East")
                   for u, name in (("ada", "Ada Ace"), ("bo", "Bo Dud"))])
        s.flush()
        for i in range(600):
            seller = ("bo", "ada")[i % 2]
            engaged = dt.date(2017, 1, 1) + dt.timedelta(days=i // 2)
            won = rng.random() < (0.85 if seller == "ada" else 0.25)
            s.add(_deal(f"s{i:03}", seller, "Won" if won else "Lost", engaged,
                        engaged + dt.timedelta(days=rng.randint(20, 60))))
        s.add_all([_deal("open-ada", "ada", "Engaging", dt.date(2017, 12, 20), None),
                   _deal("open-bo", "bo", "Engaging", dt.date(2017, 12, 20), None)])
    return engine


def _deal(id_: str, owner: str, stage: str, engaged: dt.date, closed: dt.date | None) -> Opportunity:
    return Opportunity(id=id_, name=f"Acme {id_}", account_id="acme", owner_id=owner, product_id="gtx", stage=stage,
                       amount=550, engage_date=engaged, close_date=closed)


AS_OF = dt.date(2018, 1, 2)


def _p(session, deal_id: str) -> tuple[float, float]:
    """The deal's probability, and what its seller adds to it (log-odds)."""
    score = win_probability(session=session, opportunity=session.get(Opportunity, deal_id), as_of=AS_OF)
    return score.probability, next(d.effect for d in score.drivers if d.feature == "seller")


def test_where_a_field_predicts_outcomes_the_model_learns_it_and_says_so_in_words(signal_book):
    with session_scope(signal_book) as s:
        info = rebuild(session=s)
        ada = win_probability(session=s, opportunity=s.get(Opportunity, "open-ada"), as_of=AS_OF)
        bo = win_probability(session=s, opportunity=s.get(Opportunity, "open-bo"), as_of=AS_OF)
    assert info.slope > 0
    assert ada.probability > 0.75 and bo.probability < 0.35
    assert bo.probability < ada.base_rate < ada.probability
    top = ada.drivers[0]
    assert (top.feature, top.value) == ("seller", "Ada Ace") and top.effect > 0
    assert top.text.startswith("seller Ada Ace: ") and "closed deals won" in top.text
    assert bo.drivers[0].feature == "seller" and bo.drivers[0].effect < 0
    assert ada.model_version == info.version and ada.closed_deals == 600


def test_one_won_deal_raises_the_probability_of_deals_like_it_and_one_lost_deal_lowers_it(signal_book):
    with session_scope(signal_book) as s:
        rebuild(session=s)
        before = _p(s, "open-bo")
        s.add(_deal("bo-won", "bo", "Won", dt.date(2017, 12, 1), dt.date(2017, 12, 28)))
        s.flush()
        observe_closed(session=s, opportunity_id="bo-won", won=True)
        after_win = _p(s, "open-bo")
        s.add(_deal("bo-lost", "bo", "Lost", dt.date(2017, 12, 1), dt.date(2017, 12, 29)))
        s.flush()
        observe_closed(session=s, opportunity_id="bo-lost", won=False)
        after_loss = _p(s, "open-bo")
    # The seller's own record moves, not only the base rate: a win by Bo makes Bo's seller effect less negative.
    assert after_win[0] > before[0] and after_win[1] > before[1]
    assert after_loss[0] < after_win[0] and after_loss[1] < after_win[1]


def test_scoring_reads_the_model_once_per_session_and_never_refits(signal_book, monkeypatch):
    with session_scope(signal_book) as s:
        rebuild(session=s)
    reads = []
    real_read = win._read
    monkeypatch.setattr(win, "_read", lambda *a, **k: reads.append(1) or real_read(*a, **k))

    def no_fit(*_a, **_k):
        raise AssertionError("scoring refitted the model")

    monkeypatch.setattr(SellerloopScorer, "fit", no_fit)
    with session_scope(signal_book) as s:
        for deal in s.scalars(select(Opportunity).order_by(Opportunity.id).limit(40)):
            win_probability(session=s, opportunity=deal, as_of=AS_OF)
    assert len(reads) == 1


def test_a_closed_deal_is_scored_as_it_stood_just_before_it_closed(signal_book):
    with session_scope(signal_book) as s:
        rebuild(session=s)
        closed = s.get(Opportunity, "s001")
        days = (closed.close_date - closed.engage_date).days
        score = win_probability(session=s, opportunity=closed, as_of=AS_OF)
        facts = load_facts(session=s, ids=["s001"])[0]
    assert ("days_engaged", _band_of(days)) in scoring_features(facts, as_of=AS_OF)
    assert 0 < score.probability < 1


def _band_of(days: int) -> str:
    from sellerloop.scoring.features import DAYS_ENGAGED, band

    return band(days, DAYS_ENGAGED, whole=True)


# --- features --------------------------------------------------------------------------------------------------


def _facts(**changes) -> DealFacts:
    fields = {"id": "d1", "stage": "Lost", "engage_date": dt.date(2017, 3, 1), "close_date": dt.date(2017, 3, 21),
              "account_id": "acme", "account_name": "Acme", "sector": "retail", "revenue_musd": 1100.0,
              "employees": 2822, "product": "GTX Pro", "series": "GTX", "price": 4821.0, "owner_id": "u1",
              "owner_name": "Sam Seller", "team": "Mo Manager", "region": "East"}
    return DealFacts(**(fields | changes))


def test_a_closed_deal_counts_in_every_days_engaged_band_it_was_still_open_in():
    bands = [v for f, v in learning_features(_facts()) if f == "days_engaged"]  # lost on day 20
    assert bands == ["0-6", "7-13", "14-29"]
    open_deal = _facts(stage="Engaging", close_date=None)
    assert [v for f, v in scoring_features(open_deal, as_of=dt.date(2017, 5, 1)) if f == "days_engaged"] == ["60-89"]
    assert "days_engaged" not in dict(scoring_features(_facts(engage_date=None), as_of=dt.date(2017, 5, 1)))


def test_features_come_only_from_what_is_known_while_the_deal_is_open():
    static = {f: v for f, v in learning_features(_facts()) if f != "days_engaged"}
    assert static == {"sector": "retail", "revenue": "1,000-5,000", "employees": "1,000-5,000", "account": "acme",
                      "product": "GTX Pro", "series": "GTX", "price": "1,000-5,000", "seller": "u1",
                      "team": "Mo Manager", "region": "East"}
    # The close date is only the end of the open period: a deal scored before it closed does not see the outcome.
    as_open = scoring_features(_facts(stage="Engaging", close_date=None), as_of=dt.date(2017, 3, 15))
    assert scoring_features(_facts(stage="Won"), as_of=dt.date(2017, 3, 15)) == as_open
    assert scoring_features(_facts(stage="Lost"), as_of=dt.date(2017, 3, 15)) == as_open


def test_the_amount_and_close_value_are_never_features(maven_copy_engine):
    with session_scope(maven_copy_engine) as s:
        deal = s.scalars(select(Opportunity).where(Opportunity.stage == "Won")).first()
        before = learning_features(load_facts(session=s, ids=[deal.id])[0])
        s.execute(update(Opportunity).where(Opportunity.id == deal.id).values(amount=1, close_value=0)
                  .execution_options(synchronize_session=False))
        after = learning_features(load_facts(session=s, ids=[deal.id])[0])
    assert before == after
