"""One meter's history for its page: sales, alarms, commands and readings a page at a time, and its consumption
per hour of a day, per day of a month or per month of a year with the period before (环比) and the same period a
year before (同比)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, func, select

from integrations.modbus.models import FieldCommandRow
from scada_core.billing.ledger import transaction_dict
from scada_core.billing.models import AlarmRow, TransactionRow
from scada_core.reports.models import EnergyDailyRow
from scada_core.reports.rollup import date_day
from scada_core.storage.database import Database
from scada_core.storage.models import Base, ReadingRow

from .const import HISTORY_PAGE_SIZE

# Money that moved on the meter (the periodic consumption mirrors are summed in the reports, not listed here).
MONEY_KINDS = ("sale", "refund", "reversal", "opening", "transfer", "close", "adjustment")
PERIODS = ("day", "month", "year")
HISTORIES = ("sales", "alarms", "commands", "readings")


@dataclass
class HistoryPage:
    """One page of a history, newest first."""

    rows: list[Any]
    page: int
    pages: int
    count: int


def _history_query(kind: str, entity_id: str) -> tuple[type[Base], ColumnElement[bool], Any]:
    """Return the table, the meter's rows and the newest-first order of one history."""
    if kind == "alarms":
        return AlarmRow, AlarmRow.meter_entity_id == entity_id, AlarmRow.id.desc()
    if kind == "commands":
        return FieldCommandRow, FieldCommandRow.entity_id == entity_id, FieldCommandRow.created_ts.desc()
    if kind == "readings":
        return ReadingRow, ReadingRow.entity_id == entity_id, ReadingRow.ts.desc()
    where = (TransactionRow.meter_entity_id == entity_id) & TransactionRow.kind.in_(MONEY_KINDS)
    return TransactionRow, where, TransactionRow.id.desc()


async def history_page(db: Database, entity_id: str, kind: str, page: int) -> HistoryPage:
    """Return page ``page`` (from 1, clamped) of the meter's ``kind`` history."""
    model, where, order = _history_query(kind, entity_id)
    async with db.session() as session:
        count = int(await session.scalar(select(func.count()).select_from(model).where(where)) or 0)
        pages = max(1, -(-count // HISTORY_PAGE_SIZE))
        page = min(max(page, 1), pages)
        rows = (
            await session.scalars(
                select(model).where(where).order_by(order).limit(HISTORY_PAGE_SIZE)
                .offset((page - 1) * HISTORY_PAGE_SIZE)
            )
        ).all()
    shown = [transaction_dict(row) for row in rows] if model is TransactionRow else list(rows)
    return HistoryPage(shown, page, pages, count)


@dataclass
class Consumption:
    """kWh per bar of a period, with its total and the two comparisons."""

    bars: list[tuple[str, float]]
    total_kwh: float
    previous_kwh: float  # the period before (环比)
    last_year_kwh: float  # the same period a year before (同比)


def _shift_year(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


async def _daily_wh(db: Database, entity_id: str, first: date, last: date) -> dict[date, int]:
    """Return the meter's Wh per local day from the daily rollups."""
    async with db.session() as session:
        rows = await session.execute(
            select(EnergyDailyRow.day, EnergyDailyRow.use_wh)
            .where(EnergyDailyRow.entity_id == entity_id, EnergyDailyRow.day >= date_day(first),
                   EnergyDailyRow.day <= date_day(last))
        )
        epoch = date(1970, 1, 1)
        return {epoch + timedelta(days=int(day)): int(wh or 0) for day, wh in rows.all()}


async def _hourly_wh(db: Database, entity_id: str, day: date, tz: tzinfo) -> list[int]:
    """Return the meter's Wh in each local hour of ``day`` from its readings (a counter's rise per hour)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    async with db.session() as session:
        rows = (
            await session.execute(
                select(ReadingRow.ts, ReadingRow.total_wh).where(
                    ReadingRow.entity_id == entity_id, ReadingRow.ts >= start - 3600, ReadingRow.ts < start + 86400)
                .order_by(ReadingRow.ts)
            )
        ).all()
    hours = [0] * 24
    for (ts0, wh0), (ts1, wh1) in zip(rows, rows[1:]):
        if ts1 >= start and wh1 >= wh0:
            hours[min(23, int((ts1 - start) // 3600))] += wh1 - wh0
    return hours


async def consumption(db: Database, entity_id: str, period: str, today: date, tz: tzinfo) -> Consumption:
    """Return the meter's use over ``period`` ending ``today`` (day: hours; month: days; year: months)."""
    if period == "day":
        hours = await _hourly_wh(db, entity_id, today, tz)
        before = sum(await _hourly_wh(db, entity_id, today - timedelta(days=1), tz))
        last_year = sum(await _hourly_wh(db, entity_id, _shift_year(today, -1), tz))
        return Consumption([(f"{h:02d}", wh / 1000) for h, wh in enumerate(hours)], sum(hours) / 1000,
                           before / 1000, last_year / 1000)
    if period == "month":
        first = today.replace(day=1)
        days = await _daily_wh(db, entity_id, _shift_year(first, -1) - timedelta(days=31), today)
        span = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        previous_first = (first - timedelta(days=1)).replace(day=1)
        previous = sum(wh for d, wh in days.items() if previous_first <= d < first)
        year_ago = sum(wh for d, wh in days.items() if _shift_year(first, -1) <= d <= _shift_year(today, -1))
        return Consumption([(d.strftime("%m-%d"), days.get(d, 0) / 1000) for d in span],
                           sum(days.get(d, 0) for d in span) / 1000, previous / 1000, year_ago / 1000)
    first = today.replace(month=1, day=1)
    days = await _daily_wh(db, entity_id, first.replace(year=first.year - 1), today)
    months = [sum(wh for d, wh in days.items() if d >= first and d.month == m) for m in range(1, today.month + 1)]
    previous = sum(wh for d, wh in days.items() if d < first)  # the whole year before
    year_ago = sum(wh for d, wh in days.items() if d < first and d <= _shift_year(today, -1))  # to this day
    return Consumption([(f"{m:02d}", wh / 1000) for m, wh in enumerate(months, start=1)], sum(months) / 1000,
                       previous / 1000, year_ago / 1000)
