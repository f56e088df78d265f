"""Energy use per day (last 30 days) and per month (this year) from recorded meter readings."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, cast, func, select

from scada_core.clock import Clock
from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow

from .const import DAILY_DAYS

DAY = 86400


async def daily_maxima(db: Database, clock: Clock, entity_id: str, since: date) -> dict[date, int]:
    """Return the highest total_wh read on each local day since ``since`` (one grouped query)."""
    offset = int(clock.now().utcoffset().total_seconds())  # type: ignore[union-attr]
    start_ts = datetime(since.year, since.month, since.day, tzinfo=clock.time_zone).timestamp()
    bucket = cast(ReadingRow.ts + offset, BigInteger) / DAY
    stmt = (
        select(bucket.label("day"), func.max(ReadingRow.total_wh))
        .where(ReadingRow.entity_id == entity_id, ReadingRow.ts >= start_ts)
        .group_by(bucket)
    )
    async with db.session() as session:
        rows = (await session.execute(stmt)).all()
    return {date(1970, 1, 1) + timedelta(days=int(day)): int(wh) for day, wh in rows}


def daily_usage(maxima: dict[date, int], today: date, days: int = DAILY_DAYS) -> list[tuple[date, int]]:
    """Return (day, Wh used) for the ``days`` days up to today; a day without readings uses 0."""
    result = []
    previous = None
    for offset in range(days, -1, -1):
        day = today - timedelta(days=offset)
        value = maxima.get(day)
        if offset < days:
            used = value - previous if value is not None and previous is not None else 0
            result.append((day, max(used, 0)))
        if value is not None:
            previous = value
    return result


def monthly_usage(maxima: dict[date, int], year: int) -> list[tuple[int, int]]:
    """Return (month, Wh used) for each month of ``year`` from the daily maxima."""
    ordered = sorted(maxima.items())
    result = []
    previous_end = max((v for d, v in ordered if d < date(year, 1, 1)), default=None)
    for month in range(1, 13):
        values = [v for d, v in ordered if d.year == year and d.month == month]
        if not values:
            result.append((month, 0))
            continue
        start = previous_end if previous_end is not None else min(values)
        result.append((month, max(max(values) - start, 0)))
        previous_end = max(values)
    return result


def usage_since(today: date) -> date:
    """Return the first day whose readings the charts need (30 days back or the end of last year)."""
    return min(today - timedelta(days=DAILY_DAYS + 1), date(today.year - 1, 12, 31))
