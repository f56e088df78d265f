"""Plain Modbus energy meters described by a YAML profile alone (e.g. Acrel ADL400)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from integrations.modbus import get_hub, group_buses
from integrations.modbus.profile import DeviceProfile, load_profile
from integrations.modbus.profile_meter import ProfileMeter
from integrations.modbus.schema import check_meter_buses, declare_meters, meter_groups_schema
from scada_core.exceptions import ConfigError

from .entity import DOMAIN, PlainMeter

if TYPE_CHECKING:
    from scada_core.core import Core
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

CONF_PROFILE = "profile"

CONFIG_SCHEMA = vol.Schema(
    {DOMAIN: meter_groups_schema({vol.Optional(CONF_PROFILE): str}, {vol.Required(CONF_PROFILE): str})},
    extra=vol.ALLOW_EXTRA,
)

SERVICE_TRIP = "trip"
SERVICE_CLOSE = "close"


def declare_config(context: ConfigContext, config: list[dict[str, Any]]) -> None:
    """Declare every meter."""
    declare_meters(context, DOMAIN, config)


def validate_config(context: ConfigContext, config: list[dict[str, Any]]) -> None:
    """Refuse a meter group on a bus modbus: does not declare, and a profile that does not load."""
    check_meter_buses(context, DOMAIN, config)
    profiles: dict[str, DeviceProfile] = {}
    failed: set[str] = set()  # each broken profile reported once
    for index, group in enumerate(config):
        for meter_index, meter in enumerate(group["meters"]):
            own = CONF_PROFILE in meter
            ref = meter[CONF_PROFILE] if own else group[CONF_PROFILE]
            if ref in failed:
                continue
            try:
                _profile(context.path, ref, profiles)
            except ConfigError as err:
                failed.add(ref)
                path = [DOMAIN, index, *(["meters", meter_index] if own else []), CONF_PROFILE]
                context.error(path, f"profile {ref} does not load: {'; '.join(err.errors)}")


def _profile(config_path: Callable[[str], Path], ref: str, cache: dict[str, DeviceProfile]) -> DeviceProfile:
    """Return a shipped profile by name or one from a path relative to the configuration directory."""
    if ref not in cache:
        path = Path(ref)
        if path.suffix in (".yaml", ".yml") and not path.is_absolute():
            path = config_path(ref)
        cache[ref] = load_profile(path if path.suffix in (".yaml", ".yml") else ref)
    return cache[ref]


async def async_setup(core: Core, config: list[dict[str, Any]]) -> bool:
    """Create a meter entity per configured meter, on its bus."""
    buses = group_buses(core, DOMAIN, config)
    if buses is None:
        return False
    profiles: dict[str, DeviceProfile] = {}
    meters: list[ProfileMeter] = []
    for group, bus in zip(config, buses, strict=True):
        for meter_conf in group["meters"]:
            profile = _profile(core.config.path, meter_conf.get(CONF_PROFILE, group[CONF_PROFILE]), profiles)
            meters.append(PlainMeter(bus, meter_conf, profile))
    await get_hub(core).async_add_devices(meters)
    for service in (SERVICE_TRIP, SERVICE_CLOSE):
        core.services.async_register_entity_service(DOMAIN, service, {}, f"async_{service}")
    return True
