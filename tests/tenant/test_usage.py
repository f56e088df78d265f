"""The tenant's usage chart counts days exactly as the staff energy report does, at any hour of the day."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import insert

from scada_core.clock import Clock
from scada_core.reports.queries import energy_per_meter
from scada_core.reports.rollup import async_rollup, date_day
from scada_core.storage.database import Database
from scada_core.storage.models import ReadingRow
from tests.alipay.harness import TZ
from web.tenant.usage import daily_readings, daily_usage, daily_uses, hourly_uses, monthly_usage, usage_since

# Local hours either side of midnight and of noon (UTC midnight is 08:00 in Shanghai).
HOURS = [time(0, 30), time(11, 59), time(12, 1), time(23, 59)]
ENTITY = "acrel_dtsy1352.m1"


def day_readings(today: date, now: time) -> list[tuple[datetime, int]]:
    """Readings over three days: two the first day, three yesterday, two today up to ``now``."""
    def at(days_back: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
        return datetime.combine(today - timedelta(days=days_back), time(hour, minute, second), TZ)

    return [
        (at(2, 8), 600), (at(2, 12), 1000),                            # the first day: 0.4 kWh
        (at(1, 0, 0, 1), 1000), (at(1, 12), 2500), (at(1, 23, 59, 30), 3000),  # yesterday: 2.0 kWh
        (at(0, 0, 0, 30), 3100), (datetime.combine(today, now, TZ), 4500),      # today: 1.5 kWh
    ]


async def store(db: Database, readings: list[tuple[datetime, int]], entity_id: str = ENTITY) -> None:
    """Write readings straight into the readings table."""
    async with db.session() as session:
        await session.execute(insert(ReadingRow), [
            {"entity_id": entity_id, "ts": moment.timestamp(), "received_ts": moment.timestamp(), "total_wh": wh}
            for moment, wh in readings
        ])


@pytest.mark.parametrize("now", HOURS, ids=lambda t: t.strftime("%H%M"))
async def test_daily_use_at_any_hour_agrees_with_the_staff_report(database: Database, now: time) -> None:
    """Each day's use is its last reading less the one before it (the first day: less its own first reading),
    whatever the hour, and equals the staff report's rollup for that day."""
    today = date(2031, 6, 15)
    clock = Clock(TZ)
    clock.freeze(datetime.combine(today, now, TZ))
    await store(database, day_readings(today, now))
    await store(database, [(datetime.combine(today, now, TZ), 99_000)], entity_id="acrel_dtsy1352.m2")

    uses = daily_uses(await daily_readings(database, clock, ENTITY, usage_since(today)))
    daily = dict(daily_usage(uses, today))
    assert len(daily) == 30 and max(daily) == today
    assert [daily[today - timedelta(days=n)] for n in (3, 2, 1, 0)] == [0, 400, 2000, 1500]
    assert dict(monthly_usage(uses, today.year))[6] == 3900

    offset = int(clock.now().utcoffset().total_seconds())  # type: ignore[union-attr]
    await async_rollup(database, offset)
    for days_back in (2, 1, 0):
        day = date_day(today - timedelta(days=days_back))
        assert (await energy_per_meter(database, day, day))[ENTITY] == daily[today - timedelta(days=days_back)]
    assert (await energy_per_meter(database, date_day(today) - 30, date_day(today)))[ENTITY] == sum(daily.values())


async def test_a_counter_that_went_back_counts_from_its_new_first_reading(database: Database) -> None:
    """After a meter replacement (the counter starts low again) the day counts from the new meter's first read."""
    today = date(2031, 6, 15)
    clock = Clock(TZ)
    clock.freeze(datetime.combine(today, time(18), TZ))
    await store(database, [(datetime.combine(today - timedelta(days=1), time(12), TZ), 80_000),
                           (datetime.combine(today, time(9), TZ), 100), (datetime.combine(today, time(17), TZ), 700)])
    uses = daily_uses(await daily_readings(database, clock, ENTITY, usage_since(today)))
    assert uses[today] == 600


async def test_hourly_use_today_adds_up_to_the_day(database: Database) -> None:
    """Today hour by hour: each hour from the last reading before it; the hours sum to the day's use; an hour
    without readings (or still to come) used nothing."""
    today = date(2031, 6, 15)
    clock = Clock(TZ)
    clock.freeze(datetime.combine(today, time(14, 30), TZ))
    readings = day_readings(today, time(14, 30))  # today: 3100 at 00:00:30, 4500 at 14:30; yesterday ends at 3000
    readings.insert(-1, (datetime.combine(today, time(9, 15), TZ), 3700))
    await store(database, readings)
    hours = await hourly_uses(database, clock, ENTITY, today)
    assert len(hours) == 24
    assert hours[0] == 100 and hours[9] == 600 and hours[14] == 800
    assert sum(hours) == 1500 == dict(daily_usage(daily_uses(await daily_readings(database, clock, ENTITY,
                                                                                   usage_since(today))), today))[today]
    assert hours[15:] == [0] * 9
