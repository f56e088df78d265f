"""Alarm levels (报警1, 报警2, 欠费, overload): one event per crossing, and a history row for reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .const import LEVEL_ALARM1, LEVEL_ALARM2, LEVEL_ARREARS, LEVEL_NORMAL, LEVEL_OVERLOAD
from .credit import in_arrears
from .models import AlarmRow, MeterRow


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where the low-balance levels start (fen) and the overload power (W)."""

    alarm1_fen: int
    alarm2_fen: int
    overdraft_fen: int = 0
    overload_w: int | None = None


# Low-balance levels from the mildest to the worst.
LEVEL_ORDER = (LEVEL_NORMAL, LEVEL_ALARM1, LEVEL_ALARM2, LEVEL_ARREARS)


def flag_level(flags: Mapping[str, Any] | None) -> str:
    """Return the level a meter's own flags show: ALM1 报警1; ALM2 or arrears (its money is used up, the
    overdraft may still run) 报警2. 欠费 itself comes from the money and the overdraft billing gives the meter."""
    if not flags:
        return LEVEL_NORMAL
    if flags.get("alarm2") or flags.get("arrears"):
        return LEVEL_ALARM2
    return LEVEL_ALARM1 if flags.get("alarm1") else LEVEL_NORMAL


def level_for(balance_fen: int, limits: Thresholds, flags: Mapping[str, Any] | None = None) -> str:
    """Return the low-balance level of ``balance_fen``, or the worse one the meter's own ``flags`` show."""
    if in_arrears(balance_fen, limits.overdraft_fen):
        level = LEVEL_ARREARS
    elif balance_fen <= limits.alarm2_fen:
        level = LEVEL_ALARM2
    elif balance_fen <= limits.alarm1_fen:
        level = LEVEL_ALARM1
    else:
        level = LEVEL_NORMAL
    return max(level, flag_level(flags), key=LEVEL_ORDER.index)


def overload_for(power_w: Any, limits: Thresholds, flags: Mapping[str, Any] | None = None) -> bool | None:
    """Tell whether a meter is overloaded: its own flag, or power above the limit (None: cannot tell)."""
    by_flag = flags.get("overload") if flags else None
    by_power = None if power_w is None or limits.overload_w is None else power_w > limits.overload_w
    if by_flag is None and by_power is None:
        return None
    return bool(by_flag) or bool(by_power)


def overload_reason(power_w: int | None, limit_w: int | None) -> str:
    """Say why a meter entered overload: the power seen above its limit, or its own protection tripped (the
    relay is open by the time it is read, so the power it cut is not known)."""
    limit = f"{limit_w} W" if limit_w is not None else "?"
    if power_w is not None and limit_w is not None and power_w > limit_w:
        return f"功率 {power_w} W，超过限值 {limit} / power {power_w} W above the limit {limit}"
    return f"表计过载保护已跳闸，限值 {limit} / the meter's overload protection tripped, limit {limit}"


def crossing(
    meter: MeterRow, level: str, phase: str, value: int | None, ts: float
) -> tuple[AlarmRow, dict[str, Any]]:
    row = AlarmRow(
        ts=ts,
        meter_entity_id=meter.entity_id,
        account_id=meter.account_id,
        level=level,
        phase=phase,
        value_fen=value,
    )
    event = {
        "meter_entity_id": meter.entity_id,
        "account_id": meter.account_id,
        "level": level,
        "value_fen": value,
        "phase": phase,
    }
    return row, event


def update_levels(
    session: AsyncSession,
    meter: MeterRow,
    balance_fen: int,
    limits: Thresholds,
    ts: float,
    power_w: int | None = None,
    flags: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Move the meter to its new levels (by money and limits, and by the meter's own ``flags``); store each
    crossing and return the events to fire after commit."""
    crossings: list[tuple[AlarmRow, dict[str, Any]]] = []
    new = level_for(balance_fen, limits, flags)
    if new != meter.alarm_level:
        if meter.alarm_level != LEVEL_NORMAL:
            crossings.append(crossing(meter, meter.alarm_level, "leave", balance_fen, ts))
        if new != LEVEL_NORMAL:
            crossings.append(crossing(meter, new, "enter", balance_fen, ts))
        meter.alarm_level = new
    overload = overload_for(power_w, limits, flags)
    if overload is not None and overload != bool(meter.overload):
        row, event = crossing(meter, LEVEL_OVERLOAD, "enter" if overload else "leave", None, ts)
        if overload:
            row.reason = event["reason"] = overload_reason(power_w, limits.overload_w)
            event["power_w"], event["limit_w"] = power_w, limits.overload_w
        crossings.append((row, event))
        meter.overload = overload
    for row, _ in crossings:
        session.add(row)
    return [event for _, event in crossings]
