"""The command records: each command's row and outcome, the open ones a restart resumes, batch counts."""
from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, case, func, insert, select, update

from scada_core.storage.group_commit import GroupCommit

from .const import CMD_CONFIRMED, CMD_EXPIRED, CMD_FAILED, CMD_OPEN_STATES, CMD_QUEUED
from .errors import MeterCommandError
from .models import FieldBatchRow, FieldCommandRow

if TYPE_CHECKING:
    from sqlalchemy.sql import Executable

    from scada_core.core import Core
    from scada_core.storage.database import Database

    from .batch import BatchItem
    from .job import CommandJob

COMMAND_INSERT = insert(FieldCommandRow.__table__)
COMMAND_UPDATE = update(FieldCommandRow.__table__).where(FieldCommandRow.__table__.c.id == bindparam("command_id"))


class CommandStore:
    """Persist commands and batches; nothing here talks to a meter."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._group: GroupCommit | None = None

    @property
    def _db(self) -> Database:
        if self.core.db is None:
            raise MeterCommandError("the command path needs the database")
        return self.core.db

    async def _save(self, statement: Executable, values: dict[str, Any]) -> None:
        """Write one command's row in the next group commit (each bus's commands share their transactions)."""
        if self._group is None:
            self._group = GroupCommit(self.core, self._db, "command store")

        await self._group.async_write(lambda session: session.execute(statement, values))

    async def insert(self, job: CommandJob) -> None:
        """Save a new command."""
        await self._save(COMMAND_INSERT, _command_values(job, self.core.clock.timestamp()))

    async def mark(self, job: CommandJob, *, sent: bool = False, error: str | None = None) -> None:
        """Save the open state and attempt count of ``job`` (``sent``: an attempt goes on the wire now)."""
        now = self.core.clock.timestamp()
        values: dict[str, Any] = {
            "state": job.state, "attempts": job.attempts, "updated_ts": now, "error": error
        }
        if sent:
            values["sent_ts"] = now
        await self._update(job.id, **values)

    async def finish(self, job: CommandJob, *, result: dict[str, Any] | None, error: str | None) -> None:
        """Save the outcome of ``job`` (its final state is already set)."""
        now = self.core.clock.timestamp()
        await self._update(
            job.id,
            state=job.state,
            attempts=job.attempts,
            updated_ts=now,
            done_ts=now,
            error=error,
            result=_dumps(result) if result is not None else None,
        )

    async def fail(self, command_id: str, error: str) -> None:
        """Close a command nobody can run any more (its meter left the configuration)."""
        await self._update(command_id, state=CMD_FAILED, error=error, done_ts=self.core.clock.timestamp())

    async def _update(self, command_id: str, **values: Any) -> None:
        await self._save(COMMAND_UPDATE, {"command_id": command_id, **values})

    async def open_rows(self) -> list[FieldCommandRow]:
        """Return the commands a previous run left open."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(FieldCommandRow).where(FieldCommandRow.state.in_(CMD_OPEN_STATES))
            )
            return list(rows.all())

    async def get(self, command_id: str) -> dict[str, Any] | None:
        """Return one command record as a dict."""
        async with self._db.session() as session:
            row = await session.get(FieldCommandRow, command_id)
        return None if row is None else command_as_dict(row)

    async def insert_batch(
        self, batch_id: str, service: str, items: list[BatchItem], operator: str | None = None
    ) -> None:
        """Save a batch (and who started it) with each meter's command, or the outcome of a call that made none."""
        now = self.core.clock.timestamp()
        async with self._db.write() as session:
            session.add(FieldBatchRow(id=batch_id, service=service, total=len(items), created_ts=now,
                                      operator=operator))
            await session.flush()  # the batch row before its commands' rows, which name it
            for item in items:
                if item.job is not None:
                    await session.execute(COMMAND_INSERT, _command_values(item.job, now))
                else:
                    session.add(_outcome_row(item, now))

    async def batch(self, batch_id: str) -> dict[str, Any] | None:
        """Return a batch's counts: total, pending, done, failed, and its commands."""
        async with self._db.session() as session:
            batch = await session.get(FieldBatchRow, batch_id)
            if batch is None:
                return None
            counts = dict(
                (
                    await session.execute(
                        select(FieldCommandRow.state, func.count())
                        .where(FieldCommandRow.batch_id == batch_id)
                        .group_by(FieldCommandRow.state)
                    )
                ).all()
            )
            rows = (
                await session.scalars(
                    select(FieldCommandRow)
                    .where(FieldCommandRow.batch_id == batch_id)
                    .order_by(FieldCommandRow.entity_id)
                )
            ).all()
        done = counts.get(CMD_CONFIRMED, 0)
        failed = counts.get(CMD_FAILED, 0) + counts.get(CMD_EXPIRED, 0)
        return {
            "batch_id": batch_id,
            "service": batch.service,
            "operator": batch.operator,
            "created_ts": batch.created_ts,
            "total": batch.total,
            "done": done,
            "failed": failed,
            "pending": batch.total - done - failed,
            "commands": [command_as_dict(r) for r in rows],
        }


    async def batches(
        self, limit: int, offset: int = 0, operator: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Return a page of batches (``operator``'s only, when given), newest first, each with its counts; and how
        many there are."""
        done = func.sum(case((FieldCommandRow.state == CMD_CONFIRMED, 1), else_=0))
        failed = func.sum(case((FieldCommandRow.state.in_((CMD_FAILED, CMD_EXPIRED)), 1), else_=0))
        whose = () if operator is None else (FieldBatchRow.operator == operator,)
        async with self._db.session() as session:
            total = await session.scalar(select(func.count()).select_from(FieldBatchRow).where(*whose))
            page = (
                select(FieldBatchRow).where(*whose).order_by(FieldBatchRow.created_ts.desc(), FieldBatchRow.id)
                .limit(limit).offset(offset).subquery()
            )
            rows = (
                await session.execute(
                    select(page, done, failed)
                    .join(FieldCommandRow, FieldCommandRow.batch_id == page.c.id, isouter=True)
                    .group_by(*page.c)
                    .order_by(page.c.created_ts.desc(), page.c.id)
                )
            ).all()
        return [
            {"batch_id": r.id, "service": r.service, "operator": r.operator, "created_ts": r.created_ts,
             "total": r.total, "done": int(r[-2] or 0), "failed": int(r[-1] or 0),
             "pending": r.total - int(r[-2] or 0) - int(r[-1] or 0)}
            for r in rows
        ], int(total or 0)


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _command_values(job: CommandJob, now: float) -> dict[str, Any]:
    """Return the row of a new command."""
    return {
        "id": job.id,
        "batch_id": job.batch_id,
        "entity_id": job.device.entity_id,
        "kind": job.kind,
        "payload": _dumps(job.payload),
        "state": CMD_QUEUED,
        "attempts": 0,
        "max_attempts": job.max_attempts,
        "deadline_ts": job.deadline,
        "created_ts": now,
        "updated_ts": now,
    }


def _outcome_row(item: BatchItem, now: float) -> FieldCommandRow:
    """Return the row of a batch item whose call ended without a command: failed, or done with its answer."""
    return FieldCommandRow(
        id=uuid.uuid4().hex,
        batch_id=item.batch_id,
        entity_id=item.entity_id,
        kind=item.kind,
        payload="{}",
        state=CMD_FAILED if item.error is not None else CMD_CONFIRMED,
        attempts=0,
        max_attempts=0,
        deadline_ts=now,
        result=_dumps(item.result) if item.result is not None else None,
        error=item.error,
        created_ts=now,
        updated_ts=now,
        done_ts=now,
    )


def command_as_dict(row: FieldCommandRow) -> dict[str, Any]:
    """Return a command row in its API form."""
    return {
        "command_id": row.id,
        "batch_id": row.batch_id,
        "entity_id": row.entity_id,
        "kind": row.kind,
        "payload": json.loads(row.payload),
        "state": row.state,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "deadline_ts": row.deadline_ts,
        "result": json.loads(row.result) if row.result else None,
        "error": row.error,
        "created_ts": row.created_ts,
        "updated_ts": row.updated_ts,
        "sent_ts": row.sent_ts,
        "done_ts": row.done_ts,
    }
