"""A meter's readings exported over a date range, every one or one per interval; streamed: the memory an export
takes does not grow with its rows."""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from scada_core.storage.models import ReadingRow
from tests.helpers import bench_figures

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(120)
M1 = "acrel_dtsy1352.b1_f2_m1"
TZ = ZoneInfo("Asia/Shanghai")


async def test_a_meters_readings_export_by_range_and_interval(start_web: Any) -> None:
    """Two local days of readings every 10 minutes: the export of one day holds its 144, by hour its 24 (the
    first of each local hour), with kWh and money as numbers; another meter's readings never show."""
    env: WebEnv = await start_web(units=1)
    first = datetime(2026, 11, 2, 0, 0, tzinfo=TZ).timestamp()
    rows = [{"entity_id": entity, "ts": first + n * 600, "received_ts": first + n * 600, "total_wh": 1000 * n,
             "sharp_wh": 0, "peak_wh": 0, "flat_wh": 1000 * n, "valley_wh": 0, "money_fen": 50000 - n,
             "purchase_count": 3, "power_w": 500} for n in range(288) for entity in (M1, "acrel_dtsy1352.other")]
    async with env.core.db.session() as session:
        await session.execute(insert(ReadingRow.__table__), rows)
    await env.operator("viewer1", "viewer")
    client, _ = await env.login("viewer1")

    async def export(**params: str) -> list[tuple[Any, ...]]:
        async with client.get(f"{env.base}/meters/{M1}/readings.xlsx", params=params) as resp:
            assert resp.status == 200, await resp.text()
            return list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))

    day = await export(**{"from": "2026-11-02", "to": "2026-11-02"})
    assert day[0][:3] == ("时间", "总电能(kWh)", "尖(kWh)") and len(day) == 1 + 144
    assert day[1][0] == "2026-11-02 00:00:00" and day[1][1] == 0 and day[2][1] == 1 and day[2][6] == 499.99
    hourly = await export(**{"from": "2026-11-02", "to": "2026-11-03", "interval": "1h"})
    assert len(hourly) == 1 + 48 and [r[0][11:] for r in hourly[1:3]] == ["00:00:00", "01:00:00"]
    assert len(await export(**{"from": "2026-11-03", "to": "2026-11-03", "interval": "1d"})) == 2
    async with client.get(f"{env.base}/meters/{M1}/readings.xlsx", params={"interval": "2h"}) as resp:
        assert resp.status == 400
    async with client.get(f"{env.base}/meters/acrel_dtsy1352.nowhere/readings.xlsx") as resp:
        assert resp.status == 404
    assert (await env.site.audit.query(action="meter_readings_export"))[0]["operator"] == "viewer1"


async def _peak_rss_mb(count: int) -> float:
    """Export ``count`` readings in a fresh process (bench/exports.py, streamed only: the path the web's export
    takes) and return that process's peak memory (its own VmHWM: getrusage would report the forking parent's)."""
    figures = await bench_figures("exports.py", "--rows", str(count), "--streamed-only")
    assert figures["rows"] == count
    return float(figures["peak_rss_mb"])


async def test_an_export_takes_the_same_memory_for_ten_times_the_rows() -> None:
    """Readings go from the database to the sheet a batch at a time: 80,000 rows peak no higher than 8,000
    (give or take 16 MB of allocator noise) and well under 100 MB. (bench/exports.py runs the full million.)"""
    small = await _peak_rss_mb(8_000)
    large = await _peak_rss_mb(80_000)
    assert large < 100, large
    assert large - small < 16, (small, large)
