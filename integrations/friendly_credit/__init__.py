"""Friendly credit: every arrears cut-off waits for working hours; meter-side meters are held meanwhile."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.automation.ticker import async_ensure_ticker
from scada_core.core import VALID_ENTITY_ID, Core, ServiceCall
from scada_core.policy.enforcer import FriendlyCreditEnforcer
from scada_core.policy.friendly_credit import FRIENDLY_CREDIT_SCHEMA, FriendlyCreditPolicy

from .const import DOMAIN, SERVICE_CANCEL_TRIP, SERVICE_STATUS, SERVICE_TRIP_FOR_ARREARS

if TYPE_CHECKING:
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = vol.Schema(
    {DOMAIN: vol.All(lambda value: value or {}, FRIENDLY_CREDIT_SCHEMA)}, extra=vol.ALLOW_EXTRA
)
ENTITY_SCHEMA = vol.Schema({vol.Required("entity_id"): vol.Match(VALID_ENTITY_ID)})


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Refuse an opt-out or per-meter rule for a meter no section declares (it would silently not apply)."""
    for index, entity_id in enumerate(config["opt_out"]):
        if entity_id not in context.entities:
            context.error([DOMAIN, "opt_out", index], f"no meter {entity_id} in the configuration")
    for entity_id in config["meters"]:
        if entity_id not in context.entities:
            context.error([DOMAIN, "meters", entity_id], f"no meter {entity_id} in the configuration")


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Build the policy and its enforcer; register the services every cut-off goes through."""
    policy = FriendlyCreditPolicy(config, core.config.time_zone)
    enforcer = FriendlyCreditEnforcer(core, policy)
    await enforcer.async_start()
    core.data[DOMAIN] = enforcer
    async_ensure_ticker(core)

    async def trip_for_arrears(call: ServiceCall) -> dict[str, Any]:
        return await enforcer.async_trip_for_arrears(call.data["entity_id"])

    async def cancel_trip(call: ServiceCall) -> dict[str, Any]:
        entity_id = call.data["entity_id"]
        return {"entity_id": entity_id, "cancelled": await enforcer.async_cancel(entity_id)}

    def status(call: ServiceCall) -> dict[str, Any]:
        return enforcer.status(call.data["entity_id"])

    services = (
        (SERVICE_TRIP_FOR_ARREARS, trip_for_arrears, "Trip for arrears now or once friendly credit allows"),
        (SERVICE_CANCEL_TRIP, cancel_trip, "Drop a deferred arrears trip (the tenant paid)"),
        (SERVICE_STATUS, status, "Tell whether a meter may be cut now and when it next may"),
    )
    for service, handler, description in services:
        core.services.async_register(DOMAIN, service, handler, ENTITY_SCHEMA, description)
    _LOGGER.info(
        "Friendly credit: %d holidays, %d opted-out meters",
        len(policy.calendar.holidays),
        len(config["opt_out"]),
    )
    return True
