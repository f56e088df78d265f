"""A gateway: a serial port, a serial server (串口服务器) or a communication manager (通讯管理机)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scada_core.entity import Entity

from .bus import Bus
from .const import CONF_BUSES, CONF_HOST, CONF_LABEL, CONF_NAME, CONF_PORT, CONF_TYPE, DOMAIN

if TYPE_CHECKING:
    from .store import CommandStore


class Gateway(Entity):
    """Group the buses reached through one device; online while any of its lines is up."""

    def __init__(self, store: CommandStore, conf: dict[str, Any]) -> None:
        super().__init__()
        self._attr_name = conf[CONF_NAME]
        self.entity_id = f"{DOMAIN}.gateway_{self.name}"
        self._describe(conf)
        self.buses = [Bus(store, self, bus_conf, _link_conf(conf, bus_conf)) for bus_conf in conf[CONF_BUSES]]

    def _describe(self, conf: dict[str, Any]) -> None:
        self.conf = conf  # the validated entry, as the wiring export writes it back
        self.kind: str = conf[CONF_TYPE]
        self.label: str = conf.get(CONF_LABEL) or self.name
        self.address = conf.get(CONF_HOST) or conf[CONF_PORT]

    async def async_move(self, conf: dict[str, Any]) -> None:
        """Take a new entry of the same buses (address, mode, speed, label): each line reconnects, meters stay."""
        self._describe(conf)
        for bus, bus_conf in zip(self.buses, conf[CONF_BUSES], strict=True):
            bus.relabel(bus_conf)
            await bus.link.async_move(_link_conf(conf, bus_conf))
        self.async_write_state()

    @property
    def online(self) -> bool:
        """Tell whether any line of this gateway is connected."""
        return any(bus.link.connected for bus in self.buses)

    @property
    def name(self) -> str:
        """Return the configured name."""
        return str(self._attr_name)

    @property
    def state(self) -> str:
        """Return 'online' or 'offline'."""
        return "online" if self.online else "offline"

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the summed counters of its buses."""
        totals: dict[str, int] = {}
        for bus in self.buses:
            for key, value in bus.link.stats.as_dict().items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
        sweeps = [b.last_sweep for b in self.buses if b.last_sweep is not None]
        durations = [b.sweep_duration for b in self.buses if b.sweep_duration is not None]
        return {
            "online": self.online,
            "label": self.label,
            "type": self.kind,
            "address": self.address,
            "buses": [b.name for b in self.buses],
            "meters": sum(len(b.devices) for b in self.buses),
            "meters_online": sum(1 for b in self.buses for d in b.devices if d.online),
            "last_sweep": max(sweeps) if sweeps else None,
            "sweep_duration": max(durations) if durations else None,
            **totals,
        }


def _link_conf(conf: dict[str, Any], bus_conf: dict[str, Any]) -> dict[str, Any]:
    """Return a line's connection settings: its gateway's, on the bus's own port."""
    return {**conf, CONF_PORT: bus_conf[CONF_PORT]}
