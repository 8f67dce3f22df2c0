"""Shared fixtures: real stores (SQLite always, PostgreSQL when SELLERLOOP_TEST_POSTGRES_URL is set) and the CLI.

Every store fixture is parametrised over the backends, so each test that uses one runs on both. On PostgreSQL
each store lives in its own schema (selected with search_path), dropped afterwards, so tests never see each
other's rows and can run in parallel.
"""
from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic_ai import models
from sqlalchemy import Engine, create_engine, make_url, text

from sellerloop.config import BUNDLED_MAVEN_DIR, get_settings, normalise_database_url
from sellerloop.store.db import create_store_engine, session_scope
from sellerloop.store.service import init_store

# Fixtures that several folders share (tests/support/): one definition each.
pytest_plugins = ["tests.support.books"]

POSTGRES_URL = os.environ.get("SELLERLOOP_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="SELLERLOOP_TEST_POSTGRES_URL is not set"))]


# What selects a live model outside the tests; cleared so a developer's own setting never reaches one.
MODEL_SETTINGS = ("SELLERLOOP_LLM_MODEL", "SELLERLOOP_LLM_BASE_URL")


@pytest.fixture(scope="session", autouse=True)
def _no_live_model_requests():
    """Tests never call a live model: pydantic-ai refuses every model request but its test and function models,
    for the whole session (module-scoped fixtures that run agents are set up before any function-scoped one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "ALLOW_MODEL_REQUESTS", False)
        for name in MODEL_SETTINGS:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Settings are cached per process; a test that sets SELLERLOOP_* variables must see them, and the next
    test must not."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{normalise_database_url(url)}{joiner}options=-csearch_path%3D{schema}"


@dataclass
class StoreHandle:
    backend: str
    url: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        """Environment for a `sellerloop` process that should use this store."""
        env = {"SELLERLOOP_HOME": str(self.home)}
        env["SELLERLOOP_DATABASE_URL"] = self.url if self.backend == "postgres" else ""
        return env


def make_store(backend: str, home: Path) -> Iterator[StoreHandle]:
    home.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        yield StoreHandle("sqlite", f"sqlite:///{home / 'sellerloop.db'}", home)
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield StoreHandle("postgres", _with_search_path(POSTGRES_URL, schema), home)
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> Iterator[StoreHandle]:
    """An empty location for a store (not yet initialised), on each backend."""
    yield from make_store(request.param, tmp_path / "home")


@pytest.fixture
def engine(store) -> Iterator[Engine]:
    """An initialised, empty store."""
    engine = create_store_engine(store.url)
    init_store(engine=engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with session_scope(engine) as session:
        yield session


def load_book(url: str, *, sample_layer: bool = False) -> None:
    """Initialise the store at `url` and load the bundled Maven data, and the demo's sample layer if asked."""
    from sellerloop.importers.maven import import_maven
    from sellerloop.sample.layer import build_sample_layer

    engine = create_store_engine(url)
    init_store(engine=engine)
    with session_scope(engine) as s:
        import_maven(session=s, folder=BUNDLED_MAVEN_DIR)
    if sample_layer:
        with session_scope(engine) as s:
            build_sample_layer(session=s, seed=get_settings().sample_seed)
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def maven_store(request, tmp_path_factory) -> Iterator[StoreHandle]:
    """A store holding the bundled Maven data, shared by the tests that only read it. Do not write to it."""
    for handle in make_store(request.param, tmp_path_factory.mktemp("maven")):
        load_book(handle.url)
        yield handle


@pytest.fixture(scope="session")
def _maven_template_db() -> Iterator[str]:
    """PostgreSQL only: a database holding the Maven import, used as a TEMPLATE for cheap writable copies."""
    name = f"sl_tpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    load_book(_database_url(name))  # disposes its engine: CREATE DATABASE ... TEMPLATE needs no open connection
    try:
        yield name
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _database_url(name: str) -> str:
    return make_url(normalise_database_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def maven_copy(request, maven_store, tmp_path) -> Iterator[StoreHandle]:
    """A writable store holding the Maven data, made by copying, not re-importing: a file copy of the shared
    book on SQLite, a database created from a template on PostgreSQL."""
    home = tmp_path / "home"
    home.mkdir()
    if maven_store.backend == "sqlite":
        for part in maven_store.home.glob("sellerloop.db*"):  # the database and any WAL not yet checkpointed
            shutil.copyfile(part, home / part.name)
        yield StoreHandle("sqlite", f"sqlite:///{home / 'sellerloop.db'}", home)
        return
    template = request.getfixturevalue("_maven_template_db")
    name = f"sl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    try:
        yield StoreHandle("postgres", _database_url(name), home)
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def demo_store(request, tmp_path_factory) -> Iterator[StoreHandle]:
    """The demo book (Maven data + the sample layer at the demo seed), shared by tests that only read it."""
    for handle in make_store(request.param, tmp_path_factory.mktemp("demo")):
        load_book(handle.url, sample_layer=True)
        yield handle


@pytest.fixture
def demo_engine(demo_store) -> Iterator[Engine]:
    engine = create_store_engine(demo_store.url)
    yield engine
    engine.dispose()


@pytest.fixture
def maven_engine(maven_store) -> Iterator[Engine]:
    engine = create_store_engine(maven_store.url)
    yield engine
    engine.dispose()


@pytest.fixture
def maven_dir() -> Path:
    return BUNDLED_MAVEN_DIR


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch):
    """Run `sellerloop ARGS` in-process, through the real entry point, against a store:
    cli(store, "stats", "--json") -> CliResult. An unexpected exception (a traceback for a user) fails the test."""
    from sellerloop.cli import main

    def run(handle: StoreHandle, *args: object) -> CliResult:
        for key, value in handle.env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        stdout, stderr = io.StringIO(), io.StringIO()
        code = 0
        try:
            with redirect_stdout(stdout), redirect_stderr(stderr):
                main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            get_settings.cache_clear()
        return CliResult(code, stdout.getvalue(), stderr.getvalue())

    return run
