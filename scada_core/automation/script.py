"""Action sequences: service calls with templated data, delay, condition, choose and event."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import voluptuous as vol

from ..core import Context
from ..exceptions import OpenPrepayError
from .conditions import CONDITIONS_SCHEMA, ConditionContext, check, check_all, condition_schema
from .templates import template_syntax
from .trace import Trace, to_json
from .validation import ensure_list, entity_ids, service_name, time_period

_LOGGER = logging.getLogger(__name__)


class ScriptStop(Exception):
    """A condition action was false: the run ends quietly."""


class ScriptError(OpenPrepayError):
    """An action failed and did not ask to continue on error."""


def _sequence(value: Any) -> list[dict[str, Any]]:
    return ACTIONS_SCHEMA(value)


BASE = {vol.Optional("alias"): str, vol.Optional("continue_on_error", default=False): bool}

SERVICE_SCHEMA = vol.Schema(
    {
        **BASE,
        vol.Exclusive("service", "service"): service_name,
        vol.Exclusive("action", "service"): service_name,
        vol.Optional("data", default={}): vol.All(dict, template_syntax),
        vol.Optional("target", default={}): {vol.Optional("entity_id"): vol.Any(entity_ids, template_syntax)},
    }
)
DELAY_SCHEMA = vol.Schema({**BASE, vol.Required("delay"): time_period})
EVENT_SCHEMA = vol.Schema(
    {
        **BASE,
        vol.Required("event"): str,
        vol.Optional("event_data", default={}): vol.All(dict, template_syntax),
    }
)
CHOOSE_SCHEMA = vol.Schema(
    {
        **BASE,
        vol.Required("choose"): vol.All(
            ensure_list,
            [{vol.Required("conditions"): CONDITIONS_SCHEMA, vol.Required("sequence"): _sequence}],
        ),
        vol.Optional("default", default=[]): _sequence,
    }
)

# The key that marks an action, and the kind of action it marks ("action" is HA's newer name for "service").
KINDS = {
    "service": "service",
    "action": "service",
    "delay": "delay",
    "event": "event",
    "choose": "choose",
    "condition": "condition",
}


def action_kind(config: dict[str, Any]) -> str:
    """Name the kind of an action from its keys."""
    return next(KINDS[key] for key in config if key in KINDS)


def action_schema(value: Any) -> dict[str, Any]:
    """Validate one action with the schema of its kind."""
    if not isinstance(value, dict) or not any(key in KINDS for key in value):
        raise vol.Invalid(f"an action needs one of: {', '.join(KINDS)}")
    kind = action_kind(value)
    if kind == "condition":
        return condition_schema(value)
    return dict(SCHEMAS[kind](value))


ACTIONS_SCHEMA = vol.All(ensure_list, [action_schema])
SCHEMAS = {"service": SERVICE_SCHEMA, "delay": DELAY_SCHEMA, "event": EVENT_SCHEMA, "choose": CHOOSE_SCHEMA}


class Script:
    """Run a validated action sequence, tracing each step."""

    def __init__(self, ctx: ConditionContext, actions: list[dict[str, Any]]) -> None:
        self._ctx = ctx
        self._actions = actions

    async def async_run(self, variables: dict[str, Any], trace: Trace, context: Context) -> None:
        """Run every action; raise ScriptStop on a false condition, ScriptError on a failure."""
        await self._run_sequence(self._actions, variables, trace, context, "action")

    async def _run_sequence(
        self,
        actions: list[dict[str, Any]],
        variables: dict[str, Any],
        trace: Trace,
        context: Context,
        path: str,
    ) -> None:
        for index, config in enumerate(actions):
            await self._run_action(config, variables, trace, context, f"{path}/{index}")

    async def _run_action(
        self, config: dict[str, Any], variables: dict[str, Any], trace: Trace, context: Context, path: str
    ) -> None:
        core = self._ctx.core
        kind = action_kind(config)
        if kind == "condition":
            if not check(self._ctx, config, variables, trace, path):
                raise ScriptStop(f"condition at {path} was false")
            return
        entry = trace.add_action(path, kind, core.clock.timestamp(), alias=config.get("alias"))
        try:
            if kind == "service":
                entry["result"] = await self._call_service(config, variables, context, entry)
            elif kind == "delay":
                await asyncio.sleep(config["delay"].total_seconds())
                entry["result"] = "done"
            elif kind == "event":
                data = self._ctx.renderer.render(config["event_data"], variables)
                core.bus.async_fire(config["event"], data, Context(parent_id=context.id))
                entry["result"] = to_json(data)
            else:
                await self._choose(config, variables, trace, context, path, entry)
        except (ScriptStop, ScriptError, asyncio.CancelledError):
            raise
        except Exception as err:  # noqa: BLE001 - any failure of an action goes into the trace
            entry["error"] = str(err) if isinstance(err, OpenPrepayError) else f"{type(err).__name__}: {err}"
            if not config.get("continue_on_error"):
                raise ScriptError(f"{path} ({kind}) failed: {entry['error']}") from err
            _LOGGER.warning("%s: %s failed, continuing: %s", trace.automation_id, path, entry["error"])

    async def _call_service(
        self, config: dict[str, Any], variables: dict[str, Any], context: Context, entry: dict[str, Any]
    ) -> Any:
        name = config.get("service") or config["action"]
        data = self._ctx.renderer.render(config["data"], variables)
        data.update(self._ctx.renderer.render(config["target"], variables))
        entry["service"] = name
        entry["data"] = to_json(data)
        domain, service = name.split(".", 1)
        services = self._ctx.core.services
        return to_json(await services.async_call(domain, service, data, Context(parent_id=context.id)))

    async def _choose(
        self,
        config: dict[str, Any],
        variables: dict[str, Any],
        trace: Trace,
        context: Context,
        path: str,
        entry: dict[str, Any],
    ) -> None:
        for index, option in enumerate(config["choose"]):
            where = f"{path}/choose/{index}"
            if check_all(self._ctx, option["conditions"], variables, trace, f"{where}/conditions"):
                entry["result"] = f"choice {index}"
                await self._run_sequence(option["sequence"], variables, trace, context, f"{where}/sequence")
                return
        entry["result"] = "default"
        await self._run_sequence(config["default"], variables, trace, context, f"{path}/default")
