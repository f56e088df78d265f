"""Write state changes and meter readings in batches, and purge old rows."""
from __future__ import annotations

import asyncio
import logging
import time
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .const import EVENT_METER_READING, EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from .json_helpers import json_text
from .storage.backup_schedule import BackupSchedule
from .storage.models import READING_FIELDS, ReadingRow, StateRow

if TYPE_CHECKING:
    from .core import Core, Event, State
    from .storage.database import Database

_LOGGER = logging.getLogger(__name__)

PURGE_INTERVAL = 24 * 3600.0
# Seconds between tries to write the queue at stop while the database refuses (within its lock_timeout).
STOP_RETRY_S = 0.2
# Core inserts (not ORM): the recorder writes plain rows, and the ORM unit of work only costs time here.
STATES_INSERT = insert(StateRow.__table__)
READINGS_INSERT = insert(ReadingRow.__table__)
DAY = 86400.0
# SQLite steps an executemany once per row and hands the GIL back each time, so while the event loop is busy
# its thread waits for the GIL row after row. There rows go in as multi-row INSERTs of this many rows (11
# columns at most: 11,264 bound values), the rest in power-of-two sizes: few distinct statements to prepare.
# Each is one call into aiosqlite's thread (through SQLAlchemy a statement takes three round trips, each
# waiting a whole turn of the busy event loop).
SQLITE_ROWS_PER_INSERT = 1024


class Recorder:
    """Queue rows from the bus and commit them in one transaction per batch."""

    def __init__(self, core: Core, db: Database, config: dict[str, Any]) -> None:
        self.core = core
        self.db = db
        self.commit_interval: float = config["commit_interval"]
        self.max_batch: int = config["max_batch"]
        self.purge_keep_days: int = config["purge_keep_days"]
        self.readings_keep_days: int = config["readings_keep_days"]
        self.exclude_domains = set(config["exclude_domains"])
        self.min_interval: dict[str, float] = {d: s for d, s in config.get("min_interval", {}).items() if s > 0}
        self._last_row_ts: dict[str, float] = {}
        self._states: list[dict[str, Any]] = []
        self._readings: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._sqlite = db.dialect == "sqlite"
        self._sql: dict[tuple[str, int], str] = {}
        self.rows_written = 0
        self.batches_written = 0  # committed write transactions
        self.write_seconds = 0.0  # their time summed, from the write turn asked for to the commit
        self.error: str | None = None  # why the last write failed, until one succeeds
        self.backups = BackupSchedule(core, db, config["backup"]) if "backup" in config else None

    def async_start(self) -> None:
        """Listen to the bus and start the writer and purge loops."""
        self.core.bus.async_listen(EVENT_STATE_CHANGED, self._on_state_changed)
        self.core.bus.async_listen(EVENT_METER_READING, self._on_reading)
        self.core.async_create_task(self._writer(), "recorder writer")
        self.core.async_create_task(self._purger(), "recorder purge")
        if self.backups is not None:
            self.backups.async_start()
        self.core.async_on_stop(self.async_stop)

    @property
    def queue_length(self) -> int:
        """Return how many rows wait to be written."""
        return len(self._states) + len(self._readings)

    def _on_state_changed(self, event: Event) -> None:
        new_state = event.data["new_state"]
        if new_state is None:
            return
        domain = new_state.domain
        if domain in self.exclude_domains:
            return
        if domain in self.min_interval and not self._row_due(new_state, event.data["old_state"]):
            return
        self._states.append(
            {
                "entity_id": new_state.entity_id,
                "state": new_state.state,
                "attributes": json_text(new_state.attributes),
                "last_changed_ts": new_state.last_changed,
                "last_updated_ts": new_state.last_updated,
            }
        )
        if len(self._states) >= self.max_batch:
            self._wake.set()

    def _row_due(self, new_state: State, old_state: State | None) -> bool:
        """Tell whether a throttled domain's entity gets a row: its interval has passed or availability moved."""
        last = self._last_row_ts.get(new_state.entity_id)
        moved = old_state is None or (old_state.state == STATE_UNAVAILABLE) != (new_state.state == STATE_UNAVAILABLE)
        if not moved and last is not None and new_state.last_updated - last < self.min_interval[new_state.domain]:
            return False
        self._last_row_ts[new_state.entity_id] = new_state.last_updated
        return True

    def _on_reading(self, event: Event) -> None:
        self.add_reading(event.data)

    def add_reading(self, data: Any) -> None:
        """Queue one reading: entity_id, ts, total_wh and optional other fields."""
        row = {"entity_id": data["entity_id"], "ts": float(data["ts"]), "received_ts": self.core.clock.timestamp()}
        for name in READING_FIELDS:
            row[name] = data.get(name)
        self._readings.append(row)
        if len(self._readings) >= self.max_batch:
            self._wake.set()

    async def _writer(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.commit_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.async_flush()
            except Exception as err:  # noqa: BLE001 - keep the rows, try again next round
                self._failed(err)
                await asyncio.sleep(self.commit_interval)

    def _failed(self, err: Exception) -> None:
        """Remember and log why a write failed: once per cause, a bug with its traceback."""
        ours = self.db.caused(err)
        error = self.db.explain(err) if ours else f"internal error: {err}"
        if error != self.error:
            _LOGGER.error(
                "Recorder cannot write %d queued rows, will retry: %s",
                self.queue_length, error, exc_info=not ours,
            )
        self.error = error

    async def async_stop(self) -> None:
        """Write the queue, retrying for up to the lock_timeout; else log how many rows are lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.db.lock_timeout
        try:
            while True:
                try:
                    await self.async_flush()
                    return
                except Exception as err:  # noqa: BLE001 - retried, then reported with the count lost
                    self._failed(err)
                    if loop.time() >= deadline:
                        break
                    await asyncio.sleep(STOP_RETRY_S)
        except asyncio.CancelledError:
            self._report_lost()
            raise
        self._report_lost()

    def _report_lost(self) -> None:
        if self.queue_length:
            _LOGGER.error(
                "Recorder stopped with %d rows (%d states, %d readings) not written, now lost: %s",
                self.queue_length, len(self._states), len(self._readings), self.error,
            )

    async def async_flush(self) -> int:
        """Write every queued row; return how many were written."""
        async with self._lock:
            written = 0
            while self._states or self._readings:
                states, self._states = self._states[: self.max_batch], self._states[self.max_batch :]
                readings, self._readings = self._readings[: self.max_batch], self._readings[self.max_batch :]
                started = time.monotonic()
                try:
                    async with self.db.write_turn(), self.db.engine.begin() as conn:
                        if states:
                            await self._insert(conn, STATES_INSERT, states)
                        if readings:
                            await self._insert(conn, READINGS_INSERT, readings)
                except Exception:
                    self._states[:0] = states
                    self._readings[:0] = readings
                    raise
                self.batches_written += 1
                self.write_seconds += time.monotonic() - started
                written += len(states) + len(readings)
            self.rows_written += written
            self.error = None
            return written

    async def _insert(self, conn: AsyncConnection, statement: Any, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts with the same keys): one executemany, or multi-row INSERTs on SQLite."""
        if not self._sqlite:
            await conn.execute(statement, rows)
            return
        table: Table = statement.table
        columns = list(rows[0])
        values = itemgetter(*columns)
        first = 0
        while first < len(rows):
            left = len(rows) - first
            chunk = rows[first : first + min(SQLITE_ROWS_PER_INSERT, 1 << (left.bit_length() - 1))]
            first += len(chunk)
            key = (table.name, len(chunk))
            if key not in self._sql:
                quote = conn.dialect.identifier_preparer.quote
                placeholders = f"({', '.join('?' * len(columns))})"
                self._sql[key] = (
                    f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
                    f"({', '.join(quote(c) for c in columns)}) VALUES {', '.join([placeholders] * len(chunk))}"
                )
            await conn.exec_driver_sql(self._sql[key], tuple(chain.from_iterable(map(values, chunk))))

    async def async_purge(self) -> None:
        """Delete states and readings past their retention."""
        now = self.core.clock.timestamp()
        async with self.db.write() as session:
            await session.execute(delete(StateRow).where(StateRow.last_updated_ts < now - self.purge_keep_days * DAY))
            await session.execute(delete(ReadingRow).where(ReadingRow.ts < now - self.readings_keep_days * DAY))

    async def _purger(self) -> None:
        while True:
            try:
                await self.async_purge()
            except Exception:  # noqa: BLE001
                _LOGGER.exception("Recorder purge failed")
            await asyncio.sleep(PURGE_INTERVAL)
