"""Replaying the history in the store as of a past date: how each scorer's probabilities related to what then
happened, and what the next-best-action agent would have flagged.

As of DATE (its end): every scorer learns from the deals closed on or before DATE and scores the deals that were
engaged by then and closed after it, whose outcome the store now knows. Deals still open today have no outcome
and are left out of the scores (counted apart). Nothing a scorer sees is from after DATE: a test deal's age is
counted to DATE, and close dates and values are never features (features.py).

The figures: AUC (does a higher probability go with winning), Brier score (mean squared error of the
probabilities) against the Brier score of always saying the training base rate, the Brier skill score
(1 - Brier / base-rate Brier: above 0 is better than the base rate) and a calibration table. When the fields
carry little signal, as the Maven ones do, the bar is calibration: a scorer must never do worse than the base rate.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import brier_score_loss, roc_auc_score
from sqlalchemy.orm import Session

from sellerloop.agents.next_action import (
    ADVANCES,
    STALLED_FACTOR,
    STALLED_MIN_EXTRA_DAYS,
    WEIGHTS,
    Candidate,
    choose,
)
from sellerloop.errors import BadInput
from sellerloop.playbooks.models import Playbook
from sellerloop.playbooks.service import get_playbook
from sellerloop.scoring.features import CUMULATIVE, DealFacts, load_facts
from sellerloop.scoring.scorers import SCORERS

MIN_DEALS = 30  # fewer training or test deals than this (or only one outcome among them) says nothing
QUANTILES = 5


@dataclass
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_predicted: float | None  # None when the bin is empty
    observed_win_rate: float | None


@dataclass
class ScorerResult:
    scorer: str
    n_train: int
    n_test: int
    base_rate: float  # of the training deals
    auc: float
    brier: float
    base_rate_brier: float  # always predicting the training base rate
    brier_skill: float  # 1 - brier / base_rate_brier
    calibration: list[CalibrationBin]


@dataclass
class Quantile:
    rank: int  # 1 = the lowest probabilities
    count: int
    min_predicted: float
    max_predicted: float
    mean_predicted: float
    win_rate: float


@dataclass
class FlaggedDeal:
    opportunity_id: str
    days_engaged: int
    outcome: str  # won, lost, or open (still open in the store: not known)
    probability: float  # the sellerloop scorer's, as of the date


@dataclass
class Replay:
    """What the next-best-action agent would have flagged as stalled on the date, and what became of it."""

    playbook: str
    action: str
    element: str
    norm_days: float  # median days from engaged to closed of the deals closed by the date
    stalled_after_days: float  # a deal engaged longer than this was stalled
    open_deals: int  # engaged by the date and not closed by it
    outcome_unknown: int  # of those, still open in the store today
    flagged: int
    flagged_known: int
    flagged_win_rate: float | None
    not_flagged_known: int
    not_flagged_win_rate: float | None
    quintiles: list[Quantile]  # test deals by the sellerloop scorer's probability, lowest first (ties together)
    flagged_deals: list[FlaggedDeal] = field(default_factory=list)


@dataclass
class BacktestReport:
    as_of: dt.date
    features: str  # "all", or "static" without days engaged
    history: tuple[dt.date, dt.date]  # first and last close date in the store
    test_base_rate: float
    scorers: list[ScorerResult]
    replay: Replay

    def as_dict(self) -> dict:
        """The stable machine-readable document of `sellerloop eval backtest --json` (figures to 4 decimals)."""
        out = _rounded(asdict(self))
        out["as_of"] = self.as_of.isoformat()
        out["history"] = {"first_close": self.history[0].isoformat(), "last_close": self.history[1].isoformat()}
        return out


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_rounded(v) for v in value)
    return value


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"--as-of {text!r} is not a date (expected YYYY-MM-DD)") from None


def run_backtest(*, session: Session, as_of: dt.date, bins: int = 10, static_only: bool = False,
                 playbook: Playbook | None = None) -> BacktestReport:
    if not 2 <= bins <= 50:
        raise BadInput(f"--bins must be between 2 and 50, not {bins}")
    facts = load_facts(session=session)
    closed = [f for f in facts if f.closed and f.close_date is not None]
    if not closed:
        raise BadInput("the store holds no won or lost deals with a close date to replay; import a history first "
                       "(sellerloop import maven DIR)")
    first, last = min(f.close_date for f in closed), max(f.close_date for f in closed)
    train = [f for f in closed if f.close_date <= as_of]
    test = [f for f in closed if f.engage_date is not None and f.engage_date <= as_of < f.close_date]
    _require_both_outcomes(train, f"as of {as_of} {len(train)} deals had closed", first, last)
    _require_both_outcomes(test, f"as of {as_of} {len(test)} deals were open and closed later", first, last)

    drop = CUMULATIVE if static_only else frozenset()
    test_y = np.array([f.won for f in test])
    base_rate = sum(f.won for f in train) / len(train)
    results, fitted = [], {}
    for name, scorer_type in SCORERS.items():
        fitted[name] = scorer_type(drop=drop).fit(train)
        results.append(_score(name, len(train), base_rate, test_y, fitted[name].predict(test, as_of=as_of), bins))
    open_then = [f for f in facts if f.engage_date is not None and f.engage_date <= as_of
                 and not (f.closed and f.close_date is not None and f.close_date <= as_of)]
    probabilities = fitted["sellerloop"].predict(open_then, as_of=as_of)
    replay = _replay(open_then, train, dict(zip((f.id for f in open_then), probabilities.tolist())), as_of=as_of,
                     playbook=playbook or get_playbook())
    return BacktestReport(as_of=as_of, features="static" if static_only else "all", history=(first, last),
                          test_base_rate=float(test_y.mean()), scorers=results, replay=replay)


def _require_both_outcomes(deals: list[DealFacts], what: str, first: dt.date, last: dt.date) -> None:
    won = sum(f.won for f in deals)
    if len(deals) < MIN_DEALS or won == 0 or won == len(deals):
        raise BadInput(f"{what} (need at least {MIN_DEALS}, won and lost); the history in the store closes deals "
                       f"from {first} to {last}: pick a date in between")


def _score(name: str, n_train: int, base_rate: float, y: np.ndarray, p: np.ndarray, bins: int) -> ScorerResult:
    brier = float(brier_score_loss(y, p))
    base_brier = float(brier_score_loss(y, np.full(len(y), base_rate)))
    return ScorerResult(scorer=name, n_train=n_train, n_test=len(y), base_rate=base_rate,
                        auc=float(roc_auc_score(y, p)), brier=brier, base_rate_brier=base_brier,
                        brier_skill=1 - brier / base_brier, calibration=calibration_table(y, p, bins=bins))


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int) -> list[CalibrationBin]:
    """Equal-width bins of predicted probability: how many deals, what they were given on average, how many won."""
    index = np.clip((p * bins).astype(int), 0, bins - 1)  # a probability of exactly 1 goes in the top bin
    table = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        table.append(CalibrationBin(low=b / bins, high=(b + 1) / bins, count=count,
                                    mean_predicted=float(p[inside].mean()) if count else None,
                                    observed_win_rate=float(y[inside].mean()) if count else None))
    return table


def is_stalled(days_engaged: int, norm_days: float) -> bool:
    """next-action's stalled rule (agents/next_action.py: _stage), with the norm the book had on the date."""
    return days_engaged > STALLED_FACTOR * norm_days and days_engaged - norm_days >= STALLED_MIN_EXTRA_DAYS


def _stalled_choice(playbook: Playbook) -> tuple[str, str]:
    """The element and action next-action recommends for a stalled deal under `playbook`. The Maven history has no
    activities, contacts or calls, so every element lacks evidence and the stalled finding's own order decides."""
    elements, actions = ADVANCES["stalled"]
    keys = {e.key for e in playbook.elements}
    candidate = Candidate("stalled", WEIGHTS["stalled"], why="stalled", statement="", sources=[],
                          elements=tuple(k for k in elements if k in keys) or (playbook.elements[0].key,),
                          actions=actions)
    chosen = choose([candidate], playbook=playbook, limit=1)[0]
    return chosen.element, chosen.action


def _replay(open_then: list[DealFacts], train: list[DealFacts], probability: dict[str, float], *, as_of: dt.date,
            playbook: Playbook) -> Replay:
    """`open_then`: the deals engaged by the date and not closed by it; `probability`: the sellerloop scorer's
    for each of them, as of the date."""
    norm = float(statistics.median((f.close_date - f.engage_date).days for f in train if f.engage_date))
    element, action = _stalled_choice(playbook)
    test = [f for f in open_then if f.closed]  # their outcome is known now

    def outcome(f: DealFacts) -> str:
        return ("won" if f.won else "lost") if f.closed and f.close_date else "open"

    flagged, rest = [], []
    for f in open_then:
        (flagged if is_stalled((as_of - f.engage_date).days, norm) else rest).append(f)
    flagged_known = [f for f in flagged if f.closed]
    rest_known = [f for f in rest if f.closed]
    quintiles = quantiles(np.array([probability[f.id] for f in test]), np.array([f.won for f in test]))
    return Replay(
        playbook=playbook.key, action=action, element=element, norm_days=norm,
        stalled_after_days=max(STALLED_FACTOR * norm, norm + STALLED_MIN_EXTRA_DAYS),
        open_deals=len(open_then), outcome_unknown=sum(outcome(f) == "open" for f in open_then),
        flagged=len(flagged), flagged_known=len(flagged_known),
        flagged_win_rate=_win_rate(flagged_known), not_flagged_known=len(rest_known),
        not_flagged_win_rate=_win_rate(rest_known), quintiles=quintiles,
        flagged_deals=[FlaggedDeal(f.id, (as_of - f.engage_date).days, outcome(f), probability[f.id])
                       for f in flagged])


def quantiles(p: np.ndarray, y: np.ndarray, *, groups: int = QUANTILES) -> list[Quantile]:
    """Deals in `groups` groups of rising probability (quintiles), ties kept together: a scorer that gives many
    deals the same probability gets fewer groups, never an order it did not give."""
    group = (rankdata(p, method="min") - 1) * groups // len(p)
    out = []
    for rank, g in enumerate(np.unique(group), start=1):
        inside = group == g
        out.append(Quantile(rank=rank, count=int(inside.sum()), min_predicted=float(p[inside].min()),
                            max_predicted=float(p[inside].max()), mean_predicted=float(p[inside].mean()),
                            win_rate=float(y[inside].mean())))
    return out


def _win_rate(deals: list[DealFacts]) -> float | None:
    return sum(f.won for f in deals) / len(deals) if deals else None
