"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis): no operation answers a
server error (5xx), whatever it is sent, as an admin or as a seller, on both backends.

The server runs over loopback on a throwaway copy of the Maven book (with the web tests' hand-made rows and a
few pending approvals and an execution), so the state-changing operations are fuzzed too. Generated ids would
only ever meet "not found", so half the time a path, query or body id is swapped for a real one, and an offer
token for a real sealed offer: the fuzzing then reaches the code that reads, decides and writes.

Bounded and repeatable: a fixed seed and MAX_EXAMPLES per operation and generation mode (positive and negative).
For a longer run: `SELLERLOOP_FUZZ_EXAMPLES=100 pytest tests/api/test_schema_fuzz.py -m slow -s`.

Written against the strategies of each operation (`operation.as_strategy`) rather than `@schema.parametrize`
with `schemathesis.pytest.from_fixture`, which fails under pytest 9 ('Function' object has no attribute
'_nodeid', schemathesis 4.32).
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from sellerloop.store.db import create_store_engine, session_scope
from tests.api.conftest import Api, make_people
from tests.conftest import BACKENDS, load_book, make_store
from tests.web.conftest import seed_records, serve

pytestmark = pytest.mark.slow
MAX_EXAMPLES = int(os.environ.get("SELLERLOOP_FUZZ_EXAMPLES", "15"))
SEED = 20261124


@dataclass
class Fuzzed:
    base_url: str
    tokens: dict[str, str]
    known: dict[str, list[str]]  # parameter name -> real values to try


def _known(api: Api) -> dict[str, list[str]]:
    """Real ids of every kind, and real sealed offers, made through the API itself."""
    approvals = [api.propose_task(on=api.ids["opportunity"], subject=f"Task {n}", due=f"2026-12-0{n}")
                 for n in (1, 2, 3)]
    approvals.append(api.propose_task(on=api.ids["foreign"]))
    with api.client("manager") as client:  # an L4 task: the policy's approvers decide
        executed = client.post(f"/api/approvals/{approvals[0]}/approve").json()["execution"]["id"]
    with api.client("seller") as client:
        offers = client.get("/api/recommendations", params={"opportunity": api.ids["opportunity"]}).json()["items"]
        offers += client.get("/api/drafts", params={"opportunity": api.ids["opportunity"],
                                                    "transcript": api.ids["untimed_transcript"]}).json()["items"]
    opportunities = [api.ids["opportunity"], api.ids["foreign"]]
    accounts = [api.ids["account"], api.ids["foreign_account"]]
    transcripts = [api.ids["timed_transcript"], api.ids["untimed_transcript"]]
    return {"account_id": accounts, "account": accounts, "opportunity_id": opportunities,
            "opportunity": opportunities, "transcript_id": transcripts, "transcript": transcripts,
            "approval_id": approvals, "execution_id": [executed], "owner": [api.ids["seller"], api.ids["stranger"]],
            "offer_token": [o["offer_token"] for o in offers if o["offer_token"]]}


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request, tmp_path_factory) -> Iterator[Fuzzed]:
    for handle in make_store(request.param, tmp_path_factory.mktemp("fuzz")):
        load_book(handle.url)
        engine = create_store_engine(handle.url)
        with session_scope(engine) as s:
            ids = seed_records(session=s)
            tokens = make_people(s, ids)
        with serve(engine, sign_in=True) as live:
            api = Api(live.base_url, engine, tokens, ids)
            yield Fuzzed(live.base_url, tokens, _known(api))
        engine.dispose()


def _make_real(case, pick: int, known: dict[str, list[str]]) -> None:
    """Half the time, replace one generated id (path, query or body) with a real one of its kind."""
    places = [(values, name) for values in (case.path_parameters, case.query, case.body)
              if isinstance(values, dict) for name in values if name in known]
    if places and pick % 2:
        values, name = places[pick // 2 % len(places)]
        values[name] = known[name][pick // 7 % len(known[name])]


@dataclass
class Tally:
    operations: int = 0
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def fuzz(fuzzed: Fuzzed, who: str, max_examples: int) -> Tally:
    """Every operation of the schema, in positive and negative generation modes, `max_examples` cases each."""
    schema = schemathesis.openapi.from_url(f"{fuzzed.base_url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {fuzzed.tokens[who]}"}
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(SEED)
            @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 10**6))
            def run(case, pick):
                _make_real(case, pick, fuzzed.known)
                tally.cases += 1
                try:
                    response = case.call(base_url=fuzzed.base_url, headers=headers, timeout=60)
                except requests.RequestException as e:  # the server hung up: as bad as a 500
                    tally.failures.append(f"{operation.label} ({mode.value}): {type(e).__name__}")
                    return
                tally.statuses[response.status_code] += 1
                if response.status_code >= 500:
                    tally.failures.append(f"{operation.label} ({mode.value}) -> {response.status_code}: "
                                          f"{case.as_curl_command()[:400]}")

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters, in negative mode
                pass
    return tally


@pytest.mark.parametrize("who", ["admin", "seller"])
def test_no_operation_answers_a_server_error(fuzzed, who):
    tally = fuzz(fuzzed, who, MAX_EXAMPLES)
    print(f"\nschemathesis as {who}: {tally.operations} operations, {tally.cases} cases, "
          f"{len(tally.failures)} server errors; answers by status: {dict(sorted(tally.statuses.items()))}")
    # The fuzzing got past the door: it is signed in, and real ids reach the code that reads and decides.
    assert tally.operations >= 24 and tally.statuses[200] > tally.cases // 10
    assert not tally.failures, "\n".join(dict.fromkeys(tally.failures))


def test_the_fuzzed_schema_lists_every_api_operation(fuzzed):
    paths = httpx.get(f"{fuzzed.base_url}/api/openapi.json").json()["paths"]
    operations = {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}
    assert {"GET /api/me", "POST /api/decisions", "POST /api/approvals/{approval_id}/approve",
            "POST /api/executions/{execution_id}/rollback", "GET /api/outcomes", "GET /api/audit/verify",
            "POST /api/policy/promote"} <= operations
