"""Large recorder batches store every row exactly, in order (multi-row INSERTs on SQLite)."""
from __future__ import annotations

import json

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


async def test_batches_past_one_insert_keep_every_row(core: Core, database: Database) -> None:
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
