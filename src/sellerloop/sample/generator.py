"""The scale generator: a large synthetic book for benchmarks (`sellerloop generate`).

It writes users (sellers in teams under managers), accounts, contacts, products (only when the store has none),
opportunities with their contacts and stage history, and activities (emails, meetings, calls, notes) straight
into the configured store. Every row is `synthetic=True`.

Ids start with `g{seed}-`, so they never meet the ids of imported records (Maven ids, `stable_id` hashes) nor
those of a run with another seed. Generating a seed the store already holds is refused (BadInput, exit 2),
not merged: a benchmark that silently did nothing would report a meaningless speed.

The same seed gives the same rows: every random draw comes from `random.Random` streams seeded by the seed
(one stream per table, so the number of activities asked for does not change the accounts), and dates are
placed before a fixed `AS_OF` day rather than today. The one input from the store is its product list: when
the store already has products, opportunities use those.

Speed (goal: 1M activities with 100k accounts stored in <= 30 s on 2 cores; see docs/BENCHMARKS.md):
- rows are plain tuples streamed in batches of BATCH rows; memory holds a few per-account arrays and a few
  batches, never a whole table;
- text is built from pre-formatted pieces (day and time strings, JSON fragments, templates) with one
  `getrandbits` draw per activity split into fields, instead of many `random` calls and `json.dumps` per row;
- on big runs a child process makes the rows while this one writes them (two cores, two halves of the work);
- SQLite: one `executemany` per batch through `exec_driver_sql`, values already in the form SQLAlchemy stores
  (ISO dates, 1/0 booleans, JSON text), so no per-value type processing; PostgreSQL: COPY FROM STDIN;
- foreign keys are checked once at the end (PostgreSQL) or not during the load (SQLite; the data is
  consistent by construction and the tests check it), and the activities' secondary indexes are built once
  after the load instead of row by row.

Atomicity: everything is written in one transaction on one connection, committed at the end. A run that is
interrupted (Ctrl+C, an error, a killed process) leaves no generated row behind; on SQLite the rollback
happens when the connection closes or, after a killed process, when the next connection opens the store.
While a big run loads, other writers wait, and on PostgreSQL readers of the loaded tables wait too (the
constraint and index changes lock them until the commit).
"""
from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import random
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import OperationalError

from sellerloop.errors import BadInput
from sellerloop.records.models import Account, Product
from sellerloop.sample.texts import FIRST_NAMES, LAST_NAMES

BATCH = 20_000
# Generated dates fall in the two years before AS_OF; open deals expect to close in the months after it.
# A fixed day rather than today, so that the same seed gives the same rows whenever it runs.
AS_OF = dt.date(2026, 1, 1)
SPAN_DAYS = 730
DAY0 = AS_OF - dt.timedelta(days=SPAN_DAYS)

ACCOUNTS_PER_SELLER = 40
MIN_SELLERS = 3
SELLERS_PER_MANAGER = 8
REGIONS = ("Central", "East", "West")

# ---------------------------------------------------------------------------------------------------------
# Word pools. Made-up people and companies; domains use the reserved `.example` top-level domain and phone
# numbers the fictional 555-01xx range. Person names come from the sample layer's pools (texts.py).

TITLES = (
    ("Chief Financial Officer", "economic_buyer"), ("VP of IT", "decision_maker"), ("IT Director", "champion"),
    ("Head of Procurement", "influencer"), ("Chief Information Security Officer", "technical_evaluator"),
    ("Operations Manager", "user"), ("Chief Operating Officer", "economic_buyer"),
    ("Chief Technology Officer", "decision_maker"), ("Director of Sales Operations", "champion"),
    ("Enterprise Architect", "technical_evaluator"), ("Finance Manager", "influencer"),
    ("Head of Customer Success", "user"),
)
COMPANY_FIRST = (
    "Blue", "North", "Silver", "Granite", "Bright", "Cedar", "Harbor", "Iron", "Summit", "Pioneer", "Lumen",
    "Vector", "Crescent", "Atlas", "Nova", "Keystone", "Redwood", "Polar", "Meridian", "Orchid", "Falcon",
    "Copper", "Sterling", "Evergreen", "Quantum", "Prairie", "Coastal", "Beacon", "Horizon", "Oak",
)
COMPANY_SECOND = (
    "Ridge", "Wave", "Stone", "Field", "Point", "Gate", "Works", "Line", "Bridge", "Peak", "Forge", "Path",
    "Labs", "Hill", "Stream", "Port", "Grove", "Crest", "Haven", "Mark",
)
COMPANY_SUFFIX = ("Inc", "Group", "Systems", "Holdings", "Partners", "Logistics", "Analytics", "Health",
                  "Energy", "Foods", "Media", "Capital")
SECTORS = ("technology", "medical", "retail", "software", "finance", "marketing", "entertainment",
           "telecommunications", "services", "employment")
CITIES = ("United States", "United States", "United States", "Germany", "Japan", "Brazil", "Kenya", "Norway",
          "Poland", "Philippines", "Korea", "Italy", "Jordan", "China", "Panama", "Belgium")
SYNTHETIC_PRODUCTS = (("GTX Basic", "GTX", 550.0), ("GTX Pro", "GTX", 4821.0), ("MG Special", "MG", 55.0),
                      ("MG Advanced", "MG", 3393.0), ("GTX Plus Pro", "GTX", 5482.0))
NEXT_STEPS = ("Send the proposal", "Book the security review", "Confirm budget with finance",
              "Schedule the technical deep dive", "Share two customer references", "Agree the pilot scope",
              "Walk procurement through the contract", "Follow up on pricing questions")
# Stage mix of generated deals, in 1/20 steps: 3 Prospecting, 6 Engaging, 6 Won, 5 Lost.
STAGE_MIX = ("Prospecting",) * 3 + ("Engaging",) * 6 + ("Won",) * 6 + ("Lost",) * 5

# Activity kinds over 128 slots (one 7-bit draw): ~45 % email, 20 % call, 15 % meeting, 20 % note.
KIND_SLOTS = ("email",) * 58 + ("call",) * 26 + ("meeting",) * 19 + ("note",) * 25
TOPICS = ("pricing", "the pilot", "security review", "rollout plan", "renewal terms", "integration questions",
          "the proposal", "onboarding", "budget approval", "references", "contract redlines", "next steps")
SUBJECTS = {
    "email": ("Re: {topic}", "Following up on {topic}", "{account}: {topic}", "Quick question about {topic}"),
    "call": ("Call with {contact} about {topic}", "Discovery call: {topic}", "Check-in call on {topic}"),
    "meeting": ("{account} / {company}: {topic}", "Workshop: {topic}", "Demo and {topic}"),
    "note": ("Note: {topic}", "Internal note on {account}", "Deal note: {topic}"),
}
BODIES = {
    "email": (("Hi {first}, thanks for the time this week. As promised, here is more on {topic}; "
              "happy to walk your team through it. Best, {seller}"),
              ("Hello {first}, could you share where things stand on {topic}? A short call on Thursday "
              "would help us keep the timeline. Thanks, {seller}"),
              "Hi {first}, attaching the summary we discussed on {topic}. Let me know what is missing. {seller}"),
    "call": ("Spoke with {first} about {topic}. They asked for numbers by end of month.",
             "{first} raised concerns about {topic}; agreed to send a written answer.",
             "Left a voicemail for {first} on {topic}; will try again next week."),
    "meeting": ("Agenda: {topic}, open questions, next steps. Attendees from {account} and {company}.",
                "Met {first} and team to go through {topic}. Follow-ups assigned to {seller}."),
    "note": ("{account} is weighing {topic}; {first} is the main contact.",
             "Reminder: {topic} is blocking the deal at {account}. Owner: {seller}."),
}
SELLER_COMPANY = "MavenTech"


@dataclass
class GenerateResult:
    """What `generate_book` wrote: rows per table, wall time and throughput."""

    seed: int
    backend: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    products_reused: bool = False

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def activities_per_second(self) -> float:
        return self.counts.get("activities", 0) / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"seed": self.seed, "backend": self.backend, "counts": dict(self.counts), "rows": self.rows,
                "seconds": round(self.seconds, 3), "rows_per_second": round(self.rows_per_second),
                "products_reused": self.products_reused}

    def summary(self) -> str:
        parts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items() if n)
        reused = " (reused the store's products)" if self.products_reused else ""
        return (f"generated (synthetic, seed {self.seed}): {parts}{reused}\n"
                f"{self.rows:,} rows in {self.seconds:.1f} s on {self.backend}: {self.rows_per_second:,.0f} rows/s,"
                f" {self.activities_per_second:,.0f} activities/s")


def generate_book(*, engine: Engine, accounts: int, activities: int, seed: int,
                  console: Console | None = None) -> GenerateResult:
    """Write a synthetic book of `accounts` accounts and exactly `activities` activities into the store."""
    if isinstance(accounts, bool) or not isinstance(accounts, int) or accounts < 1:
        raise BadInput(f"--accounts must be a whole number of at least 1, not {accounts!r}")
    if isinstance(activities, bool) or not isinstance(activities, int) or activities < 0:
        raise BadInput(f"--activities must be a whole number of at least 0, not {activities!r}")
    started = time.perf_counter()
    backend = engine.dialect.name
    postgres = backend == "postgresql"
    with engine.connect() as conn:
        _refuse_used_seed(conn, seed)
        products, reused = _existing_products(conn)
    book = _Book(seed=seed, accounts=accounts, activities=activities, products=products)
    plan = [(table, columns, planned) for table, columns, planned, _ in book.tables()]
    result = GenerateResult(seed=seed, backend=backend, products_reused=reused)
    total = sum(planned for _, _, planned in plan)
    written = [0] * len(plan)
    # The child process (if any) starts before the progress bar's refresh thread does.
    with _row_stream(book, parallel=total >= PARALLEL_MIN_ROWS) as stream, _progress(console) as progress, \
            _bulk_connection(engine, big=total >= PARALLEL_MIN_ROWS) as conn:
        task = progress.add_task("generating", total=total)
        write = _copy_writer(conn) if postgres else _insert_writer(conn)
        with _foreign_keys_deferred(conn, [t for t, _, _ in plan]) if postgres else nullcontext(), \
                _indexes_rebuilt(conn, "activities", adding=activities):
            current = -1
            for index, batch in stream:
                if index != current:
                    current = index
                    progress.update(task, description=f"writing {plan[index][0]}")
                table, columns, _ = plan[index]
                write(table, columns, batch)
                written[index] += len(batch)
                progress.advance(task, len(batch))
            for (table, _, planned), n in zip(plan, written):
                if n != planned:  # a bug in the plan, not a user error: fail loudly before committing
                    raise AssertionError(f"{table}: planned {planned} rows, wrote {n}")
                result.counts[table] = n
            progress.update(task, description="indexing and checking references")
        progress.update(task, description="committing")
        conn.commit()
    result.seconds = time.perf_counter() - started
    return result


# ---------------------------------------------------------------------------------------------------------
# Making rows: in this process, or in a child process while this one writes.

# From this many rows on, a child process makes the rows while this one writes them: the two halves cost
# about the same CPU time, and the machine has at least two cores. Below it, starting a process is not worth it.
PARALLEL_MIN_ROWS = 200_000


def _inline_rows(book: _Book) -> Iterator[tuple[int, list[tuple]]]:
    for index, (_, _, _, batches) in enumerate(book.tables()):
        for batch in batches():
            yield index, batch


@contextmanager
def _row_stream(book: _Book, *, parallel: bool) -> Iterator[Iterator[tuple[int, list[tuple]]]]:
    """(table index, batch) pairs in foreign-key order. With `parallel`, a child process builds the same
    book from the same arguments (so the rows are the same) and sends the batches through a pipe; the pipe's
    small buffer holds the child back when the writer is slower, so memory stays at a few batches."""
    if not parallel:
        yield _inline_rows(book)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, name="sellerloop-generate", daemon=True,
                            args=(sender, book.seed, book.n_accounts, book.n_activities, book.given_products))
    child.start()
    sender.close()

    def receive() -> Iterator[tuple[int, list[tuple]]]:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise RuntimeError("the row generator process stopped unexpectedly") from None
            if message is None:
                return
            if isinstance(message, tuple):
                yield message
                continue
            raise RuntimeError(f"the row generator process failed: {message}")

    try:
        yield receive()
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()  # only on an error in this process: the child is done otherwise
        child.join()


def _produce(sender, seed: int, accounts: int, activities: int, products: list) -> None:
    """The child process: make every batch and send it; None at the end, or the error as a string."""
    try:
        book = _Book(seed=seed, accounts=accounts, activities=activities, products=products)
        for message in _inline_rows(book):
            sender.send(message)
        sender.send(None)
    except BrokenPipeError:  # the parent stopped reading: it failed or was interrupted, nothing to report
        pass
    except BaseException as e:  # noqa: BLE001 - report anything to the parent, which raises it
        try:
            sender.send(f"{type(e).__name__}: {e}")
        except OSError:
            pass
    finally:
        sender.close()


# ---------------------------------------------------------------------------------------------------------
# The store side: checks, connection set-up and the two writers.


def _prefix(seed: int) -> str:
    return f"g{seed}-"


def _refuse_used_seed(conn: Connection, seed: int) -> None:
    first_account = f"{_prefix(seed)}a{0:07d}"
    if conn.execute(select(Account.id).where(Account.id == first_account)).first() is not None:
        raise BadInput(f"seed {seed} was already generated in this store (ids {_prefix(seed)}*); "
                       "pass another --seed, or use a fresh store")


def _existing_products(conn: Connection) -> tuple[list[tuple[str, str, float]], bool]:
    rows = conn.execute(select(Product.id, Product.name, Product.sales_price).order_by(Product.id)).all()
    return [(r.id, r.name, float(r.sales_price or 1000.0)) for r in rows], bool(rows)


@contextmanager
def _bulk_connection(engine: Engine, *, big: bool = False) -> Iterator[Connection]:
    """One connection, one transaction (committed by the caller), tuned for a bulk load while it lasts."""
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        left_wal = False
        if sqlite:
            # The store runs in WAL mode with synchronous=NORMAL, which fsyncs the WAL at every checkpoint; a
            # 1M-row load checkpoints hundreds of MB, and those fsyncs are pure waiting. OFF skips them for this
            # connection only. The risk is limited to an OS crash or power loss during the load (an
            # application crash or Ctrl+C still rolls back cleanly), acceptable for throw-away benchmark
            # data. A larger page cache keeps the randomly-ordered index (occurred_at) in memory.
            # Foreign-key checks cost three index look-ups per activity; the generator makes every reference
            # from rows it wrote just before (tests run PRAGMA foreign_key_check on the result), so they are
            # switched off for the load. SQLite only accepts that pragma outside a transaction, hence here.
            # All three are restored before the connection goes back to the pool.
            saved = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                     for name in ("synchronous", "cache_size", "foreign_keys")}
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            if big:
                left_wal = _leave_wal(conn)
        try:
            yield conn
        finally:
            conn.rollback()  # a no-op after the caller's commit; undoes everything after an error
            if sqlite:
                for name, value in saved.items():
                    conn.exec_driver_sql(f"PRAGMA {name}={int(value)}")
                conn.commit()
                if left_wal:
                    try:
                        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                    except OperationalError:  # another connection came in: the next one to open restores it
                        pass
                    conn.commit()


def _leave_wal(conn: Connection) -> bool:
    """SQLite: use a rollback journal instead of the WAL for a big load, if no other connection is using the
    store; True when switched. In WAL mode every page is written twice (to the WAL, then checkpointed into
    the database at commit) and pages evicted from a full cache mid-transaction go to the WAL again each
    time: for 1M activities that is several seconds. A rollback journal keeps the transaction atomic (pages
    appended to the file need no journal entry). Leaving WAL needs the store to itself, so this does not
    wait: if another connection is busy, the load simply stays in WAL mode."""
    timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    conn.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        mode = conn.exec_driver_sql("PRAGMA journal_mode=DELETE").scalar()
    except OperationalError:
        mode = None
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout)}")
        conn.commit()
    return str(mode).lower() == "delete"


@contextmanager
def _foreign_keys_deferred(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """PostgreSQL: check the loaded tables' foreign keys once at the end instead of once per row.

    Row by row, each reference fires a trigger that looks up and locks its parent row: for 1M activities
    that is 3M look-ups and most of the load time. Following PostgreSQL's advice for bulk loads ("Populating
    a Database": remove foreign key constraints, load, re-create them), the constraints are dropped and
    re-added with their exact definitions inside the load's transaction; re-adding one validates all rows in
    a single join. Being DDL, this holds an exclusive lock on the tables until the commit (readers wait), and
    if anything fails the rollback puts the constraints back untouched.
    """
    rows = conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%(tables)s::regclass[])"
        " ORDER BY 1, 2", {"tables": list(tables)}).all()
    for table, name, _ in rows:
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    yield
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # room for the validating hash joins
    for table, name, definition in rows:
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


# Below this many new rows, a table's indexes are kept up to date row by row rather than rebuilt.
REBUILD_MIN_ROWS = 100_000


@contextmanager
def _indexes_rebuilt(conn: Connection, table: str, *, adding: int) -> Iterator[None]:
    """Drop `table`'s secondary indexes for the load and create them again at the end, with the same
    definitions read from the database.

    Activities arrive in account order, so most of their indexes grow at the end; `occurred_at` does not, and
    1M random insertions into it cost more CPU than sorting it once (measured on SQLite: about a third of the
    insert time). Indexes are rebuilt only when the load at least doubles the table, and, as DDL inside the
    load's transaction, a rollback restores them.
    """
    existing = conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0
    if adding < REBUILD_MIN_ROWS or adding < existing:
        yield
        return
    if conn.dialect.name == "postgresql":
        indexes = conn.exec_driver_sql(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = %(table)s::regclass AND NOT i.indisprimary AND NOT i.indisunique ORDER BY 1",
            {"table": table}).all()
    else:  # SQLite: the automatic index behind the primary key has no SQL and is left alone
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
            " ORDER BY name", (table,)).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    yield
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")  # sort in memory
    for _, definition in indexes:
        conn.exec_driver_sql(definition)


Writer = Callable[[str, Sequence[str], list[tuple]], None]


def _insert_writer(conn: Connection) -> Writer:
    """SQLite: one executemany per batch. The statement text is built once per table."""
    statements: dict[str, str] = {}

    def write(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        sql = statements.get(table)
        if sql is None:
            sql = statements[table] = (f"INSERT INTO {table} ({', '.join(columns)}) "
                                       f"VALUES ({', '.join('?' * len(columns))})")
        conn.exec_driver_sql(sql, rows)

    return write


def _copy_writer(conn: Connection) -> Writer:
    """PostgreSQL: COPY FROM STDIN through psycopg 3, inside the connection's open transaction."""
    raw = conn.connection.driver_connection

    def write(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    return write


@contextmanager
def _progress(console: Console | None) -> Iterator[Progress]:
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TaskProgressColumn(), TimeElapsedColumn(), console=console, disable=console is None,
                        transient=False)
    with progress:
        yield progress


# ---------------------------------------------------------------------------------------------------------
# The book: sizes decided up front (so the progress bar knows the total), rows made batch by batch.


class _Book:
    def __init__(self, *, seed: int, accounts: int, activities: int, products: list[tuple[str, str, float]]):
        self.seed = seed
        self.p = _prefix(seed)
        self.n_accounts = accounts
        self.n_activities = activities
        self.given_products = list(products)
        self.new_products = not products
        self.products = products or [(f"{self.p}prod{i}", name, price)
                                     for i, (name, _, price) in enumerate(SYNTHETIC_PRODUCTS)]
        self.days = [(DAY0 + dt.timedelta(days=d)).isoformat() for d in range(SPAN_DAYS + 180)]
        rng = random.Random(f"{seed}:plan")

        self.n_sellers = max(MIN_SELLERS, math.ceil(accounts / ACCOUNTS_PER_SELLER))
        self.n_managers = math.ceil(self.n_sellers / SELLERS_PER_MANAGER)
        self.user_ids = [f"{self.p}m{i:05d}" for i in range(self.n_managers)] + \
                        [f"{self.p}s{i:06d}" for i in range(self.n_sellers)]
        self.user_names = [self._person(i * 7 + 3, salt=11) for i in range(self.n_managers + self.n_sellers)]
        self.seller_offset = self.n_managers

        # Per account: owner (a seller), contacts (2-4), opportunities (1-3), activity count. Arrays, not objects.
        self.owner = array("I", (rng.randrange(self.n_sellers) for _ in range(accounts)))
        self.contact_start = array("I", [0])
        self.opp_start = array("I", [0])
        for _ in range(accounts):
            self.contact_start.append(self.contact_start[-1] + 2 + rng.randrange(3))
            self.opp_start.append(self.opp_start[-1] + 1 + rng.randrange(3))
        self.n_contacts = self.contact_start[-1]
        self.n_opps = self.opp_start[-1]
        self.activity_count = self._spread(rng, activities, accounts)

        combos = len(COMPANY_FIRST) * len(COMPANY_SECOND) * len(COMPANY_SUFFIX)
        step = _coprime_step(combos, rng)
        offset = rng.randrange(combos)
        self.account_names: list[str] = []
        self.domains: list[str] = []
        for i in range(accounts):
            k = (offset + i * step) % combos
            a, rest = divmod(k, len(COMPANY_SECOND) * len(COMPANY_SUFFIX))
            b, c = divmod(rest, len(COMPANY_SUFFIX))
            stem = COMPANY_FIRST[a] + COMPANY_SECOND[b].lower()
            lap = i // combos  # past every combination: number the repeats so names stay unique
            self.account_names.append(f"{stem} {COMPANY_SUFFIX[c]}" + (f" {lap + 1}" if lap else ""))
            self.domains.append(f"{stem.lower()}{COMPANY_SUFFIX[c].lower()}{lap or ''}.example")

        # Per opportunity: stage, and the day window its activities fall in (indexes into self.days).
        self.opp_stage = bytearray(rng.randrange(len(STAGE_MIX)) for _ in range(self.n_opps))
        self.opp_lo = array("H")
        self.opp_hi = array("H")
        for j in range(self.n_opps):
            lo = rng.randrange(SPAN_DAYS - 120)
            self.opp_lo.append(lo)
            self.opp_hi.append(min(SPAN_DAYS - 1, lo + 30 + rng.randrange(240)))

    @staticmethod
    def _spread(rng: random.Random, total: int, buckets: int) -> array:
        """`total` split over `buckets` with uneven weights (some accounts are much busier), summing exactly."""
        weights = [rng.random() ** 3 + 0.05 for _ in range(buckets)]
        scale = total / sum(weights)
        counts = array("I", (int(w * scale) for w in weights))
        short = total - sum(counts)
        # Largest remainders first; ties by index, so the split is deterministic.
        for i in sorted(range(buckets), key=lambda i: (int(weights[i] * scale) - weights[i] * scale, i))[:short]:
            counts[i] += 1
        return counts

    def _person(self, g: int, *, salt: int = 0) -> tuple[str, str]:
        """A made-up (first, last) name for person number `g`, from arithmetic alone, so activities can name
        the same contact the contacts table holds without keeping 300k names in memory."""
        s = self.seed * 131 + salt
        return (FIRST_NAMES[(g * 7 + s) % len(FIRST_NAMES)],
                LAST_NAMES[(g * 13 + g // len(FIRST_NAMES) + s * 3) % len(LAST_NAMES)])

    def tables(self) -> list[tuple[str, tuple[str, ...], int, Callable[[], Iterator[list[tuple]]]]]:
        """(table, columns, rows planned, batch generator) in foreign-key order."""
        n_stage_rows = sum(1 + (s >= 3) + (s >= 9) for s in self.opp_stage)
        return [
            ("users", ("id", "name", "email", "role", "manager_id", "team", "region", "synthetic"),
             self.n_managers + self.n_sellers, self._users),
            ("products", ("id", "name", "series", "sales_price", "synthetic"),
             len(self.products) if self.new_products else 0, self._products),
            ("accounts", ("id", "name", "sector", "year_established", "revenue_musd", "employees",
                          "office_location", "owner_id", "website", "synthetic"), self.n_accounts, self._accounts),
            ("contacts", ("id", "account_id", "name", "title", "email", "phone", "role_in_deal", "synthetic"),
             self.n_contacts, self._contacts),
            ("opportunities", ("id", "name", "account_id", "owner_id", "product_id", "stage", "amount",
                               "close_value", "engage_date", "close_date", "next_step", "synthetic"),
             self.n_opps, self._opportunities),
            ("opportunity_contacts", ("opportunity_id", "contact_id", "role_in_deal", "synthetic"),
             self.n_opps, self._opportunity_contacts),
            ("stage_history", ("opportunity_id", "stage", "entered_on", "synthetic"), n_stage_rows,
             self._stage_history),
            ("activities", ("id", "kind", "account_id", "opportunity_id", "owner_id", "occurred_at", "subject",
                            "body", "direction", "thread_id", "participants", "synthetic"),
             self.n_activities, self._activities),
        ]

    # Ids. Zero-padded so that they sort in the order they are written (appends to the primary-key index).
    def account_id(self, i: int) -> str:
        return f"{self.p}a{i:07d}"

    def contact_id(self, g: int) -> str:
        return f"{self.p}c{g:08d}"

    def opp_id(self, j: int) -> str:
        return f"{self.p}o{j:08d}"

    def seller_id(self, i: int) -> str:
        return self.user_ids[self.seller_offset + i]

    # Rows --------------------------------------------------------------------------------------------------

    def _users(self) -> Iterator[list[tuple]]:
        rows = []
        for i, uid in enumerate(self.user_ids):
            first, last = self.user_names[i]
            email = f"{first}.{last}@maventech.example".lower()
            if i < self.n_managers:
                rows.append((uid, f"{first} {last}", email, "manager", None, f"{first} {last}'s team",
                             REGIONS[i % len(REGIONS)], True))
            else:
                m = (i - self.n_managers) % self.n_managers
                mf, ml = self.user_names[m]
                rows.append((uid, f"{first} {last}", email, "seller", self.user_ids[m], f"{mf} {ml}'s team",
                             REGIONS[m % len(REGIONS)], True))
        yield from _batched(rows)

    def _products(self) -> Iterator[list[tuple]]:
        if self.new_products:
            yield [(pid, name, series, price, True)
                   for (pid, name, price), (_, series, _) in zip(self.products, SYNTHETIC_PRODUCTS)]

    def _accounts(self) -> Iterator[list[tuple]]:
        rng = random.Random(f"{self.seed}:accounts")
        rows = []
        for i in range(self.n_accounts):
            employees = min(200_000, int(20 * rng.paretovariate(0.9)) + 5)  # a few giants, many small firms
            rows.append((self.account_id(i), self.account_names[i], SECTORS[rng.randrange(len(SECTORS))],
                         1960 + rng.randrange(60), round(employees * rng.uniform(0.08, 0.4), 2), employees,
                         CITIES[rng.randrange(len(CITIES))], self.seller_id(self.owner[i]),
                         f"https://www.{self.domains[i]}", True))
            if len(rows) == BATCH:
                yield rows
                rows = []
        if rows:
            yield rows

    def _contacts(self) -> Iterator[list[tuple]]:
        rng = random.Random(f"{self.seed}:contacts")
        rows = []
        cs = self.contact_start
        for i in range(self.n_accounts):
            aid, domain = self.account_id(i), self.domains[i]
            for g in range(cs[i], cs[i + 1]):
                first, last = self._person(g)
                title, role = TITLES[rng.randrange(len(TITLES))]
                rows.append((self.contact_id(g), aid, f"{first} {last}", title,
                             f"{first}.{last}@{domain}".lower(), f"+1-555-01{g % 100:02d}", role, True))
            if len(rows) >= BATCH:
                yield rows
                rows = []
        if rows:
            yield rows

    def _opportunities(self) -> Iterator[list[tuple]]:
        rng = random.Random(f"{self.seed}:opportunities")
        rows = []
        days, products = self.days, self.products
        for i in range(self.n_accounts):
            aid, name, owner = self.account_id(i), self.account_names[i], self.seller_id(self.owner[i])
            for j in range(self.opp_start[i], self.opp_start[i + 1]):
                pid, pname, price = products[rng.randrange(len(products))]
                stage = STAGE_MIX[self.opp_stage[j]]
                amount = round(price * rng.uniform(0.8, 1.2), 2)
                lo, hi = self.opp_lo[j], self.opp_hi[j]
                if stage in ("Won", "Lost"):
                    close_value, engage, close, step = (amount if stage == "Won" else 0.0), days[lo], days[hi], None
                else:  # open: the expected close date lies after AS_OF
                    close_value, close = None, days[SPAN_DAYS + rng.randrange(180)]
                    engage = days[lo] if stage == "Engaging" else None
                    step = NEXT_STEPS[rng.randrange(len(NEXT_STEPS))]
                rows.append((self.opp_id(j), f"{name} - {pname}", aid, owner, pid, stage, amount, close_value,
                             engage, close, step, True))
            if len(rows) >= BATCH:
                yield rows
                rows = []
        if rows:
            yield rows

    def _opportunity_contacts(self) -> Iterator[list[tuple]]:
        """One champion per deal: the account's contacts take turns."""
        rows = []
        cs = self.contact_start
        for i in range(self.n_accounts):
            c0, nc, o0 = cs[i], cs[i + 1] - cs[i], self.opp_start[i]
            for j in range(o0, self.opp_start[i + 1]):
                rows.append((self.opp_id(j), self.contact_id(c0 + (j - o0) % nc), "champion", True))
            if len(rows) >= BATCH:
                yield rows
                rows = []
        if rows:
            yield rows

    def _stage_history(self) -> Iterator[list[tuple]]:
        rows = []
        days = self.days
        for j in range(self.n_opps):
            opp, s = self.opp_id(j), self.opp_stage[j]
            lo = self.opp_lo[j]
            rows.append((opp, "Prospecting", days[max(0, lo - 14)], True))
            if s >= 3:  # Engaging, Won or Lost
                rows.append((opp, "Engaging", days[lo], True))
            if s >= 9:  # Won or Lost
                rows.append((opp, STAGE_MIX[s], days[self.opp_hi[j]], True))
            if len(rows) >= BATCH:
                yield rows
                rows = []
        if rows:
            yield rows

    def _activities(self) -> Iterator[list[tuple]]:
        """The big table. One 64-bit draw per activity, cut into the fields it needs."""
        rng = random.Random(f"{self.seed}:activities")
        getrandbits = rng.getrandbits
        p = self.p
        days = self.days
        # "HH:MM:SS.ffffff" in business hours, 5-minute steps: 128 slots from 08:00.
        times = [f" {8 + m // 12:02d}:{m % 12 * 5:02d}:00.000000" for m in range(128)]
        topics = TOPICS
        n_topics = len(topics)
        subjects = {k: v for k, v in SUBJECTS.items()}
        bodies = {k: v for k, v in BODIES.items()}
        seller_json = []
        for i in range(self.n_sellers):
            first, last = self.user_names[self.seller_offset + i]
            seller_json.append(((f'"name": "{first} {last}", "email": "{first.lower()}.{last.lower()}'
                                f'@maventech.example", "user_id": "{self.seller_id(i)}"'), f"{first} {last}"))
        rows = []
        k = 0
        cs, os_, counts = self.contact_start, self.opp_start, self.activity_count
        opp_lo, opp_hi = self.opp_lo, self.opp_hi
        for i in range(self.n_accounts):
            n = counts[i]
            if not n:
                continue
            aid, account, domain = self.account_id(i), self.account_names[i], self.domains[i]
            account_thread = f"{p}ta{i:07d}"  # emails not about a deal thread per account, others per deal
            owner_index = self.owner[i]
            owner = self.seller_id(owner_index)
            seller, seller_name = seller_json[owner_index]
            c0, nc = cs[i], cs[i + 1] - cs[i]
            o0, no = os_[i], os_[i + 1] - os_[i]
            # The account's contacts as JSON fragments and first names, built once per account.
            people = []
            for g in range(c0, c0 + nc):
                first, last = self._person(g)
                people.append(((f'"name": "{first} {last}", "email": "{first.lower()}.{last.lower()}@{domain}",'
                               f' "contact_id": "{p}c{g:08d}"'), first))
            for _ in range(n):
                r = getrandbits(64)
                kind = KIND_SLOTS[r & 127]
                contact, first = people[(r >> 7) % nc]
                topic = topics[(r >> 12) % n_topics]
                if (r >> 17) & 7:  # 7 in 8 activities belong to one of the account's deals
                    j = o0 + (r >> 20) % no
                    opp = f"{p}o{j:08d}"
                    thread = f"{p}to{j:08d}"
                    lo = opp_lo[j]
                    day = days[lo + (r >> 22) % (opp_hi[j] - lo + 1)]
                else:
                    opp = None
                    thread = account_thread
                    day = days[(r >> 22) % SPAN_DAYS]
                occurred = day + times[(r >> 32) & 127]
                pick = r >> 39
                templates = subjects[kind]
                subject = templates[pick % len(templates)].format(topic=topic, account=account, contact=first,
                                                                  company=SELLER_COMPANY)
                templates = bodies[kind]
                body = templates[(pick >> 3) % len(templates)].format(first=first, topic=topic, account=account,
                                                                      company=SELLER_COMPANY, seller=seller_name)
                inbound = (r >> 45) & 1
                if kind == "email":
                    direction = "inbound" if inbound else "outbound"
                    if inbound:
                        participants = f'[{{{contact}, "role": "from"}}, {{{seller}, "role": "to"}}]'
                    else:
                        participants = f'[{{{seller}, "role": "from"}}, {{{contact}, "role": "to"}}]'
                elif kind == "call":
                    direction = "inbound" if inbound else "outbound"
                    thread = None
                    if inbound:
                        participants = f'[{{{contact}, "role": "from"}}, {{{seller}, "role": "to"}}]'
                    else:
                        participants = f'[{{{seller}, "role": "from"}}, {{{contact}, "role": "to"}}]'
                elif kind == "meeting":
                    direction = thread = None
                    participants = f'[{{{seller}, "role": "attendee"}}, {{{contact}, "role": "attendee"}}]'
                else:
                    direction = thread = None
                    participants = f'[{{{seller}, "role": "from"}}]'
                rows.append((f"{p}x{k:09d}", kind, aid, opp, owner, occurred, subject, body, direction, thread,
                             participants, True))
                k += 1
                if len(rows) == BATCH:
                    yield rows
                    rows = []
        if rows:
            yield rows


def _batched(rows: list[tuple]) -> Iterator[list[tuple]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def _coprime_step(n: int, rng: random.Random) -> int:
    """A step that visits every residue mod n once (so the first n account names are all different)."""
    while True:
        step = rng.randrange(1, n)
        if math.gcd(step, n) == 1:
            return step


__all__ = ["AS_OF", "GenerateResult", "generate_book"]
