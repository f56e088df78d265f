"""Writers sharing one database: every writer of the process takes its turn (SQLite has one writer at a time)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from scada_core.core import Core
from scada_core.storage.database import Database, resolve_url
from scada_core.storage.group_commit import GroupCommit
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


def _count_commits(db: Database) -> list[int]:
    commits = [0]

    def on_commit(_conn: object) -> None:
        commits[0] += 1

    event.listen(db.engine.sync_engine, "commit", on_commit)
    if db.writer_engine is not None:  # SQLite's writes run on the writer's own connection
        event.listen(db.writer_engine, "commit", on_commit)
    return commits


async def test_group_commit_carries_concurrent_writes_in_few_transactions(database: Database, core: Core) -> None:
    """Forty tasks each writing one row wait for the commit that carries it; they share a handful of
    transactions instead of forty, and every row is there when each caller returns."""
    async with database.write() as session:
        await session.execute(insert(StateRow.__table__), [_row(n) for n in range(WRITERS)])
    group = GroupCommit(core, database, "test")
    commits = _count_commits(database)

    async def writer(n: int) -> None:
        def apply(session: Session) -> None:
            session.execute(
                update(StateRow.__table__).where(StateRow.__table__.c.entity_id == f"meter.w{n}").values(state="done")
            )

        await group.async_write(apply)
        async with database.session() as session:
            state = await session.scalar(select(StateRow.state).where(StateRow.entity_id == f"meter.w{n}"))
        assert state == "done"  # committed before the writer went on

    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    assert 1 <= commits[0] - WRITERS <= 3, commits  # the writers' own reads commit once each


async def test_group_commit_fails_only_the_bad_write(database: Database, core: Core) -> None:
    """A write that breaks a constraint fails its own caller; the others of its group are committed."""
    group = GroupCommit(core, database, "test")

    def insert_row(n: int) -> Callable[[Session], None]:
        def apply(session: Session) -> None:
            session.execute(insert(StateRow.__table__), [{**_row(n), "id": n}])

        return apply

    outcomes = await asyncio.gather(
        *(group.async_write(insert_row(n)) for n in (1, 2, 1, 3)), return_exceptions=True
    )
    assert [type(o).__name__ for o in outcomes].count("IntegrityError") == 1
    async with database.session() as session:
        ids = (await session.execute(select(StateRow.entity_id).order_by(StateRow.entity_id))).scalars().all()
    assert ids == ["meter.w1", "meter.w2", "meter.w3"]


async def test_group_commit_inside_a_write_turn_does_not_deadlock(database: Database, core: Core) -> None:
    """A caller already in its write turn writes at once instead of waiting for a group that waits for it."""
    group = GroupCommit(core, database, "test")

    def apply(session: Session) -> None:
        session.execute(insert(StateRow.__table__), [_row(7)])

    async with asyncio.timeout(5), database.write():
        await group.async_write(apply)
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(StateRow)) == 1


async def test_a_read_session_costs_one_trip_to_the_sqlite_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read's commit and the pool's rollback find no transaction open and skip the trip; a write still commits."""
    db = Database(resolve_url(tmp_path, f"sqlite:///{tmp_path / 'trips.db'}"))
    await db.async_upgrade()
    trips: list[str] = []
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await execute(self, fn, *args, **kwargs)

    try:
        async with db.session() as session:
            await session.execute(select(func.count()).select_from(StateRow))  # the pool opens its connection
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with db.session() as session:
            await session.execute(select(func.count()).select_from(StateRow))
        assert len(trips) == 1, trips
        async with db.write() as session:
            await session.execute(insert(StateRow.__table__), [_row(1)])
        assert len(trips) == 3, trips  # the insert and its commit
        monkeypatch.undo()
        async with db.engine.begin() as conn:  # a write on aiosqlite's own connection, which the adapter cannot see
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("INSERT INTO states (entity_id, state, attributes, last_changed_ts, last_updated_ts) "
                                 "VALUES ('meter.raw', '1', '{}', 0, 0)")
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(StateRow)) == 2
        async with db.write() as session:  # the raw write was committed: this writer is not locked out
            await session.execute(insert(StateRow.__table__), [_row(2)])
    finally:
        await db.async_close()


async def test_a_write_body_commits_and_returns_or_rolls_back_whole(database: Database) -> None:
    """``run_write`` commits what its body wrote and hands back its result; a body that raises leaves nothing."""

    def write(n: int, fail: bool) -> Callable[[Session], int]:
        def body(session: Session) -> int:
            session.execute(insert(StateRow.__table__), [_row(n)])
            if fail:
                raise ValueError("refused after writing")
            return n * 10

        return body

    assert await database.run_write(write(1, False)) == 10
    with pytest.raises(ValueError, match="refused after writing"):
        await database.run_write(write(2, True))
    async with database.session() as session:
        ids = (await session.execute(select(StateRow.entity_id))).scalars().all()
    assert ids == ["meter.w1"]
    async with asyncio.timeout(5), database.write_turn():  # in the caller's own turn: no wait for itself
        assert await database.run_write(write(3, False)) == 30


async def test_a_sqlite_write_body_runs_off_the_event_loop(tmp_path: Path) -> None:
    """A SQLite write body runs in the writer's thread: the loop keeps serving while it works."""
    db = Database(resolve_url(tmp_path, f"sqlite:///{tmp_path / 'writer.db'}"))
    await db.async_upgrade()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.01)

    def slow_body(session: Session) -> int:
        for n in range(5):
            session.execute(insert(StateRow.__table__), [_row(n)])
            time.sleep(0.04)  # a body that takes its time must not hold the loop
        return threading.get_ident()

    ticking = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0.02)
        before = len(ticks)
        body_thread = await db.run_write(slow_body)
        assert body_thread != threading.get_ident()
        assert len(ticks) - before >= 10, "the loop stood still while the body ran"
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(StateRow)) == 5
    finally:
        ticking.cancel()
        await db.async_close()
