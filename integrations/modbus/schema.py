"""YAML schema of ``modbus:``: gateways (serial ports, serial servers, Modbus TCP) and their buses."""
from __future__ import annotations

import re
from typing import Any

import voluptuous as vol

from scada_core.validation import NON_EMPTY, ConfigContext

from .const import (
    CONF_BAUDRATE,
    CONF_BUSES,
    CONF_BYTESIZE,
    CONF_COMMAND_ATTEMPTS,
    CONF_COMMAND_TIMEOUT,
    CONF_ENERGY_INTERVAL,
    CONF_HOST,
    CONF_LABEL,
    CONF_MESSAGE_WAIT_MS,
    CONF_NAME,
    CONF_OFFLINE_AFTER,
    CONF_OFFLINE_RETRY_SWEEPS,
    CONF_PARITY,
    CONF_PORT,
    CONF_RECONNECT_MAX,
    CONF_RETRIES,
    CONF_STATUS_INTERVAL,
    CONF_STOPBITS,
    CONF_TIMEOUT,
    CONF_TYPE,
    DEFAULT_BAUDRATE,
    DEFAULT_COMMAND_ATTEMPTS,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_ENERGY_INTERVAL,
    DEFAULT_OFFLINE_AFTER,
    DEFAULT_OFFLINE_RETRY_SWEEPS,
    DEFAULT_RECONNECT_MAX,
    DEFAULT_RETRIES,
    DEFAULT_STATUS_INTERVAL,
    DEFAULT_TCP_PORT,
    DEFAULT_TIMEOUT,
    DOMAIN,
    TYPE_RTU_OVER_TCP,
    TYPE_SERIAL,
    TYPE_TCP,
)

SLUG = re.compile(r"^[a-z0-9_]+$")


def slug(value: Any) -> str:
    """Return ``value`` as an entity-id-safe name (lowercase a-z0-9_)."""
    text = re.sub(r"[^a-z0-9_]+", "_", str(value).strip().lower()).strip("_")
    if not text:
        raise vol.Invalid(f"{value!r} gives an empty name; use letters, digits or _")
    return text


INTERVAL = vol.All(vol.Coerce(float), vol.Range(min=0.05, max=7 * 86400))
TCP_PORT = vol.All(int, vol.Range(min=1, max=65535))

SCAN_FIELDS = {
    vol.Optional(CONF_STATUS_INTERVAL): INTERVAL,
    vol.Optional(CONF_ENERGY_INTERVAL): INTERVAL,
}

BUS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME): slug,
        vol.Optional(CONF_LABEL): NON_EMPTY,
        vol.Optional(CONF_PORT): TCP_PORT,
        vol.Optional(CONF_OFFLINE_AFTER): vol.All(int, vol.Range(min=1, max=100)),
        vol.Optional(CONF_OFFLINE_RETRY_SWEEPS): vol.All(int, vol.Range(min=1, max=1000)),
        **SCAN_FIELDS,
    }
)

GATEWAY_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME): slug,
        vol.Optional(CONF_LABEL): NON_EMPTY,
        vol.Required(CONF_TYPE): vol.In([TYPE_SERIAL, TYPE_RTU_OVER_TCP, TYPE_TCP]),
        vol.Optional(CONF_HOST): NON_EMPTY,
        vol.Optional(CONF_PORT): vol.Any(TCP_PORT, NON_EMPTY),
        vol.Optional(CONF_BAUDRATE, default=DEFAULT_BAUDRATE): vol.In(
            [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]
        ),
        vol.Optional(CONF_BYTESIZE, default=8): vol.In([7, 8]),
        vol.Optional(CONF_PARITY, default="N"): vol.All(vol.Upper, vol.In(["N", "E", "O"])),
        vol.Optional(CONF_STOPBITS, default=1): vol.In([1, 2]),
        vol.Optional(CONF_TIMEOUT, default=DEFAULT_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=0.01, max=60)
        ),
        vol.Optional(CONF_RETRIES, default=DEFAULT_RETRIES): vol.All(int, vol.Range(min=0, max=10)),
        vol.Optional(CONF_MESSAGE_WAIT_MS): vol.All(vol.Coerce(float), vol.Range(min=0, max=5000)),
        vol.Optional(CONF_RECONNECT_MAX, default=DEFAULT_RECONNECT_MAX): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=3600)
        ),
        vol.Optional(CONF_STATUS_INTERVAL, default=DEFAULT_STATUS_INTERVAL): INTERVAL,
        vol.Optional(CONF_ENERGY_INTERVAL, default=DEFAULT_ENERGY_INTERVAL): INTERVAL,
        vol.Optional(CONF_OFFLINE_AFTER, default=DEFAULT_OFFLINE_AFTER): vol.All(
            int, vol.Range(min=1, max=100)
        ),
        vol.Optional(CONF_OFFLINE_RETRY_SWEEPS, default=DEFAULT_OFFLINE_RETRY_SWEEPS): vol.All(
            int, vol.Range(min=1, max=1000)
        ),
        vol.Optional(CONF_COMMAND_TIMEOUT, default=DEFAULT_COMMAND_TIMEOUT): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=7 * 86400)
        ),
        vol.Optional(CONF_COMMAND_ATTEMPTS, default=DEFAULT_COMMAND_ATTEMPTS): vol.All(
            int, vol.Range(min=1, max=20)
        ),
        vol.Optional(CONF_BUSES): vol.All([BUS_SCHEMA], vol.Length(min=1)),
    }
)


def _check_gateway(conf: dict[str, Any]) -> dict[str, Any]:
    """Check the fields a gateway type needs and fill in its one default bus."""
    kind = conf[CONF_TYPE]
    if kind == TYPE_SERIAL:
        if not isinstance(conf.get(CONF_PORT), str):
            raise vol.Invalid(
                "a serial gateway needs port: the serial device, e.g. /dev/ttyUSB0", path=[CONF_PORT]
            )
        if len(conf.get(CONF_BUSES) or [None]) != 1:
            raise vol.Invalid("a serial port carries exactly one bus", path=[CONF_BUSES])
    else:
        if CONF_HOST not in conf:
            raise vol.Invalid(f"a {kind} gateway needs host:", path=[CONF_HOST])
        conf.setdefault(CONF_PORT, DEFAULT_TCP_PORT)
        if not isinstance(conf[CONF_PORT], int):
            raise vol.Invalid(f"port of a {kind} gateway is a TCP port number", path=[CONF_PORT])
    if not conf.get(CONF_BUSES):
        conf[CONF_BUSES] = [{CONF_NAME: conf[CONF_NAME]}]
    for bus in conf[CONF_BUSES]:
        for key in (
            CONF_STATUS_INTERVAL,
            CONF_ENERGY_INTERVAL,
            CONF_OFFLINE_AFTER,
            CONF_OFFLINE_RETRY_SWEEPS,
        ):
            bus.setdefault(key, conf[key])
        bus.setdefault(CONF_PORT, conf[CONF_PORT])
    return conf


def _unique_names(gateways: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen_gw: set[str] = set()
    seen_bus: set[str] = set()
    for index, gateway in enumerate(gateways):
        if gateway[CONF_NAME] in seen_gw:
            raise vol.Invalid(f"gateway name {gateway[CONF_NAME]!r} is used twice", path=[index, CONF_NAME])
        seen_gw.add(gateway[CONF_NAME])
        for bus_index, bus in enumerate(gateway[CONF_BUSES]):
            if bus[CONF_NAME] in seen_bus:
                raise vol.Invalid(
                    f"bus name {bus[CONF_NAME]!r} is used twice",
                    path=[index, CONF_BUSES, bus_index, CONF_NAME],
                )
            seen_bus.add(bus[CONF_NAME])
    return gateways


GATEWAY_ENTRY = vol.All(GATEWAY_SCHEMA, _check_gateway)

SECTION_SCHEMA = vol.All(
    lambda value: [] if value is None else value,
    [GATEWAY_ENTRY],
    _unique_names,
)


def meter_groups_schema(
    meter_fields: dict[Any, Any], group_fields: dict[Any, Any] | None = None, meter_check: Any = None
) -> Any:
    """Return the schema of a meter integration's section: a list of {bus, meters: [...]} groups."""
    meter = vol.Schema(
        {
            vol.Required(CONF_NAME): slug,
            vol.Required("address"): vol.All(int, vol.Range(min=1, max=247)),
            **SCAN_FIELDS,
            **meter_fields,
        }
    )
    group = vol.Schema(
        {
            vol.Required("bus"): slug,
            **SCAN_FIELDS,
            **(group_fields or {}),
            vol.Required("meters"): vol.All(
                [vol.All(meter, meter_check or (lambda m: m))], vol.Length(min=1)
            ),
        }
    )
    return vol.All(lambda value: [] if value is None else value, [group], _unique_meters)


def _unique_meters(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names: set[str] = set()
    addresses: set[tuple[str, int]] = set()
    for index, group in enumerate(groups):
        for meter_index, meter in enumerate(group["meters"]):
            path = [index, "meters", meter_index]
            if meter[CONF_NAME] in names:
                raise vol.Invalid(f"meter name {meter[CONF_NAME]!r} is used twice", path=[*path, CONF_NAME])
            if (group["bus"], meter["address"]) in addresses:
                raise vol.Invalid(
                    f"address {meter['address']} is used twice on bus {group['bus']!r}",
                    path=[*path, "address"],
                )
            names.add(meter[CONF_NAME])
            addresses.add((group["bus"], meter["address"]))
            for key in (CONF_STATUS_INTERVAL, CONF_ENERGY_INTERVAL):
                if key in group:
                    meter.setdefault(key, group[key])
    return groups


def declare_meters(
    context: ConfigContext,
    domain: str,
    groups: list[dict[str, Any]],
    services: dict[str, vol.Schema] | None = None,
) -> None:
    """Declare the meters of a meter integration's section (``services``: data schemas others may call)."""
    for index, group in enumerate(groups):
        for meter_index, meter in enumerate(group["meters"]):
            path = [domain, index, "meters", meter_index, CONF_NAME]
            context.declare_entity(f"{domain}.{meter[CONF_NAME]}", path, services)


def bus_types(context: ConfigContext) -> dict[str, str]:
    """Return the gateway type (serial, rtu_over_tcp, tcp) of every bus ``modbus:`` declares."""
    return {
        bus[CONF_NAME]: gateway[CONF_TYPE]
        for gateway in context.sections.get(DOMAIN) or []
        for bus in gateway[CONF_BUSES]
    }


def check_meter_buses(context: ConfigContext, domain: str, groups: list[dict[str, Any]]) -> None:
    """Refuse a meter group on a bus that ``modbus:`` does not declare."""
    buses = bus_types(context)
    for index, group in enumerate(groups):
        if group["bus"] not in buses:
            known = ", ".join(sorted(buses)) or "none"
            context.error([domain, index, "bus"], f"no bus {group['bus']!r} under modbus: (known: {known})")
