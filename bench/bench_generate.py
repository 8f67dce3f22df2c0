"""Benchmark: generation and import throughput (results go to docs/BENCHMARKS.md).

    .venv/bin/python bench/bench_generate.py                     # SQLite, 100k accounts / 1M activities, 3 runs
    .venv/bin/python bench/bench_generate.py --postgres postgresql://postgres@127.0.0.1:5432/test

Each run is the real command, `sellerloop generate --accounts N --activities M --seed S`, in a subprocess
against a fresh store: a new SELLERLOOP_HOME temp folder for SQLite; for PostgreSQL a new database created
through the given URL (whose user must be allowed to CREATE DATABASE) and dropped afterwards. The time is
the whole command's wall time (interpreter start, schema creation, generation, commit), so it is what a
user waits for; the generator's own figure is shown beside it. The goal (the issue): 1M activity rows
stored in <= 30 s on 2 cores; the ratio printed is median / 30 s (<= 1.0 meets it).

It also times `sellerloop import maven` on the bundled data (fresh store each run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

GOAL_SECONDS = 30.0
ROOT = Path(__file__).resolve().parents[1]
MAVEN_DIR = ROOT / "src" / "sellerloop" / "data" / "maven-crm"


def sellerloop_command() -> list[str]:
    script = Path(sys.executable).parent / "sellerloop"
    if script.exists():
        return [str(script)]
    found = shutil.which("sellerloop")
    return [found] if found else [sys.executable, "-c", "from sellerloop.cli import main; main()"]


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": ram_gib, "python": platform.python_version(),
            "loadavg_before": os.getloadavg()}


class Postgres:
    """Fresh databases on the server behind `url`, one per run, dropped afterwards."""

    def __init__(self, url: str):
        import psycopg

        self.psycopg = psycopg
        self.url = url.replace("postgresql+psycopg://", "postgresql://")

    def _admin(self):
        return self.psycopg.connect(self.url, autocommit=True)

    def create(self) -> tuple[str, str]:
        name = f"sellerloop_bench_{uuid.uuid4().hex[:8]}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        base = re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", self.url.split("://", 1)[1], count=1)
        return name, "postgresql://" + base

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(sellerloop_command() + args, env={**os.environ, **env}, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"`sellerloop {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return seconds, proc.stdout


def in_fresh_store(backend: str, pg: Postgres | None, args: list[str]) -> tuple[float, str]:
    home = tempfile.mkdtemp(prefix="sellerloop-bench-")
    name = None
    try:
        env = {"SELLERLOOP_HOME": home, "SELLERLOOP_DATABASE_URL": ""}
        if backend == "postgresql":
            name, url = pg.create()
            env["SELLERLOOP_DATABASE_URL"] = url
        return run_once(args, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if name:
            pg.drop(name)


def bench_backend(backend: str, pg: Postgres | None, opts) -> dict:
    generate = ["generate", "--accounts", str(opts.accounts), "--activities", str(opts.activities)]
    runs = []
    for i in range(opts.runs):
        seconds, stdout = in_fresh_store(backend, pg, generate + ["--seed", str(opts.seed + i)])
        inner = re.search(r"([\d,]+) rows in ([\d.]+) s", stdout)
        rows = int(inner.group(1).replace(",", "")) if inner else None
        runs.append({"seconds": round(seconds, 2), "generator_seconds": float(inner.group(2)) if inner else None,
                     "rows": rows})
        print(f"  [{backend}] generate run {i + 1}/{opts.runs}: {seconds:.2f} s "
              f"(generator {runs[-1]['generator_seconds']} s, {rows:,} rows)", flush=True)
    median = statistics.median(r["seconds"] for r in runs)
    result = {"backend": backend, "command": "sellerloop " + " ".join(generate) + " --seed S",
              "runs": runs, "median_seconds": round(median, 2),
              "activities_per_second": round(opts.activities / median),
              "rows_per_second": round(statistics.median(r["rows"] for r in runs) / median),
              "ratio_to_goal": round(median / GOAL_SECONDS, 2) if opts.activities == 1_000_000 else None}
    if not opts.skip_maven:
        maven = []
        for i in range(opts.runs):
            seconds, _ = in_fresh_store(backend, pg, ["import", "maven", str(MAVEN_DIR)])
            maven.append(round(seconds, 2))
            print(f"  [{backend}] import maven run {i + 1}/{opts.runs}: {seconds:.2f} s", flush=True)
        result["maven_import"] = {"command": f"sellerloop import maven {MAVEN_DIR.relative_to(ROOT)}",
                                  "runs": maven, "median_seconds": statistics.median(maven)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="first seed; run i uses seed + i")
    parser.add_argument("--postgres", metavar="URL", help="also run against PostgreSQL (fresh database per run)")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--skip-maven", action="store_true", help="do not time the Maven import")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON here")
    opts = parser.parse_args()

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, Python {info['python']},"
          f" load average before {tuple(round(x, 2) for x in info['loadavg_before'])}")
    results = []
    if not opts.no_sqlite:
        results.append(bench_backend("sqlite", None, opts))
    if opts.postgres:
        results.append(bench_backend("postgresql", Postgres(opts.postgres), opts))
    for r in results:
        goal = f", {r['ratio_to_goal']}x the {GOAL_SECONDS:.0f} s goal" if r["ratio_to_goal"] is not None else ""
        print(f"{r['backend']}: generate median {r['median_seconds']} s of {len(r['runs'])} runs"
              f" ({r['activities_per_second']:,} activities/s, {r['rows_per_second']:,} rows/s{goal})")
        if "maven_import" in r:
            print(f"{r['backend']}: import maven median {r['maven_import']['median_seconds']} s")
    info["loadavg_after"] = os.getloadavg()
    if opts.json:
        Path(opts.json).write_text(json.dumps({"machine": info, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
