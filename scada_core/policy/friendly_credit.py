"""Friendly credit: when a tenant in arrears may be cut off (never at night, at weekends or on holidays)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import voluptuous as vol

from ..automation.holidays import CALENDAR_SCHEMA, HolidayCalendar
from ..automation.validation import entity_ids, time_of_day

# next_allowed gives up after this many steps (a calendar of nothing but holidays).
MAX_STEPS = 1000


def _window(value: Any) -> dict[str, time] | None:
    """Validate {start, end} daily no-trip hours (may wrap midnight), or false for none."""
    if value is False or value is None:
        return None
    window = vol.Schema({vol.Required("start"): time_of_day, vol.Required("end"): time_of_day})(value)
    if window["start"] == window["end"]:
        raise vol.Invalid("start and end of the no-trip hours must differ", path=["end"])
    return window


RULES = {
    vol.Optional("no_trip_hours"): _window,
    vol.Optional("weekends"): bool,
    vol.Optional("holidays"): bool,
    vol.Optional("opt_out"): bool,
}

FRIENDLY_CREDIT_SCHEMA = vol.Schema(
    {
        vol.Optional("no_trip_hours", default={"start": "18:00", "end": "08:00"}): _window,
        vol.Optional("weekends", default=True): bool,
        vol.Optional("holidays", default=True): bool,
        vol.Optional("calendar", default={}): CALENDAR_SCHEMA,
        vol.Optional("opt_out", default=[]): vol.Any(vol.All(list, vol.Length(max=0)), entity_ids),
        vol.Optional("meters", default={}): {vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$"): vol.Schema(RULES)},
        vol.Optional("retry_after", default=60): vol.All(vol.Coerce(float), vol.Range(min=1)),
    }
)


@dataclass(frozen=True, slots=True)
class MeterRules:
    """The friendly-credit rules that apply to one meter."""

    no_trip_hours: dict[str, time] | None
    weekends: bool
    holidays: bool
    opt_out: bool

    def in_hours(self, moment: time) -> bool:
        """Tell whether ``moment`` falls in the daily no-trip hours [start, end)."""
        if self.no_trip_hours is None:
            return False
        start, end = self.no_trip_hours["start"], self.no_trip_hours["end"]
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end


class FriendlyCreditPolicy:
    """Decide whether a meter may be cut for arrears at a moment, and when it next may."""

    def __init__(self, config: dict[str, Any], time_zone: tzinfo | str) -> None:
        self.config = config
        self.time_zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
        self.calendar = HolidayCalendar.from_config(config["calendar"])
        self._opt_out = set(config["opt_out"])

    def rules(self, entity_id: str) -> MeterRules:
        """Return the global rules overridden by the meter's own ones."""
        own = self.config["meters"].get(entity_id, {})
        return MeterRules(
            no_trip_hours=own.get("no_trip_hours", self.config["no_trip_hours"]),
            weekends=own.get("weekends", self.config["weekends"]),
            holidays=own.get("holidays", self.config["holidays"]),
            opt_out=own.get("opt_out", entity_id in self._opt_out),
        )

    def protects(self, entity_id: str) -> bool:
        """Tell whether the meter takes part in friendly credit (not opted out)."""
        return not self.rules(entity_id).opt_out

    def _blocker(self, rules: MeterRules, local: datetime) -> str | None:
        """Return why cutting is not allowed at ``local``, or None."""
        day: date = local.date()
        if rules.holidays and (holiday := self.calendar.holiday(day)) is not None:
            return f"holiday {holiday.name or day.isoformat()}"
        if rules.weekends and self.calendar.is_weekend(day):
            return "weekend"
        if rules.in_hours(local.time()):
            hours = rules.no_trip_hours or {}
            return f"no-trip hours {hours['start']:%H:%M}-{hours['end']:%H:%M}"
        return None

    def may_cut(self, entity_id: str, at: datetime) -> tuple[bool, str]:
        """Return (allowed, reason) for cutting ``entity_id`` for arrears at ``at`` (an aware datetime)."""
        rules = self.rules(entity_id)
        if rules.opt_out:
            return True, "opted out of friendly credit"
        blocker = self._blocker(rules, at.astimezone(self.time_zone))
        return (False, blocker) if blocker else (True, "outside friendly-credit windows")

    def next_allowed(self, entity_id: str, at: datetime) -> datetime:
        """Return the first moment at or after ``at`` when ``entity_id`` may be cut (local time)."""
        rules = self.rules(entity_id)
        moment = at.astimezone(self.time_zone)
        if rules.opt_out:
            return moment
        for _ in range(MAX_STEPS):
            blocker = self._blocker(rules, moment)
            if blocker is None:
                return moment
            if not blocker.startswith("no-trip hours"):
                moment = datetime.combine(moment.date() + timedelta(days=1), time(0), self.time_zone)
                continue
            end: time = (rules.no_trip_hours or {})["end"]
            day = moment.date() if moment.time() < end else moment.date() + timedelta(days=1)
            moment = datetime.combine(day, end, self.time_zone)
        raise ValueError(f"no moment to cut {entity_id} within {MAX_STEPS} steps of {at}")
