"""Verifier throughput: claims checked per second by `verify_claim` (pure, no store), goal >= 10,000/s.

A realistic mix: 2,000 sources whose quotes are 1-3 sentences of sales evidence (people, titles, amounts, dates,
percentages), and 5,000 claims citing 1-3 of them: half supported (verbatim sentences and paraphrases), half not
(a changed number, amount, date, name or title; an invented statement; a missing source). Every run starts with
the per-text caches cleared (claims, quotes, their clauses), so it analyses each claim and each quote afresh; the
per-word caches (stems, number and date readings) stay warm from the run before, as in a long-running process,
where the same vocabulary, years and round numbers recur. Run 1 starts with every cache empty.

    .venv/bin/python bench/bench_verifier.py [--runs 7] [--claims 5000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time

from sellerloop.verifier.facts import analyse_claim, quote_index
from sellerloop.verifier.meaning import claim_clauses, clauses_of
from sellerloop.verifier.models import Claim
from sellerloop.verifier.service import verify_claim

FIRST = ["Dana", "Moses", "Priya", "Ana", "Tom", "Lena", "Kofi", "Yuki", "Omar", "Greta", "Ravi", "Ines"]
LAST = ["Whitfield", "Frase", "Nair", "Lopez", "Berg", "Okafor", "Tanaka", "Haddad", "Lindqvist", "Moreau"]
TITLES = ["CFO", "CTO", "CISO", "VP of Sales", "Head of Security", "Director of Procurement", "IT Manager"]
COMPANIES = ["Cancity", "Betatech", "Zoomit", "Kan-code", "Goodsilron", "Hottechi", "Rangreen"]
SENTENCES = [
    "{name}, {title} at {company}, approved a budget of ${amount:,} for {seats} seats.",
    "We plan to sign the order form on {date}.",
    "{company} grew revenue {pct}% last quarter and is hiring {seats} engineers.",
    "{name} asked for the security questionnaire before the review on {date}.",
    "Renewal is due on {date}; usage is down {pct} percent since the pilot.",
    "Legal at {company} wants a {pct}% discount on the ${amount:,} quote.",
]
INVENTED = ["{name} is unhappy with onboarding and plans to churn.",
            "{company} is evaluating a competitor because support is slow."]


def facts(rng: random.Random) -> dict:
    return {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "title": rng.choice(TITLES),
            "company": rng.choice(COMPANIES), "amount": rng.randrange(1_000, 2_000_000),
            "seats": rng.randrange(2, 900), "pct": rng.randrange(1, 60),
            "date": (dt.date(2017, 1, 1) + dt.timedelta(days=rng.randrange(730))).strftime(
                rng.choice(["%Y-%m-%d", "%B %d, %Y", "%d %b %Y"]))}


def build(claims: int, seed: int = 1) -> list[tuple[Claim, dict[str, str | None]]]:
    rng = random.Random(seed)
    sources = {}
    for n in range(2000):
        f = facts(rng)
        sources[f"activity:a-{n}"] = (" ".join(s.format(**f) for s in rng.sample(SENTENCES, rng.randint(1, 3))), f)
    uris = list(sources)
    cases = []
    for n in range(claims):
        cited = rng.sample(uris, rng.randint(1, 3))
        quote, f = sources[cited[0]]
        sentence = rng.choice(quote.split(". ")).rstrip(".") + "."
        kind = n % 8
        if kind == 0:
            text = sentence
        elif kind == 1:
            text = "On that date, " + sentence[0].lower() + sentence[1:]  # light paraphrase
        elif kind == 2:
            text = quote
        elif kind == 3:
            text = sentence.replace(str(f["seats"]), str(f["seats"] + 7)).replace(f"{f['amount']:,}", "999,999")
        elif kind == 4:
            text = sentence.replace(f["name"], "Jordan Price").replace(f["title"], "COO").replace(
                f["date"], "2031-02-03")
        elif kind == 5:
            text = rng.choice(INVENTED).format(**f)
        elif kind == 6:
            cited = [*cited, "activity:missing"]
            text = sentence
        else:
            text = sentence.replace(f"{f['pct']}", f"{f['pct'] + 1}")
        quotes = {uri: sources[uri][0] if uri in sources else None for uri in cited}
        cases.append((Claim(text=text, sources=cited), quotes))
    return cases


def run(cases) -> tuple[float, float, int]:
    """(claims per CPU second, claims per wall-clock second, how many were supported). CPU time is the figure
    to compare: on a shared 2-core machine wall-clock time also counts the time other processes held the core."""
    for cache in (analyse_claim, quote_index, claim_clauses, clauses_of):
        cache.cache_clear()
    wall, cpu = time.perf_counter(), time.process_time()
    supported = sum(verify_claim(claim=claim, quotes=quotes).supported for claim, quotes in cases)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(cases) / cpu, len(cases) / wall, supported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--claims", type=int, default=5000)
    args = parser.parse_args()
    cases = build(args.claims)
    print(f"{len(cases)} claims ({len({claim.text for claim, _ in cases})} distinct texts), "
          f"{len({uri for claim, _ in cases for uri in (s.uri for s in claim.sources)})} distinct sources")
    cpu_rates, wall_rates = [], []
    for n in range(args.runs):
        cpu_rate, wall_rate, supported = run(cases)
        cpu_rates.append(cpu_rate)
        wall_rates.append(wall_rate)
        print(f"run {n + 1}: {cpu_rate:,.0f} claims per CPU second, {wall_rate:,.0f} per wall-clock second "
              f"({supported} of {len(cases)} supported)")
    median = statistics.median(cpu_rates)
    print(f"median of {args.runs} runs: {median:,.0f} claims per CPU second "
          f"({statistics.median(wall_rates):,.0f} wall-clock) = {median / 10_000:.2f}x the 10,000/s goal; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
