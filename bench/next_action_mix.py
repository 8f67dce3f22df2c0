"""What next-best action recommends across the demo book: the mix of actions, deals given one action twice,
closed deals given a meeting, and the finding behind each deal's first recommendation (docs/EVALUATION.md).

    SELLERLOOP_HOME=/tmp/demo .venv/bin/python bench/next_action_mix.py [--json]

Runs the agent (as run-all would, at the policy's cap) on every deal of the sample layer: the deals with a call
transcript, which carry the emails, meetings and notes the agents read.
"""
from __future__ import annotations

import argparse
import collections
import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop.agents.models import Subject
from sellerloop.agents.service import run_agent
from sellerloop.console import open_store
from sellerloop.records.models import CLOSED_STAGES, Opportunity, Transcript

FINDING = re.compile(r"reply to|stalled|win review|loss review|competitor|close date pushed|budget gap|gone quiet|"
                     r"buyer risk|no evidence yet|single-threaded|no contact|customer engaged|intent|open \w+ support "
                     r"ticket")


def measure(session: Session) -> dict:
    ids = list(session.scalars(select(Transcript.opportunity_id).distinct()
                               .where(Transcript.opportunity_id.is_not(None)).order_by(Transcript.opportunity_id)))
    actions: collections.Counter = collections.Counter()
    first: collections.Counter = collections.Counter()
    repeated = closed_with_meeting = total = 0
    for deal_id in ids:
        stage = session.get(Opportunity, deal_id).stage
        run = run_agent(session=session, use_case="next-action", subject=Subject(type="opportunity", id=deal_id))
        items = [i for i in run.items if i.kind == "recommendation"]
        chosen = [i.action for i in items]
        total += len(chosen)
        actions.update(chosen)
        repeated += len(chosen) != len(set(chosen))
        closed_with_meeting += stage in CLOSED_STAGES and "book_meeting" in chosen
        if items:  # "Book a meeting · Decision process: stalled, 105 days ..." -> "stalled"
            found = FINDING.match(items[0].label.split(": ", 1)[1])
            first[found.group(0) if found else "other"] += 1
        session.rollback()
    return {"deals": len(ids), "recommendations": total, "actions": dict(actions.most_common()),
            "deals_with_a_repeated_action": repeated, "closed_deals_with_a_meeting": closed_with_meeting,
            "first_finding": dict(first.most_common())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with Session(open_store()) as session:
        result = measure(session)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['deals']} deals, {result['recommendations']} recommendations")
    for action, count in result["actions"].items():
        print(f"  {action:18s} {count:6d}  {count / result['recommendations']:6.1%}")
    print(f"deals with one action twice: {result['deals_with_a_repeated_action']}")
    print(f"closed deals given a meeting: {result['closed_deals_with_a_meeting']}")
    print("first recommendation's finding:", ", ".join(f"{k} {v}" for k, v in result["first_finding"].items()))


if __name__ == "__main__":
    main()
