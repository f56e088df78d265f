"""Acrel DTSY1352 three-phase prepaid meters on the buses of ``modbus:``."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from integrations.modbus import get_hub, get_wiring, group_buses
from integrations.modbus.const import TYPE_TCP
from integrations.modbus.schema import bus_types, check_meter_buses, declare_meters, meter_groups_schema
from integrations.modbus.profile import get_profile

from .cipher import CIPHER_ACREL_TEA, CIPHER_NONE, CIPHERS, EncipherHook, make_cipher
from .const import CONF_CIPHER, CONF_KEY, DOMAIN, PROFILE, SERVICE_PUSH_SETTINGS, SERVICE_PUSH_TARIFF
from .entity import Dtsy1352Meter
from .pdu import AcrelCommandResponse
from .services import SETTINGS_SCHEMA, TARIFF_SCHEMA, async_register_services

if TYPE_CHECKING:
    from integrations.modbus.bus import Bus
    from scada_core.core import Core
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)


def _meter(conf: dict[str, Any]) -> dict[str, Any]:
    """Check that a cipher gets a key it can use (a key alone means the meter's own cipher)."""
    if CONF_KEY in conf and CONF_CIPHER not in conf:
        conf[CONF_CIPHER] = CIPHER_ACREL_TEA
    cipher = conf.setdefault(CONF_CIPHER, CIPHER_NONE)
    try:
        make_cipher(cipher, conf.get(CONF_KEY))
    except ValueError as err:
        raise vol.Invalid(f"cipher {cipher}: {err}", path=[CONF_KEY]) from None
    return conf


CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: meter_groups_schema(
            {vol.Optional(CONF_KEY): vol.Coerce(str), vol.Optional(CONF_CIPHER): vol.In(CIPHERS)},
            meter_check=_meter,
        )
    },
    extra=vol.ALLOW_EXTRA,
)


# What a meter takes from others (billing pushes its tariff and alarm levels): checked at configuration time.
ACCEPTS = {SERVICE_PUSH_TARIFF: vol.Schema(TARIFF_SCHEMA), SERVICE_PUSH_SETTINGS: vol.Schema(SETTINGS_SCHEMA)}


def declare_config(context: ConfigContext, config: list[dict[str, Any]]) -> None:
    """Declare every meter, with the tariff and settings it accepts."""
    declare_meters(context, DOMAIN, config, ACCEPTS)


def validate_config(context: ConfigContext, config: list[dict[str, Any]]) -> None:
    """Refuse a meter group on a bus modbus: does not declare, and a frame cipher on a Modbus TCP bus."""
    check_meter_buses(context, DOMAIN, config)
    types = bus_types(context)
    for index, group in enumerate(config):
        if types.get(group["bus"]) != TYPE_TCP:
            continue
        for meter_index, meter_conf in enumerate(group["meters"]):
            if meter_conf[CONF_CIPHER] != CIPHER_NONE:
                context.error(
                    [DOMAIN, index, "meters", meter_index, CONF_CIPHER],
                    f"cipher {meter_conf[CONF_CIPHER]} needs an RTU line (a serial or rtu_over_tcp gateway): "
                    f"bus {group['bus']!r} is Modbus TCP, whose gateway rebuilds every frame and cannot "
                    "carry one enciphered whole (address and CRC included)",
                )


async def async_setup(core: Core, config: list[dict[str, Any]]) -> bool:
    """Create the meters on their buses and register the services."""
    buses = group_buses(core, DOMAIN, config)
    if buses is None:
        return False
    profile = get_profile(PROFILE)
    meters: list[Dtsy1352Meter] = []
    hooks: dict[str, EncipherHook] = {}
    for group, bus in zip(config, buses, strict=True):
        _prepare_bus(bus, hooks)
        for meter_conf in group["meters"]:
            if meter_conf[CONF_CIPHER] != CIPHER_NONE:
                hooks[bus.name].set(
                    meter_conf["address"], make_cipher(meter_conf[CONF_CIPHER], meter_conf.get(CONF_KEY))
                )
            meters.append(Dtsy1352Meter(bus, meter_conf, profile))
    await get_hub(core).async_add_devices(meters)
    async_register_services(core)

    def create(bus: Bus, conf: dict[str, Any]) -> Dtsy1352Meter:
        """Create an imported meter (no frame cipher: a key is YAML's alone)."""
        _prepare_bus(bus, hooks)
        return Dtsy1352Meter(bus, {**conf, CONF_CIPHER: CIPHER_NONE}, profile)

    await get_wiring(core).async_register_model(PROFILE, DOMAIN, create)
    return True


def _prepare_bus(bus: Bus, hooks: dict[str, EncipherHook]) -> None:
    """Teach the bus Acrel's FC 0x20 reply and give it the frame cipher hook (once per bus)."""
    if bus.name in hooks:
        return
    bus.link.register_pdu(AcrelCommandResponse)
    hooks[bus.name] = EncipherHook()
    bus.link.packet_hooks.append(hooks[bus.name])
