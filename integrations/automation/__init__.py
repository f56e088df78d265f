"""Automations from YAML (automations.yaml), their API, and the alarm records they raise."""
from __future__ import annotations

import logging
from typing import Any

import voluptuous as vol

from scada_core.automation.alarms import async_clear_alarm, async_raise_alarm
from scada_core.automation.const import EVENT_ALARM
from scada_core.automation.engine import AutomationManager, automations_schema
from scada_core.automation.holidays import HolidayCalendar
from scada_core.core import VALID_ENTITY_ID, Core, ServiceCall
from scada_core.exceptions import OpenPrepayError

from .const import (
    ALARM_LEVELS,
    DEFAULT_ALARM_LEVEL,
    DOMAIN,
    FRIENDLY_CREDIT,
    SERVICE_CLEAR_ALARM,
    SERVICE_RAISE_ALARM,
    SERVICE_TRIGGER,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
)
from .views import AlarmsView, AutomationsView, AutomationTracesView, AutomationTriggerView

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = vol.Schema({DOMAIN: automations_schema}, extra=vol.ALLOW_EXTRA)

ID_SCHEMA = vol.Schema({vol.Required("id"): str, vol.Optional("skip_condition", default=True): bool})
RAISE_SCHEMA = vol.Schema(
    {
        vol.Optional("entity_id"): vol.Any(None, vol.Match(VALID_ENTITY_ID)),
        vol.Required("kind"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Optional("level", default=DEFAULT_ALARM_LEVEL): vol.In(ALARM_LEVELS),
        vol.Optional("message", default=""): vol.Coerce(str),
    }
)
CLEAR_SCHEMA = vol.Schema(
    {
        vol.Optional("entity_id"): vol.Any(None, vol.Match(VALID_ENTITY_ID)),
        vol.Optional("kind"): vol.Any(None, str),
    }
)


class AutomationNotFound(OpenPrepayError):
    """No automation has this id."""


async def async_setup(core: Core, config: list[dict[str, Any]]) -> bool:
    """Create every automation, its services and API views; attach triggers once the core runs."""

    def calendar() -> HolidayCalendar:
        enforcer = core.data.get(FRIENDLY_CREDIT)
        return enforcer.policy.calendar if enforcer is not None else HolidayCalendar()

    manager = AutomationManager(core, config, calendar)
    core.data[DOMAIN] = manager
    manager.async_start()
    _register_services(core, manager)
    if core.http is not None:
        for view in (AutomationsView, AutomationTracesView, AutomationTriggerView):
            core.http.register_view(view(core, manager))
        core.http.register_view(AlarmsView(core))
    return True


def _register_services(core: Core, manager: AutomationManager) -> None:
    """Register trigger/turn_on/turn_off and the alarm services."""

    def automation_of(call: ServiceCall) -> Any:
        automation = manager.get(call.data["id"])
        if automation is None:
            raise AutomationNotFound(f"automation {call.data['id']} not found")
        return automation

    async def trigger(call: ServiceCall) -> dict[str, Any]:
        variables = {"trigger": {"platform": "manual", "description": "automation.trigger service"}}
        trace = await automation_of(call).async_trigger(variables, call.data["skip_condition"])
        return trace.as_dict()

    def turn_on(call: ServiceCall) -> None:
        automation_of(call).set_enabled(True)

    def turn_off(call: ServiceCall) -> None:
        automation_of(call).set_enabled(False)

    async def raise_alarm(call: ServiceCall) -> dict[str, Any]:
        data = call.data
        alarm: dict[str, Any] = {**data, "time": core.clock.timestamp(), "active": True}
        created = True
        if core.db is not None:
            alarm, created = await async_raise_alarm(
                core.db, alarm["time"], data.get("entity_id"), data["kind"], data["level"], data["message"]
            )
        if created:
            core.bus.async_fire(EVENT_ALARM, {**alarm, "phase": "raise"}, call.context)
            entity_id = data.get("entity_id") or ""
            _LOGGER.warning("Alarm %s (%s) %s: %s", data["kind"], data["level"], entity_id, data["message"])
        return {**alarm, "created": created}

    async def clear_alarm(call: ServiceCall) -> dict[str, Any]:
        entity_id, kind = call.data.get("entity_id"), call.data.get("kind")
        cleared = 0
        if core.db is not None:
            cleared = await async_clear_alarm(core.db, core.clock.timestamp(), entity_id, kind)
        if cleared:
            data = {"entity_id": entity_id, "kind": kind, "phase": "clear"}
            core.bus.async_fire(EVENT_ALARM, data, call.context)
        return {"cleared": cleared}

    core.services.async_register(DOMAIN, SERVICE_TRIGGER, trigger, ID_SCHEMA, "Run an automation now")
    core.services.async_register(DOMAIN, SERVICE_TURN_ON, turn_on, ID_SCHEMA, "Enable an automation")
    core.services.async_register(DOMAIN, SERVICE_TURN_OFF, turn_off, ID_SCHEMA, "Disable an automation")
    core.services.async_register(
        DOMAIN, SERVICE_RAISE_ALARM, raise_alarm, RAISE_SCHEMA, "Record an alarm for the alarm reports"
    )
    core.services.async_register(
        DOMAIN, SERVICE_CLEAR_ALARM, clear_alarm, CLEAR_SCHEMA, "Clear active alarms"
    )
