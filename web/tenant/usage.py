"""Energy use per day (last 30 days) and per month (this year) from recorded meter readings.

A day's use is counted exactly as the staff energy report's daily rollups count it (``day_use``), so the
tenant's chart and the staff report agree for the same meter.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from scada_core.clock import Clock
from scada_core.reports.rollup import DAY_S, date_day, day_date, day_expr, day_use
from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow

from .charts import bar_chart
from .const import DAILY_DAYS, HOURS_A_DAY

if TYPE_CHECKING:
    from .site import TenantSite


async def daily_readings(db: Database, clock: Clock, entity_id: str, since: date) -> dict[date, tuple[int, int]]:
    """Return the lowest and highest total_wh read on each local day since ``since`` (one grouped query)."""
    offset = int(clock.now().utcoffset().total_seconds())  # type: ignore[union-attr]
    day = day_expr(db, ReadingRow.ts, offset).label("day")
    stmt = (
        select(day, func.min(ReadingRow.total_wh), func.max(ReadingRow.total_wh))
        .where(ReadingRow.entity_id == entity_id, ReadingRow.ts >= date_day(since) * DAY_S - offset)
        .group_by(day)
    )
    async with db.session() as session:
        rows = (await session.execute(stmt)).all()
    return {day_date(int(day_no)): (int(first), int(last)) for day_no, first, last in rows}


async def hourly_uses(db: Database, clock: Clock, entity_id: str, day: date) -> list[int]:
    """Return the Wh used in each local hour of ``day`` (counted like a day's use, from the last reading before
    the hour; hours not yet come or without readings used 0)."""
    start = datetime.combine(day, time(), clock.time_zone).timestamp()
    stmt = (
        select(ReadingRow.ts, ReadingRow.total_wh)
        .where(ReadingRow.entity_id == entity_id, ReadingRow.ts >= start - DAY_S, ReadingRow.ts < start + DAY_S)
        .order_by(ReadingRow.ts)
    )
    async with db.session() as session:
        rows = (await session.execute(stmt)).all()
    before = max((int(total) for ts, total in rows if ts < start), default=None)
    hours: list[int] = []
    for hour in range(HOURS_A_DAY):
        totals = [int(total) for ts, total in rows if start + hour * 3600 <= ts < start + (hour + 1) * 3600]
        if not totals:
            hours.append(0)
            continue
        hours.append(day_use(min(totals), max(totals), before))
        before = max(totals)
    return hours


def daily_uses(readings: dict[date, tuple[int, int]]) -> dict[date, int]:
    """Return the Wh used on each day that has readings."""
    uses: dict[date, int] = {}
    before: int | None = None
    for day, (first, last) in sorted(readings.items()):
        uses[day] = day_use(first, last, before)
        before = last
    return uses


def daily_usage(uses: dict[date, int], today: date, days: int = DAILY_DAYS) -> list[tuple[date, int]]:
    """Return (day, Wh used) for the ``days`` days up to today; a day without readings used 0."""
    return [(day, uses.get(day, 0)) for day in (today - timedelta(days=back) for back in range(days - 1, -1, -1))]


def monthly_usage(uses: dict[date, int], year: int) -> list[tuple[int, int]]:
    """Return (month, Wh used) for each month of ``year``."""
    totals = dict.fromkeys(range(1, 13), 0)
    for day, used in uses.items():
        if day.year == year:
            totals[day.month] += used
    return list(totals.items())


def usage_since(today: date) -> date:
    """Return the first day whose readings the charts need (30 days back or the end of last year)."""
    return min(today - timedelta(days=DAILY_DAYS + 1), date(today.year - 1, 12, 31))


async def today_chart(site: TenantSite, entity_id: str, t: dict[str, str]) -> str:
    """Return the chart of today's use hour by hour."""
    assert site.core.db is not None
    hours = await hourly_uses(site.core.db, site.core.clock, entity_id, site.core.clock.now().date())
    return bar_chart([(f"{hour}", wh / 1000) for hour, wh in enumerate(hours)], t["hourly"], "kWh", label_every=6)


async def usage_charts(site: TenantSite, entity_id: str, t: dict[str, str],
                       costs: dict[date, int] | None = None) -> tuple[str, str]:
    """Return a meter's charts: each day of the last 30 (with the meter's cost that day on tap, when ``costs``
    are given) and each month this year."""
    assert site.core.db is not None
    today = site.core.clock.now().date()
    uses = daily_uses(await daily_readings(site.core.db, site.core.clock, entity_id, usage_since(today)))
    days = daily_usage(uses, today)
    notes = [f"{costs.get(d, 0) / 100:.2f} {t['yuan']}" for d, _wh in days] if costs is not None else None
    daily = bar_chart([(d.strftime("%m-%d"), wh / 1000) for d, wh in days], t["daily"], "kWh", label_every=7,
                      notes=notes)
    monthly = bar_chart([(f"{m}", wh / 1000) for m, wh in monthly_usage(uses, today.year)], t["monthly"], "kWh",
                        label_every=1)
    return daily, monthly
