"""SQLite through aiosqlite with one trip to its thread per statement.

SQLAlchemy's aiosqlite adapter makes four trips to aiosqlite's thread per statement (open a cursor, execute,
fetch, close), each a queue put, a thread switch and a wake-up of the event loop: most of a sale's time went
there. This adapter runs a statement, its fetch and the cursor's close as one call in that thread. It relies
on aiosqlite's ``Connection._execute`` (queue a call in the connection's thread) and ``_conn`` (the sqlite3
connection, used only from that thread), private in aiosqlite 0.22.1, which pyproject.toml pins.

Each trip also brings back whether a transaction is open, so a commit or rollback with none open (every read
session ends with both) costs no trip at all.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, int, int | None, list[Any] | None, bool]


def _run(conn: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> _Outcome:
    """Execute in the connection's thread; return description, rowcount, lastrowid, the rows and whether a
    transaction is open after it."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, cursor.rowcount, cursor.lastrowid, rows, conn.in_transaction
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement, fetch and close are one call in aiosqlite's thread."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:  # noqa: D107 - no trip here
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}
        self._rows: collections.deque[Any] = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        """Return the last statement's column description (None for statements without rows)."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Return the rows the last statement changed."""
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        """Return the rowid of the last inserted row."""
        return self._lastrowid  # type: ignore[return-value]

    def _trip(self, many: bool, operation: str, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        adapted.transaction_open = None  # unknown until the trip answers
        try:
            outcome = await_(connection._execute(_run, connection._conn, many, operation, parameters))
        except Exception as error:  # noqa: BLE001 - the adapter maps it to SQLAlchemy's DBAPI errors
            adapted._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows, adapted.transaction_open = outcome
        self._rows = collections.deque(rows or ())

    def execute(self, operation: Any, parameters: Any = None) -> None:
        """Run one statement and buffer its rows."""
        self._trip(False, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        """Run one statement for each parameter set."""
        self._trip(True, operation, seq_of_parameters)

    def close(self) -> None:
        """Drop the buffered rows (the sqlite3 cursor is closed already)."""
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """Nothing to close in the thread: the rows are buffered."""


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite connection adapter handing out one-trip cursors (server-side cursors stay aiosqlite's)."""

    __slots__ = ("transaction_open",)

    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:  # noqa: D107
        super().__init__(dbapi, connection)
        self.transaction_open: bool | None = False  # None: not known (a trip failed, or aiosqlite's own cursor)

    @property
    def driver_connection(self) -> aiosqlite.Connection:
        """Return aiosqlite's connection: what runs on it directly goes untracked, so the state becomes unknown."""
        self.transaction_open = None
        return self._connection  # type: ignore[return-value]

    def cursor(self, server_side: bool = False) -> Any:
        """Return a one-trip cursor (a server-side one is aiosqlite's: after it the transaction state is unknown)."""
        if server_side:
            self.transaction_open = None
        return super().cursor(server_side)

    def commit(self) -> None:
        """Commit, unless no transaction is open (then there is nothing to send to the thread)."""
        self._end(super().commit)

    def rollback(self) -> None:
        """Roll back, unless no transaction is open."""
        self._end(super().rollback)

    def _end(self, finish: Any) -> None:
        if self.transaction_open is False:
            return
        self.transaction_open = None
        finish()
        self.transaction_open = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim whose connections make one trip per statement."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        """Open an aiosqlite connection (its thread a daemon, as SQLAlchemy's shim does)."""
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    """Return the DBAPI module to pass to create_async_engine(module=...) for sqlite+aiosqlite URLs."""
    return OneTripDBAPI(aiosqlite, sqlite3)
