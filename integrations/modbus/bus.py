"""A bus: one line, its meters, the sweep scheduler that polls them, and the commands it attempts between."""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from scada_core.entity import Entity

from .batch import current_batch
from .connection import ModbusLink
from .const import (
    CMD_CONFIRMED,
    CMD_EXPIRED,
    CMD_FAILED,
    CMD_OPEN_STATES,
    CMD_RETRYING,
    CMD_SENT,
    CONF_COMMAND_ATTEMPTS,
    CONF_COMMAND_TIMEOUT,
    CONF_ENERGY_INTERVAL,
    CONF_LABEL,
    CONF_NAME,
    CONF_OFFLINE_AFTER,
    CONF_OFFLINE_RETRY_SWEEPS,
    CONF_STATUS_INTERVAL,
    DOMAIN,
    EVENT_COMMAND_UPDATE,
    RETRY_DELAY_S,
)
from .errors import BusOfflineError, ExceptionCodeError, FieldError, MeterCommandError
from .job import CommandJob

if TYPE_CHECKING:
    from .device import BusDevice
    from .gateway import Gateway
    from .models import FieldCommandRow
    from .store import CommandStore

_LOGGER = logging.getLogger(__name__)


class Bus(Entity):
    """One RS485 line (or Modbus TCP link): one request in flight, meters swept in turn, commands between."""

    def __init__(
        self, store: CommandStore, gateway: Gateway, conf: dict[str, Any], link_conf: dict[str, Any]
    ) -> None:
        super().__init__()
        self.store = store
        self.gateway = gateway
        self._attr_name = conf[CONF_NAME]
        self.entity_id = f"{DOMAIN}.bus_{self.name}"
        self.relabel(conf)
        self.status_interval: float = conf[CONF_STATUS_INTERVAL]
        self.energy_interval: float = conf[CONF_ENERGY_INTERVAL]
        self.offline_after: int = conf[CONF_OFFLINE_AFTER]
        self.offline_retry_sweeps: int = conf[CONF_OFFLINE_RETRY_SWEEPS]
        self.command_timeout: float = link_conf[CONF_COMMAND_TIMEOUT]
        self.command_attempts: int = link_conf[CONF_COMMAND_ATTEMPTS]
        self.link = ModbusLink(self.name, link_conf, self._link_changed)
        self.devices: list[BusDevice] = []
        self.jobs: dict[str, CommandJob] = {}  # every open command of this line, queued or waiting to retry
        self.queue: deque[CommandJob] = deque()
        self._wake = asyncio.Event()
        self.sweeps = 0
        self.last_sweep: float | None = None
        self.sweep_duration: float | None = None
        self.sweep_wire_time: float | None = None  # the least time the last sweep's exchanges take on the line
        self.finished_commands: Counter[str] = Counter()  # commands closed since start, by outcome

    def relabel(self, conf: dict[str, Any]) -> None:
        """Take how people call it: its own label, else its gateway's when it is the gateway's only line."""
        self.label: str = conf.get(CONF_LABEL) or (self.gateway.label if self.name == self.gateway.name else self.name)

    @property
    def name(self) -> str:
        """Return the configured name."""
        return str(self._attr_name)

    @property
    def state(self) -> str:
        """Return 'online' or 'offline'."""
        return "online" if self.link.connected else "offline"

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the line counters and sweep figures."""
        online = sum(1 for d in self.devices if d.online)
        return {
            "online": self.link.connected,
            "label": self.label,
            "gateway": self.gateway.name,
            "meters": len(self.devices),
            "meters_online": online,
            "sweeps": self.sweeps,
            "last_sweep": self.last_sweep,
            "sweep_duration": self.sweep_duration,
            "queued_commands": len(self.queue),
            "message_wait_ms": round(self.link.message_wait * 1000, 3),
            "reconnect_delay": self.link.backoff,
            **self.link.stats.as_dict(),
        }

    def add_device(self, device: BusDevice) -> None:
        """Put a meter on this bus."""
        if any(d.address == device.address for d in self.devices):
            raise ValueError(f"bus {self.name}: address {device.address} is used twice")
        self.devices.append(device)

    def wake(self) -> None:
        """End the idle wait: a meter was added."""
        self._wake.set()

    async def submit(self, device: BusDevice, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Save a new command on ``device`` (a batch's with the batch), queue it and wait for its outcome."""
        item = current_batch.get()
        job = CommandJob(
            id=uuid.uuid4().hex,
            device=device,
            kind=kind,
            payload=payload,
            deadline=self.store.core.clock.timestamp() + self.command_timeout,
            max_attempts=self.command_attempts,
            batch_id=item.batch_id if item else None,
        )
        self.jobs[job.id] = job  # before the insert, so a concurrent resume never picks it up twice
        try:
            if item is not None and item.job is None:
                item.job = job
                item.staged.set()
                await item.committed
            else:
                await self.store.insert(job)
        except BaseException:
            self.jobs.pop(job.id, None)
            raise
        self._open(job)
        return await asyncio.shield(job.future)

    def resume(self, device: BusDevice, row: FieldCommandRow) -> bool:
        """Queue a command a previous run left open (unless this run has it); a 'sent' one is read first."""
        if row.id in self.jobs:
            return False
        job = CommandJob(
            id=row.id,
            device=device,
            kind=row.kind,
            payload=json.loads(row.payload),
            deadline=row.deadline_ts,
            max_attempts=row.max_attempts,
            batch_id=row.batch_id,
            attempts=row.attempts,
            state=row.state,
            verify_first=row.state in (CMD_SENT, CMD_RETRYING),
        )
        _LOGGER.info("Resuming command %s %s on %s (%s)", job.id, job.kind, row.entity_id, row.state)
        self._open(job)
        return True

    def _open(self, job: CommandJob) -> None:
        job.future.add_done_callback(_consume)
        self.jobs[job.id] = job
        self._enqueue(job)
        self._fire(job)

    def _enqueue(self, job: CommandJob) -> None:
        """Queue an attempt; it goes out before the next status read."""
        if job.state not in CMD_OPEN_STATES:
            return
        self.queue.append(job)
        self._wake.set()
        if self.core is not None:
            self.async_write_state()

    def _link_changed(self) -> None:
        if self.core is None:
            return
        self.async_write_state()
        self.gateway.async_write_state()
        for device in self.devices:
            device.async_write_state()

    async def run(self) -> None:
        """Sweep forever: wait for the line, poll what is due, run commands in between."""
        while True:
            await self.link.wait_connected()
            started = time.monotonic()
            stats = self.link.stats
            requests, nbytes = stats.requests, stats.bytes_tx + stats.bytes_rx
            polled = await self._sweep(started)
            if polled:
                self.sweeps += 1
                self.sweep_duration = round(time.monotonic() - started, 4)
                self.sweep_wire_time = self.link.wire_time(
                    stats.requests - requests, stats.bytes_tx + stats.bytes_rx - nbytes)
                self.last_sweep = self.core.clock.timestamp() if self.core else None
                self.async_write_state()
                self.gateway.async_write_state()
            await self._idle()

    async def _sweep(self, started: float) -> int:
        polled = 0
        for device in list(self.devices):
            if self.queue:
                await self._run_commands()
            if not self.link.connected:
                break
            if device not in self.devices:  # removed in the UI while this sweep ran
                continue
            if device.next_status > started and device.next_energy > started:
                continue
            device.next_status = started + device.status_interval
            if device.in_slow_lane(self.offline_retry_sweeps):
                device.next_energy = max(device.next_energy, device.next_status)
                continue
            energy = device.next_energy <= started
            if energy:
                device.next_energy = started + device.energy_interval
            polled += 1
            try:
                await device.async_poll(energy, retries=0 if device.failed_offline else None)
            except BusOfflineError:
                break
            except FieldError as err:
                if energy:
                    device.next_energy = device.next_status
                device.record_failure(err, self.offline_after)
            except Exception as err:  # noqa: BLE001 - one meter's decoding bug must not stop the bus
                _LOGGER.exception("Polling %s failed", device.entity_id)
                device.record_failure(FieldError(f"internal error: {err}"), self.offline_after)
            if device not in self.devices:
                self._settle_removed(device)
        await self._run_commands()
        return polled

    def _settle_removed(self, device: BusDevice) -> None:
        """Undo the state a poll wrote after its meter was removed (or moved: its new entity's state stands)."""
        assert self.core is not None
        current = self.core.entities.get(device.entity_id)
        if current is None:
            self.core.states.async_remove(device.entity_id)
        elif current is not device:
            current.async_write_state()

    async def _idle(self) -> None:
        """Serve commands until the next meter is due (or the line drops)."""
        while self.link.connected:
            due = min(
                (min(d.next_status, d.next_energy) for d in self.devices), default=time.monotonic() + 60
            )
            remaining = due - time.monotonic()
            if remaining <= 0:
                return
            self._wake.clear()
            if self.queue:
                await self._run_commands()
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return

    async def _run_commands(self) -> None:
        while self.queue and self.link.connected:
            job = self.queue.popleft()
            try:
                await self._attempt(job)
            except BusOfflineError:
                self.queue.appendleft(job)
                return
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable; keep sweeping
                _LOGGER.exception("Command %s on %s could not be run", job.kind, job.device.entity_id)

    async def _attempt(self, job: CommandJob) -> None:
        """Run one attempt of ``job``: sent, then confirmed, failed, or retried after a pause."""
        if job.state not in CMD_OPEN_STATES:
            return
        if self.store.core.clock.timestamp() > job.deadline:
            await self._finish(job, CMD_EXPIRED, error=job.expired_text)
            return
        job.attempts += 1
        job.running = True
        await self._mark(job, CMD_SENT, sent=True)
        try:
            result = await job.device.async_run_command(job.kind, job.payload, job.verify_first)
        except BusOfflineError:
            job.attempts -= 1
            job.verify_first = True
            await self._mark(job, CMD_RETRYING, error="gateway offline; waiting for it")
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
                await self._mark(job, CMD_RETRYING, error=str(err))
                asyncio.get_running_loop().call_later(RETRY_DELAY_S * job.attempts, self._enqueue, job)
        except MeterCommandError as err:
            await self._finish(job, CMD_FAILED, error=str(err))
        except Exception as err:  # noqa: BLE001 - a bug in one command must not stop the bus
            _LOGGER.exception("Command %s on %s crashed", job.kind, job.device.entity_id)
            await self._finish(job, CMD_FAILED, error=f"internal error: {err}")
        else:
            await self._finish(job, CMD_CONFIRMED, result=result)
        finally:
            job.running = False

    async def expire(self) -> None:
        """Expire open commands past their deadline that are not on the wire right now."""
        now = self.store.core.clock.timestamp()
        for job in [
            j for j in self.jobs.values() if j.state in CMD_OPEN_STATES and not j.running and now > j.deadline
        ]:
            await self._finish(job, CMD_EXPIRED, error=job.expired_text)

    async def _mark(
        self, job: CommandJob, state: str, *, sent: bool = False, error: str | None = None
    ) -> None:
        job.state = state
        await self.store.mark(job, sent=sent, error=error)
        self._fire(job)

    async def _finish(
        self, job: CommandJob, state: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Close ``job``: the bus goes on at once; the outcome is saved, then announced and handed to the caller.

        A crash before the save leaves the row 'sent': the next run reads the meter first, as for any attempt.
        """
        job.state = state
        self.finished_commands[state] += 1
        self.store.core.async_create_task(
            self._record_outcome(job, state, result, error), f"command {job.id} outcome"
        )

    async def _record_outcome(
        self, job: CommandJob, state: str, result: dict[str, Any] | None, error: str | None
    ) -> None:
        try:
            await self.store.finish(job, result=result, error=error)
        except Exception:  # noqa: BLE001 - the row stays 'sent': the next run verifies it on the meter
            _LOGGER.exception("Could not save the outcome of command %s on %s", job.id, job.device.entity_id)
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
        self.store.core.bus.async_fire(EVENT_COMMAND_UPDATE, job.event_data(error))


def _consume(future: asyncio.Future[dict[str, Any]]) -> None:
    """Mark an outcome as seen: a resumed command may have nobody waiting for it."""
    if not future.cancelled():
        future.exception()
