"""Win probability: what a live update costs against a rebuild, and what reading scores costs.

On a fresh SQLite store holding the bundled Maven data (6,711 closed deals): the model is rebuilt as of
2017-11-30, then every deal closed in December is observed one at a time, each in its own transaction, as
outcome events arrive; then a full rebuild (count + calibrate) is timed, and one over the same closed deals (no
fit), and scores are read: one deal in a new session (state read and the book's "today" included), one more in
the same session, and 1,000 open deals at once.

    .venv/bin/python bench/bench_scoring.py [--runs 5]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from sellerloop.config import BUNDLED_MAVEN_DIR
from sellerloop.importers.maven import import_maven
from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.scoring.models import ScoringState
from sellerloop.scoring.win import STATE_NAME, observe_closed, rebuild, win_probabilities, win_probability
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.store.service import init_store


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rebuilds to time (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        engine = create_store_engine(f"sqlite:///{Path(home) / 'sellerloop.db'}")
        init_store(engine=engine)
        with session_scope(engine) as s:
            import_maven(session=s, folder=BUNDLED_MAVEN_DIR)
        with session_scope(engine) as s:
            rebuild(session=s, as_of=dt.date(2017, 11, 30))
            december = [(o.id, o.stage == "Won") for o in s.scalars(
                select(Opportunity).where(Opportunity.stage.in_(("Won", "Lost")),
                                          Opportunity.close_date > dt.date(2017, 11, 30)).order_by(Opportunity.id))]
        observe = []
        for deal_id, won in december:
            start = time.perf_counter()
            with session_scope(engine) as s:
                observe_closed(session=s, opportunity_id=deal_id, won=won)
            observe.append(time.perf_counter() - start)
        rebuilds, unchanged = [], []
        for _ in range(args.runs):
            with session_scope(engine) as s:  # as after a deal closed: the stored digest no longer matches
                row = s.get(ScoringState, STATE_NAME)
                row.state = {**row.state, "facts_digest": None}
            start = time.perf_counter()
            with session_scope(engine) as s:
                rebuild(session=s)
            rebuilds.append(time.perf_counter() - start)
            start = time.perf_counter()
            with session_scope(engine) as s:  # the same closed deals again: no fit
                rebuild(session=s)
            unchanged.append(time.perf_counter() - start)
        with session_scope(engine) as s:
            deals = list(s.scalars(select(Opportunity).where(Opportunity.stage.in_(OPEN_STAGES))
                                   .order_by(Opportunity.id).limit(1002)))
            start = time.perf_counter()
            win_probability(session=s, opportunity=deals[0])
            cold = time.perf_counter() - start
            start = time.perf_counter()
            win_probability(session=s, opportunity=deals[1])
            warm = time.perf_counter() - start
            start = time.perf_counter()
            win_probabilities(session=s, opportunities=deals[2:])
            batch = time.perf_counter() - start
        engine.dispose()
    observe.sort()
    print(f"observe_closed, one deal per transaction ({len(observe)} December deals): "
          f"median {ms(statistics.median(observe))}, p95 {ms(observe[int(0.95 * len(observe))])}")
    print(f"rebuild (6,711 closed deals, count + calibrate): median {ms(statistics.median(rebuilds))} "
          f"of {args.runs}; with no deal closed since the last one (no fit): median "
          f"{ms(statistics.median(unchanged))}")
    print(f"win_probability: first in a session {ms(cold)}, next {ms(warm)}; 1,000 open deals {ms(batch)}")


if __name__ == "__main__":
    main()
