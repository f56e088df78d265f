"""Group commit: small writes from many tasks applied together in one write transaction.

SQLite takes one writer at a time, so a process whose tasks each commit a one-row update spends its write turn
on transaction overhead (BEGIN, the statement, COMMIT, each a trip to the driver's thread and back through a
busy event loop) while the others queue for it. Here each writer hands over what it wants written and waits for
the commit that carries it; whoever comes while a commit is under way goes into the next one. A write that fails
is retried alone, so one bad write fails only its own caller. Each write is a sync body (see
``Database.run_write``): on SQLite a whole gathering is one trip to the writer's thread.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scada_core.core import Core

    from .database import Database

Apply = Callable[["Session"], None]


class GroupCommit:
    """Collect writes and commit each gathering in one write transaction of ``database``."""

    def __init__(self, core: Core, database: Database, name: str) -> None:
        self._core = core
        self._database = database
        self._name = name
        self._waiting: list[tuple[Apply, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def async_write(self, apply: Apply) -> None:
        """Run ``apply(session)`` in the next group's transaction and return once that transaction committed."""
        if self._database.holds_write_turn():  # inside a write already: the group would wait on it
            await self._database.run_write(apply)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((apply, future))
        if self._committer is None or self._committer.done():
            self._committer = self._core.async_create_task(self._commit_groups(), f"{self._name} group commit")
        await future

    async def _commit_groups(self) -> None:
        group: list[tuple[Apply, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                await self._commit(group)
        finally:
            for _, future in group + self._waiting:
                if not future.done():
                    future.cancel()

    async def _commit(self, group: list[tuple[Apply, asyncio.Future[None]]]) -> None:
        def apply_all(session: Session) -> None:
            for apply, _ in group:
                apply(session)

        try:
            await self._database.run_write(apply_all)
        except Exception as err:  # noqa: BLE001 - handed to the callers, alone when several shared the transaction
            if len(group) == 1:
                _settle(group[0][1], err)
                return
            for single in group:
                await self._commit([single])
            return
        for _, future in group:
            _settle(future, None)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
