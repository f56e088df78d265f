"""Run simulated DTSY1352 serial servers inside the process (demo and benchmarks).

    dtsy1352_simulator:
      state_file: dtsy1352_sim.json        # relative to the config dir; saved before a write is answered
      speed: 1                             # time acceleration
      power_w: 2000                        # mean base load per meter (seeded spread 0.3-1.7x)
      daily_shape: true                    # office-day load curve
      servers:
        - {port: 5021, units: 1-36, mode: rtu_over_tcp, baud: 9600, turnaround_ms: 20}
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from integrations.acrel_dtsy1352.sim_server import MODES, MODE_RTU_OVER_TCP, MODE_SERIAL, LineTiming
from integrations.acrel_dtsy1352.simulator import Simulator, parse_units

if TYPE_CHECKING:
    from scada_core.core import Core
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

DOMAIN = "dtsy1352_simulator"


def _units(value: Any) -> list[int]:
    try:
        units = parse_units(str(value) if not isinstance(value, list) else value)
    except (TypeError, ValueError) as err:
        raise vol.Invalid(f"bad unit list {value!r}: {err}") from None
    if not units:
        raise vol.Invalid("a server needs at least one unit")
    return units


def _serial_needs_path(server: dict[str, Any]) -> dict[str, Any]:
    if server["mode"] == MODE_SERIAL and not server.get("serial_path"):
        raise vol.Invalid("serial mode needs serial_path")
    if server["mode"] != MODE_SERIAL and "port" not in server:
        raise vol.Invalid("a TCP server needs a port")
    return server


SERVER_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("name"): str,
            vol.Optional("host", default="127.0.0.1"): str,
            vol.Optional("port"): vol.All(int, vol.Range(min=0, max=65535)),
            vol.Optional("serial_path"): str,
            vol.Required("units"): _units,
            vol.Optional("mode", default=MODE_RTU_OVER_TCP): vol.In(MODES),
            vol.Optional("baud"): vol.All(int, vol.Range(min=300, max=115200)),
            vol.Optional("parity", default="N"): vol.In(("N", "E", "O")),
            vol.Optional("stopbits", default=1): vol.In((1, 2)),
            vol.Optional("turnaround_ms", default=20.0): vol.All(
                vol.Coerce(float), vol.Range(min=0, max=5000)
            ),
        }
    ),
    _serial_needs_path,
)

CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Schema(
            {
                vol.Required("servers"): vol.All([SERVER_SCHEMA], vol.Length(min=1)),
                vol.Optional("state_file"): str,
                vol.Optional("speed", default=1.0): vol.All(
                    vol.Coerce(float), vol.Range(min=0.001, max=100000)
                ),
                vol.Optional("seed", default=1): int,
                vol.Optional("power_w", default=2000.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
                vol.Optional("daily_shape", default=True): bool,
            }
        )
    },
    extra=vol.ALLOW_EXTRA,
)


def declare_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Declare the port of every TCP server."""
    for index, server in enumerate(config["servers"]):
        if server["mode"] != MODE_SERIAL:
            context.listen(server["host"], server["port"], [DOMAIN, "servers", index, "port"])


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Refuse a state file whose folder does not exist (it is written at stop)."""
    if config.get("state_file"):
        context.require_folder_of([DOMAIN, "state_file"], config["state_file"])


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Start every configured server; stop them (saving state) when the core stops."""
    state_file = core.config.config_dir / config["state_file"] if config.get("state_file") else None
    sim = Simulator(seed=config["seed"], speed=config["speed"], state_file=state_file,
                    time_zone=core.config.time_zone, base_power_w=config["power_w"],
                    meter_defaults={"daily_shape": config["daily_shape"]})
    core.data[DOMAIN] = sim
    core.async_on_stop(sim.async_stop)
    for server in config["servers"]:
        timing = None
        if server.get("baud"):
            timing = LineTiming(
                server["baud"], server["parity"], server["stopbits"], server["turnaround_ms"] / 1000
            )
        await sim.async_add_server(
            server["units"], port=server.get("port", 0), host=server["host"], mode=server["mode"],
            serial_path=server.get("serial_path"), timing=timing, name=server.get("name"),
        )
    _LOGGER.info("DTSY1352 simulator: %d servers, %d meters", len(sim.servers),
                 sum(len(s.meters) for s in sim.servers))
    return True
