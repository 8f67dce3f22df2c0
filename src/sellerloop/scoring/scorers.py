"""Three win-probability scorers with one small interface: `fit` on closed deals, `predict` probabilities.

- `frequency_nb`: the baseline of Odoo's predictive lead scoring: per feature value, how often won and lost deals
  had it (+1 smoothing), multiplied naive-Bayes fashion with the prior. Every value counts, however rare.
- `sklearn`: one-hot features into scikit-learn's LogisticRegression (L2-regularised, so rare values stay near
  zero): the off-the-shelf model a data scientist would try first.
- `sellerloop`: the product's own model (`CountModel`): per-value won/lost counts shrunk toward the base rate,
  values with too few outcomes ignored, summed in log-odds and damped by a slope that is calibrated out of time.
  It is hand-written rather than a library model because it is updated one closed deal at a time, explains a
  score in counts a person can check, and lives in one small JSON document.

A closed deal counts in every days-engaged band it passed through (features.py). The logistic regression gets the
same information the standard way for discrete-time outcomes: one row per band a deal passed through.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.special import expit, logit

from sellerloop.scoring.features import (
    CUMULATIVE,
    DealFacts,
    Features,
    learning_features,
    scoring_features,
    without,
)

PRIOR_DEALS = 50  # a value's rate is shrunk toward the base rate as if it had 50 deals at the base rate already
MIN_OUTCOMES = 20  # a value seen on fewer closed deals says nothing yet (Odoo ignores tags under 50)
CALIBRATION_CUTS = (0.2, 0.4, 0.6, 0.8)  # replay dates for calibration, as shares of the closed deals by close date
MIN_CALIBRATION_ROWS = 100  # fewer replayed scores than this: too few to trust any slope
SLOPE_Z = 3.0  # a slope within three standard errors of 0 is taken as 0 (a deal open at two cuts counts twice)


class Scorer(Protocol):
    name: str

    def fit(self, deals: Sequence[DealFacts]) -> Scorer:
        """Learn from closed deals (their stage says won or lost)."""

    def predict(self, deals: Sequence[DealFacts], *, as_of: dt.date) -> np.ndarray:
        """P(won) of each deal as it stood on `as_of`."""


class _Featured:
    """What every scorer shares: the features it may use (`drop` leaves some out, e.g. for a static-only run)."""

    def __init__(self, *, drop: frozenset[str] = frozenset()):
        self.drop = drop

    def learning(self, deals: Sequence[DealFacts]) -> list[Features]:
        return [without(learning_features(f), self.drop) for f in deals]

    def scoring(self, deals: Sequence[DealFacts], as_of: dt.date) -> list[Features]:
        return [without(scoring_features(f, as_of=as_of), self.drop) for f in deals]


def _rows(deals: Sequence[Features], won: Sequence[bool] | None = None):
    """Each deal as rows of {feature: value}: one row per days-engaged band it passed through (a deal being
    scored has one), or a single row when its age is unknown."""
    rows, labels = [], []
    for i, features in enumerate(deals):
        static = {f: v for f, v in features if f not in CUMULATIVE}
        bands = [{f: v} for f, v in features if f in CUMULATIVE] or [{}]
        rows += [static | extra for extra in bands]
        if won is not None:
            labels += [bool(won[i])] * len(bands)
    return rows, np.array(labels, dtype=bool)


class FrequencyNB(_Featured):
    """Odoo's predictive lead scoring as its documentation describes it: P(won | values) from each value's
    frequency among won and among lost deals, every feature taken as independent of the others."""

    name = "frequency_nb"

    def fit(self, deals: Sequence[DealFacts]) -> FrequencyNB:
        self.won = sum(f.won for f in deals)
        self.lost = len(deals) - self.won
        self.counts: dict[str, dict[str, list[int]]] = {}
        for facts, features in zip(deals, self.learning(deals)):
            for f, v in features:
                self.counts.setdefault(f, {}).setdefault(v, [0, 0])[0 if facts.won else 1] += 1
        # Per feature: won and lost deals that had any value of it, and how many values it has (for +1 smoothing).
        self.totals = {f: (sum(c[0] for c in values.values()), sum(c[1] for c in values.values()), len(values))
                       for f, values in self.counts.items()}
        return self

    def predict(self, deals: Sequence[DealFacts], *, as_of: dt.date) -> np.ndarray:
        out = np.empty(len(deals))
        for i, features in enumerate(self.scoring(deals, as_of)):
            log_won, log_lost = np.log(self.won), np.log(self.lost)
            for f, v in features:
                if v not in self.counts.get(f, {}):
                    continue  # a value never seen on a closed deal is skipped, as Odoo does
                w, lost = self.counts[f][v]
                if f in CUMULATIVE:  # share of all won (lost) deals that reached this band, as Odoo's stages
                    log_won += np.log((w + 1) / (self.won + 2))
                    log_lost += np.log((lost + 1) / (self.lost + 2))
                else:
                    won_total, lost_total, values = self.totals[f]
                    log_won += np.log((w + 1) / (won_total + values))
                    log_lost += np.log((lost + 1) / (lost_total + values))
            out[i] = expit(log_won - log_lost)
        return out


class SklearnLogistic(_Featured):
    """One-hot features into scikit-learn's LogisticRegression (its default L2 strength)."""

    name = "sklearn"

    def fit(self, deals: Sequence[DealFacts]) -> SklearnLogistic:
        # Imported here: scikit-learn takes over a second to import, and only fitting needs it (this comparison
        # and the calibration of a rebuild); scoring, and every agent process of a whole-book run, do without.
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        rows, labels = _rows(self.learning(deals), [f.won for f in deals])
        self.vectoriser = DictVectorizer()
        self.model = LogisticRegression(max_iter=2000).fit(self.vectoriser.fit_transform(rows), labels)
        return self

    def predict(self, deals: Sequence[DealFacts], *, as_of: dt.date) -> np.ndarray:
        rows, _ = _rows(self.scoring(deals, as_of))  # at most one band per deal being scored: one row each
        return self.model.predict_proba(self.vectoriser.transform(rows))[:, 1]


def _logit(p: float) -> float:
    return math.log(p / (1 - p))  # scipy's logit, without a ufunc call per value


@dataclass
class Effect:
    feature: str
    value: str
    won: int
    lost: int
    effect: float  # log-odds it adds to the deal's score; positive raises the probability


@dataclass
class CountModel:
    """The sellerloop model's whole state: counts that each closed deal updates in place, and the slope the last
    rebuild calibrated. `to_state`/`from_state` give the JSON document kept in `scoring_state`."""

    won: int = 0
    lost: int = 0
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # feature -> value -> [won, lost]
    # How much the summed evidence is worth. 0 (the base rate for every deal) until a rebuild has shown, out of
    # time, that the counts predict what happened next.
    slope: float = 0.0

    def add(self, features: Features, won: bool, step: int = 1) -> None:
        """Count one closed deal (step=-1 takes it back out)."""
        if won:
            self.won += step
        else:
            self.lost += step
        for f, v in features:
            pair = self.counts.setdefault(f, {}).setdefault(v, [0, 0])
            pair[0 if won else 1] += step
            if pair == [0, 0]:
                del self.counts[f][v]
                if not self.counts[f]:
                    del self.counts[f]

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def base_rate(self) -> float:
        return self.won / self.closed if self.closed else 0.5

    def _prior(self) -> float:
        if 0 < self.won < self.closed:
            return self.won / self.closed
        # Half a deal each way keeps the log-odds finite while every deal so far was won (or lost).
        return (self.won + 0.5) / (self.closed + 1)

    def evidence(self, features: Features) -> list[Effect]:
        """Each value's log-likelihood ratio against the base rate, its rate shrunk toward the base rate first
        (Beta prior worth PRIOR_DEALS deals); values seen on fewer than MIN_OUTCOMES closed deals left out."""
        prior = self._prior()
        out = []
        for f, v in features:
            w, lost = self.counts.get(f, {}).get(v, (0, 0))
            if w + lost < MIN_OUTCOMES:
                continue
            rate = (w + PRIOR_DEALS * prior) / (w + lost + PRIOR_DEALS)
            out.append(Effect(f, v, w, lost, _logit(rate) - _logit(prior)))
        return out

    def raw_score(self, features: Features) -> float:
        return sum(e.effect for e in self.evidence(features))

    def effects(self, features: Features) -> list[Effect]:
        """The evidence after damping: what each value adds to the log-odds of this deal's probability."""
        return [Effect(e.feature, e.value, e.won, e.lost, self.slope * e.effect) for e in self.evidence(features)]

    def probability(self, features: Features) -> float:
        return float(expit(logit(self._prior()) + self.slope * self.raw_score(features)))

    @classmethod
    def counted(cls, features: Sequence[Features], won: Sequence[bool]) -> CountModel:
        model = cls()
        for deal, outcome in zip(features, won):
            model.add(deal, bool(outcome))
        return model

    def calibrate(self, deals: Sequence[DealFacts], *, featured: _Featured) -> int:
        """Set the damping slope by replaying the history: at a few past dates, counts of the deals closed by then
        score the deals open then, and the slope is the one that best turns those scores into what happened
        (Platt scaling, on out-of-time scores). Returns how many replayed scores it rests on (0: too few, slope 0).

        The slope is the damping: naive Bayes would add every feature's evidence in full (slope 1), but seller,
        team and region (product, series and price) say overlapping things. Out of time, because that is how the
        model is used, and because within one period a pattern can look like signal and not come back the next
        (Maven's deals closed in a quarter's last month were won 78-83%, in the other months 49-57%). A slope
        indistinguishable from 0, or below it, is 0: every deal then gets the base rate, which is never worse
        than the base rate.

        The offset stays at the base rate: fitted out of time, it measured how one period's win rate differed from
        the next, which does not carry over (it made the Maven backtest worse at seven of nine dates from April
        to November 2017). See docs/EVALUATION.md."""
        self.slope = 0.0
        dated = sorted((f for f in deals if f.close_date is not None), key=lambda f: (f.close_date, f.id))
        learnt = featured.learning(dated)
        then, counted = CountModel(), 0  # the counts as they stood at each cut, grown from one cut to the next
        scores, outcomes = [], []
        for share in CALIBRATION_CUTS:
            if not dated:
                break
            cut = dated[int(share * (len(dated) - 1))].close_date
            while counted < len(dated) and dated[counted].close_date <= cut:
                then.add(learnt[counted], dated[counted].won)
                counted += 1
            after = [f for f in dated[counted:] if f.engage_date is not None and f.engage_date <= cut]
            scores += [then.raw_score(features) for features in featured.scoring(after, cut)]
            outcomes += [f.won for f in after]
        x, y = np.array(scores), np.array(outcomes, dtype=bool)
        if len(x) < MIN_CALIBRATION_ROWS or x.std() == 0 or y.all() or not y.any():
            return len(x)
        from sklearn.linear_model import LogisticRegression  # only when calibrating (see SklearnLogistic.fit)

        fit = LogisticRegression(C=np.inf).fit(x.reshape(-1, 1), y)
        slope = float(fit.coef_[0, 0])
        # The slope's standard error from the fit's Fisher information (statsmodels would say the same).
        p = fit.predict_proba(x.reshape(-1, 1))[:, 1]
        design = np.column_stack([np.ones_like(x), x])
        information = design.T @ (design * (p * (1 - p))[:, None])
        error = float(np.sqrt(np.linalg.inv(information)[1, 1]))
        self.slope = slope if slope - SLOPE_Z * error > 0 else 0.0
        return len(x)

    def to_state(self) -> dict:
        return {"won": self.won, "lost": self.lost, "counts": self.counts, "slope": self.slope}

    @classmethod
    def from_state(cls, state: dict) -> CountModel:
        return cls(won=int(state.get("won", 0)), lost=int(state.get("lost", 0)),
                   counts={f: {v: list(c) for v, c in values.items()} for f, values in state.get("counts", {}).items()},
                   slope=float(state.get("slope", 0.0)))


class SellerloopScorer(_Featured):
    """The product's model behind the common interface: counts of the closed deals, calibrated out of time."""

    name = "sellerloop"

    def fit(self, deals: Sequence[DealFacts]) -> SellerloopScorer:
        self.model = CountModel.counted(self.learning(deals), [f.won for f in deals])
        self.calibrated_on = self.model.calibrate(deals, featured=self)
        return self

    def predict(self, deals: Sequence[DealFacts], *, as_of: dt.date) -> np.ndarray:
        return np.array([self.model.probability(features) for features in self.scoring(deals, as_of)])


SCORERS: dict[str, type[_Featured]] = {s.name: s for s in (FrequencyNB, SklearnLogistic, SellerloopScorer)}
