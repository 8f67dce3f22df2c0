"""Next-best-action feedback: what ranking from outcomes costs a page and a whole-book run.

On a copy of the demo book (SQLite): N recommendations taken up or rejected through the real flow (next-action's
offers, `take_up` as each deal's owner, alternating accept and reject), then timed, each in a new session:

    cold       action_feedback after a decision came in: the decided approvals linked to their events, counted
               per action × segment
    warm       action_feedback when nothing came in since (a page view: one small query)
    one deal   next-action on one deal in a new session, feedback warm
    200 deals  next-action on 200 open deals in one session (a whole-book run reads it once per session)

The baseline is the same book with no decision at all (the feedback is empty, every factor 1).

    .venv/bin/python bench/bench_feedback.py [--decisions 0 200 1000] [--runs 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.approvals.drafts import offer_for, take_up
from sellerloop.config import BUNDLED_MAVEN_DIR, get_settings
from sellerloop.errors import SellerloopError
from sellerloop.importers.maven import import_maven
from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.sample.layer import build_sample_layer
from sellerloop.scoring import feedback
from sellerloop.scoring.feedback import action_feedback
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.store.service import init_store


def open_deals(engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES),
                                                           Opportunity.owner_id.is_not(None))
                              .order_by(Opportunity.id)))


def decide(engine, deals: list[str], n: int) -> int:
    """Take up or reject the recommendations of deals in turn until `n` decisions are stored."""
    done = 0
    with session_scope(engine) as s:
        for deal_id in deals:
            deal = s.get(Opportunity, deal_id)
            run = run_agent(session=s, use_case="next-action", subject=Subject(type="opportunity", id=deal_id))
            for item in (i for i in run.items if i.kind == "recommendation"):
                if done == n:
                    return done
                try:
                    take_up(session=s, proposal=offer_for(run=run, item=item, subject=f"opportunity:{deal_id}"),
                            user_id=deal.owner_id, approved=done % 2 == 0, reason="not now")
                except SellerloopError:
                    continue  # the same ask decided already on this deal
                done += 1
    return done


def timed(engine, work) -> float:
    with Session(engine) as s:
        started = time.perf_counter()
        work(s)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, nargs="+", default=[0, 200, 1000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        template = Path(home) / "template.db"
        engine = create_store_engine(f"sqlite:///{template}")
        init_store(engine=engine)
        with session_scope(engine) as s:
            import_maven(session=s, folder=BUNDLED_MAVEN_DIR)
        with session_scope(engine) as s:
            build_sample_layer(session=s, seed=get_settings().sample_seed)
        engine.dispose()
        baseline = {}
        print(f"{'decisions':>9}  {'cold':>9}  {'warm':>9}  {'one deal':>9}  {'ratio':>5}  {'200 deals':>9}  ratio")
        for n in args.decisions:
            copy = Path(home) / f"book-{n}.db"
            shutil.copyfile(template, copy)
            engine = create_store_engine(f"sqlite:///{copy}")
            deals = open_deals(engine)
            made = decide(engine, deals[200:], n)
            first, page = deals[0], deals[:200]

            def one(s):
                run_agent(session=s, use_case="next-action", subject=Subject(type="opportunity", id=first))

            def many(s):
                for deal_id in page:
                    run_agent(session=s, use_case="next-action", subject=Subject(type="opportunity", id=deal_id))

            def cold(s):
                feedback._REMEMBERED.clear()
                action_feedback(session=s)

            figures = {name: statistics.median(timed(engine, work) for _ in range(args.runs))
                       for name, work in (("cold", cold), ("warm", lambda s: action_feedback(session=s)),
                                          ("one", one), ("many", many))}
            baseline = baseline or figures
            print(f"{made:>9}  {figures['cold'] * 1000:>7.1f}ms  {figures['warm'] * 1000:>7.1f}ms  "
                  f"{figures['one'] * 1000:>7.1f}ms  {figures['one'] / baseline['one']:>5.2f}  "
                  f"{figures['many']:>8.2f}s  {figures['many'] / baseline['many']:>5.2f}")
            engine.dispose()


if __name__ == "__main__":
    main()
