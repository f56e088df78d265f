"""Large recorder batches store every row exactly, in order (multi-row INSERTs on SQLite)."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from scada_core.const import EVENT_METER_READING
from scada_core.core import Core
from scada_core.recorder import SQLITE_ROWS_PER_INSERT, Recorder
from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow, StateRow

CONF = {
    "commit_interval": 60.0,
    "max_batch": 5000,
    "purge_keep_days": 1,
    "readings_keep_days": 10,
    "exclude_domains": [],
}


async def test_batches_past_one_insert_keep_every_row(database: Database, core: Core) -> None:
    """Several statements' worth of states and readings come back with their values, unicode and None."""
    recorder = Recorder(core, database, CONF)
    recorder.async_start()
    count = SQLITE_ROWS_PER_INSERT * 2 + 777
    now = core.clock.timestamp()
    for i in range(count):
        core.states.async_set(f"meter.m{i % 7}", f"{i}.5", {"电压": i / 10, "relay": None, "n": i})
        core.bus.async_fire(
            EVENT_METER_READING, {"entity_id": f"meter.m{i % 7}", "ts": now + i, "total_wh": i * 10}
        )
    assert await recorder.async_flush() == 2 * count
    async with database.session() as session:
        states = (await session.execute(select(StateRow).order_by(StateRow.id))).scalars().all()
        readings = (await session.execute(select(ReadingRow).order_by(ReadingRow.id))).scalars().all()
    assert [(s.entity_id, s.state, json.loads(s.attributes)) for s in states] == [
        (f"meter.m{i % 7}", f"{i}.5", {"电压": i / 10, "relay": None, "n": i}) for i in range(count)
    ]
    assert all(s.last_updated_ts >= now for s in states)
    assert [(r.entity_id, r.ts, r.total_wh, r.money_fen) for r in readings] == [
        (f"meter.m{i % 7}", now + i, i * 10, None) for i in range(count)
    ]


async def test_min_interval_thins_a_domain_but_keeps_availability_changes(database: Database, core: Core) -> None:
    """A throttled domain gets a row at most every min_interval, and always when it goes (un)available."""
    recorder = Recorder(core, database, {**CONF, "min_interval": {"meter": 60}})
    recorder.async_start()
    for power in (1, 2, 3):  # three reads within a second: one row
        core.states.async_set("meter.a", "10.00", {"power_w": power})
        core.states.async_set("lamp.b", "on", {"level": power})  # not throttled: every change
    core.states.async_set("meter.a", "unavailable", {})
    core.states.async_set("meter.a", "9.99", {"power_w": 4})
    core.states.async_set("meter.a", "9.98", {"power_w": 5})  # within the minute again: no row
    core.clock.offset += timedelta(seconds=61)
    core.states.async_set("meter.a", "9.50", {"power_w": 6})
    await recorder.async_flush()
    async with database.session() as session:
        rows = (await session.execute(select(StateRow).order_by(StateRow.id))).scalars().all()
    assert [(r.entity_id, r.state) for r in rows if r.entity_id == "meter.a"] == [
        ("meter.a", "10.00"),
        ("meter.a", "unavailable"),
        ("meter.a", "9.99"),
        ("meter.a", "9.50"),
    ]
    assert [json.loads(r.attributes)["level"] for r in rows if r.entity_id == "lamp.b"] == [1, 2, 3]
