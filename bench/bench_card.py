"""Benchmark: the HubSpot card endpoint under 50 concurrent clients on a 100k-account book (docs/BENCHMARKS.md).

    .venv/bin/python bench/bench_card.py --home /tmp/big --json /tmp/card.json   # what BENCHMARKS.md has
    .venv/bin/python bench/bench_card.py --home /tmp/big --breakdown             # CPU per card, no HTTP

Goal (the issue): p99 <= 50 ms at 50 concurrent clients over a 100k-account book on 2 cores.

The book: `sellerloop generate --accounts 100000 --activities 1000000 --seed 11` in --home (made there when it is
empty, ~30 s; reused after). The stored outputs: running `run-all` over 90k open deals takes a minute and more,
so the agents (next-best action and hygiene, as run-all runs them: for nobody, through agents.service.run_agent
on each deal's evidence loaded in bulk) run here on a sample of open deals (--sample, 2,000 by default, picked
by id) and their outputs are stored in `agent_outputs` exactly as run-all stores them; a sample already stored
is reused. A card finds its rows by primary key, so the rest of the book's outputs would not slow it down.

The server: the real app (create_app) under uvicorn on 127.0.0.1, 1 worker and then 2, its access log off, in
its own process. The load: wrk (a C load generator, Debian package `wrk`) in one thread with 50 keep-alive
connections for --seconds, each request a different sampled deal as its owner, signed the way HubSpot signs (v3)
just before the run (a signature is good for 5 minutes). wrk runs on the same 2 cores as the server (a HubSpot
proxy would not), so the figures include its cost. Two load models (--models):

  saturating  each connection sends its next request the moment the last answer arrives: a throughput test. By
              Little's law the mean latency is then connections / throughput, whatever a card costs.
  paced       each connection waits a think time before each request (wrk's `delay()` hook): --think-ms with
              +-50 % uniform jitter drawn per request, so 50 connections at 1,000 ms offer ~50 requests/s. This
              is 50 people with a card open, each loading one now and then. wrk times a request from when it is
              sent, so the think time is not in the latency.

p50/p99 are wrk's latency percentiles, throughput its requests per second; each configuration runs --runs times
and the median is reported, with every run and the 1-minute load average after it. With --alone-seconds,
1 worker also serves a single connection back to back: the time a card takes when nothing queues.

The baseline: the naive card, which runs the next-best action agent live on each request (as the record page's
panel does) and answers with its items (at most five); served from this script's app factory at
/bench/naive-card, after the same checks as the card (signature, user, record access). The book's stage norms
are worked out once per process for it (the panel works them out on every request, ~2 s here), so it is a lower
bound of the naive cost.
It runs once per load model, 1 worker, for --baseline-seconds.

--breakdown measures only the CPU milliseconds per card in this process, without HTTP (median and p99 over the
sample).
--server-path runs the server with uvicorn's optional faster HTTP parser and loop (httptools, uvloop).
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
GOAL_P99_MS = 50.0
CLIENT_SECRET = "bench-hubspot-client-secret"
APP_SECRET = "bench-app-secret"
USE_CASES = ("next-action", "hygiene")
WRK_SCRIPT = """
-- One pre-signed request per line: path, signature, timestamp (tab-separated); each connection cycles through.
local requests = {}
local n = 0
init = function(args)
  for line in io.lines(args[1]) do
    local path, signature, stamp = line:match("([^\\t]+)\\t([^\\t]+)\\t([^\\t]+)")
    requests[#requests + 1] = wrk.format("GET", path, {["X-HubSpot-Signature-v3"] = signature,
                                                       ["X-HubSpot-Request-Timestamp"] = stamp})
  end
  n = math.random(#requests)
  think = tonumber(args[2]) or 0
end
request = function()
  n = n % #requests + 1
  return requests[n]
end
"""
# Appended for the paced model only: wrk checks for `delay` when it loads the script (a delay() returning 0 would
# still cost a timer per request in the saturating model). +-50 % uniform jitter, drawn per request.
WRK_PACED = """
delay = function()
  return math.floor(think * (0.5 + math.random()))
end
"""


# --- the app the server process runs --------------------------------------------------------------------------

def make_app():
    """uvicorn's factory (`--factory bench_card:make_app`): the real app on SELLERLOOP_HOME's store, plus, with
    SELLERLOOP_BENCH_NAIVE=1, the naive card that runs the agent per request."""
    from sellerloop.store.service import open_engine
    from sellerloop.web.app import create_app

    app = create_app(engine=open_engine(), secret_key=APP_SECRET)
    if os.environ.get("SELLERLOOP_BENCH_NAIVE") == "1":
        app.include_router(_naive_router())
    return app


def _naive_router():
    from fastapi import APIRouter, Request
    from fastapi.responses import JSONResponse

    from sellerloop.agents.models import Subject
    from sellerloop.agents.service import run_agent
    from sellerloop.cards.service import (
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        check_hubspot_signature,
        embed_link,
        user_for_email,
    )
    from sellerloop.config import get_settings
    from sellerloop.evidence.deals import book_context
    from sellerloop.store.db import session_scope

    router = APIRouter()
    # The book's "today" and stage norms, worked out once per process: a session works them out on first use
    # (~2 s on this book), which would make the baseline the cost of the norms rather than of the agent.
    context = []

    # (No `from __future__ import annotations` in this file: FastAPI must see `Request` itself, not its name.)
    @router.get("/bench/naive-card")
    def naive_card(request: Request):
        settings = get_settings()
        query = request.scope["query_string"].decode("latin-1")
        uri = settings.public_url.rstrip("/") + request.scope["raw_path"].decode("latin-1") + f"?{query}"
        check_hubspot_signature(secret=settings.hubspot_client_secret, method="GET", uri=uri, body="",
                                timestamp=request.headers.get(TIMESTAMP_HEADER),
                                signature=request.headers.get(SIGNATURE_HEADER))
        record_id = request.query_params["sellerloopId"]
        with session_scope(request.app.state.engine) as session:
            user = user_for_email(session=session, email=request.query_params.get("userEmail"))
            link = embed_link(session=session, secret=APP_SECRET, user=user, kind="opportunity",
                              record_id=record_id)  # binds the viewer and checks access, as the card does
            if context:
                session.info["book_context"] = context[0]
            else:
                context.append(book_context(session=session))
            run = run_agent(session=session, use_case="next-action",
                            subject=Subject(type="opportunity", id=record_id))
            items = [{"title": i.label, "text": i.text, "sources": len(i.sources),
                      "links": {"panel": link["url"]}} for i in run.items[:5]]
        return JSONResponse({"items": items})

    return router


# --- the book and its stored outputs --------------------------------------------------------------------------

def sellerloop() -> str:
    return str(Path(sys.executable).parent / "sellerloop")


def ensure_book(env: dict, accounts: int, activities: int) -> None:
    subprocess.run([sellerloop(), "init"], env=env, check=True, capture_output=True)
    stats = json.loads(subprocess.run([sellerloop(), "stats", "--json"], env=env, check=True, capture_output=True,
                                      text=True).stdout)
    if not stats["accounts"]["total"]:
        print(f"generating {accounts} accounts / {activities} activities ...", flush=True)
        subprocess.run([sellerloop(), "generate", "--accounts", str(accounts), "--activities", str(activities),
                        "--seed", "11"], env=env, check=True, capture_output=True)


def ensure_outputs(sample: int) -> list[tuple[str, str]]:
    """(deal id, owner's email) for `sample` open deals, each with next-action and hygiene output stored."""
    from sqlalchemy import func, select

    from sellerloop.access.fields import bind_viewer
    from sellerloop.agents.models import Subject
    from sellerloop.agents.outputs import AgentOutput
    from sellerloop.agents.service import run_agent
    from sellerloop.evidence.deals import book_context, load_deals
    from sellerloop.records.models import OPEN_STAGES, Opportunity, User
    from sellerloop.store.db import session_scope
    from sellerloop.store.service import open_engine
    from sellerloop.store.upsert import upsert

    engine = open_engine()
    with session_scope(engine) as session:
        deals = session.execute(select(Opportunity.id, User.email).join(User, User.id == Opportunity.owner_id)
                                .where(Opportunity.stage.in_(OPEN_STAGES)).order_by(Opportunity.id)
                                .limit(sample)).all()
        ids = [d for d, _ in deals]
        stored = session.scalar(select(func.count()).select_from(AgentOutput).where(
            AgentOutput.subject_type == "opportunity", AgentOutput.subject_id.in_(ids),
            AgentOutput.use_case.in_(USE_CASES)))
    if stored < len(ids) * len(USE_CASES):
        started = time.perf_counter()
        for start in range(0, len(ids), 500):
            with session_scope(engine) as session:
                book_context(session=session)
                bind_viewer(session, user=None, agents=USE_CASES)  # for nobody, as run-all without --as
                chunk = session.scalars(select(Opportunity).where(Opportunity.id.in_(ids[start:start + 500]))
                                        .order_by(Opportunity.id)).all()
                rows = []
                for deal in load_deals(session=session, opportunities=chunk):
                    for use_case in USE_CASES:
                        run = run_agent(session=session, use_case=use_case, deal=deal,
                                        subject=Subject(type="opportunity", id=deal.opportunity.id))
                        rows.append({"use_case": use_case, "subject_type": "opportunity",
                                     "subject_id": deal.opportunity.id,
                                     "generated_at": run.generated_at.replace(tzinfo=None), "items": len(run.items),
                                     "dropped_unsupported": run.dropped_unsupported,
                                     "output": run.model_dump_json(exclude_none=True)})
                upsert(session, AgentOutput, rows)
        print(f"stored {len(ids) * len(USE_CASES)} outputs for {len(ids)} deals in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    engine.dispose()
    return [(d, e) for d, e in deals]


def sign(url: str, timestamp: str) -> str:
    """HubSpot's v3 signature of a GET (cards/service.py checks it; the URI's %40 etc. decoded as documented)."""
    from sellerloop.cards.service import signed_uri

    source = f"GET{signed_uri(url)}{timestamp}".encode()
    return base64.b64encode(hmac.new(CLIENT_SECRET.encode(), source, hashlib.sha256).digest()).decode()


def write_requests(path: Path, base: str, endpoint: str, deals: list[tuple[str, str]]) -> None:
    timestamp = str(int(time.time() * 1000))
    with path.open("w") as out:
        for deal_id, email in deals:
            query = urlencode({"objectType": "deal", "sellerloopId": deal_id, "userId": "1", "portalId": "2",
                               "userEmail": email, "appId": "3"})
            out.write(f"{endpoint}?{query}\t{sign(f'{base}{endpoint}?{query}', timestamp)}\t{timestamp}\n")


def breakdown(deals: list[tuple[str, str]]) -> dict:
    """CPU milliseconds per card, in this process, without HTTP: the whole card (user by email, access, stored
    outputs, approvals, links), one session per card as the endpoint has it; the median over the sample."""
    from sellerloop.cards.service import build_card, user_for_email
    from sellerloop.store.db import session_scope
    from sellerloop.store.service import open_engine

    engine = open_engine()
    cpu = []
    for deal_id, email in deals:
        with session_scope(engine) as session:
            started = time.process_time()
            user = user_for_email(session=session, email=email)
            build_card(session=session, secret=APP_SECRET, user=user, kind="opportunity", record_id=deal_id)
            cpu.append(time.process_time() - started)
    engine.dispose()
    return {"cards": len(deals), "card_cpu_ms_median": round(statistics.median(cpu) * 1000, 2),
            "card_cpu_ms_p99": round(statistics.quantiles(cpu, n=100)[98] * 1000, 2),
            "load_average": os.getloadavg()}


# --- serving and loading --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, workers: int, naive: bool) -> subprocess.Popen:
    env = env | {"SELLERLOOP_PUBLIC_URL": f"http://127.0.0.1:{port}", "SELLERLOOP_BENCH_NAIVE": "1" if naive else "0"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(ROOT / "bench"),
                               "bench_card:make_app", "--host", "127.0.0.1", "--port", str(port), "--workers",
                               str(workers), "--log-level", "warning", "--no-access-log"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}")


def check_once(base: str, requests_file: Path) -> dict:
    """One request by hand before the load: it must be a card with items, not an error at full speed."""
    import httpx

    path, signature, stamp = requests_file.read_text().splitlines()[0].split("\t")
    response = httpx.get(base + path, headers={"X-HubSpot-Signature-v3": signature,
                                               "X-HubSpot-Request-Timestamp": stamp}, timeout=120)
    if response.status_code != 200 or not response.json()["items"]:
        raise SystemExit(f"the card did not answer as expected: {response.status_code} {response.text[:300]}")
    return {"bytes": len(response.content), "items": len(response.json()["items"])}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(base: str, endpoint: str, requests_file: Path, script: Path, connections: int, seconds: int,
        timeout: int, think_ms: int) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s", "--latency",
                          "-s", str(script), base + endpoint, "--", str(requests_file), str(think_ms)],
                         check=True, capture_output=True, text=True).stdout
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return {"p50_ms": round(_ms(percentiles["50"]), 2), "p99_ms": round(_ms(percentiles["99"]), 2),
            "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "non_2xx": int(errors.group(1)) if errors else 0, "timeouts": int(timeouts.group(1)) if timeouts else 0}


def series(env: dict, deals, workers: int, runs: int, seconds: int, connections: int, naive: bool,
           folder: Path, think_ms: int = 0) -> dict:
    """`runs` wrk runs against one server; think_ms > 0 is the paced model, 0 the saturating one."""
    port = free_port()
    base, endpoint = f"http://127.0.0.1:{port}", "/bench/naive-card" if naive else "/api/hubspot/card"
    script, requests_file = folder / f"card-{port}.lua", folder / f"requests-{port}.tsv"
    script.write_text(WRK_SCRIPT + (WRK_PACED if think_ms else ""))
    name = "naive" if naive else "card"
    model = "one connection" if connections == 1 else f"paced {think_ms} ms" if think_ms else "saturating"
    server = start_server(env, port, workers, naive)
    try:
        write_requests(requests_file, base, endpoint, deals)
        sample = check_once(base, requests_file)
        results = []
        for n in range(runs):
            write_requests(requests_file, base, endpoint, deals)  # fresh timestamps: good for 5 minutes
            result = wrk(base, endpoint, requests_file, script, connections, seconds,
                         timeout=120 if naive else 10, think_ms=think_ms)
            result["load_average"] = round(os.getloadavg()[0], 2)
            results.append(result)
            print(f"{name}, {model}, workers={workers}, connections={connections}, run {n + 1}: "
                  f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, {result['rps']} req/s "
                  f"({result['requests']} requests, {result['non_2xx']} non-2xx, {result['timeouts']} timeouts, "
                  f"load {result['load_average']})", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"name": name, "model": model, "endpoint": endpoint, "workers": workers, "connections": connections,
            "think_ms": think_ms, "seconds": seconds, "answer": sample, "runs": results,
            "median": {key: statistics.median(r[key] for r in results) for key in ("p50_ms", "p99_ms", "rps")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a SELLERLOOP_HOME holding a generated book (made if empty)")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000, help="open deals with stored output, requested in turn")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", choices=("saturating", "paced"), default=["saturating", "paced"])
    parser.add_argument("--think-ms", type=int, default=1000,
                        help="paced model: mean think time per connection before each request (+-50 %% jitter)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--baseline-seconds", type=int, default=20,
                        help="the naive baseline, one run per load model (0 skips it)")
    parser.add_argument("--alone-seconds", type=int, default=20,
                        help="also run 1 worker with one connection this long: the time a card takes unqueued "
                             "(0 skips)")
    parser.add_argument("--server-path", type=Path, help="prepended to the server's PYTHONPATH: e.g. a folder where "
                        "`pip install --target DIR httptools uvloop` put uvicorn[standard]'s faster HTTP parser and "
                        "event loop, which uvicorn then uses (the project does not install them)")
    parser.add_argument("--breakdown", action="store_true",
                        help="only measure the CPU per card in this process (no HTTP)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="sellerloop-bench-card-"))
    env = {**os.environ, "SELLERLOOP_HOME": str(home), "SELLERLOOP_HUBSPOT_CLIENT_SECRET": CLIENT_SECRET}
    env.pop("SELLERLOOP_DATABASE_URL", None)
    if args.server_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.server_path), env.get("PYTHONPATH")]))
    os.environ.update(SELLERLOOP_HOME=str(home), SELLERLOOP_DATABASE_URL="")
    ensure_book(env, args.accounts, args.activities)
    deals = ensure_outputs(args.sample)
    if args.breakdown:
        result = breakdown(deals)
        print(f"card: {json.dumps(result)}")
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
        return
    folder = Path(tempfile.mkdtemp(prefix="sellerloop-bench-wrk-"))
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": _machine(),
              "server": _server_stack(env),
              "command": " ".join([Path(sys.executable).name, *sys.argv]), "sample": len(deals), "series": [],
              "baselines": []}
    thinks = {"saturating": 0, "paced": args.think_ms}
    for model in args.models:
        for workers in args.workers:
            report["series"].append(series(env, deals, workers, args.runs, args.seconds, args.connections, False,
                                           folder, think_ms=thinks[model]))
    if args.alone_seconds:
        report["series"].append(series(env, deals, 1, args.runs, args.alone_seconds, 1, False, folder))
    if args.baseline_seconds:
        for model in args.models:
            report["baselines"].append(series(env, deals, 1, 1, args.baseline_seconds, args.connections, True,
                                              folder, think_ms=thinks[model]))
    baselines = {b["model"]: b["median"] for b in report["baselines"]}
    for s in report["series"] + report["baselines"]:
        m = s["median"]
        line = (f"{s['name']}, {s['model']}, {s['workers']} worker(s), {s['connections']} connection(s): "
                f"median p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms "
                f"(p99 / 50 ms goal {m['p99_ms'] / GOAL_P99_MS:.2f}), {m['rps']} req/s")
        if s["name"] == "card" and s["model"] in baselines:
            line += f"; p99 / naive p99 in the same model {m['p99_ms'] / baselines[s['model']]['p99_ms']:.3f}"
        print(line)
    report["machine"]["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def _server_stack(env: dict) -> str:
    """Which HTTP parser and event loop uvicorn will use in the server process (it picks the fastest importable)."""
    probe = ("import importlib.util as u; print('httptools' if u.find_spec('httptools') else 'h11', "
             "'uvloop' if u.find_spec('uvloop') else 'asyncio')")
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          check=False).stdout.strip()


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "")
    with open("/proc/meminfo") as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kib / 2 ** 20, 1),
            "python": platform.python_version(), "load_average": os.getloadavg()}


if __name__ == "__main__":
    main()
