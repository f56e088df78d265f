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
        self._tasks: dict[str, list[asyncio.Task[Any]]] = {}  # each bus's link and sweep tasks
        self._started = False

    async def async_setup(self) -> None:
        """Add gateway and bus entities, connect every line, sweep once the core has started."""
        await self.core.async_add_entities([*self.gateways, *self.buses.values()])
        for bus in self.buses.values():
            self._start_link(bus)
        self.core.bus.async_listen_once(EVENT_CORE_STARTED, self._on_started)
        self.core.async_on_stop(self.async_stop)

    def _start_link(self, bus: Bus) -> None:
        self._tasks.setdefault(bus.name, []).append(
            self.core.async_create_task(bus.link.run(), f"modbus link {bus.name}"))

    def _start_sweep(self, bus: Bus) -> None:
        self._tasks.setdefault(bus.name, []).append(
            self.core.async_create_task(bus.run(), f"modbus sweep {bus.name}"))

    async def async_add_gateway(self, conf: dict[str, Any]) -> Gateway:
        """Add a gateway while running (a validated ``modbus:`` entry): connect its lines and sweep them."""
        gateway = Gateway(self.store, conf)
        await self.core.async_add_entities([gateway, *gateway.buses])
        self.gateways.append(gateway)
        for bus in gateway.buses:
            self.buses[bus.name] = bus
            self._start_link(bus)
            if self._started:
                self._start_sweep(bus)
        return gateway

    def gateway(self, name: str) -> Gateway:
        """Return the gateway called ``name`` (KeyError if none)."""
        for gateway in self.gateways:
            if gateway.name == name:
                return gateway
        raise KeyError(name)

    def refuse_removal_with_meters(self, name: str) -> None:
        """Raise ValueError if gateway ``name`` still carries meters."""
        gateway = self.gateway(name)
        if any(bus.devices for bus in gateway.buses):
            raise ValueError(f"gateway {name} still carries meters")

    async def async_remove_gateway(self, name: str) -> None:
        """Stop and forget a gateway that carries no meter any more."""
        self.refuse_removal_with_meters(name)
        gateway = self.gateway(name)
        for bus in gateway.buses:
            bus.link.close()
            for task in self._tasks.pop(bus.name, []):
                task.cancel()
            del self.buses[bus.name]
            self._forget(bus.entity_id)
        self.gateways.remove(gateway)
        self._forget(gateway.entity_id)

    def _forget(self, entity_id: str) -> None:
        self.core.entities.pop(entity_id, None)
        self.core.states.async_remove(entity_id)

    def remove_device(self, entity_id: str) -> None:
        """Take a meter off its bus and forget its entity (its open commands expire with the bus's check)."""
        device = self.devices.pop(entity_id)
        device.bus.devices.remove(device)
        self._forget(entity_id)

    def bus(self, name: str) -> Bus | None:
        """Return the bus called ``name``."""
        return self.buses.get(name)

    async def async_add_devices(self, devices: list[BusDevice]) -> None:
        """Put meters on their buses and add their entities."""
        for device in devices:
            device.bus.add_device(device)
        await self.core.async_add_entities(list(devices))
        self.devices.update({d.entity_id: d for d in devices})
        for bus in {d.bus.name: d.bus for d in devices}.values():
            bus.wake()  # a sweep already idling polls the new meters at once

    async def _on_started(self, _event: Event) -> None:
        if self._started:
            return
        self._started = True
        for bus in self.buses.values():
            self._start_sweep(bus)
        self.core.async_create_task(self._run_expiry(), "modbus command expiry")
        if self.core.db is not None:
            resumed = await self._resume()
            if resumed:
                _LOGGER.info("Resumed %d open field commands", resumed)

    async def _run_expiry(self) -> None:
        """Expire every bus's overdue commands, even while its line is down."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            for bus in list(self.buses.values()):  # gateways come and go while a bus awaits
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
