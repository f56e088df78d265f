"""The database handle: engine, sessions, and migrations to the newest schema."""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from ..const import DB_POOL_OVERFLOW, DB_POOL_SIZE, DEFAULT_DB_FILE, DEFAULT_LOCK_TIMEOUT
from ..exceptions import DatabaseUnavailable
from .failures import check_url, explain, sqlite_path_problem
from .locations import MIGRATIONS_DIR, version_locations
from .sqlite_driver import one_trip_dbapi

_LOGGER = logging.getLogger(__name__)

ENV_DATABASE_URL = "DATABASE_URL"
ENV_DATABASE_SCHEMA = "DATABASE_SCHEMA"

_T = TypeVar("_T")
WriteBody = Callable[[Session], _T]


def resolve_url(config_dir: Path, db_url: str | None = None) -> str:
    """Return the async SQLAlchemy URL: config first, then DATABASE_URL, then SQLite in config_dir."""
    url = db_url or os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{config_dir / DEFAULT_DB_FILE}"
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain):]
    return url


def alembic_config(versions: Sequence[Path]) -> AlembicConfig:
    """Return Alembic's configuration: our environment, revisions from each of ``versions``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(folder) for folder in versions))
    return cfg


def _sqlite_pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """Own the async engine; hand out sessions; run migrations.

    A write waits at most ``lock_timeout`` seconds for another connection's lock, then fails.
    """

    def __init__(
        self, url: str, schema: str | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        versions: Sequence[Path] | None = None,
    ) -> None:
        self.url = url
        self.versions = list(versions) if versions is not None else version_locations()  # Alembic's folders
        self.parsed_url = check_url(url)
        self.lock_timeout = lock_timeout
        self.schema = schema or (os.environ.get(ENV_DATABASE_SCHEMA) if self.is_postgresql(url) else None)
        lock_ms = max(1, round(lock_timeout * 1000))
        connect_args: dict[str, Any] = {}
        if self.is_postgresql(url):
            connect_args["server_settings"] = {"lock_timeout": f"{lock_ms}ms"}
            if self.schema:
                connect_args["server_settings"]["search_path"] = self.schema
        else:
            connect_args["timeout"] = lock_timeout
        engine_args: dict[str, Any] = {} if self.is_postgresql(url) else {"module": one_trip_dbapi()}
        self.engine: AsyncEngine = create_async_engine(
            url,
            connect_args=connect_args,
            pool_pre_ping=False,
            pool_size=DB_POOL_SIZE,
            max_overflow=DB_POOL_OVERFLOW,
            **engine_args,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite's writes in one thread of their own: a write body runs there whole, one trip from the loop.
        self.writer_engine: Engine | None = None
        self._writer_sessions: sessionmaker[Session] | None = None
        self._writer: ThreadPoolExecutor | None = None
        if not self.is_postgresql(url):
            pragmas = functools.partial(_sqlite_pragmas, lock_ms)
            event.listen(self.engine.sync_engine, "connect", pragmas)
            self.writer_engine = create_engine(
                self.engine.url.set(drivername="sqlite"),
                connect_args={"timeout": lock_timeout, "check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self.writer_engine, "connect", pragmas)
            self._writer_sessions = sessionmaker(self.writer_engine, expire_on_commit=False)
        self._write_turn = None if self.is_postgresql(url) else asyncio.Lock()
        self._write_owner: asyncio.Task[Any] | None = None  # the task in its write turn

    @staticmethod
    def is_postgresql(url: str) -> bool:
        """Tell whether ``url`` names PostgreSQL."""
        return url.startswith("postgres")

    @property
    def dialect(self) -> str:
        """Return 'sqlite' or 'postgresql'."""
        return make_url(self.url).get_backend_name()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Yield a session inside one transaction, committed on success."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """Yield a read-only connection whose every query sees the database as of one moment, writers running.

        PostgreSQL: a REPEATABLE READ transaction. SQLite: an explicit BEGIN (the driver only begins before a
        write), so the WAL read snapshot taken by the first SELECT holds until the end."""
        async with self.engine.connect() as conn:
            if self.is_postgresql(self.url):
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
                await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            else:
                await conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                await conn.rollback()

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """Wait for this process's turn to write.

        SQLite takes one writer at a time: writers that overlap would wait in its busy handler, which sleeps in
        steps of up to 100 ms, or fail outright when a read transaction tries to become a write one. Every writer
        of this process queues here instead, in order, and is let in the moment the previous one commits.
        PostgreSQL writers run side by side (row locks order them).
        """
        if self._write_turn is None or self.holds_write_turn():
            yield  # PostgreSQL, or a writer inside a write of the same task: it must not queue behind itself
            return
        async with self._write_turn:
            self._write_owner = asyncio.current_task()
            try:
                yield
            finally:
                self._write_owner = None

    def holds_write_turn(self) -> bool:
        """Tell whether the running task is inside its write turn (a write it waits on would deadlock)."""
        task = asyncio.current_task()
        return task is not None and task is self._write_owner

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """Yield a session inside one write transaction, in this process's turn (see write_turn)."""
        async with self.write_turn(), self.session() as session:
            yield session

    async def run_write(self, body: WriteBody[_T]) -> _T:
        """Run ``body(session)`` as one write transaction, committed on success; return what it returns.

        On SQLite the body runs whole in the writer's thread, in this process's write turn: one trip from the
        event loop however many statements it makes (each of those is a trip through the loop in an async
        session, and a busy loop makes every trip long while the turn is held). On PostgreSQL it runs in an
        async session (SQLAlchemy's run_sync), its statements awaited as usual. Inside a write turn the task
        already holds, it runs in a session of its own as ``write`` does.
        """
        if self._writer_sessions is None or self.holds_write_turn():
            async with self.session() as session:
                return await session.run_sync(body)
        async with self.write_turn():
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            return await asyncio.get_running_loop().run_in_executor(self._writer, self._write_in_thread, body)

    def _write_in_thread(self, body: WriteBody[_T]) -> _T:
        assert self._writer_sessions is not None
        with self._writer_sessions.begin() as session:
            return body(session)

    @staticmethod
    def caused(err: BaseException) -> bool:
        """Tell whether ``err`` came from the database (its driver, connection or migrations)."""
        return isinstance(err, (SQLAlchemyError, sqlite3.Error, OSError, CommandError))

    def explain(self, err: BaseException) -> str:
        """Return one line naming the cause of a failure of this database and its fix."""
        return explain(err, self.parsed_url, self.lock_timeout)

    async def async_upgrade(self, revision: str = "heads") -> None:
        """Apply migrations up to ``revision`` (every branch head by default), then check that writes get in.

        Raise DatabaseUnavailable, naming the cause and the fix, when the database cannot be opened,
        migrated or written (a lock still held after ``lock_timeout``).
        """
        self.check_file()
        try:
            async with self.engine.begin() as conn:
                if self.schema and self.is_postgresql(self.url):
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                await conn.run_sync(self._upgrade_sync, revision)
            if not self.is_postgresql(self.url):
                async with self.engine.connect() as conn:  # a write lock, as every writer will need
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    await conn.rollback()
        except Exception as err:  # noqa: BLE001 - every cause becomes one line with its fix
            raise DatabaseUnavailable(self.explain(err)) from err

    def check_file(self) -> None:
        """Raise DatabaseUnavailable when a SQLite URL names no usable file (nothing to check on PostgreSQL).

        Found before connecting: a failed aiosqlite connect leaves its thread to answer a closed loop.
        """
        if not self.is_postgresql(self.url) and (problem := sqlite_path_problem(Path(self.parsed_url.database or ""))):
            raise DatabaseUnavailable(problem)

    async def async_downgrade(self, revision: str = "base") -> None:
        """Undo migrations down to ``revision``."""
        async with self.engine.begin() as conn:
            await conn.run_sync(self._downgrade_sync, revision)

    def _alembic_config(self, connection: Connection) -> AlembicConfig:
        cfg = alembic_config(self.versions)
        cfg.attributes["connection"] = connection
        cfg.attributes["schema"] = self.schema
        return cfg

    def _upgrade_sync(self, connection: Connection, revision: str) -> None:
        command.upgrade(self._alembic_config(connection), revision)

    def _downgrade_sync(self, connection: Connection, revision: str) -> None:
        command.downgrade(self._alembic_config(connection), revision)

    @staticmethod
    def head_revisions() -> set[str]:
        """Return the newest revision of every migration branch (core's and every built-in integration's)."""
        return set(ScriptDirectory.from_config(alembic_config(version_locations())).get_heads())

    async def async_current_revisions(self) -> set[str]:
        """Return the revisions the database is at."""
        async with self.engine.connect() as conn:
            try:
                rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except Exception:  # noqa: BLE001 - no version table means an empty database
                return set()
            return {row[0] for row in rows}

    async def async_close(self) -> None:
        """Close every pooled connection and the writer's thread."""
        await self.engine.dispose()
        if self._writer is not None and self.writer_engine is not None:
            writer, self._writer = self._writer, None
            await asyncio.get_running_loop().run_in_executor(writer, self.writer_engine.dispose)
            writer.shutdown()
