"""Wiring created by import or the UI: gateways and meters kept in modbus's tables, added and removed live.

YAML wins (Home Assistant's rule): a stored gateway, bus or meter whose name YAML declares is refused at start with
the reason logged, and YAML-declared wiring is never written here.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from sqlalchemy import delete, select

from .const import CONF_BAUDRATE, CONF_HOST, CONF_LABEL, CONF_NAME, CONF_PORT, CONF_TYPE, TYPE_SERIAL
from .models import WiringGatewayRow, WiringMeterRow
from .schema import GATEWAY_ENTRY

if TYPE_CHECKING:
    from .bus import Bus
    from .device import BusDevice
    from .hub import ModbusHub

_LOGGER = logging.getLogger(__name__)

GATEWAY_FIELDS = ("name", "label", "type", "host", "port", "baudrate")
METER_FIELDS = ("name", "model", "bus", "address", "building", "category", "tariff")


@dataclass(frozen=True)
class MeterModel:
    """A meter model an integration can create on a bus: its entity domain and its factory."""

    domain: str
    create: Callable[[Bus, dict[str, Any]], BusDevice]


def gateway_conf(row: dict[str, Any]) -> dict[str, Any]:
    """Return the validated ``modbus:`` entry of a stored gateway row (raises vol.Invalid)."""
    port: Any = row["port"]
    if row["type"] != TYPE_SERIAL and str(port).isdigit():
        port = int(port)
    conf = {CONF_NAME: row["name"], CONF_TYPE: row["type"], CONF_PORT: port, CONF_BAUDRATE: row["baudrate"]}
    if row.get("label"):
        conf[CONF_LABEL] = row["label"]
    if row.get("host"):
        conf[CONF_HOST] = row["host"]
    return dict(GATEWAY_ENTRY(conf))


class Wiring:
    """The stored wiring: what it holds, what YAML holds, and the live hub both are put on."""

    def __init__(self, hub: ModbusHub) -> None:
        self.hub = hub
        self.core = hub.core
        self.models: dict[str, MeterModel] = {}
        self.gateways: dict[str, dict[str, Any]] = {}  # stored rows, by gateway name
        self.meters: dict[str, dict[str, Any]] = {}  # stored rows in force, by entity id
        self._waiting: list[dict[str, Any]] = []  # stored meters whose model's integration is not set up yet
        self.yaml_gateways = {g.name for g in hub.gateways}
        self.lock = asyncio.Lock()  # one check-then-apply at a time

    def entity_id(self, row: dict[str, Any]) -> str:
        """Return the entity id a meter row gives (its model must be known)."""
        return f"{self.models[row['model']].domain}.{row['name']}"

    async def async_load(self) -> None:
        """Read the stored wiring and put its gateways on the hub (meters follow when their model registers)."""
        if self.core.db is None:
            return
        async with self.core.db.session() as session:
            gateway_rows = (await session.execute(select(WiringGatewayRow))).scalars()
            gateways = [_as_dict(r, GATEWAY_FIELDS) for r in gateway_rows]
            meter_rows = (await session.execute(select(WiringMeterRow))).scalars()
            self._waiting = [_as_dict(r, METER_FIELDS) for r in meter_rows]
        for row in gateways:
            if row["name"] in self.hub.buses or row["name"] in self.yaml_gateways:
                _LOGGER.error("Stored gateway %s refused: YAML declares a gateway or bus of that name", row["name"])
                continue
            try:
                await self.hub.async_add_gateway(gateway_conf(row))
            except vol.Invalid as err:
                _LOGGER.error("Stored gateway %s refused: %s", row["name"], err)
                continue
            self.gateways[row["name"]] = row

    async def async_register_model(
        self, model: str, domain: str, create: Callable[[Bus, dict[str, Any]], BusDevice]
    ) -> None:
        """Let an integration create meters of ``model``; create the stored ones of it now."""
        self.models[model] = MeterModel(domain, create)
        mine = [row for row in self._waiting if row["model"] == model]
        self._waiting = [row for row in self._waiting if row["model"] != model]
        await self._add_meters(
            mine, refuse=lambda row, why: _LOGGER.error("Stored meter %s refused: %s", row["name"], why))

    async def _add_meters(
        self, rows: list[dict[str, Any]], refuse: Callable[[dict[str, Any], str], None]
    ) -> None:
        devices = []
        for row in rows:
            bus = self.hub.bus(row["bus"])
            entity_id = self.entity_id(row)
            if entity_id in self.core.entities:
                refuse(row, f"{entity_id} is declared in YAML")
            elif bus is None:
                refuse(row, f"no bus {row['bus']}")
            elif any(d.address == row["address"] for d in bus.devices):
                refuse(row, f"address {row['address']} is taken on bus {bus.name}")
            else:
                conf = {"name": row["name"], "address": row["address"]}
                devices.append(self.models[row["model"]].create(bus, conf))
                self.meters[entity_id] = row
        await self.hub.async_add_devices(devices)

    def in_force(self, entity_id: str) -> bool:
        """Tell whether a meter was created from the stored wiring (and so is editable in the UI)."""
        return entity_id in self.meters

    async def async_apply(self, gateways: list[dict[str, Any]], meters: list[dict[str, Any]],
                          changed: list[dict[str, Any]], moved_gateways: list[dict[str, Any]]) -> None:
        """Store checked rows and put them live (gateways connect, moved ones reconnect with their meters on,
        new and moved meters poll at once)."""
        now = self.core.clock.timestamp()
        confs = [gateway_conf(row) for row in gateways]
        moved_confs = [gateway_conf(row) for row in moved_gateways]
        assert self.core.db is not None
        async with self.core.db.write() as session:
            for row in moved_gateways:
                current = await session.get(WiringGatewayRow, row["name"])
                if current is not None:
                    for key in GATEWAY_FIELDS:
                        setattr(current, key, row[key])
            for row in changed:  # in the sheet's order, each flushed: a later row may take an address one freed
                current = await session.get(WiringMeterRow, row["name"])
                if current is not None:
                    for key in METER_FIELDS:
                        setattr(current, key, row[key])
                    await session.flush()
            session.add_all(WiringGatewayRow(**{k: row.get(k) for k in GATEWAY_FIELDS}, created_ts=now)
                            for row in gateways)
            session.add_all(WiringMeterRow(**{k: row.get(k) for k in METER_FIELDS}, created_ts=now)
                            for row in meters)
        for row, conf in zip(gateways, confs, strict=True):
            await self.hub.async_add_gateway(conf)
            self.gateways[row["name"]] = row
        for row, conf in zip(moved_gateways, moved_confs, strict=True):
            await self.hub.gateway(row["name"]).async_move(conf)
            self.gateways[row["name"]] = row
        moved = []
        for row in changed:
            entity_id = self.entity_id(row)
            old = self.meters.pop(entity_id)
            if (old["bus"], old["address"]) == (row["bus"], row["address"]):
                self.meters[entity_id] = row
            else:
                self.hub.remove_device(entity_id)
                moved.append(row)
        refused: list[str] = []
        await self._add_meters([*moved, *meters], refuse=lambda row, why: refused.append(why))
        if refused:  # the dry run checked them against the same state: only a concurrent change gets here
            _LOGGER.warning("Imported meters not started: %s", "; ".join(refused))

    async def async_remove_meter(self, entity_id: str) -> dict[str, Any]:
        """Delete a stored meter and take it off its bus; return its row."""
        row = self.meters.pop(entity_id)
        assert self.core.db is not None
        async with self.core.db.write() as session:
            await session.execute(delete(WiringMeterRow).where(WiringMeterRow.name == row["name"]))
        self.hub.remove_device(entity_id)
        return row

    async def async_remove_gateway(self, name: str) -> dict[str, Any]:
        """Delete a stored gateway that carries no meter; return its row (ValueError if it still carries one)."""
        row = self.gateways[name]
        self.hub.refuse_removal_with_meters(name)
        assert self.core.db is not None
        async with self.core.db.write() as session:
            await session.execute(delete(WiringGatewayRow).where(WiringGatewayRow.name == name))
        await self.hub.async_remove_gateway(name)
        del self.gateways[name]
        return row


def _as_dict(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: getattr(row, field) for field in fields}
