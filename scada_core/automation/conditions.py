"""Conditions: state, numeric_state, time, holiday, template, and/or/not; each result is traced."""
from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .const import CONF_ATTRIBUTE, CONF_CONDITION, CONF_ENTITY_ID, CONF_FOR, WEEKDAYS
from .holidays import HolidayCalendar
from .templates import TemplateRenderer, TemplateRenderError, template_syntax
from .trace import Trace
from .validation import (
    SCALAR,
    above_below,
    ensure_list,
    entity_ids,
    is_one_of,
    number,
    numeric,
    time_of_day,
    time_period,
    value_of,
)

if TYPE_CHECKING:
    from ..core import Core, State

Checker = Callable[[dict[str, Any], "Trace | None"], bool]


def _conditions_list(value: Any) -> list[dict[str, Any]]:
    return CONDITIONS_SCHEMA(value)


BASE = {vol.Required(CONF_CONDITION): str, vol.Optional("alias"): str}

SCHEMAS: dict[str, Any] = {
    "state": vol.Schema(
        {
            **BASE,
            vol.Required(CONF_ENTITY_ID): entity_ids,
            vol.Optional(CONF_ATTRIBUTE): str,
            vol.Required("state"): vol.All(ensure_list, [SCALAR], vol.Length(min=1)),
            vol.Optional(CONF_FOR): time_period,
        }
    ),
    "numeric_state": vol.All(
        vol.Schema(
            {
                **BASE,
                vol.Required(CONF_ENTITY_ID): entity_ids,
                vol.Optional(CONF_ATTRIBUTE): str,
                vol.Optional("above"): number,
                vol.Optional("below"): number,
            }
        ),
        above_below,
    ),
    "time": vol.All(
        vol.Schema(
            {
                **BASE,
                vol.Optional("after"): time_of_day,
                vol.Optional("before"): time_of_day,
                vol.Optional("weekday"): vol.All(ensure_list, [vol.In(WEEKDAYS)]),
            }
        ),
        vol.Any(
            vol.Schema({vol.Required("after"): object}, extra=vol.ALLOW_EXTRA),
            vol.Schema({vol.Required("before"): object}, extra=vol.ALLOW_EXTRA),
            vol.Schema({vol.Required("weekday"): object}, extra=vol.ALLOW_EXTRA),
            msg="give after, before or weekday",
        ),
    ),
    "holiday": vol.Schema({**BASE, vol.Optional("include_weekends", default=False): bool}),
    "template": vol.Schema({**BASE, vol.Required("value_template"): vol.All(str, template_syntax)}),
    "and": vol.Schema({**BASE, vol.Required("conditions"): _conditions_list}),
    "or": vol.Schema({**BASE, vol.Required("conditions"): _conditions_list}),
    "not": vol.Schema({**BASE, vol.Required("conditions"): _conditions_list}),
}


def condition_schema(value: Any) -> dict[str, Any]:
    """Validate one condition with the schema of its kind."""
    if not isinstance(value, dict):
        raise vol.Invalid("a condition must be a mapping")
    kind = value.get(CONF_CONDITION)
    if not isinstance(kind, str) or kind not in SCHEMAS:
        raise vol.Invalid(f"unknown condition {kind!r} (one of {', '.join(SCHEMAS)})", path=[CONF_CONDITION])
    return dict(SCHEMAS[kind](value))


CONDITIONS_SCHEMA = vol.All(ensure_list, [condition_schema])


@dataclass
class ConditionContext:
    """What conditions need: the core, templates and the holiday calendar."""

    core: Core
    renderer: TemplateRenderer
    calendar: Callable[[], HolidayCalendar]


def _states_of(core: Core, patterns: list[str]) -> list[State | None]:
    """Return the states named by ``patterns``; an exact id without a state gives None."""
    found: list[State | None] = []
    for pattern in patterns:
        if "*" in pattern:
            found += [s for s in core.states.async_all() if fnmatch.fnmatchcase(s.entity_id, pattern)]
        else:
            found.append(core.states.get(pattern))
    return found


def _in_window(now: time, after: time | None, before: time | None) -> bool:
    """Tell whether ``now`` is in [after, before); the window may wrap past midnight."""
    if after is not None and before is not None and after > before:
        return now >= after or now < before
    return (after is None or now >= after) and (before is None or now < before)


def _test(
    ctx: ConditionContext, config: dict[str, Any], variables: dict[str, Any], path: str, trace: Trace | None
) -> bool:
    """Evaluate one leaf condition."""
    kind = config[CONF_CONDITION]
    core = ctx.core
    if kind == "state":
        states = _states_of(core, config[CONF_ENTITY_ID])
        hold: timedelta | None = config.get(CONF_FOR)
        now = core.clock.timestamp()
        return bool(states) and all(
            state is not None
            and is_one_of(value_of(state, config.get(CONF_ATTRIBUTE)), config["state"])
            and (hold is None or now - state.last_changed >= hold.total_seconds())
            for state in states
        )
    if kind == "numeric_state":
        above, below = config.get("above"), config.get("below")
        states = _states_of(core, config[CONF_ENTITY_ID])
        values = [numeric(value_of(s, config.get(CONF_ATTRIBUTE))) for s in states]
        return bool(values) and all(
            v is not None and (above is None or v > above) and (below is None or v < below) for v in values
        )
    if kind == "time":
        now = core.clock.now()
        if "weekday" in config and WEEKDAYS[now.weekday()] not in config["weekday"]:
            return False
        return _in_window(now.time(), config.get("after"), config.get("before"))
    if kind == "holiday":
        calendar = ctx.calendar()
        today = core.clock.now().date()
        return calendar.is_day_off(today) if config["include_weekends"] else calendar.is_holiday(today)
    if kind == "template":
        result = ctx.renderer.render(config["value_template"], variables)
        return result is True or str(result).strip().lower() in ("true", "on", "yes", "1")
    children = config["conditions"]
    results = (
        check(ctx, child, variables, trace, f"{path}/conditions/{index}")
        for index, child in enumerate(children)
    )
    if kind == "and":
        return all(results)
    if kind == "or":
        return any(results)
    return not any(results)


def check(
    ctx: ConditionContext, config: dict[str, Any], variables: dict[str, Any], trace: Trace | None, path: str
) -> bool:
    """Evaluate ``config``, record the outcome in ``trace``; an error counts as False."""
    try:
        result = _test(ctx, config, variables, path, trace)
    except TemplateRenderError as err:
        if trace is not None:
            trace.add_condition(path, config[CONF_CONDITION], False, str(err))
        return False
    if trace is not None:
        trace.add_condition(path, config[CONF_CONDITION], result)
    return result


def check_all(
    ctx: ConditionContext,
    configs: list[dict[str, Any]],
    variables: dict[str, Any],
    trace: Trace | None,
    path: str,
) -> bool:
    """Evaluate a list of conditions (all must hold), stopping at the first false one."""
    return all(check(ctx, c, variables, trace, f"{path}/{index}") for index, c in enumerate(configs))
