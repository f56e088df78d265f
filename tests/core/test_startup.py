"""Start-up on a database that cannot be used: one clear line, exit 1; a locked SQLite file; health."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from scada_core.bootstrap import async_setup_core
from scada_core.config import load_config
from scada_core.core import Core
from scada_core.storage.models import StateRow
from tests.helpers import free_port, write_config

from ..conftest import POSTGRES_URL

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
# A second process holding the SQLite file's write lock until it reads a line on stdin.
HOLD_LOCK = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.readline()\n"
    "db.execute('COMMIT')\n"
)


def startup_config(folder: Path, **recorder: Any) -> Path:
    """Write a configuration with these recorder settings (and billing + web, which need the database).

    The database is the SQLite file cfg/openprepay.db unless ``recorder`` names a db_url.
    """
    sections = {
        "billing": {"buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1"}}}},
        "web": {"admin": {"username": "admin", "password": "admin123"}},
    }
    return write_config(folder, sections, recorder)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run openprepay with ``args`` (DATABASE_URL unset: the configuration decides)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_SCHEMA")}
    return subprocess.run(
        [sys.executable, "-m", "scada_core", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=90,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 1, no traceback, and stderr is one line holding every fragment."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _pg(path: str) -> str:
    """Return a PostgreSQL URL on the test server's host and port with another user/database."""
    assert POSTGRES_URL
    host = POSTGRES_URL.split("@", 1)[1].split("/", 1)[0]
    return f"postgresql://{path.replace('HOST', host)}"


CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("not_a_database", "sqlite:///{dir}/openprepay.db", ("is not a SQLite database", "move it away")),
    ("directory", "sqlite:///{dir}/openprepay.db", ("is a folder, not a database file", "rename it")),
    ("missing_folder", "sqlite:///{dir}/nowhere/openprepay.db", ("does not exist", "create it")),
    ("malformed", "postgresql://me@127.0.0.1:port/db", ("is not a database URL", "postgresql://USER")),
    ("garbage", "just some text", ("is not a database URL", "sqlite:///PATH")),
    ("unsupported", "mysql://me:secret@127.0.0.1/db", ("is not supported", "me:***@", "sqlite:///PATH")),
    (
        "sqlite_two_slashes",
        "sqlite://openprepay.db",
        ("names no database file", "sqlite:///relative/path.db"),
    ),
    (
        "unreachable",
        "postgresql://postgres@127.0.0.1:{port}/test",
        ("refuses connections", "start the server"),
    ),
    ("unknown_host", "postgresql://postgres@nonexistent.invalid/test", ("'nonexistent.invalid' is unknown",)),
]
if POSTGRES_URL:
    CASES += [
        (
            "missing_database",
            _pg("postgres@HOST/no_such_db_{uid}"),
            ('"no_such_db_', "does not exist", "createdb"),
        ),
        (
            "unknown_user",
            _pg("no_such_user_{uid}@HOST/test"),
            ('refuses user "no_such_user_', "create the role"),
        ),
    ]


@pytest.mark.parametrize(("case", "url", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_database_failure_at_start_is_one_line(
    tmp_path: Path, case: str, url: str, fragments: tuple[str, ...]
) -> None:
    """`run` and `db upgrade` each print one line naming the cause and the fix, and exit 1."""
    config = startup_config(tmp_path / "cfg")
    if case == "not_a_database":
        (config / "openprepay.db").write_bytes(b"these are my notes, not a database\n" * 200)
    if case == "directory":
        (config / "openprepay.db").mkdir()
    db_url = url.format(dir=config, port=free_port(), uid=uuid.uuid4().hex[:8])
    startup_config(config, db_url=db_url)
    for verb in (("run",), ("db", "upgrade")):
        result = cli(*verb, "-c", str(config))
        assert_one_clear_line(result, *fragments)
        assert "secret" not in result.stderr


class LockHolder:
    """Another process holding BEGIN EXCLUSIVE on a SQLite file until released."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process: asyncio.subprocess.Process | None = None

    async def acquire(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_LOCK, str(self.path), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdout is not None
        assert (await self.process.stdout.readline()).strip() == b"locked"

    async def release(self) -> None:
        if self.process is not None and self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.write(b"go\n")
            await self.process.stdin.drain()
            await self.process.wait()


@pytest.fixture
async def holder(tmp_path: Path) -> AsyncIterator[LockHolder]:
    """Yield a lock holder on cfg/openprepay.db; release it afterwards."""
    lock = LockHolder(tmp_path / "cfg" / "openprepay.db")
    yield lock
    await lock.release()


async def test_locked_sqlite_file_fails_start_clearly(tmp_path: Path, holder: LockHolder) -> None:
    """While another process holds BEGIN EXCLUSIVE, `run` waits lock_timeout, then says so and exits 1."""
    config = startup_config(tmp_path / "cfg", lock_timeout=0.5)
    assert cli("db", "upgrade", "-c", str(config)).returncode == 0
    await holder.acquire()
    for verb in (("run",), ("db", "upgrade")):
        result = await asyncio.to_thread(cli, *verb, "-c", str(config))
        assert_one_clear_line(
            result, "openprepay.db is locked by another process", "waited 0.5 s", "lock_timeout"
        )
    await holder.release()
    assert cli("db", "upgrade", "-c", str(config)).returncode == 0


async def health(core: Core) -> tuple[int, dict[str, object]]:
    """Return the status code and body of GET /api/health."""
    assert core.http is not None
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{core.http.port}/api/health") as response:
            return response.status, await response.json()


async def state_rows(core: Core) -> int:
    """Return how many state rows the database holds."""
    assert core.db is not None
    async with core.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(StateRow)) or 0)


async def test_lock_taken_while_running_makes_health_degraded_and_rows_wait(
    tmp_path: Path, holder: LockHolder
) -> None:
    """A lock taken after start: the recorder keeps its rows, health says degraded until the lock goes."""
    core = await async_setup_core(
        load_config(startup_config(tmp_path / "cfg", lock_timeout=0.3, commit_interval=0.05))
    )
    try:
        assert (await health(core))[0] == 200
        await holder.acquire()
        core.states.async_set("demo.locked", "1")
        for _ in range(200):
            status, body = await health(core)
            if status == 503:
                break
            await asyncio.sleep(0.05)
        assert status == 503 and body["status"] == "degraded", body
        assert "is locked by another process" in body["failed"]["recorder"]  # type: ignore[index]
        await holder.release()
        for _ in range(200):
            status, body = await health(core)
            if status == 200:
                break
            await asyncio.sleep(0.05)
        assert status == 200 and body["status"] == "ok" and body["failed"] == {}, body
        assert await state_rows(core) >= 1
    finally:
        await core.async_stop()


async def test_rows_queued_at_stop_are_written_when_the_lock_goes(tmp_path: Path, holder: LockHolder) -> None:
    """Stop while another process holds the lock: the recorder retries within lock_timeout, loses nothing."""
    config = startup_config(tmp_path / "cfg", lock_timeout=5, commit_interval=60)
    core = await async_setup_core(load_config(config))
    before = await state_rows(core)
    await holder.acquire()
    for n in range(25):
        core.states.async_set("demo.counter", str(n))
    stopping = asyncio.create_task(core.async_stop())
    await asyncio.sleep(0.2)  # the first write attempt now waits on the lock
    await holder.release()
    await stopping
    core = await async_setup_core(load_config(config))
    try:
        assert await state_rows(core) - before >= 25
    finally:
        await core.async_stop()


async def test_rows_lost_at_stop_are_counted(
    tmp_path: Path, holder: LockHolder, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock held past lock_timeout at stop: the log says how many rows were not written."""
    core = await async_setup_core(
        load_config(startup_config(tmp_path / "cfg", lock_timeout=0.2, commit_interval=60))
    )
    await holder.acquire()
    assert core.recorder is not None
    queued = core.recorder.queue_length
    for n in range(7):
        core.states.async_set("demo.counter", str(n))
    with caplog.at_level(logging.ERROR, logger="scada_core.recorder"):
        await core.async_stop()
    lost = [r.getMessage() for r in caplog.records if "now lost" in r.getMessage()]
    assert lost and lost[0].startswith(f"Recorder stopped with {queued + 7} rows"), lost
    assert "is locked by another process" in lost[0]



async def test_database_closes_after_the_tasks_that_use_it(tmp_path: Path) -> None:
    """A task that records its outcome when cancelled at stop still finds the database open, and leaves none open."""
    core = await async_setup_core(load_config(startup_config(tmp_path / "cfg")))
    assert core.db is not None
    db, counted = core.db, asyncio.Event()

    async def count_when_cancelled() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            async with db.session() as session:
                await session.execute(select(func.count()).select_from(StateRow))
            counted.set()
            raise

    core.async_create_task(count_when_cancelled(), "counts at stop")
    await asyncio.sleep(0)
    await core.async_stop()
    assert counted.is_set()
    # the autouse leak check fails this test if an aiosqlite connection thread outlives it
