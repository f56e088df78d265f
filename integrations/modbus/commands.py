"""The reliable command path: persisted command records, sent between status reads, confirmed by read-back."""
from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from .const import (
    CMD_CONFIRMED,
    CMD_EXPIRED,
    CMD_FAILED,
    CMD_OPEN_STATES,
    CMD_QUEUED,
    CMD_RETRYING,
    CMD_SENT,
    EVENT_COMMAND_UPDATE,
)
from .errors import BusOfflineError, ExceptionCodeError, FieldError, MeterCommandError
from .models import FieldBatchRow, FieldCommandRow

if TYPE_CHECKING:
    from scada_core.core import Core

    from .device import BusDevice

_LOGGER = logging.getLogger(__name__)

_COMMANDS = FieldCommandRow.__table__  # state updates as Core statements: the ORM's bulk update only costs time
EXPIRY_CHECK_S = 0.5
RETRY_DELAY_S = 1.0


@dataclass(eq=False)
class BatchItem:
    """One meter's part of a batch: its command is staged, then saved with the whole batch, then queued."""

    batch_id: str
    entity_id: str
    kind: str
    job: CommandJob | None = None
    error: str | None = None
    staged: asyncio.Event = field(default_factory=asyncio.Event)
    committed: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def release(self, error: BaseException | None = None) -> None:
        """Let the staged command go to its bus, or fail its service call with ``error``."""
        if self.job is None or self.committed.done():
            return
        if error is None:
            self.committed.set_result(None)
        else:
            self.committed.set_exception(MeterCommandError(f"batch {self.batch_id} not saved: {error}"))


# Set by a batch run so the command its service call creates is counted in that batch.
current_batch: contextvars.ContextVar[BatchItem | None] = contextvars.ContextVar(
    "current_batch", default=None
)


@dataclass(eq=False)
class CommandJob:
    """A command in memory while it is open."""

    id: str
    device: BusDevice
    kind: str
    payload: dict[str, Any]
    deadline: float
    max_attempts: int
    batch_id: str | None = None
    attempts: int = 0
    state: str = CMD_QUEUED
    verify_first: bool = False
    running: bool = False
    future: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CommandManager:
    """Create, run, persist and resume commands; wake whoever waits on them."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.jobs: dict[str, CommandJob] = {}

    @property
    def _db(self) -> Any:
        if self.core.db is None:
            raise MeterCommandError("the command path needs the database")
        return self.core.db

    async def async_submit(self, device: BusDevice, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Persist a new command, queue it on the meter's bus and wait for its outcome."""
        now = self.core.clock.timestamp()
        bus = device.bus
        item = current_batch.get()
        job = CommandJob(
            id=uuid.uuid4().hex,
            device=device,
            kind=kind,
            payload=payload,
            deadline=now + bus.command_timeout,
            max_attempts=bus.command_attempts,
            batch_id=item.batch_id if item else None,
        )
        self.jobs[job.id] = job  # before the insert, so a concurrent resume never picks it up twice
        try:
            if item is not None and item.job is None:
                item.job = job  # the batch saves it with every other meter's command in one transaction
                item.staged.set()
                await item.committed
            else:
                await self._insert(job, now)
        except BaseException:
            self.jobs.pop(job.id, None)
            raise
        self._queue(job)
        return await asyncio.shield(job.future)

    async def _insert(self, job: CommandJob, now: float) -> None:
        async with self._db.write() as session:
            session.add(_command_row(job, now))

    def _queue(self, job: CommandJob) -> None:
        job.future.add_done_callback(_consume)
        self.jobs[job.id] = job
        job.device.bus.submit(job)
        self._fire(job)

    async def async_execute(self, job: CommandJob) -> None:
        """Run one attempt of ``job`` on its bus (called by the bus between reads)."""
        if job.state not in CMD_OPEN_STATES:
            return
        if self.core.clock.timestamp() > job.deadline:
            await self._finish(job, CMD_EXPIRED, error=self._expired_text(job))
            return
        job.attempts += 1
        job.running = True
        await self._store(job, CMD_SENT, sent=True)
        try:
            result = await job.device.async_run_command(job.kind, job.payload, job.verify_first)
        except BusOfflineError:
            job.attempts -= 1
            job.verify_first = True
            await self._store(job, CMD_RETRYING, error="gateway offline; waiting for it")
            raise
        except FieldError as err:
            job.verify_first = True
            if isinstance(err, ExceptionCodeError) and not err.transient:
                await self._finish(job, CMD_FAILED, error=f"{job.device.entity_id}: {err}")
            elif job.attempts >= job.max_attempts:
                await self._finish(
                    job,
                    CMD_FAILED,
                    error=f"{job.device.entity_id}: 通讯失败 / {err} (after {job.attempts} attempts)",
                )
            else:
                await self._store(job, CMD_RETRYING, error=str(err))
                asyncio.get_running_loop().call_later(RETRY_DELAY_S * job.attempts, self._requeue, job)
        except MeterCommandError as err:
            await self._finish(job, CMD_FAILED, error=str(err))
        except Exception as err:  # noqa: BLE001 - a bug in one command must not stop the bus
            _LOGGER.exception("Command %s on %s crashed", job.kind, job.device.entity_id)
            await self._finish(job, CMD_FAILED, error=f"internal error: {err}")
        else:
            await self._finish(job, CMD_CONFIRMED, result=result)
        finally:
            job.running = False

    def _requeue(self, job: CommandJob) -> None:
        if job.state in CMD_OPEN_STATES:
            job.device.bus.submit(job)

    def _expired_text(self, job: CommandJob) -> str:
        return (
            f"{job.device.entity_id}: 命令超时未确认（表计或通讯管理机离线） / "
            f"{job.kind} not confirmed before its deadline (meter or gateway offline)"
        )

    async def _store(
        self, job: CommandJob, state: str, *, sent: bool = False, error: str | None = None
    ) -> None:
        job.state = state
        now = self.core.clock.timestamp()
        values: dict[str, Any] = {"state": state, "attempts": job.attempts, "updated_ts": now, "error": error}
        if sent:
            values["sent_ts"] = now
        async with self._db.write() as session:
            await session.execute(
                update(_COMMANDS).where(_COMMANDS.c.id == job.id).values(**values)
            )
        self._fire(job)

    async def _finish(
        self, job: CommandJob, state: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        job.state = state
        now = self.core.clock.timestamp()
        async with self._db.write() as session:
            await session.execute(
                update(_COMMANDS)
                .where(_COMMANDS.c.id == job.id)
                .values(
                    state=state,
                    attempts=job.attempts,
                    updated_ts=now,
                    done_ts=now,
                    error=error,
                    result=json.dumps(result, ensure_ascii=False, default=str)
                    if result is not None
                    else None,
                )
            )
        self.jobs.pop(job.id, None)
        self._fire(job, error)
        if not job.future.done():
            if state == CMD_CONFIRMED:
                job.future.set_result(result or {})
            else:
                job.future.set_exception(MeterCommandError(error or state))
        if state != CMD_CONFIRMED:
            _LOGGER.warning("Command %s %s on %s: %s", job.id, job.kind, job.device.entity_id, error)

    def _fire(self, job: CommandJob, error: str | None = None) -> None:
        self.core.bus.async_fire(
            EVENT_COMMAND_UPDATE,
            {
                "command_id": job.id,
                "batch_id": job.batch_id,
                "entity_id": job.device.entity_id,
                "kind": job.kind,
                "state": job.state,
                "attempts": job.attempts,
                "error": error,
            },
        )

    async def async_run_expiry(self) -> None:
        """Expire open commands past their deadline that are not on the wire right now."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            now = self.core.clock.timestamp()
            for job in [j for j in self.jobs.values() if not j.running and now > j.deadline]:
                await self._finish(job, CMD_EXPIRED, error=self._expired_text(job))

    async def async_resume(self, devices: dict[str, BusDevice]) -> int:
        """Re-queue the commands a previous run left open; a 'sent' one is verified before any resend."""
        async with self._db.session() as session:
            rows = (
                await session.scalars(
                    select(FieldCommandRow).where(FieldCommandRow.state.in_(CMD_OPEN_STATES))
                )
            ).all()
        rows = [row for row in rows if row.id not in self.jobs]  # submitted by this run already
        for row in rows:
            device = devices.get(row.entity_id)
            job_payload = json.loads(row.payload)
            if device is None:
                async with self._db.write() as session:
                    await session.execute(
                        update(FieldCommandRow)
                        .where(FieldCommandRow.id == row.id)
                        .values(
                            state=CMD_FAILED,
                            error=f"{row.entity_id} is no longer configured",
                            done_ts=self.core.clock.timestamp(),
                        )
                    )
                continue
            job = CommandJob(
                id=row.id,
                device=device,
                kind=row.kind,
                payload=job_payload,
                deadline=row.deadline_ts,
                max_attempts=row.max_attempts,
                batch_id=row.batch_id,
                attempts=row.attempts,
                state=row.state,
                verify_first=row.state in (CMD_SENT, CMD_RETRYING),
            )
            _LOGGER.info("Resuming command %s %s on %s (%s)", job.id, job.kind, row.entity_id, row.state)
            self._queue(job)
        return len(rows)

    async def async_get(self, command_id: str) -> dict[str, Any] | None:
        """Return one command record as a dict."""
        async with self._db.session() as session:
            row = await session.get(FieldCommandRow, command_id)
        return None if row is None else command_as_dict(row)

    async def async_commit_batch(self, batch_id: str, service: str, items: list[BatchItem]) -> None:
        """Save the batch with every staged command and every early failure in one transaction.

        Each staged command is queued once this returns; if the save fails, its service call fails too.
        """
        now = self.core.clock.timestamp()
        try:
            async with self._db.write() as session:
                session.add(FieldBatchRow(id=batch_id, service=service, total=len(items), created_ts=now))
                for item in items:
                    if item.job is not None:
                        session.add(_command_row(item.job, now))
                    elif item.error is not None:
                        session.add(_failure_row(item, now))
        except BaseException as err:
            for item in items:
                item.release(err)
            raise
        for item in items:
            item.release()

    async def async_batch(self, batch_id: str) -> dict[str, Any] | None:
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
            "created_ts": batch.created_ts,
            "total": batch.total,
            "done": done,
            "failed": failed,
            "pending": batch.total - done - failed,
            "commands": [command_as_dict(r) for r in rows],
        }


def _consume(future: asyncio.Future[dict[str, Any]]) -> None:
    """Mark an outcome as seen: a resumed command may have nobody waiting for it."""
    if not future.cancelled():
        future.exception()


def _command_row(job: CommandJob, now: float) -> FieldCommandRow:
    """Return the row of a new command."""
    return FieldCommandRow(
        id=job.id,
        batch_id=job.batch_id,
        entity_id=job.device.entity_id,
        kind=job.kind,
        payload=json.dumps(job.payload, ensure_ascii=False, default=str),
        state=CMD_QUEUED,
        attempts=0,
        max_attempts=job.max_attempts,
        deadline_ts=job.deadline,
        created_ts=now,
        updated_ts=now,
    )


def _failure_row(item: BatchItem, now: float) -> FieldCommandRow:
    """Return the row of a batch item that failed before it became a command."""
    return FieldCommandRow(
        id=uuid.uuid4().hex,
        batch_id=item.batch_id,
        entity_id=item.entity_id,
        kind=item.kind,
        payload="{}",
        state=CMD_FAILED,
        attempts=0,
        max_attempts=0,
        deadline_ts=now,
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
