"""Alarm levels (报警1, 报警2, 欠费, overload): one event per crossing, and a history row for reports."""

from __future__ import annotations

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


def level_for(balance_fen: int, limits: Thresholds) -> str:
    """Return the low-balance level of ``balance_fen``."""
    if in_arrears(balance_fen, limits.overdraft_fen):
        return LEVEL_ARREARS
    if balance_fen <= limits.alarm2_fen:
        return LEVEL_ALARM2
    if balance_fen <= limits.alarm1_fen:
        return LEVEL_ALARM1
    return LEVEL_NORMAL


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
) -> list[dict[str, Any]]:
    """Move the meter to its new levels; store each crossing and return the events to fire after commit."""
    crossings: list[tuple[AlarmRow, dict[str, Any]]] = []
    new = level_for(balance_fen, limits)
    if new != meter.alarm_level:
        if meter.alarm_level != LEVEL_NORMAL:
            crossings.append(crossing(meter, meter.alarm_level, "leave", balance_fen, ts))
        if new != LEVEL_NORMAL:
            crossings.append(crossing(meter, new, "enter", balance_fen, ts))
        meter.alarm_level = new
    if power_w is not None and limits.overload_w is not None:
        overload = power_w > limits.overload_w
        if overload != bool(meter.overload):
            crossings.append(crossing(meter, LEVEL_OVERLOAD, "enter" if overload else "leave", None, ts))
            meter.overload = overload
    for row, _ in crossings:
        session.add(row)
    return [event for _, event in crossings]
