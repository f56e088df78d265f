"""The hub: every gateway and bus of the site, the command records, and their tasks."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scada_core.const import EVENT_CORE_STARTED

from .const import EXPIRY_CHECK_S
from .gateway import Gateway
from .store import CommandStore

if TYPE_CHECKING:
    from scada_core.core import Core, Event

    from .bus import Bus
    from .device import BusDevice

_LOGGER = logging.getLogger(__name__)


class ModbusHub:
    """Own gateways, buses and the command records; other integrations put their meters on its buses."""

    def __init__(self, core: Core, gateways: list[dict[str, Any]]) -> None:
        self.core = core
        self.store = CommandStore(core)
        self.gateways = [Gateway(self.store, conf) for conf in gateways]
        self.buses: dict[str, Bus] = {bus.name: bus for gw in self.gateways for bus in gw.buses}
        self.devices: dict[str, BusDevice] = {}
        self._started = False

    async def async_setup(self) -> None:
        """Add gateway and bus entities, connect every line, sweep once the core has started."""
        await self.core.async_add_entities([*self.gateways, *self.buses.values()])
        for bus in self.buses.values():
            self.core.async_create_task(bus.link.run(), f"modbus link {bus.name}")
        self.core.bus.async_listen_once(EVENT_CORE_STARTED, self._on_started)
        self.core.async_on_stop(self.async_stop)

    def bus(self, name: str) -> Bus | None:
        """Return the bus called ``name``."""
        return self.buses.get(name)

    async def async_add_devices(self, devices: list[BusDevice]) -> None:
        """Put meters on their buses and add their entities."""
        for device in devices:
            device.bus.add_device(device)
        await self.core.async_add_entities(list(devices))
        self.devices.update({d.entity_id: d for d in devices})

    async def _on_started(self, _event: Event) -> None:
        if self._started:
            return
        self._started = True
        for bus in self.buses.values():
            self.core.async_create_task(bus.run(), f"modbus sweep {bus.name}")
        self.core.async_create_task(self._run_expiry(), "modbus command expiry")
        if self.core.db is not None:
            resumed = await self._resume()
            if resumed:
                _LOGGER.info("Resumed %d open field commands", resumed)

    async def _run_expiry(self) -> None:
        """Expire every bus's overdue commands, even while its line is down."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            for bus in self.buses.values():
                await bus.expire()

    async def _resume(self) -> int:
        """Hand the commands a previous run left open to their buses; fail those of meters no longer here."""
        resumed = 0
        for row in await self.store.open_rows():
            device = self.devices.get(row.entity_id)
            if device is None:
                await self.store.fail(row.id, f"{row.entity_id} is no longer configured")
                resumed += 1
            elif device.bus.resume(device, row):
                resumed += 1
        return resumed

    def async_stop(self) -> None:
        """Close every line."""
        for bus in self.buses.values():
            bus.link.close()
