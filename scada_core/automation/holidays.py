"""A holiday calendar: single dates, date ranges, and make-up working days (调休)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import voluptuous as vol

from .validation import a_date


@dataclass(frozen=True, slots=True)
class Holiday:
    """One holiday, possibly spanning several days."""

    start: date
    end: date
    name: str = ""

    def covers(self, day: date) -> bool:
        """Tell whether ``day`` falls in this holiday."""
        return self.start <= day <= self.end


def holiday_entry(value: Any) -> Holiday:
    """Parse a date, 'YYYY-MM-DD..YYYY-MM-DD', or {start, end, name}."""
    if isinstance(value, dict):
        entry = vol.Schema(
            {
                vol.Required("start"): a_date,
                vol.Optional("end"): a_date,
                vol.Optional("name", default=""): str,
            }
        )(value)
        end = entry.get("end", entry["start"])
        if end < entry["start"]:
            raise vol.Invalid("end is before start", path=["end"])
        return Holiday(entry["start"], end, entry["name"])
    if isinstance(value, str) and ".." in value:
        first, _, last = value.partition("..")
        start, end = a_date(first), a_date(last)
        if end < start:
            raise vol.Invalid(f"range {value!r} ends before it starts")
        return Holiday(start, end)
    day = a_date(value)
    return Holiday(day, day)


CALENDAR_SCHEMA = vol.Schema(
    {
        vol.Optional("holidays", default=[]): [holiday_entry],
        vol.Optional("workdays", default=[]): [a_date],
    }
)


@dataclass
class HolidayCalendar:
    """Answer whether a day is a holiday, a weekend, or a (make-up) working day."""

    holidays: list[Holiday] = field(default_factory=list)
    workdays: set[date] = field(default_factory=set)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HolidayCalendar:
        """Build from a validated CALENDAR_SCHEMA section."""
        return cls(list(config.get("holidays", [])), set(config.get("workdays", [])))

    def holiday(self, day: date) -> Holiday | None:
        """Return the holiday covering ``day``, if any."""
        return next((h for h in self.holidays if h.covers(day)), None)

    def is_holiday(self, day: date) -> bool:
        """Tell whether ``day`` is a public holiday."""
        return self.holiday(day) is not None

    def is_weekend(self, day: date) -> bool:
        """Tell whether ``day`` is a Saturday or Sunday that is not a make-up working day."""
        return day.weekday() >= 5 and day not in self.workdays

    def is_day_off(self, day: date) -> bool:
        """Tell whether ``day`` is a holiday or a weekend day off."""
        return self.is_holiday(day) or self.is_weekend(day)
