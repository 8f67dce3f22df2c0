"""Benchmark: the nightly whole-book run for next-best action and hygiene (results go to docs/BENCHMARKS.md).

    .venv/bin/python bench/bench_run_all.py                      # SQLite, 100k accounts / 1M activities, 3 runs
    .venv/bin/python bench/bench_run_all.py --home /tmp/big      # reuse a book generated there before

The book is made once with the real command (`sellerloop generate --accounts 100000 --activities 1000000`) in a
temporary SELLERLOOP_HOME (or --home). Each run is then the real command
`sellerloop run-all --use-case next-action --use-case hygiene --restart --json` in a subprocess: its wall time
(interpreter start included) and its peak memory, the largest sum of the resident sizes of the command and its
worker processes, sampled every 50 ms from /proc. The goal (the issue): <= 60 s and <= 1 GB on 2 cores; the
ratios printed are median / goal (<= 1.0 meets it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 60.0
GOAL_BYTES = 1024 ** 3
COMMAND = ["run-all", "--use-case", "next-action", "--use-case", "hygiene", "--restart", "--json"]


def sellerloop() -> str:
    return str(Path(sys.executable).parent / "sellerloop")


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc (Linux)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def timed_run(env: dict) -> dict:
    start = time.perf_counter()
    process = subprocess.Popen([sellerloop(), *COMMAND], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"run-all failed ({process.returncode}): {err.strip()[-500:]}")
    summary = json.loads(out)
    return {"seconds": round(seconds, 2), "own_seconds": summary["seconds"], "peak_bytes": peak,
            "runs": sum(u["records"] for u in summary["use_cases"].values()),
            "dropped_unsupported": sum(u["dropped_unsupported"] for u in summary["use_cases"].values()),
            "use_cases": summary["use_cases"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, help="a SELLERLOOP_HOME holding a generated book (made if empty)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="sellerloop-bench-runall-"))
    env = {**os.environ, "SELLERLOOP_HOME": str(home)}
    env.pop("SELLERLOOP_DATABASE_URL", None)
    subprocess.run([sellerloop(), "init"], env=env, check=True, capture_output=True)
    stats = json.loads(subprocess.run([sellerloop(), "stats", "--json"], env=env, check=True,
                                      capture_output=True, text=True).stdout)
    if not stats["accounts"]["total"]:
        print(f"generating {args.accounts} accounts / {args.activities} activities in {home} ...", flush=True)
        subprocess.run([sellerloop(), "generate", "--accounts", str(args.accounts), "--activities",
                        str(args.activities), "--seed", "11"], env=env, check=True, capture_output=True)
    results = []
    for n in range(args.runs):
        result = timed_run(env)
        results.append(result)
        print(f"run {n + 1}: {result['seconds']:.1f} s (run-all's own {result['own_seconds']:.1f} s), "
              f"peak {result['peak_bytes'] / 2 ** 20:.0f} MiB, {result['runs']} agent runs, "
              f"{result['dropped_unsupported']} dropped unsupported", flush=True)
    seconds = statistics.median(r["seconds"] for r in results)
    peak = statistics.median(r["peak_bytes"] for r in results)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": _machine(),
        "command": "sellerloop " + " ".join(COMMAND), "runs": results,
        "median_seconds": seconds, "ratio_to_60s_goal": round(seconds / GOAL_SECONDS, 2),
        "median_peak_mib": round(peak / 2 ** 20), "ratio_to_1gib_goal": round(peak / GOAL_BYTES, 2),
    }
    print(f"median {seconds:.1f} s (ratio {report['ratio_to_60s_goal']}), peak {report['median_peak_mib']} MiB "
          f"(ratio {report['ratio_to_1gib_goal']})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    with open("/proc/meminfo") as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kib / 2 ** 20, 1),
            "python": platform.python_version(), "load_average": os.getloadavg()}


if __name__ == "__main__":
    main()
