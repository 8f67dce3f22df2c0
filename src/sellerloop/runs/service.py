"""The whole book in one run (`sellerloop run-all`): every agent on every record it applies to.

Which records: research on accounts; prep, next-best action, hygiene and follow-up on open opportunities
(follow-up only on those with a call); coaching on every call. All of them only as far as the acting user may see.

How it goes fast: opportunities are taken in chunks of CHUNK; each chunk's evidence is loaded once with one
query per table (evidence.deals.load_deals) and every deal agent of the run reads it, with no query per deal.
Chunks run in WORKERS processes (the machines this runs on have two cores); this process only writes outputs.

Resumable: each chunk's outputs and the batch's progress are committed together, and a batch remembers when
it finished. `run-all` with the same use cases, user and playbook as an unfinished batch continues it, skipping
the records it already did; `--restart` starts a new one.

Every output goes through agents.service.run_agent: the verifier and the autonomy levels apply as everywhere, and
the outputs of a use case with actions at L4 or L5 are placed as they are stored (pipeline.placement.place): L4 waits
in the approval inboxes, L5 is executed within policy.
A use case the policy runs in shadow also has what its level up would have done recorded with each chunk
(shadow/service.BookRecorder): nothing of it is placed.
"""
from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sellerloop.access.fields import bind_viewer, decide_fields
from sellerloop.access.service import account_filter, get_user, opportunity_filter, visible_owner_ids
from sellerloop.agents.models import AgentRun, Subject
from sellerloop.agents.outputs import AgentBatch, AgentOutput
from sellerloop.agents.service import AGENTS, run_agent
from sellerloop.approvals.drafts import proposals_from_run
from sellerloop.approvals.models import State
from sellerloop.approvals.service import AGENT_IDENTITY_PREFIX
from sellerloop.approvals.service import now as approvals_now
from sellerloop.errors import BadInput, SellerloopError
from sellerloop.evidence.deals import book_context, load_deals
from sellerloop.evidence.sources import remember_resolved
from sellerloop.pipeline.placement import place
from sellerloop.playbooks.service import get_playbook
from sellerloop.policy.levels import level_for
from sellerloop.policy.models import Policy, rank
from sellerloop.policy.service import session_policy
from sellerloop.records.models import OPEN_STAGES, Account, Opportunity, Transcript, User
from sellerloop.scoring.feedback import action_feedback
from sellerloop.shadow.service import BookRecorder, shadowed
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.store.upsert import upsert

CHUNK = 500
WORKERS = 2
# Below this many records a second process costs more (start-up, imports) than it saves.
PARALLEL_MIN_RECORDS = 2000
MAX_ERRORS = 5


@dataclass
class UseCaseTotals:
    records: int = 0
    items: int = 0
    dropped_unsupported: int = 0
    recommendations: int = 0
    field_changes: int = 0
    failed: int = 0  # records the agent refused (a one-line reason each, the first few kept in `errors`)
    errors: list[str] = field(default_factory=list)
    # Placed by level (a use case with actions at L4 or L5 only): waiting for a person, executed within policy,
    # held back by a fatigue cap.
    pending: int = 0
    executed: int = 0
    held: int = 0


@dataclass
class BatchSummary:
    batch_id: int
    resumed: bool
    skipped: int  # records an earlier, interrupted run of this batch had already done
    seconds: float
    totals: dict[str, UseCaseTotals] = field(default_factory=dict)
    write_seconds: float = 0.0  # of `seconds`, spent storing outputs (the rest: planning and the agents)

    @property
    def records(self) -> int:
        return sum(t.records for t in self.totals.values())


@dataclass(frozen=True)
class _Chunk:
    kind: str  # account, opportunity or transcript
    ids: tuple[str, ...]
    use_cases: tuple[str, ...]  # the use cases that run on every record of the chunk
    only: dict[str, frozenset[str]] | None = None  # use case -> the ids of this chunk it runs on, when not all


def run_all(*, engine: Engine, use_cases: Sequence[str] = (), acting_user: str | None = None,
            playbook: str | None = None, restart: bool = False, workers: int = WORKERS,
            progress: Callable[[int, int], None] | None = None) -> BatchSummary:
    """Run the agents over the book; `progress(done, total)` is called as chunks finish."""
    use_cases = _check_use_cases(use_cases)
    get_playbook(playbook)  # fails here, with one line, on a bad playbook, before any batch is made
    started = time.perf_counter()
    with session_scope(engine) as session:
        user = get_user(session=session, user_id=acting_user) if acting_user else None
        owners = visible_owner_ids(session=session, user=user)
        batch, resumed = _batch(session, use_cases, acting_user, playbook, restart)
        plan = _plan(session, use_cases, owners)
        done_before = _done(session, batch.id)
        chunks = list(_chunks(plan, use_cases, done_before))
        skipped = sum(len(done_before.get(u, ())) for u in use_cases)
        batch.total = skipped + sum(_runs(c) for c in chunks)
        batch.done = skipped
        context = book_context(session=session)
        if "next-action" in use_cases:
            # How people took each action, which ranks every deal's actions: worked out once here, so that the
            # forked workers inherit it (and the modules it reads) rather than each working it out again.
            action_feedback(session=session)
        # Use cases the policy runs in shadow: what their level up would have done is recorded with each chunk.
        in_shadow = shadowed(session_policy(session), use_cases)
        shadow = BookRecorder(policy=session_policy(session), use_cases=in_shadow, day=context.as_of) \
            if in_shadow else None
        # Who may see which sensitive field, decided for every owner before the chunks run (one Cedar batch per
        # field and agent): the batch reads the policies and the users once, as it reads "today" and the norms.
        field_decisions = _field_decisions_for(session, user, chunks)
        policy = session_policy(session)
        placing = placed_use_cases(policy, use_cases)
        batch_id = batch.id
    summary = BatchSummary(batch_id=batch_id, resumed=resumed, skipped=skipped, seconds=0.0,
                           totals={u: UseCaseTotals() for u in use_cases})
    total = skipped + sum(_runs(c) for c in chunks)
    done = skipped
    if progress:
        progress(done, total)
    job = (str(engine.url.render_as_string(hide_password=False)), playbook, acting_user, owners, context,
           field_decisions)
    for rows, totals in _execute(chunks, job, workers):
        writing = time.perf_counter()
        with session_scope(engine) as session:
            for row in rows:
                row["batch_id"] = batch_id
            upsert(session, AgentOutput, rows)
            if placing:
                _place_outputs(session, rows, placing, policy, summary.totals)
            if shadow is not None:
                shadow.record(session=session, rows=rows)
            done += sum(t.records + t.failed for t in totals.values())
            batch = session.get(AgentBatch, batch_id)
            batch.done = done
        summary.write_seconds += time.perf_counter() - writing
        for use_case, t in totals.items():
            _add(summary.totals[use_case], t)
        if progress:
            progress(done, total)
    with session_scope(engine) as session:
        session.get(AgentBatch, batch_id).finished_at = _now()
        if shadow is not None:
            shadow.audit(session=session)
    summary.seconds = time.perf_counter() - started
    return summary


# The actions placement stores (approvals.drafts.proposals_from_run): field changes and tasks.
PLACED_ACTIONS = ("update_field", "create_task")


def placed_use_cases(policy: Policy, use_cases: Sequence[str]) -> frozenset[str]:
    """The use cases whose outputs the night places: those with an action the policy runs at L4 or L5 (after the
    kill switch). Below L4 nothing is stored, so a book on the default policy pays nothing for placement."""
    return frozenset(u for u in use_cases
                     if any(rank(level_for(u, action, policy)) >= rank("L4") for action in PLACED_ACTIONS))


def _place_outputs(session: Session, rows: list[dict], use_cases: frozenset[str], policy: Policy,
                   totals: dict[str, UseCaseTotals]) -> None:
    """Place each stored output of `use_cases` by its level, in the chunk's transaction (pipeline.placement.place:
    L4 pending a person under the fatigue caps, L5 executed within policy), as a single run is placed."""
    at = approvals_now()
    for row in rows:
        if row["use_case"] not in use_cases:
            continue
        run = AgentRun.model_validate_json(row["output"])
        placed = place(session=session, proposals=proposals_from_run(run), by=f"{AGENT_IDENTITY_PREFIX}{run.use_case}",
                       policy=policy, at=at)
        t = totals[row["use_case"]]
        # One approval may stand for several proposals of a run (near-duplicates are merged): count it once.
        t.pending += len({a.id for a in placed.approvals if a.state is State.proposed})
        t.executed += len({a.id for a in placed.approvals if a.state is State.executed})
        t.held += len(placed.held)


def _check_use_cases(use_cases: Sequence[str]) -> tuple[str, ...]:
    unknown = [u for u in use_cases if u not in AGENTS]
    if unknown:
        raise BadInput(f"unknown use case {unknown[0]!r}; choose from {', '.join(AGENTS)}")
    chosen = tuple(dict.fromkeys(use_cases)) or tuple(AGENTS)
    return tuple(u for u in AGENTS if u in chosen)  # registry order, so a batch's identity does not depend on it


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _batch(session: Session, use_cases: tuple[str, ...], acting_user: str | None, playbook: str | None,
           restart: bool) -> tuple[AgentBatch, bool]:
    if not restart:
        for batch in session.scalars(select(AgentBatch).where(AgentBatch.finished_at.is_(None))
                                     .order_by(AgentBatch.id.desc())):
            if (tuple(batch.use_cases), batch.acting_user, batch.playbook) == (use_cases, acting_user, playbook):
                return batch, True
    batch = AgentBatch(use_cases=list(use_cases), acting_user=acting_user, playbook=playbook, started_at=_now(),
                       total=0, done=0)
    session.add(batch)
    session.flush()
    return batch, False


def _plan(session: Session, use_cases: tuple[str, ...], owners: set[str] | None) -> dict[str, list[str]]:
    """The ids each use case runs on, in id order."""
    kinds = {AGENTS[u].walks for u in use_cases}
    ids: dict[str, list[str]] = {}
    if "account" in kinds:
        ids["account"] = list(session.scalars(select(Account.id).where(account_filter(owners)).order_by(Account.id)))
    if "opportunity" in kinds:
        ids["opportunity"] = list(session.scalars(select(Opportunity.id).where(
            Opportunity.stage.in_(OPEN_STAGES), opportunity_filter(owners)).order_by(Opportunity.id)))
    if "transcript" in kinds or any(AGENTS[u].needs_calls for u in use_cases):
        visible = select(Opportunity.id).where(opportunity_filter(owners))
        calls = select(Transcript.id, Transcript.opportunity_id).where(
            Transcript.opportunity_id.in_(visible) if owners is not None else True).order_by(Transcript.id)
        rows = session.execute(calls).all()
        ids["transcript"] = [t for t, _ in rows]
        ids["with_calls"] = sorted({o for _, o in rows if o})
    plan = {}
    for u in use_cases:
        kind = AGENTS[u].walks
        plan[u] = ids[kind]
        if AGENTS[u].needs_calls:
            with_calls = set(ids["with_calls"])
            plan[u] = [i for i in ids[kind] if i in with_calls]
    return plan


def _done(session: Session, batch_id: int) -> dict[str, set[str]]:
    done: dict[str, set[str]] = {}
    for use_case, subject_id in session.execute(select(AgentOutput.use_case, AgentOutput.subject_id)
                                                .where(AgentOutput.batch_id == batch_id)):
        done.setdefault(use_case, set()).add(subject_id)
    return done


def _chunks(plan: dict[str, list[str]], use_cases: tuple[str, ...], done: dict[str, set[str]]) -> Iterator[_Chunk]:
    """Chunks of records with the use cases to run on each; the deal use cases share one chunk per deal."""
    by_kind: dict[str, list[str]] = {}
    for u in use_cases:
        by_kind.setdefault(AGENTS[u].walks, []).append(u)
    for kind, kind_use_cases in by_kind.items():
        todo = {u: [i for i in plan[u] if i not in done.get(u, ())] for u in kind_use_cases}
        ids = sorted(set().union(*map(set, todo.values())))
        wanted = {u: frozenset(todo[u]) for u in kind_use_cases}
        for start in range(0, len(ids), CHUNK):
            chunk = tuple(ids[start:start + CHUNK])
            only = {u: wanted[u] & frozenset(chunk) for u in kind_use_cases}
            everywhere = all(len(only[u]) == len(chunk) for u in kind_use_cases)
            yield _Chunk(kind, chunk, tuple(kind_use_cases), None if everywhere else only)


def _runs(chunk: _Chunk) -> int:
    if chunk.only is None:
        return len(chunk.ids) * len(chunk.use_cases)
    return sum(len(ids) for ids in chunk.only.values())


def _add(into: UseCaseTotals, other: UseCaseTotals) -> None:
    for name in ("records", "items", "dropped_unsupported", "recommendations", "field_changes", "failed"):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    into.errors.extend(other.errors[:MAX_ERRORS - len(into.errors)])


# --- workers ----------------------------------------------------------------------------------------------------

_job: tuple | None = None
_engine: Engine | None = None
_field_decisions: dict = {}  # access/fields.py decisions for the batch's viewer, per worker (see _run_chunk)


def _execute(chunks: list[_Chunk], job: tuple, workers: int) -> Iterator[tuple[list[dict], dict]]:
    records = sum(len(c.ids) for c in chunks)
    if workers <= 1 or records < PARALLEL_MIN_RECORDS or len(chunks) < 2:
        _start_worker(job)
        yield from map(_run_chunk, chunks)
        return
    # fork: the children inherit the loaded code (no second import of sellerloop); the engine is made anew
    # in each child (a connection must never cross a fork).
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(workers, initializer=_start_pool_worker, initargs=(job,)) as pool:
        yield from pool.imap_unordered(_run_chunk, chunks)


def _field_decisions_for(session: Session, user: User | None, chunks: list[_Chunk]) -> dict:
    sensitive = frozenset(session_policy(session).sensitive_fields)
    if not sensitive:
        return {}
    owner_ids = [None, *session.scalars(select(User.id).order_by(User.id))]
    decided: dict = {}
    for agents in {c.use_cases for c in chunks}:
        decided |= decide_fields(session, user=user, agents=agents, sensitive=sensitive, owner_ids=owner_ids)
    return decided


# A worker allocates millions of short-lived objects (rows, sentences, claims) and keeps few: at Python's default
# thresholds the cyclic collector ran every 700 allocations and took a sixth of a worker's time (1.27 -> 1.05 ms
# per deal). What a worker inherits from the fork (code, the batch's context) is frozen out of every collection.
WORKER_GC_THRESHOLD = (50_000, 20, 20)


def _start_pool_worker(job: tuple) -> None:
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    _start_worker(job)


def _start_worker(job: tuple) -> None:
    global _job, _engine, _field_decisions
    _job = job
    _field_decisions = dict(job[5])  # a copy per worker: owners added since the batch began are asked then
    _engine = create_store_engine(job[0])


def _run_chunk(chunk: _Chunk) -> tuple[list[dict], dict[str, UseCaseTotals]]:
    _, playbook_name, acting_user, owners, context, _ = _job
    playbook = get_playbook(playbook_name)
    rows: list[dict] = []
    totals = {u: UseCaseTotals() for u in chunk.use_cases}
    with session_scope(_engine) as session:
        session.info["book_context"] = context  # the same "today" and norms for the whole batch
        # Bound before anything is loaded: the chunk's records arrive with the sensitive fields masked that these
        # agents, running for the batch's user (for nobody without one), may not see. Stored output is then fit
        # for anyone who may see the record. The field decisions are kept for the whole batch in each worker (as
        # "today" and the norms are): a few thousand owners are asked about once, not once per chunk.
        bind_viewer(session, user=get_user(session=session, user_id=acting_user) if acting_user else None,
                    agents=chunk.use_cases, decisions=_field_decisions)
        remember_resolved(session)  # the chunk only reads: a source cited and then verified is read once
        if chunk.kind == "opportunity":
            opportunities = session.scalars(select(Opportunity).where(Opportunity.id.in_(chunk.ids))
                                            .order_by(Opportunity.id)).all()
            reads_calls = any(AGENTS[u].reads_calls for u in chunk.use_cases)
            subjects = [(Subject(type="opportunity", id=d.id), d)
                        for d in load_deals(session=session, opportunities=opportunities, transcripts=reads_calls)]
        else:
            subjects = [(Subject(type=chunk.kind, id=i), None) for i in chunk.ids]
        for subject, deal in subjects:
            for use_case in chunk.use_cases:
                if chunk.only is not None and subject.id not in chunk.only[use_case]:
                    continue
                t = totals[use_case]
                extra = {"deal": deal} if deal is not None and "deal" in AGENTS[use_case].reads else {}
                try:
                    run = run_agent(session=session, use_case=use_case, subject=subject, playbook=playbook,
                                    owners=owners, **extra)
                except SellerloopError as e:
                    # One record the agent cannot run on (say, a call with no words) must not stop the night.
                    t.failed += 1
                    if len(t.errors) < MAX_ERRORS:
                        t.errors.append(f"{subject.type} {subject.id}: {e.one_line()}")
                    continue
                run.acting_user = acting_user
                t.records += 1
                t.items += len(run.items)
                t.dropped_unsupported += run.dropped_unsupported
                t.recommendations += sum(i.kind == "recommendation" for i in run.items)
                t.field_changes += sum(i.kind == "field_change" for i in run.items)
                # Keyed by what was asked for (the batch's record), so a resumed run finds it again.
                rows.append({"use_case": use_case, "subject_type": subject.type, "subject_id": subject.id,
                             "generated_at": run.generated_at.replace(tzinfo=None), "items": len(run.items),
                             "dropped_unsupported": run.dropped_unsupported,
                             # Unset item fields left out: a third of the size, and AgentRun reads it back the same.
                             "output": run.model_dump_json(exclude_none=True)})
        # Agents only read: nothing of theirs is ever written from here. The chunk's rows are let go in one pass
        # (a rollback alone would first expire each of them, then closing would detach them).
        session.expunge_all()
        session.rollback()
    return rows, totals


def latest_output(*, session: Session, use_case: str, subject_type: str, subject_id: str) -> AgentOutput | None:
    return session.get(AgentOutput, (use_case, subject_type, subject_id))

