"""Migrations and the recorder on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text

from scada_core.const import EVENT_METER_READING
from scada_core.core import Core
from scada_core.recorder import Recorder
from scada_core.storage.database import Database, resolve_url
from scada_core.storage.models import ReadingRow, StateRow
from tests.helpers import close_database

RECORDER_CONF = {
    "commit_interval": 0.05,
    "max_batch": 100,
    "purge_keep_days": 1,
    "readings_keep_days": 10,
    "exclude_domains": ["noise"],
}


async def test_upgrade_from_empty_to_head_and_back(db_settings: dict[str, str], tmp_path: Path) -> None:
    db = Database(resolve_url(tmp_path, db_settings["db_url"]), db_settings.get("db_schema"))
    try:
        await db.async_upgrade()
        revisions = await db.async_current_revisions()
        assert revisions == Database.head_revisions(), "every migration branch is at its head"
        async with db.session() as session:
            assert (await session.execute(select(func.count()).select_from(StateRow))).scalar_one() == 0
        await db.async_upgrade()  # a second upgrade is a no-op
        assert await db.async_current_revisions() == revisions
        await db.async_downgrade("base")
        assert await db.async_current_revisions() == set()
        await db.async_upgrade()
        assert await db.async_current_revisions() == revisions
    finally:
        await close_database(db)


async def test_sqlite_uses_wal(tmp_path: Path) -> None:
    db = Database(resolve_url(tmp_path, None if False else f"sqlite:///{tmp_path / 'w.db'}"))
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        await db.async_close()


async def test_recorder_batches_states_and_readings(database: Database, core: Core) -> None:
    recorder = Recorder(core, database, RECORDER_CONF)
    recorder.async_start()
    for i in range(250):
        core.states.async_set("meter.m1", str(i), {"power_w": i})
    core.states.async_set("noise.x", "1")
    now = core.clock.timestamp()
    core.bus.async_fire(EVENT_METER_READING, {"entity_id": "meter.m1", "ts": now, "total_wh": 12345, "money_fen": -50})
    core.bus.async_fire(EVENT_METER_READING, {"entity_id": "meter.m1", "ts": now - 60, "total_wh": 12000})
    assert await recorder.async_flush() == 252
    async with database.session() as session:
        count = (await session.execute(select(func.count()).select_from(StateRow))).scalar_one()
        assert count == 250, "excluded domains are not recorded"
        readings = (await session.execute(select(ReadingRow).order_by(ReadingRow.ts))).scalars().all()
    assert [(r.ts, r.total_wh, r.money_fen) for r in readings] == [(now - 60, 12000, None), (now, 12345, -50)]


async def test_recorder_writes_in_background_and_purges(database: Database, core: Core) -> None:
    recorder = Recorder(core, database, RECORDER_CONF)
    recorder.async_start()
    core.states.async_set("meter.old", "1")
    core.bus.async_fire(EVENT_METER_READING, {"entity_id": "meter.old", "ts": core.clock.timestamp() - 20 * 86400, "total_wh": 1})
    core.bus.async_fire(EVENT_METER_READING, {"entity_id": "meter.new", "ts": core.clock.timestamp(), "total_wh": 2})
    for _ in range(100):
        if recorder.queue_length == 0 and recorder.rows_written >= 3:
            break
        import asyncio

        await asyncio.sleep(0.02)
    assert recorder.rows_written >= 3
    from datetime import timedelta

    core.clock.offset = timedelta(days=2)
    await recorder.async_purge()
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(StateRow))).scalar_one() == 0
        entities = (await session.execute(select(ReadingRow.entity_id))).scalars().all()
    assert entities == ["meter.new"]
