"""State writes per second through the core, and recorder rows per second into SQLite.

Baselines, in the same process: a plain loop doing the same dict updates and listener calls, and the
same rows inserted with one sqlite3 ``executemany``. Last line: one JSON object.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from scada_core.const import EVENT_STATE_CHANGED
from scada_core.core import Core, Event
from scada_core.recorder import Recorder
from scada_core.storage.database import Database, resolve_url

WRITES = 200_000
ENTITIES = 1_000
LISTENERS = 10
ROWS = 100_000
RECORDER_CONF = {
    "commit_interval": 3600.0,
    "max_batch": 5000,
    "purge_keep_days": 30,
    "readings_keep_days": 3650,
    "exclude_domains": [],
}


def plain_state_loop() -> float:
    """Return dict updates per second with the same listener calls, no core."""
    states: dict[str, tuple[str, dict[str, Any]]] = {}
    seen = [0] * LISTENERS
    listeners = [lambda data, i=i: seen.__setitem__(i, seen[i] + 1) for i in range(LISTENERS)]
    start = time.perf_counter()
    for n in range(WRITES):
        entity_id = f"meter.m{n % ENTITIES}"
        old = states.get(entity_id)
        new = (str(n), {"power_w": n})
        if old != new:
            states[entity_id] = new
            data = {"entity_id": entity_id, "old_state": old, "new_state": new}
            for listener in listeners:
                listener(data)
    return WRITES / (time.perf_counter() - start)


async def core_state_loop(tmp: Path) -> float:
    """Return state writes per second through the state machine and bus."""
    core = Core(tmp)
    seen = [0] * LISTENERS
    for i in range(LISTENERS):
        core.bus.async_listen(EVENT_STATE_CHANGED, lambda e, i=i: seen.__setitem__(i, seen[i] + 1))
    start = time.perf_counter()
    for n in range(WRITES):
        core.states.async_set(f"meter.m{n % ENTITIES}", str(n), {"power_w": n})
    elapsed = time.perf_counter() - start
    assert seen[0] == WRITES
    await core.async_stop()
    return WRITES / elapsed


def plain_executemany(tmp: Path, rows: list[dict[str, Any]]) -> float:
    """Return rows per second for one executemany of the same rows into SQLite (WAL)."""
    conn = sqlite3.connect(tmp / "plain.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE states (id INTEGER PRIMARY KEY, entity_id TEXT, state TEXT, attributes TEXT,"
        " last_changed_ts REAL, last_updated_ts REAL)"
    )
    conn.execute("CREATE INDEX a ON states (entity_id, last_updated_ts)")
    conn.execute("CREATE INDEX b ON states (last_updated_ts)")
    start = time.perf_counter()
    conn.executemany(
        "INSERT INTO states (entity_id, state, attributes, last_changed_ts, last_updated_ts)"
        " VALUES (:entity_id, :state, :attributes, :last_changed_ts, :last_updated_ts)",
        rows,
    )
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


async def recorder_loop(tmp: Path) -> tuple[float, list[dict[str, Any]]]:
    """Return rows per second from state changes to committed SQLite rows, and the rows it made."""
    core = Core(tmp)
    db = Database(resolve_url(tmp, f"sqlite:///{tmp / 'bench.db'}"))
    await db.async_upgrade()
    recorder = Recorder(core, db, RECORDER_CONF)
    recorder.async_start()
    captured: list[dict[str, Any]] = []
    for n in range(ROWS):
        core.states.async_set(f"meter.m{n % ENTITIES}", str(n), {"power_w": n})
    captured = [dict(row) for row in recorder._states]  # noqa: SLF001 - same rows for the baseline
    start = time.perf_counter()
    written = await recorder.async_flush()
    elapsed = time.perf_counter() - start
    assert written == ROWS
    await core.async_stop()
    await db.async_close()
    return ROWS / elapsed, captured


async def main() -> None:
    """Run both measurements and print the figures."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        plain = plain_state_loop()
        ours = await core_state_loop(tmp)
        print(f"state writes: core {ours:,.0f}/s, plain dict loop {plain:,.0f}/s, ratio {ours / plain:.3f}")
        rec, rows = await recorder_loop(tmp)
        base = plain_executemany(tmp, rows)
        print(f"recorder rows: {rec:,.0f}/s, plain executemany {base:,.0f}/s, ratio {rec / base:.3f}")
        print(
            json.dumps(
                {
                    "name": "core_events",
                    "value": round(ours),
                    "unit": "state writes/s (10 listeners)",
                    "baseline": round(plain),
                    "ratio": round(ours / plain, 3),
                    "recorder_rows_per_s": round(rec),
                    "recorder_baseline_rows_per_s": round(base),
                    "recorder_ratio": round(rec / base, 3),
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
