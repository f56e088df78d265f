"""A bus: one line, its meters, and the sweep scheduler that polls them and slips commands in between."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from scada_core.entity import Entity

from .connection import ModbusLink
from .const import (
    CONF_COMMAND_ATTEMPTS,
    CONF_COMMAND_TIMEOUT,
    CONF_ENERGY_INTERVAL,
    CONF_NAME,
    CONF_OFFLINE_AFTER,
    CONF_OFFLINE_RETRY_SWEEPS,
    CONF_STATUS_INTERVAL,
    DOMAIN,
)
from .errors import BusOfflineError, FieldError

if TYPE_CHECKING:
    from .commands import CommandJob
    from .device import BusDevice
    from .gateway import Gateway
    from .hub import ModbusHub

_LOGGER = logging.getLogger(__name__)


class Bus(Entity):
    """One RS485 line (or Modbus TCP link): one request in flight, meters swept in turn."""

    def __init__(
        self, hub: ModbusHub, gateway: Gateway, conf: dict[str, Any], link_conf: dict[str, Any]
    ) -> None:
        super().__init__()
        self.hub = hub
        self.gateway = gateway
        self._attr_name = conf[CONF_NAME]
        self.entity_id = f"{DOMAIN}.bus_{self.name}"
        self.status_interval: float = conf[CONF_STATUS_INTERVAL]
        self.energy_interval: float = conf[CONF_ENERGY_INTERVAL]
        self.offline_after: int = conf[CONF_OFFLINE_AFTER]
        self.offline_retry_sweeps: int = conf[CONF_OFFLINE_RETRY_SWEEPS]
        self.command_timeout: float = link_conf[CONF_COMMAND_TIMEOUT]
        self.command_attempts: int = link_conf[CONF_COMMAND_ATTEMPTS]
        self.link = ModbusLink(self.name, link_conf, self._link_changed)
        self.devices: list[BusDevice] = []
        self.commands: deque[CommandJob] = deque()
        self._wake = asyncio.Event()
        self.sweeps = 0
        self.last_sweep: float | None = None
        self.sweep_duration: float | None = None

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
            "gateway": self.gateway.name,
            "meters": len(self.devices),
            "meters_online": online,
            "sweeps": self.sweeps,
            "last_sweep": self.last_sweep,
            "sweep_duration": self.sweep_duration,
            "queued_commands": len(self.commands),
            "message_wait_ms": round(self.link.message_wait * 1000, 3),
            "reconnect_delay": self.link.backoff,
            **self.link.stats.as_dict(),
        }

    def add_device(self, device: BusDevice) -> None:
        """Put a meter on this bus."""
        if any(d.address == device.address for d in self.devices):
            raise ValueError(f"bus {self.name}: address {device.address} is used twice")
        self.devices.append(device)

    def submit(self, job: CommandJob) -> None:
        """Queue a command; it goes out before the next status read."""
        self.commands.append(job)
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
            polled = await self._sweep(started)
            if polled:
                self.sweeps += 1
                self.sweep_duration = round(time.monotonic() - started, 4)
                self.last_sweep = self.core.clock.timestamp() if self.core else None
                self.async_write_state()
                self.gateway.async_write_state()
            await self._idle()

    async def _sweep(self, started: float) -> int:
        polled = 0
        for device in list(self.devices):
            if self.commands:
                await self._run_commands()
            if not self.link.connected:
                break
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
        await self._run_commands()
        return polled

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
            if self.commands:
                await self._run_commands()
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return

    async def _run_commands(self) -> None:
        while self.commands and self.link.connected:
            job = self.commands.popleft()
            try:
                await self.hub.commands.async_execute(job)
            except BusOfflineError:
                self.commands.appendleft(job)
                return
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable; keep sweeping
                _LOGGER.exception("Command %s on %s could not be run", job.kind, job.device.entity_id)
