"""Voluptuous helpers shared by trigger, condition and action schemas."""
from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any

import voluptuous as vol

if TYPE_CHECKING:
    from ..core import State

ENTITY_ID_PATTERN = re.compile(r"^[a-z0-9_*]+\.[a-z0-9_*]+$")
SERVICE_PATTERN = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
SCALAR = vol.Any(str, int, float, bool, None)


def ensure_list(value: Any) -> list[Any]:
    """Wrap a single value in a list; None becomes []."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def entity_ids(value: Any) -> list[str]:
    """Validate one entity id or a list (``*`` wildcards allowed, e.g. ``acrel_dtsy1352.*``)."""
    result = []
    for index, item in enumerate(ensure_list(value)):
        if not isinstance(item, str) or not ENTITY_ID_PATTERN.match(item):
            raise vol.Invalid(f"invalid entity id {item!r}", path=[index] if isinstance(value, list) else [])
        result.append(item)
    if not result:
        raise vol.Invalid("at least one entity id is needed")
    return result


def service_name(value: Any) -> str:
    """Validate 'domain.service'."""
    if not isinstance(value, str) or not SERVICE_PATTERN.match(value):
        raise vol.Invalid(f"invalid service {value!r}, expected domain.service")
    return value


def time_of_day(value: Any) -> time:
    """Parse 'HH:MM' or 'HH:MM:SS' (YAML may also give seconds since midnight as an int)."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and 0 <= value < 86400:
        return time(value // 3600, value // 60 % 60, value % 60)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", str(value).strip())
    if match is None:
        raise vol.Invalid(f"invalid time {value!r}, expected HH:MM or HH:MM:SS")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise vol.Invalid(f"invalid time {value!r}")
    return time(hour, minute, second)


def time_period(value: Any) -> timedelta:
    """Parse a duration: seconds, 'HH:MM:SS', 'HH:MM' or {days, hours, minutes, seconds}."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise vol.Invalid("a duration cannot be negative")
        return timedelta(seconds=value)
    if isinstance(value, dict):
        keys = {"days", "hours", "minutes", "seconds", "milliseconds"}
        if not value or set(value) - keys:
            raise vol.Invalid(f"a duration mapping takes only {', '.join(sorted(keys))}")
        try:
            return timedelta(**{k: float(v) for k, v in value.items()})
        except (TypeError, ValueError):
            raise vol.Invalid(f"invalid duration {value!r}") from None
    match = re.fullmatch(r"(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?", str(value).strip())
    if match is None:
        raise vol.Invalid(f"invalid duration {value!r}, expected seconds or HH:MM:SS")
    return timedelta(hours=int(match[1]), minutes=int(match[2]), seconds=float(match[3] or 0))


def a_date(value: Any) -> date:
    """Parse a date (YAML already gives date objects for YYYY-MM-DD)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise vol.Invalid(f"invalid date {value!r}, expected YYYY-MM-DD") from None


def number(value: Any) -> float:
    """Coerce to float with a clear message."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise vol.Invalid(f"expected a number, got {value!r}") from None


def above_below(config: dict[str, Any]) -> dict[str, Any]:
    """Require above or below, and above < below when both are given."""
    above, below = config.get("above"), config.get("below")
    if above is None and below is None:
        raise vol.Invalid("give above, below or both")
    if above is not None and below is not None and above >= below:
        raise vol.Invalid(f"above ({above}) must be less than below ({below})", path=["above"])
    return config


def value_of(state: State | None, attribute: str | None) -> Any:
    """Return the state, or one attribute of it."""
    if state is None:
        return None
    return state.attributes.get(attribute) if attribute else state.state


def is_one_of(value: Any, wanted: list[Any]) -> bool:
    """Compare a state or attribute with configured values (YAML numbers match state strings)."""
    return any(value == item or (value is not None and str(value) == str(item)) for item in wanted)


def numeric(value: Any) -> float | None:
    """Return ``value`` as a number, or None when it is not one (unavailable, unknown)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
