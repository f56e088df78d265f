"""Trigger platforms: state, numeric_state, event, time and time_pattern on the event bus."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from ..const import EVENT_STATE_CHANGED
from .const import CONF_ATTRIBUTE, CONF_ENTITY_ID, CONF_FOR, CONF_PLATFORM, EVENT_TIME_CHANGED
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
    from ..core import CALLBACK_TYPE, Core, Event

TriggerAction = Callable[[dict[str, Any]], None]
# A moved clock or a stalled loop may skip ticks; crossings within this gap are still caught.
MAX_CATCH_UP = timedelta(seconds=60)

BASE = {vol.Required(CONF_PLATFORM): str, vol.Optional("id"): vol.Coerce(str), vol.Optional("alias"): str}

STATE_SCHEMA = vol.Schema(
    {
        **BASE,
        vol.Required(CONF_ENTITY_ID): entity_ids,
        vol.Optional(CONF_ATTRIBUTE): str,
        vol.Optional("from"): vol.All(ensure_list, [SCALAR]),
        vol.Optional("to"): vol.All(ensure_list, [SCALAR]),
        vol.Optional(CONF_FOR): time_period,
    }
)

NUMERIC_STATE_SCHEMA = vol.All(
    vol.Schema(
        {
            **BASE,
            vol.Required(CONF_ENTITY_ID): entity_ids,
            vol.Optional(CONF_ATTRIBUTE): str,
            vol.Optional("above"): number,
            vol.Optional("below"): number,
            vol.Optional(CONF_FOR): time_period,
        }
    ),
    above_below,
)

EVENT_SCHEMA = vol.Schema(
    {
        **BASE,
        vol.Required("event_type"): vol.All(ensure_list, [str], vol.Length(min=1)),
        vol.Optional("event_data", default={}): dict,
    }
)

TIME_SCHEMA = vol.Schema({**BASE, vol.Required("at"): vol.All(ensure_list, [time_of_day], vol.Length(min=1))})


def _pattern_part(limit: int) -> Callable[[Any], Any]:
    """Validate '*', '/n' or a number below ``limit``."""

    def validate(value: Any) -> Any:
        text = str(value).strip()
        if text == "*":
            return "*"
        match = re.fullmatch(r"/(\d+)|(\d+)", text)
        if match is None:
            raise vol.Invalid(f"expected '*', '/n' or a number, got {value!r}")
        number_ = int(match[1] or match[2])
        if match[1] is not None and not 0 < number_ < limit:
            raise vol.Invalid(f"the step in {text!r} must be between 1 and {limit - 1}")
        if match[2] is not None and number_ >= limit:
            raise vol.Invalid(f"{number_} is out of range 0-{limit - 1}")
        return text

    return validate


def _fill_pattern(config: dict[str, Any]) -> dict[str, Any]:
    """As in Home Assistant: parts above the largest given unit are '*', parts below it are 0."""
    units = ("hours", "minutes", "seconds")
    given = [unit for unit in units if unit in config]
    if not given:
        raise vol.Invalid("give at least one of hours, minutes, seconds")
    largest = units.index(given[0])
    for index, unit in enumerate(units):
        config.setdefault(unit, "*" if index < largest else "0")
    return config


TIME_PATTERN_SCHEMA = vol.All(
    vol.Schema(
        {
            **BASE,
            vol.Optional("hours"): _pattern_part(24),
            vol.Optional("minutes"): _pattern_part(60),
            vol.Optional("seconds"): _pattern_part(60),
        }
    ),
    _fill_pattern,
)

SCHEMAS: dict[str, Any] = {
    "state": STATE_SCHEMA,
    "numeric_state": NUMERIC_STATE_SCHEMA,
    "event": EVENT_SCHEMA,
    "time": TIME_SCHEMA,
    "time_pattern": TIME_PATTERN_SCHEMA,
}


def trigger_schema(value: Any) -> dict[str, Any]:
    """Validate one trigger with the schema of its platform."""
    if not isinstance(value, dict):
        raise vol.Invalid("a trigger must be a mapping")
    platform = value.get(CONF_PLATFORM)
    if not isinstance(platform, str) or platform not in SCHEMAS:
        raise vol.Invalid(
            f"unknown trigger platform {platform!r} (one of {', '.join(SCHEMAS)})", path=[CONF_PLATFORM]
        )
    return dict(SCHEMAS[platform](value))


TRIGGERS_SCHEMA = vol.All(ensure_list, vol.Length(min=1), [trigger_schema])


def _entity_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """Return a predicate for ids matching any of ``patterns`` (``*`` wildcards allowed)."""
    exact = {p for p in patterns if "*" not in p}
    wild = [p for p in patterns if "*" in p]
    return lambda entity_id: entity_id in exact or any(fnmatch.fnmatchcase(entity_id, p) for p in wild)


class _Deadlines:
    """Runs pending ``for:`` holds on each time_changed tick (so a moved clock counts)."""

    def __init__(self, core: Core, action: TriggerAction) -> None:
        self._core = core
        self._action = action
        self._pending: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def start(self, key: str, hold: timedelta, variables: dict[str, Any]) -> None:
        """Fire ``variables`` once ``hold`` has passed unless cancelled first."""
        self._pending[key] = (self._core.clock.now() + hold, variables)

    def cancel(self, key: str) -> None:
        """Forget a pending hold."""
        self._pending.pop(key, None)

    def has(self, key: str) -> bool:
        """Tell whether a hold is pending."""
        return key in self._pending

    def tick(self, _event: Event) -> None:
        """Fire every hold whose time has come."""
        now = self._core.clock.now()
        for key, (deadline, variables) in list(self._pending.items()):
            if now >= deadline:
                del self._pending[key]
                self._action(variables)


def _listen_both(core: Core, on_change: Callable[[Event], None], deadlines: _Deadlines) -> CALLBACK_TYPE:
    """Listen to state changes and ticks; return one remover."""
    removers = [
        core.bus.async_listen(EVENT_STATE_CHANGED, on_change),
        core.bus.async_listen(EVENT_TIME_CHANGED, deadlines.tick),
    ]
    return combine(removers)


def combine(removers: list[CALLBACK_TYPE]) -> CALLBACK_TYPE:
    """Return one remover that calls each of ``removers``."""

    def remove_all() -> None:
        for remove in removers:
            remove()

    return remove_all


def attach_state(
    core: Core, config: dict[str, Any], action: TriggerAction, info: dict[str, Any]
) -> CALLBACK_TYPE:
    """Fire when a state (or attribute) changes from/to the given values, optionally held ``for``."""
    matches = _entity_matcher(config[CONF_ENTITY_ID])
    attribute = config.get(CONF_ATTRIBUTE)
    hold: timedelta | None = config.get(CONF_FOR)
    deadlines = _Deadlines(core, action)

    def on_change(event: Event) -> None:
        entity_id = event.data["entity_id"]
        if not matches(entity_id):
            return
        old, new = event.data["old_state"], event.data["new_state"]
        old_value, new_value = value_of(old, attribute), value_of(new, attribute)
        if old_value == new_value:
            return
        if ("from" in config and not is_one_of(old_value, config["from"])) or (
            "to" in config and not is_one_of(new_value, config["to"])
        ):
            deadlines.cancel(entity_id)
            return
        variables = {
            **info,
            "platform": "state",
            "entity_id": entity_id,
            "attribute": attribute,
            "from_state": old,
            "to_state": new,
            "for": hold,
            "description": f"state of {entity_id}",
        }
        if hold:
            deadlines.start(entity_id, hold, variables)
        else:
            action(variables)

    return _listen_both(core, on_change, deadlines)


def attach_numeric_state(
    core: Core, config: dict[str, Any], action: TriggerAction, info: dict[str, Any]
) -> CALLBACK_TYPE:
    """Fire once when a value crosses into above/below (edge-triggered); re-arm after it leaves.

    A value that is not a number (unavailable, unknown) neither fires nor re-arms, so an offline
    blip of a meter does not send the same warning twice.
    """
    matches = _entity_matcher(config[CONF_ENTITY_ID])
    attribute = config.get(CONF_ATTRIBUTE)
    above, below = config.get("above"), config.get("below")
    hold: timedelta | None = config.get(CONF_FOR)
    deadlines = _Deadlines(core, action)

    def in_range(value: float) -> bool:
        return (above is None or value > above) and (below is None or value < below)

    inside: set[str] = set()
    for state in core.states.async_all():
        number_ = numeric(value_of(state, attribute))
        if matches(state.entity_id) and number_ is not None and in_range(number_):
            inside.add(state.entity_id)

    def on_change(event: Event) -> None:
        entity_id = event.data["entity_id"]
        if not matches(entity_id):
            return
        number_ = numeric(value_of(event.data["new_state"], attribute))
        if number_ is None:
            return
        if not in_range(number_):
            inside.discard(entity_id)
            deadlines.cancel(entity_id)
            return
        if entity_id in inside:
            return
        inside.add(entity_id)
        variables = {
            **info,
            "platform": "numeric_state",
            "entity_id": entity_id,
            "attribute": attribute,
            "above": above,
            "below": below,
            "value": number_,
            "from_state": event.data["old_state"],
            "to_state": event.data["new_state"],
            "for": hold,
            "description": f"numeric state of {entity_id}",
        }
        if hold:
            deadlines.start(entity_id, hold, variables)
        else:
            action(variables)

    return _listen_both(core, on_change, deadlines)


def attach_event(
    core: Core, config: dict[str, Any], action: TriggerAction, info: dict[str, Any]
) -> CALLBACK_TYPE:
    """Fire on events of the given types whose data contains ``event_data``."""
    matcher = vol.Schema(config["event_data"], extra=vol.ALLOW_EXTRA)

    def on_event(event: Event) -> None:
        try:
            matcher(dict(event.data))
        except vol.Invalid:
            return
        action({**info, "platform": "event", "event": event, "description": f"event {event.event_type}"})

    removers = [core.bus.async_listen(event_type, on_event) for event_type in config["event_type"]]
    return combine(removers)


def _seconds_between(last: datetime, now: datetime) -> list[datetime]:
    """Return every whole second in (last, now], or just now's second after a jump."""
    current = now.replace(microsecond=0)
    if not timedelta(0) < now - last <= MAX_CATCH_UP:
        return [current]
    seconds = []
    while current > last:
        seconds.append(current)
        current -= timedelta(seconds=1)
    return list(reversed(seconds))


class _TickWatcher:
    """Call ``check`` with every whole local second the clock passed since the last tick."""

    def __init__(self, core: Core, check: Callable[[datetime], None]) -> None:
        self._core = core
        self._check = check
        self._last = core.clock.now()
        self._fired: datetime | None = None

    def tick(self, _event: Event) -> None:
        now = self._core.clock.now()
        for second in _seconds_between(self._last, now):
            if second != self._fired:
                self._fired = second
                self._check(second)
        self._last = now


def attach_time(
    core: Core, config: dict[str, Any], action: TriggerAction, info: dict[str, Any]
) -> CALLBACK_TYPE:
    """Fire each day at the given local times."""
    times: list[time] = config["at"]

    def check(second: datetime) -> None:
        if second.time() in times:
            action({**info, "platform": "time", "now": second, "description": f"time {second.time()}"})

    return core.bus.async_listen(EVENT_TIME_CHANGED, _TickWatcher(core, check).tick)


def _part_matches(spec: str, value: int) -> bool:
    if spec == "*":
        return True
    if spec.startswith("/"):
        return value % int(spec[1:]) == 0
    return value == int(spec)


def attach_time_pattern(
    core: Core, config: dict[str, Any], action: TriggerAction, info: dict[str, Any]
) -> CALLBACK_TYPE:
    """Fire on every local second matching hours/minutes/seconds patterns."""

    def check(second: datetime) -> None:
        if (
            _part_matches(config["hours"], second.hour)
            and _part_matches(config["minutes"], second.minute)
            and _part_matches(config["seconds"], second.second)
        ):
            action({**info, "platform": "time_pattern", "now": second, "description": "time pattern"})

    return core.bus.async_listen(EVENT_TIME_CHANGED, _TickWatcher(core, check).tick)


ATTACHERS: dict[str, Callable[[Core, dict[str, Any], TriggerAction, dict[str, Any]], CALLBACK_TYPE]] = {
    "state": attach_state,
    "numeric_state": attach_numeric_state,
    "event": attach_event,
    "time": attach_time,
    "time_pattern": attach_time_pattern,
}


def attach_triggers(core: Core, configs: list[dict[str, Any]], action: TriggerAction) -> CALLBACK_TYPE:
    """Attach every trigger of one automation; return one remover."""
    removers = []
    for index, config in enumerate(configs):
        info = {"idx": str(index), "id": config.get("id", str(index)), "alias": config.get("alias")}
        removers.append(ATTACHERS[config[CONF_PLATFORM]](core, config, action, info))
    return combine(removers)
