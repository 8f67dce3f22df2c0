"""Benchmark: bearer-token API traffic under 50 concurrent clients (docs/BENCHMARKS.md, issue 14).

    .venv/bin/python bench/api_token_load.py --home /tmp/loadhome --seconds 60 --clients 50

Before the fix every request wrote `api_tokens.last_used_at` in its own transaction and held SQLite's write lock for
the whole request: 50 clients got 0 answers and 150 errors. The book: the demo (`sellerloop demo --no-serve`, made in
--home when it is empty). Each client has its own token (of the demo's seller, manager or admin, in turn) and asks,
back to back for --seconds, for its user's approvals and one open deal. The server is the real command
(`sellerloop serve`) on 127.0.0.1, in its own process; the clients are httpx (asyncio) in this one, on the same two
cores. Printed: requests, errors (any non-200 or transport error), throughput, p50/p99 latency.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run([str(BIN / "sellerloop"), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


async def _client(base: str, token: str, deal: str, until: float, latencies: list, errors: list) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        paths = ["/api/approvals?page_size=20", f"/api/opportunities/{deal}"]
        n = 0
        while time.perf_counter() < until:
            path = paths[n % 2]
            n += 1
            started = time.perf_counter()
            try:
                answer = await c.get(path)
                if answer.status_code != 200:
                    errors.append(f"{answer.status_code} {path}")
            except httpx.HTTPError as e:
                errors.append(f"{type(e).__name__} {path}")
            latencies.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = {**os.environ, "SELLERLOOP_HOME": str(args.home), "SELLERLOOP_DATABASE_URL": ""}
    if not (args.home / "sellerloop.db").exists():
        _cli(env, "demo", "--no-serve")
    people = [line.split()[1] for line in (args.home / "demo-sign-ins.txt").read_text().splitlines()
              if line.split() and line.split()[0] in ("admin", "manager", "seller")]
    deals = {p: [d["id"] for d in json.loads(_cli(env, "records", "list", "opportunities", "--json", "--as", p))
                 if d["stage"] in ("Prospecting", "Engaging")] for p in people}
    tokens = [(_cli(env, "users", "token", people[i % len(people)], "--name", f"load {i}").strip(),
               deals[people[i % len(people)]][i]) for i in range(args.clients)]
    port = _free_port()
    server = subprocess.Popen([str(BIN / "sellerloop"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        latencies: list[float] = []
        errors: list[str] = []
        until = time.perf_counter() + args.seconds

        async def run() -> None:
            await asyncio.gather(*(_client(base, t, d, until, latencies, errors) for t, d in tokens))

        started = time.perf_counter()
        asyncio.run(run())
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    ordered = sorted(latencies)
    result = {"clients": args.clients, "seconds": round(elapsed, 1), "requests": len(latencies),
              "errors": len(errors), "first_errors": errors[:5], "per_second": round(len(latencies) / elapsed, 1),
              "p50_ms": round(1000 * statistics.median(ordered), 1),
              "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1), "load_average": os.getloadavg()}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
