"""Where a whole-book run's time goes, per deal: loading, playbook coverage, each agent's gathering, composing,
verifying (for docs/BENCHMARKS.md; run against a generated book, e.g. the one bench_run_all.py made).

    SELLERLOOP_HOME=/tmp/big .venv/bin/python bench/run_all_breakdown.py [--deals 10000]

One process, the same steps `runs.service._run_chunk` takes for next-best action and hygiene, each timed on
its own. Coverage is timed separately and then served from the deal's memo to both agents, as in run-all.
"""
from __future__ import annotations

import argparse
import gc
import time

from sqlalchemy import select

from sellerloop.agents import hygiene, next_action
from sellerloop.agents.service import verify_items
from sellerloop.composers.deterministic import DeterministicComposer
from sellerloop.config import get_settings
from sellerloop.evidence.deals import book_context, load_deals
from sellerloop.evidence.sources import remember_resolved
from sellerloop.playbooks.service import element_coverage, get_playbook
from sellerloop.records.models import OPEN_STAGES, Opportunity
from sellerloop.runs.service import WORKER_GC_THRESHOLD
from sellerloop.scoring.feedback import action_feedback
from sellerloop.store.db import session_scope
from sellerloop.store.service import open_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    args = parser.parse_args()
    engine = open_engine(get_settings().database_url)
    gc.freeze()  # as in a run-all worker (runs.service._start_pool_worker)
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    playbook = get_playbook()
    with session_scope(engine) as session:
        context = book_context(session=session)
        action_feedback(session=session)  # as run-all: worked out once, before the deals
        ids = list(session.scalars(select(Opportunity.id).where(Opportunity.stage.in_(OPEN_STAGES))
                                   .order_by(Opportunity.id).limit(args.deals)))
    spent = dict.fromkeys(("load", "coverage", "next-action gather", "hygiene gather", "compose", "verify"), 0.0)
    composer = DeterministicComposer()
    for start in range(0, len(ids), 500):
        with session_scope(engine) as session:
            session.info["book_context"] = context
            remember_resolved(session)
            t = time.perf_counter()
            opportunities = session.scalars(select(Opportunity).where(Opportunity.id.in_(ids[start:start + 500]))
                                            .order_by(Opportunity.id)).all()
            deals = load_deals(session=session, opportunities=opportunities)
            spent["load"] += time.perf_counter() - t
            for deal in deals:
                kwargs = {"session": session, "playbook": playbook, "owners": None, "opportunity": deal.opportunity,
                          "deal": deal}
                t = time.perf_counter()
                element_coverage(session=session, opportunity_id=deal.id, playbook=playbook, deal=deal)
                t1 = time.perf_counter()
                first = next_action.gather(**kwargs)
                t2 = time.perf_counter()
                second = hygiene.gather(**kwargs)
                t3 = time.perf_counter()
                items = [composer.compose(first), composer.compose(second)]
                t4 = time.perf_counter()
                for batch in items:
                    verify_items(session=session, items=batch)
                t5 = time.perf_counter()
                steps = ("coverage", "next-action gather", "hygiene gather", "compose", "verify")
                for name, (a, b) in zip(steps, ((t, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
                    spent[name] += b - a
    total = sum(spent.values())
    for name, seconds in spent.items():
        print(f"{name:20s} {seconds * 1000 / len(ids):6.3f} ms/deal  {seconds / total:5.1%}")
    print(f"{'total':20s} {total * 1000 / len(ids):6.3f} ms/deal over {len(ids)} open deals")


if __name__ == "__main__":
    main()
