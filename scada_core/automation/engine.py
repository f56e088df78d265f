"""Automations: each one attaches its triggers, checks conditions and runs its script with a trace."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from ..const import EVENT_CORE_STARTED
from ..core import Context, CoreState
from .conditions import CONDITIONS_SCHEMA, ConditionContext, check_all
from .const import (
    CONF_ACTION,
    CONF_ALIAS,
    CONF_CONDITION,
    CONF_ID,
    CONF_MAX,
    CONF_MODE,
    CONF_TRIGGER,
    CONF_VARIABLES,
    DEFAULT_MAX_QUEUED,
    DEFAULT_TRACE_COUNT,
    DOMAIN,
    EVENT_AUTOMATION_TRIGGERED,
    MODE_SINGLE,
    MODES,
)
from .holidays import HolidayCalendar
from .script import ACTIONS_SCHEMA, Script, ScriptError, ScriptStop
from .templates import TemplateRenderer, TemplateRenderError, template_syntax
from .ticker import async_ensure_ticker
from .trace import Trace, TraceStore, to_json
from .triggers import TRIGGERS_SCHEMA, attach_triggers

if TYPE_CHECKING:
    from ..core import CALLBACK_TYPE, Core

_LOGGER = logging.getLogger(__name__)

AUTOMATION_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_ID): vol.All(
            vol.Coerce(str), vol.Match(r"^[A-Za-z0-9_\-]+$", msg="use letters, digits, _ or -")
        ),
        vol.Optional(CONF_ALIAS): str,
        vol.Optional("description"): str,
        vol.Optional("initial_state", default=True): bool,
        vol.Optional(CONF_MODE, default=MODE_SINGLE): vol.In(MODES),
        vol.Optional(CONF_MAX, default=DEFAULT_MAX_QUEUED): vol.All(int, vol.Range(min=1)),
        vol.Optional("trace_count", default=DEFAULT_TRACE_COUNT): vol.All(int, vol.Range(min=1, max=1000)),
        vol.Optional(CONF_VARIABLES, default={}): vol.All({str: object}, template_syntax),
        vol.Required(CONF_TRIGGER): TRIGGERS_SCHEMA,
        vol.Optional(CONF_CONDITION, default=[]): CONDITIONS_SCHEMA,
        vol.Required(CONF_ACTION): ACTIONS_SCHEMA,
    }
)


def _unique_ids(automations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reject two automations with the same id, naming the second one."""
    seen: set[str] = set()
    for index, automation in enumerate(automations):
        if automation[CONF_ID] in seen:
            raise vol.Invalid(f"duplicate automation id {automation[CONF_ID]!r}", path=[index, CONF_ID])
        seen.add(automation[CONF_ID])
    return automations


def automations_schema(value: Any) -> list[dict[str, Any]]:
    """Validate each automation on its own so every broken one is reported, then check the ids."""
    if not value:
        return []
    if not isinstance(value, list):
        raise vol.Invalid("expected a list of automations")
    errors: list[vol.Invalid] = []
    result = []
    for index, item in enumerate(value):
        try:
            result.append(AUTOMATION_SCHEMA(item))
        except vol.Invalid as err:
            for error in err.errors if isinstance(err, vol.MultipleInvalid) else [err]:
                error.prepend([index])
                errors.append(error)
    if errors:
        raise vol.MultipleInvalid(errors)
    return _unique_ids(result)


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_") or "automation"


class Automation:
    """One automation: triggers, conditions, script, run mode and recent traces."""

    def __init__(self, ctx: ConditionContext, config: dict[str, Any]) -> None:
        self._ctx = ctx
        self.config = config
        self.id: str = config[CONF_ID]
        self.alias: str = config.get(CONF_ALIAS, self.id)
        self.entity_id = f"{DOMAIN}.{_slug(self.id)}"
        self.mode: str = config[CONF_MODE]
        self.enabled: bool = config["initial_state"]
        self.traces = TraceStore(config["trace_count"])
        self.last_triggered: float | None = None
        self._script = Script(ctx, config[CONF_ACTION])
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._remove: CALLBACK_TYPE | None = None

    @property
    def running(self) -> int:
        """Return how many runs are in progress or queued."""
        return self._waiting + (1 if self._lock.locked() else 0)

    def attach(self) -> None:
        """Start listening to the triggers."""
        if self._remove is None and self.enabled:
            self._remove = attach_triggers(self._ctx.core, self.config[CONF_TRIGGER], self._on_trigger)
        self.write_state()

    def detach(self) -> None:
        """Stop listening to the triggers."""
        if self._remove is not None:
            self._remove()
            self._remove = None

    def set_enabled(self, enabled: bool) -> None:
        """Turn the automation on or off."""
        self.enabled = enabled
        if enabled:
            self.attach()
        else:
            self.detach()
            self.write_state()

    def write_state(self) -> None:
        """Publish on/off with the last trigger time."""
        self._ctx.core.states.async_set(
            self.entity_id,
            "on" if self.enabled else "off",
            {
                "id": self.id,
                "friendly_name": self.alias,
                "mode": self.mode,
                "last_triggered": self.last_triggered,
                "current": self.running,
            },
        )

    def _on_trigger(self, trigger: dict[str, Any]) -> None:
        self._ctx.core.async_create_task(self.async_trigger({"trigger": trigger}), f"automation {self.id}")

    async def async_trigger(self, variables: dict[str, Any], skip_condition: bool = False) -> Trace:
        """Run once: check the conditions (unless skipped), then the actions, all traced; never raise."""
        core = self._ctx.core
        trigger = variables.get("trigger", {})
        trace = Trace(self.id, to_json(trigger), core.clock.timestamp())
        self.traces.add(trace)
        if self.mode == MODE_SINGLE and self._lock.locked():
            _LOGGER.warning("%s: already running, this trigger is skipped (mode single)", self.alias)
            trace.finish(core.clock.timestamp(), "skipped", "already running (mode single)")
            return trace
        if self._waiting >= self.config[CONF_MAX]:
            _LOGGER.warning("%s: queue full (%d), this trigger is dropped", self.alias, self._waiting)
            trace.finish(core.clock.timestamp(), "skipped", "queue full")
            return trace
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            await self._run(variables, trace, skip_condition)
        finally:
            self._lock.release()
        return trace

    async def _run(self, variables: dict[str, Any], trace: Trace, skip_condition: bool) -> None:
        core = self._ctx.core
        variables = {**variables, "this": {"id": self.id, "alias": self.alias}}
        try:
            # Each variable is rendered from the trigger alone, so the order of the keys never matters.
            variables.update(self._ctx.renderer.render(self.config[CONF_VARIABLES], variables))
            conditions = [] if skip_condition else self.config[CONF_CONDITION]
            if not check_all(self._ctx, conditions, variables, trace, "condition"):
                trace.finish(core.clock.timestamp(), "conditions_failed")
                return
            context = Context()
            self.last_triggered = core.clock.timestamp()
            self.write_state()
            core.bus.async_fire(
                EVENT_AUTOMATION_TRIGGERED,
                {
                    "automation_id": self.id,
                    "name": self.alias,
                    "run_id": trace.run_id,
                    "source": trace.trigger.get("description"),
                },
                context,
            )
            await self._script.async_run(variables, trace, context)
            trace.finish(core.clock.timestamp(), "finished")
        except ScriptStop as stop:
            trace.finish(core.clock.timestamp(), "stopped", str(stop))
        except (ScriptError, TemplateRenderError) as err:
            _LOGGER.error("Automation %s (%s) failed: %s", self.alias, self.id, err)
            trace.finish(core.clock.timestamp(), "error", str(err))
        except asyncio.CancelledError:
            trace.finish(core.clock.timestamp(), "cancelled")
            raise
        except Exception as err:  # noqa: BLE001 - one broken automation must never stop the others
            _LOGGER.exception("Automation %s (%s) crashed", self.alias, self.id)
            trace.finish(core.clock.timestamp(), "error", f"{type(err).__name__}: {err}")
        finally:
            self.write_state()

    def summary(self) -> dict[str, Any]:
        """Return what the API shows of this automation."""
        last = next(iter(self.traces.all()), None)
        return {
            "id": self.id,
            "alias": self.alias,
            "entity_id": self.entity_id,
            "enabled": self.enabled,
            "mode": self.mode,
            "running": self.running,
            "last_triggered": self.last_triggered,
            "last_result": last.result if last else None,
            "trace_count": len(self.traces.all()),
        }


class AutomationManager:
    """Own every automation of the configuration; attach them once the core has started."""

    def __init__(
        self, core: Core, configs: list[dict[str, Any]], calendar: Callable[[], HolidayCalendar]
    ) -> None:
        self.core = core
        self.renderer = TemplateRenderer(core)
        ctx = ConditionContext(core, self.renderer, calendar)
        self.automations: dict[str, Automation] = {c[CONF_ID]: Automation(ctx, c) for c in configs}

    def async_start(self) -> None:
        """Start the ticker; attach triggers now, or once the core runs (startup states do not fire)."""
        async_ensure_ticker(self.core)
        if self.core.state == CoreState.RUNNING:
            self._attach_all()
        else:
            self.core.bus.async_listen_once(EVENT_CORE_STARTED, lambda _event: self._attach_all())
        self.core.async_on_stop(self.async_stop)

    def _attach_all(self) -> None:
        for automation in self.automations.values():
            automation.attach()
        _LOGGER.info("%d automations attached", len(self.automations))

    def async_stop(self) -> None:
        """Detach every automation."""
        for automation in self.automations.values():
            automation.detach()

    def get(self, automation_id: str) -> Automation | None:
        """Return one automation by id."""
        return self.automations.get(automation_id)
