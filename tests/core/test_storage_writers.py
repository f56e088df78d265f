"""Writers sharing one database: every writer of the process takes its turn (SQLite has one writer at a time)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, insert, select, update

from scada_core.storage.database import Database, resolve_url
from scada_core.storage.models import StateRow

WRITERS = 30


def _row(n: int) -> dict[str, object]:
    return {"entity_id": f"meter.w{n}", "state": "0", "attributes": "{}", "last_changed_ts": float(n), "last_updated_ts": float(n)}


async def test_concurrent_read_then_write_transactions_all_commit(tmp_path: Path) -> None:
    """Thirty writers that read before they write, all at once and with a lock timeout far shorter than their
    queue: none fails with "database is locked" and none is lost (SQLite refuses to turn a read transaction into
    a write one after another writer committed, whatever its busy timeout)."""
    db = Database(resolve_url(tmp_path, f"sqlite:///{tmp_path / 'writers.db'}"), lock_timeout=0.01)
    await db.async_upgrade()
    try:
        async with db.write() as session:
            await session.execute(insert(StateRow.__table__), [_row(n) for n in range(WRITERS)])

        async def writer(n: int) -> None:
            async with db.write() as session:
                count = (await session.execute(select(func.count()).select_from(StateRow))).scalar_one()
                await asyncio.sleep(0)  # let the others start their transactions too
                await session.execute(
                    update(StateRow.__table__)
                    .where(StateRow.__table__.c.entity_id == f"meter.w{n}")
                    .values(state=str(count))
                )

        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        async with db.session() as session:
            states = (await session.execute(select(StateRow.state))).scalars().all()
        assert states == [str(WRITERS)] * WRITERS
    finally:
        await db.async_close()


async def test_a_write_inside_a_write_of_the_same_task_does_not_wait_for_itself(tmp_path: Path) -> None:
    """A helper that writes, called by a caller already in its write turn, runs at once (no deadlock), while
    another task still waits its turn."""
    db = Database(resolve_url(tmp_path, f"sqlite:///{tmp_path / 'nested.db'}"))
    await db.async_upgrade()
    order: list[str] = []
    try:

        async def other() -> None:
            async with db.write_turn():
                order.append("other")

        async with db.write_turn():
            waiting = asyncio.create_task(other())
            await asyncio.sleep(0.01)
            async with asyncio.timeout(1), db.write_turn():
                order.append("nested")
            assert not waiting.done(), "another task waits until the turn is given back"
        await waiting
        assert order == ["nested", "other"]
    finally:
        await db.async_close()
