"""Daily energy rollups from the readings table: one row per meter and local day, kept up to date incrementally."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Integer, cast, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from scada_core.billing.tariffs import RATES
from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow

from .models import EnergyDailyRow

_LOGGER = logging.getLogger(__name__)

DAY_S = 86400
EPOCH = date(1970, 1, 1)


def utc_offset_s(tz: tzinfo) -> int:
    """Return the zone's current offset in seconds (sites in China have no daylight saving)."""
    return int((datetime.now(tz).utcoffset() or timedelta()).total_seconds())


def day_number(ts: float, offset_s: int) -> int:
    """Return the local day number (days since 1970-01-01) of a POSIX time."""
    return int((ts + offset_s) // DAY_S)


def day_date(day: int) -> date:
    """Return the calendar date of a day number."""
    return EPOCH + timedelta(days=day)


def date_day(value: date) -> int:
    """Return the day number of a calendar date."""
    return (value - EPOCH).days


def day_use(first_wh: int, last_wh: int, before_wh: int | None) -> int:
    """Return a day's use in Wh: from the last reading before the day, or from the day's first when there is none
    (or the counter went back, as after a meter replacement)."""
    return last_wh - (before_wh if before_wh is not None and before_wh <= first_wh else first_wh)


def day_expr(db: Database, ts: Any, offset_s: int) -> ColumnElement[int]:
    """Return the SQL expression of the local day number of ``ts`` (truncation on SQLite, floor on PostgreSQL)."""
    shifted = (ts + offset_s) / DAY_S
    if db.dialect == "sqlite":
        return cast(shifted, Integer)
    return cast(func.floor(shifted), Integer)


async def async_rollup(db: Database, offset_s: int, since_ts: float | None = None) -> int:
    """Recompute the rollups from ``since_ts``'s day on; None = from the last rolled-up day (or all); return rows."""
    async with db.write() as session:
        if since_ts is None:
            last_day = (await session.execute(select(func.max(EnergyDailyRow.day)))).scalar()
            first = (
                last_day * DAY_S - offset_s if last_day is not None
                else (await session.execute(select(func.min(ReadingRow.ts)))).scalar()
            )
            if first is None:
                return 0
            since_ts = float(first)
        start_day = day_number(since_ts, offset_s)
        start_ts = start_day * DAY_S - offset_s
        day = day_expr(db, ReadingRow.ts, offset_s).label("day")
        counters = [getattr(ReadingRow, f"{rate}_wh") for rate in RATES]
        groups = (
            await session.execute(
                select(ReadingRow.entity_id, day, func.min(ReadingRow.total_wh), func.max(ReadingRow.total_wh),
                       func.count(), *(f(c) for c in counters for f in (func.min, func.max, func.count)))
                .where(ReadingRow.ts >= start_ts)
                .group_by(ReadingRow.entity_id, day)
                .order_by(ReadingRow.entity_id, day)
            )
        ).all()
        previous = await _days_before(session, start_day)
        rows: list[dict[str, Any]] = []
        for entity_id, day_no, first_wh, last_wh, count, *by_rate in groups:
            before = previous.get(entity_id)
            row = {"entity_id": entity_id, "day": int(day_no), "first_wh": first_wh, "last_wh": last_wh,
                   "use_wh": day_use(first_wh, last_wh, before[0] if before else None), "readings": count}
            for index, rate in enumerate(RATES):
                low, high, carried = by_rate[3 * index:3 * index + 3]
                known = carried == count  # every reading of the day carried this rate's counter
                row[f"{rate}_last_wh"] = high if known else None
                row[f"{rate}_wh"] = day_use(low, high, before[1 + index] if before else None) if known else None
            rows.append(row)
            previous[entity_id] = (last_wh, *(row[f"{rate}_last_wh"] for rate in RATES))
        await session.execute(delete(EnergyDailyRow).where(EnergyDailyRow.day >= start_day))
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(EnergyDailyRow), rows[chunk:chunk + 5000])
    _LOGGER.debug("Rolled up %d meter-days from day %d", len(rows), start_day)
    return len(rows)


async def _days_before(session: AsyncSession, start_day: int) -> dict[str, tuple[int | None, ...]]:
    """Return each meter's highest total counter before ``start_day`` and the rate counters of its last day
    before it (None where that day's split is unknown: an older day's would fold the days between into one)."""
    highest = (
        select(EnergyDailyRow.entity_id, func.max(EnergyDailyRow.last_wh).label("last_wh"),
               func.max(EnergyDailyRow.day).label("day"))
        .where(EnergyDailyRow.day < start_day)
        .group_by(EnergyDailyRow.entity_id)
        .subquery()
    )
    lasts = [getattr(EnergyDailyRow, f"{rate}_last_wh") for rate in RATES]
    rows = await session.execute(
        select(highest.c.entity_id, highest.c.last_wh, *lasts)
        .join(EnergyDailyRow,
              (EnergyDailyRow.entity_id == highest.c.entity_id) & (EnergyDailyRow.day == highest.c.day))
    )
    return {entity_id: tuple(values) for entity_id, *values in rows.all()}
