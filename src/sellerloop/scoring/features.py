"""What a deal looks like to the win-probability scorers: its features as known at scoring time.

Only what is known while the deal is open counts: who sells it (seller, team, region), to whom (account, sector,
revenue, headcount), what (product, series, list price), and how long it has been engaged. Never the close value,
the close date or the amount (the amount of a won Maven deal is its close value), so nothing from after the deal
closed leaks into its score.

Sizes and prices go into fixed bands rather than bands cut at the data's quantiles: a fixed band means the same
thing in every rebuild, so counts added one closed deal at a time stay equal to counts rebuilt from scratch.

Days engaged is the one feature that changes while a deal is open. A closed deal counts in every band it was
still open in (a deal lost on day 20 was an open deal at 0, 7 and 14 days), as Odoo counts a won lead in every
stage it passed: so a band's counts say how often deals still open at that age went on to win, which is what
an open deal of that age asks. Lost Maven deals die young (median 14 days against 57 for won ones), so this
band carries more signal than any static field.
"""
from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.records.models import CLOSED_STAGES, Account, Opportunity, Product, User

# feature -> how a person calls it
FEATURE_NAMES = {
    "sector": "sector", "revenue": "annual revenue", "employees": "headcount", "account": "account",
    "product": "product", "series": "product series", "price": "list price",
    "seller": "seller", "team": "team", "region": "region", "days_engaged": "days engaged",
}
# Counted in every band a closed deal passed through (see the module note), not once per deal.
CUMULATIVE = frozenset({"days_engaged"})

# Lower edges of the bands; each band runs to the next edge. Log-spaced, because sizes and prices are.
REVENUE_MUSD = (0, 100, 500, 1_000, 5_000)
EMPLOYEES = (0, 500, 1_000, 5_000, 10_000)
PRICE_USD = (0, 1_000, 5_000, 10_000)
# Finer in the first weeks, where most lost deals end.
DAYS_ENGAGED = (0, 7, 14, 30, 60, 90, 120)

IN_CHUNKS = 500  # ids per IN list


@dataclass(frozen=True)
class DealFacts:
    """The fields of one opportunity (and its account, product and seller) the features are made from."""

    id: str
    stage: str
    engage_date: dt.date | None
    close_date: dt.date | None  # only to know how long a CLOSED deal stayed open; never a feature
    account_id: str | None
    account_name: str | None
    sector: str | None
    revenue_musd: float | None
    employees: int | None
    product: str | None
    series: str | None
    price: float | None
    owner_id: str | None
    owner_name: str | None
    team: str | None
    region: str | None

    @property
    def closed(self) -> bool:
        return self.stage in CLOSED_STAGES

    @property
    def won(self) -> bool:
        return self.stage == "Won"


# A deal's features: (feature, value) pairs. A closed deal used for learning has one days_engaged pair per band it
# passed through; a deal being scored has at most one.
Features = tuple[tuple[str, str], ...]


def load_facts(*, session: Session, ids: Sequence[str] | None = None, closed_only: bool = False) -> list[DealFacts]:
    """Facts of the given opportunities (every one when `ids` is None), with one query per chunk of ids,
    in id order."""
    o, a, p, u = Opportunity, Account, Product, User
    base = (select(o.id, o.stage, o.engage_date, o.close_date, o.account_id, a.name, a.sector, a.revenue_musd,
                   a.employees, p.name, p.series, p.sales_price, o.owner_id, u.name, u.team, u.region)
            .select_from(o).outerjoin(a, a.id == o.account_id).outerjoin(p, p.id == o.product_id)
            .outerjoin(u, u.id == o.owner_id).order_by(o.id))
    if closed_only:
        base = base.where(o.stage.in_(CLOSED_STAGES))
    if ids is None:
        return [DealFacts(*row) for row in session.execute(base)]
    unique = sorted(set(ids))
    return sorted((DealFacts(*row) for start in range(0, len(unique), IN_CHUNKS)
                   for row in session.execute(base.where(o.id.in_(unique[start:start + IN_CHUNKS])))),
                  key=lambda f: f.id)


@lru_cache(maxsize=4096)  # a few hundred distinct sizes and ages; named once each, not once per deal
def band(value: float | None, edges: tuple[float, ...], *, whole: bool = False) -> str | None:
    """The band `value` falls in, named by its edges ("1,000-5,000", "10,000+"), or for whole numbers by the
    first and last number in it ("7-13"); None when unknown."""
    if value is None:
        return None
    index = max(0, bisect_right(edges, value) - 1)
    low = edges[index]
    if index == len(edges) - 1:
        return f"{low:,g}+"
    return f"{low:,g}-{edges[index + 1] - 1 if whole else edges[index + 1]:,g}"


def static_features(facts: DealFacts) -> list[tuple[str, str]]:
    values = {
        "sector": facts.sector, "revenue": band(facts.revenue_musd, REVENUE_MUSD),
        "employees": band(facts.employees, EMPLOYEES), "account": facts.account_id,
        "product": facts.product, "series": facts.series, "price": band(facts.price, PRICE_USD),
        "seller": facts.owner_id, "team": facts.team, "region": facts.region,
    }
    # An unknown value is no evidence either way (Odoo skips unset fields too), not a value of its own.
    return [(name, str(value)) for name, value in values.items() if value is not None]


def learning_features(facts: DealFacts) -> Features:
    """A closed deal as the scorers learn from it: its static features and every days-engaged band it was still
    open in. Without both dates its age is unknown and only the static features count."""
    pairs = static_features(facts)
    if facts.engage_date and facts.close_date:
        days = max(0, (facts.close_date - facts.engage_date).days)
        pairs += [("days_engaged", band(edge, DAYS_ENGAGED, whole=True)) for edge in DAYS_ENGAGED if days >= edge]
    return tuple(pairs)


def scoring_features(facts: DealFacts, *, as_of: dt.date) -> Features:
    """A deal as it is scored on `as_of`: its static features and how long it has been engaged by then (by its
    close, if it closed earlier: what the model would have said just before). A deal not engaged yet has no age."""
    pairs = static_features(facts)
    if facts.engage_date and facts.engage_date <= as_of:
        until = min(as_of, facts.close_date) if facts.closed and facts.close_date else as_of
        pairs.append(("days_engaged", band(max(0, (until - facts.engage_date).days), DAYS_ENGAGED, whole=True)))
    return tuple(pairs)


def without(features: Iterable[tuple[str, str]], names: frozenset[str]) -> Features:
    return tuple((f, v) for f, v in features if f not in names)


def value_words(facts: DealFacts, feature: str, value: str) -> str:
    """A feature value as a person reads it: names rather than ids, units on bands."""
    if feature == "seller":
        return facts.owner_name or value
    if feature == "account":
        return facts.account_name or value
    unit = {"revenue": " M USD", "employees": " employees", "price": " USD", "days_engaged": " days"}.get(feature, "")
    return f"{value}{unit}"
