"""Modbus buses and gateways: serial RTU, RTU over TCP (serial servers) and Modbus TCP."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .api import BatchRunView, BatchView, CommandView
from .const import DATA_HUB, DATA_WIRING, DOMAIN
from .hub import ModbusHub
from .metrics import hub_source
from .schema import SECTION_SCHEMA
from .wiring import Wiring

if TYPE_CHECKING:
    from scada_core.core import Core

    from .bus import Bus

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = vol.Schema({DOMAIN: SECTION_SCHEMA}, extra=vol.ALLOW_EXTRA)


async def async_setup(core: Core, config: list[dict[str, Any]]) -> bool:
    """Create every gateway and bus, start connecting, and offer the command API."""
    hub = ModbusHub(core, config)
    core.data[DATA_HUB] = hub
    await hub.async_setup()
    core.metrics.register(hub_source(hub))
    wiring = core.data[DATA_WIRING] = Wiring(hub)
    await wiring.async_load()
    if core.http is not None:
        for view in (CommandView, BatchView, BatchRunView):
            core.http.register_view(view(core, hub))
    return True


def get_hub(core: Core) -> ModbusHub:
    """Return the hub other integrations put their meters on."""
    hub = core.data.get(DATA_HUB)
    if hub is None:
        raise RuntimeError("the modbus integration is not set up")
    return hub


def get_wiring(core: Core) -> Wiring:
    """Return the stored wiring meter integrations register their models with."""
    return core.data[DATA_WIRING]


def group_buses(core: Core, domain: str, groups: list[dict[str, Any]]) -> list[Bus] | None:
    """Return the bus of each meter group; log and return None if a group names an unknown bus.

    ``load_config`` refuses such a configuration (check_meter_buses); this guards a section set up otherwise.
    """
    hub = get_hub(core)
    buses: list[Bus] = []
    for index, group in enumerate(groups):
        bus = hub.bus(group["bus"])
        if bus is None:
            _LOGGER.error(
                "%s -> %d -> bus: no bus %r under modbus: (known: %s)",
                domain,
                index,
                group["bus"],
                ", ".join(sorted(hub.buses)) or "none",
            )
            return None
        buses.append(bus)
    return buses
