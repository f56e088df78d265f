"""A meter's page: its tenant by name, its consumption by day, month or year with 环比 and 同比, and its sales,
alarms, commands and readings a page at a time."""
from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from scada_core.reports.models import EnergyDailyRow
from scada_core.reports.rollup import date_day
from web.meter_history import consumption

from .conftest import WebEnv

M1 = "acrel_dtsy1352.b1_f2_m1"
X = "acrel_dtsy1352.b1_f9_0901"  # no readings: the rollup loop leaves its rows alone
ADMIN = {"id": "boss", "role": "admin"}


def _rows(page: str) -> list[str]:
    """Return the visible text of each row of the history table."""
    body = page.split('id="history-rows"')[1].split("</tbody>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("<tr>")[2:]]


async def test_histories_page_and_name_the_tenant(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)
    billing = env.site.billing
    account = await billing.open_account("张三商店", [M1], ADMIN)
    for n in range(23):
        await billing.sell(M1, 100 + n, "cash", f"mp-{n}", ADMIN)
    await env.operator("boss", "admin")
    client, _csrf = await env.login("boss")
    async with client.get(env.base + f"/meters/{M1}") as resp:
        page = await resp.text()
    assert resp.status == 200 and f'href="/accounts/{account["id"]}" id="meter-tenant">张三商店<' in page
    rows = _rows(page)
    assert len(rows) == 20 and rows[0].split(" ")[2:6] == ["售电", "1.22", "现金", "b1-00000023"]  # the newest first, in words
    assert "第 1 / 2 页，共 23 条" in page  # no opening: the meter held nothing
    async with client.get(env.base + f"/meters/{M1}?history=sales&page=2") as resp:
        rows = _rows(await resp.text())
    assert len(rows) == 3 and "1.00" in rows[-1]  # the oldest last
    async with client.get(env.base + f"/meters/{M1}?history=commands") as resp:
        rows = _rows(await resp.text())
    assert len(rows) == 20 and all("售电写表" in row and "成功" in row for row in rows)  # a page of them
    async with client.get(env.base + f"/meters/{M1}?history=readings") as resp:
        rows = _rows(await resp.text())
    assert rows and all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row) for row in rows)
    async with client.get(env.base + f"/meters/{M1}?history=nonsense&page=-4") as resp:
        assert resp.status == 200  # an unknown history or page shows the first


async def test_consumption_compares_with_the_period_before_and_the_year_before(start_web: Any) -> None:
    env: WebEnv = await start_web(units=0)
    use = {date(2026, 12, 1): 3000, date(2026, 12, 15): 1500, date(2026, 11, 20): 2000, date(2025, 12, 10): 4000,
           date(2025, 12, 20): 9000, date(2025, 3, 1): 1000}
    async with env.site.db.write() as session:
        await session.execute(insert(EnergyDailyRow), [
            {"entity_id": X, "day": date_day(d), "first_wh": 0, "last_wh": wh, "use_wh": wh, "readings": 2}
            for d, wh in use.items()
        ])
    tz = ZoneInfo("Asia/Shanghai")
    month = await consumption(env.site.db, X, "month", date(2026, 12, 15), tz)
    assert (month.total_kwh, month.previous_kwh, month.last_year_kwh) == (4.5, 2.0, 4.0)  # 1-15 Dec 2025 only
    assert len(month.bars) == 15 and month.bars[0] == ("12-01", 3.0) and month.bars[-1] == ("12-15", 1.5)
    year = await consumption(env.site.db, X, "year", date(2026, 12, 15), tz)
    assert (year.total_kwh, year.previous_kwh, year.last_year_kwh) == (6.5, 14.0, 5.0)
    assert year.bars[10:] == [("11", 2.0), ("12", 4.5)]
