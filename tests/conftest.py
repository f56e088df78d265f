"""Fixtures shared by every test: databases (SQLite always, PostgreSQL when DATABASE_URL is set), a core, and
the check that nothing a test started (an asyncio task, a SQLite connection) outlives it."""
from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from scada_core.core import Core
from scada_core.storage.database import Database, resolve_url
from tests.helpers import close_database

POSTGRES_URL = os.environ.get("DATABASE_URL")
DB_KINDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
FUNCTION_LOOP_RUNNER = "_function_scoped_runner"  # pytest-asyncio's fixture that owns a test's own event loop
DB_THREAD_SUFFIX = "(_connection_worker_thread)"  # the name of each open aiosqlite connection's thread ends so
DB_THREAD_EXIT_WAIT = 2.0  # seconds a closed connection's thread may take to end


def pytest_configure(config: pytest.Config) -> None:
    """Register our markers."""
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drive chromium through each flow once: on PostgreSQL when it is there (the production database), else on
    SQLite. What each page stores and reads is tested on both databases by the page and API tests beside it."""
    if len(DB_KINDS) < 2:
        return
    twice = {item for item in items if item.get_closest_marker("browser")
             and getattr(item, "callspec", None) is not None and item.callspec.params.get("db_kind") == "sqlite"}
    if twice:
        config.hook.pytest_deselected(items=list(twice))
        items[:] = [item for item in items if item not in twice]


@pytest.fixture(params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    """Name the database kind of this run: 'sqlite' or 'postgresql'."""
    return str(request.param)


@pytest.fixture
def pg_schema() -> str:
    """Return a fresh PostgreSQL schema name so tests never share tables."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db_settings(db_kind: str, tmp_path: Path, pg_schema: str) -> dict[str, str]:
    """Return recorder settings (db_url and, on PostgreSQL, db_schema) for one test."""
    if db_kind == "postgresql":
        assert POSTGRES_URL
        return {"db_url": POSTGRES_URL, "db_schema": pg_schema}
    return {"db_url": f"sqlite:///{tmp_path / 'test.db'}"}


@pytest.fixture
async def database(db_settings: dict[str, str], tmp_path: Path) -> AsyncIterator[Database]:
    """Yield a migrated database; drop the PostgreSQL schema afterwards."""
    db = Database(resolve_url(tmp_path, db_settings["db_url"]), db_settings.get("db_schema"))
    await db.async_upgrade()
    yield db
    await close_database(db)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    """Yield a bare core (no database, no HTTP) that is stopped afterwards (a test that gives it a database asks for
    ``database`` first, so the core, and the recorder it stops, ends before the database closes)."""
    instance = Core(tmp_path)
    await instance.async_start()
    yield instance
    await instance.async_stop()


def _has_its_own_loop(request: pytest.FixtureRequest) -> bool:
    """Tell whether the test runs on an event loop of its own (not one its module or session shares)."""
    marker = request.node.get_closest_marker("asyncio")
    scope = marker and (marker.kwargs.get("loop_scope") or marker.kwargs.get("scope"))
    return (scope or request.config.getini("asyncio_default_test_loop_scope") or "function") == "function"


def _database_threads() -> set[threading.Thread]:
    """Return the threads of the open aiosqlite connections (each has one until it is closed)."""
    return {thread for thread in threading.enumerate() if thread.name.endswith(DB_THREAD_SUFFIX)}


@pytest.fixture(autouse=True)
def nothing_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves asyncio tasks pending on its loop, or SQLite connections open, after its fixtures.

    Set up before the test's other fixtures, so torn down after them, and before the loop is closed (closing
    it would cancel what is left without a word; a connection left open answers that closed loop later).
    """
    if not _has_its_own_loop(request):
        yield
        return
    loop = request.getfixturevalue(FUNCTION_LOOP_RUNNER).get_loop()
    tasks, threads = asyncio.all_tasks(loop), _database_threads()
    yield
    leaked = [repr(task) for task in asyncio.all_tasks(loop) - tasks]
    for thread in _database_threads() - threads:
        thread.join(DB_THREAD_EXIT_WAIT)
        if thread.is_alive():
            leaked.append(f"an open SQLite connection ({thread.name}): a Database used after async_close()?")
    if leaked:
        pytest.fail("outlived the test:\n" + "\n".join(sorted(leaked)), pytrace=False)
