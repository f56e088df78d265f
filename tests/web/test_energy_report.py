"""The energy report: per day, month or year × meter, the TOU split (尖峰平谷) and the cost billing charged, grouped
and subtotalled by shop, floor or building, exported streamed; hostile query parameters are refused clearly."""
from __future__ import annotations

import asyncio
import io
import logging
import os
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select, text

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_TCP, SimServer
from integrations.modbus.profile import get_profile
from scada_core.billing.const import KIND_CONSUMPTION
from scada_core.billing.models import MeterRow, TransactionRow
from scada_core.billing.tariff_store import building_scope
from scada_core.reports.energy import LINE_ROW, ReportMeter, energy_lines
from scada_core.reports.models import EnergyDailyRow
from scada_core.reports.rollup import date_day
from scada_core.storage.database import Database, resolve_url
from scada_core.storage.models import ReadingRow
from tests.billing.conftest import field_sections
from tests.helpers import bench_figures, close_database, drop_schema, until, wait_for

from .conftest import PASSWORD, TZ, WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = pytest.mark.timeout(120)
ADMIN = {"id": "boss", "role": "admin"}
P1, P2 = "modbus_meter.p1", "modbus_meter.p2"
HEADER = ("商铺", "期间", "表计", "名称", "尖(kWh)", "峰(kWh)", "平(kWh)", "谷(kWh)", "未分时(kWh)", "电量(kWh)",
          "电费(元)")
BEFORE = {"kind": "tou", "prices": {"sharp": "1.50", "peak": "1.20", "flat": "0.80", "valley": "0.40"},
          "periods": [{"start": "00:00", "rate": "valley"}, {"start": "08:00", "rate": "peak"},
                      {"start": "11:00", "rate": "sharp"}, {"start": "12:00", "rate": "flat"},
                      {"start": "22:00", "rate": "valley"}]}
AFTER = {**BEFORE, "prices": {"sharp": "2.00", "peak": "1.60", "flat": "1.00", "valley": "0.50"}}


async def sheet_of(client: Any, base: str, query: str) -> list[tuple[Any, ...]]:
    """Return the rows of the report's export."""
    async with client.get(f"{base}/reports?{query}&format=xlsx") as resp:
        assert resp.status == 200, await resp.text()
        return list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))


async def test_split_and_cost_across_period_boundaries_and_a_tariff_change(start_web: Any) -> None:
    """Two server-side meters on the simulator, charged by billing from their readings under a TOU tariff that
    changes at midnight: each day's 尖峰平谷 kWh are the meter's rate counters, the cost is what billing charged
    (the rate at each reading's time, the new prices from the change on), subtotalled per shop."""
    moment = [datetime(2026, 3, 1, 7, 0, tzinfo=TZ).timestamp()]
    meters = {u: SimMeter(unit=u, remaining_fen=10_000_000, base_power_w=0.0, overdraft_fen=0, last_ts=moment[0])
              for u in (1, 2)}
    sim = SimServer(get_profile("dtsy1352"), meters, lambda: moment[0], TZ, mode=MODE_TCP, port=0)
    await sim.async_start()
    try:
        env: WebEnv = await start_web(extra={
            **field_sections(sim.port, 2, plain=True),
            "billing": {"buildings": {"b1": {"name": "一号楼", "meters": ["*"], "tariff": BEFORE}},
                        "reconcile_interval": 3600}})
        env.core.clock.freeze(datetime.fromtimestamp(moment[0], TZ))
        billing = env.site.billing
        for entity in (P1, P2):
            await wait_for(lambda e=entity: (s := env.core.states.get(e)) is not None and s.attributes.get("online"),
                           what=f"{entity} online")
        shops = {}
        for entity, name in ((P1, "商铺甲"), (P2, "商铺乙")):
            account = await billing.open_account(name, [entity], ADMIN)
            shops[entity] = account["id"]
            await billing.credit_payment(account["id"], 100_000, "cash", f"pay-{entity}", ADMIN)
        changed = datetime(2026, 3, 2, tzinfo=TZ).timestamp()
        await billing.set_tariff(building_scope("b1"), AFTER, changed, ADMIN)

        async def charged(entity: str) -> int:
            async with env.core.db.session() as session:
                rows = await session.execute(select(TransactionRow.amount_fen).where(
                    TransactionRow.kind == KIND_CONSUMPTION, TransactionRow.meter_entity_id == entity))
                return sum(rows.scalars())

        async def seen_at(entity: str, ts: float) -> bool:
            async with env.core.db.session() as session:
                meter = await session.get(MeterRow, entity)
                return meter is not None and meter.last_reading_ts == ts

        async def use(unit: int, at: datetime, rate: str, wh: int, fen: int) -> None:
            """At local time ``at`` the meter counts ``wh`` on ``rate``: billing must charge ``fen`` for it."""
            entity = f"modbus_meter.p{unit}"
            before = await charged(entity)
            moment[0] = at.timestamp()  # the meter's clock and its counter move in one step: one frame has both
            meters[unit].energy_wh[rate] += wh
            env.core.clock.freeze(at)
            await until(lambda: charged(entity), lambda total: total == before + fen)
            await until(lambda: seen_at(entity, at.timestamp()), bool)

        # The first readings only set where each meter's counters start.
        await until(lambda: seen_at(P1, moment[0]), bool)
        await until(lambda: seen_at(P2, moment[0]), bool)
        day1 = lambda h, m: datetime(2026, 3, 1, h, m, 30, tzinfo=TZ)  # noqa: E731
        await use(1, day1(7, 59), "valley", 1000, 40)  # 30 s before the peak starts
        await use(1, day1(8, 0), "peak", 2000, 240)  # 30 s after
        await use(1, day1(11, 30), "sharp", 3000, 450)
        await use(2, day1(13, 0), "flat", 1000, 80)  # (one clock for the simulator's meters: in time order)
        await use(1, day1(22, 0), "valley", 500, 20)
        await use(1, datetime(2026, 3, 2, 9, 0, tzinfo=TZ), "peak", 1000, 160)  # the new prices
        await use(2, datetime(2026, 3, 2, 23, 59, 59, tzinfo=TZ), "valley", 250, 13)  # 0.125 → 0.13 (half up)
        await env.core.recorder.async_flush()

        await env.operator("viewer1", "viewer")
        client, _ = await env.login("viewer1")
        query = "kind=energy&group=shop&period=day&start=2026-03-01&end=2026-03-02"
        sheet = await sheet_of(client, env.base, query)
        shop1, shop2 = f"{shops[P1]} 商铺甲", f"{shops[P2]} 商铺乙"
        assert sheet[0] == HEADER
        assert [r[:3] + r[4:] for r in sheet[1:]] == [
            (shop1, "2026-03-01", P1, 3, 2, 0, 1.5, 0, 6.5, 7.5),
            (shop1, "2026-03-02", P1, 0, 1, 0, 0, 0, 1, 1.6),
            (f"{shop1} 小计", None, None, 3, 3, 0, 1.5, 0, 7.5, 9.1),
            (shop2, "2026-03-01", P2, 0, 0, 1, 0, 0, 1, 0.8),
            (shop2, "2026-03-02", P2, 0, 0, 0, 0.25, 0, 0.25, 0.13),
            (f"{shop2} 小计", None, None, 0, 0, 1, 0.25, 0, 1.25, 0.93),
            ("合计", None, None, 3, 3, 1, 1.75, 0, 8.75, 10.03),
        ]
        # The cost is billing's own: the whole report's equals the energy revenue in the trial balance.
        assert (await billing.trial_balance())["accounts"]["revenue:energy"] == -1003
        month = await sheet_of(client, env.base, query.replace("period=day", "period=month"))
        assert [(r[1], r[2], r[9], r[10]) for r in month[1:] if r[2]] == [("2026-03", P1, 7.5, 9.1),
                                                                          ("2026-03", P2, 1.25, 0.93)]
        one_day = await sheet_of(client, env.base, query.replace("end=2026-03-02", "end=2026-03-01"))
        assert one_day[-1][0] == "合计" and one_day[-1][9:] == (7.5, 8.3)

        async with client.get(f"{env.base}/reports?{query}") as resp:
            page = await resp.text()
        assert resp.status == 200 and 'id="energy-note"' in page and "读数时刻生效的电价" in page
        assert "商铺甲 小计" in page and "10.03" in page and 'id="energy-summary"' in page
        audit = await env.site.audit.query(action="report_export")
        assert audit[0]["operator"] == "viewer1" and '"rows": 4' in audit[-1]["after"]
    finally:
        await sim.async_stop()


async def test_a_meter_side_meters_cost_is_the_money_it_used(start_web: Any) -> None:
    """A prepaid DTSY1352 (the meter keeps the money): the report's cost is the consumption billing mirrored from
    the meter's own money, its kWh the meter's rate counters; at any hour (the range holds yesterday and today)."""
    env: WebEnv = await start_web(units=1, gateway={"energy_interval": 0.3}, extra={"billing": {
        "buildings": {"b1": {"name": "一号楼", "meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}},
        "reconcile_interval": 3600, "consumption_interval": 0}})
    m1 = "acrel_dtsy1352.b1_f2_m1"
    billing = env.site.billing
    account = await billing.open_account("商铺丙", [m1], ADMIN)
    await billing.sell(m1, 20_000, "cash", "sale-1", ADMIN)
    assert env.sim is not None
    await wait_for(lambda: env.sim.meters[1].remaining_fen == 20_000, what="sale delivered")

    async def energy_revenue() -> int:
        return int((await billing.trial_balance())["accounts"].get("revenue:energy", 0))

    async def peak_recorded() -> int | None:
        await env.core.recorder.async_flush()
        async with env.core.db.session() as session:
            return (await session.execute(select(func.max(ReadingRow.peak_wh)))).scalar()

    await until(peak_recorded, lambda wh: wh == 0)  # the day's use counts from a reading before it
    sim = env.sim.meters[1]
    sim.energy_wh["peak"] += 1234
    sim.remaining_fen -= 1234
    await until(energy_revenue, lambda fen: fen == -1234)
    await until(peak_recorded, lambda wh: wh == 1230)  # the meter counts 10 Wh steps
    await env.operator("viewer1", "viewer")
    client, _ = await env.login("viewer1")
    today = env.core.clock.now().date()
    sheet = await sheet_of(client, env.base, f"kind=energy&group=shop&start={today - timedelta(days=1)}&end={today}")
    assert {r[0] for r in sheet[1:-1]} == {f"{account['id']} 商铺丙", f"{account['id']} 商铺丙 小计"}
    assert sheet[-1][0] == "合计" and sheet[-1][5] == 1.23 and sheet[-1][8:] == (0, 1.23, 12.34)


def readings(entity: str, day: int, hour_wh: list[tuple[int, int, tuple[int, int, int, int] | None]]) -> list[dict]:
    """Return readings of ``entity`` on March ``day``: (hour, total Wh, rate counters or None)."""
    rows = []
    for hour, total, rates in hour_wh:
        ts = datetime(2026, 3, day, hour, tzinfo=TZ).timestamp()
        split = dict(zip(("sharp_wh", "peak_wh", "flat_wh", "valley_wh"), rates or (None,) * 4, strict=True))
        rows.append({"entity_id": entity, "ts": ts, "received_ts": ts, "total_wh": total, **split})
    return rows


async def test_rollup_keeps_the_split_incrementally_and_old_days_show_unsplit(start_web: Any) -> None:
    """The rollup splits each day by the rate counters and stays right incrementally; a day some of whose
    readings lack the counters, and a day rolled up before the split was kept, show their use as unsplit."""
    env: WebEnv = await start_web(extra={"billing": {
        "buildings": {"b1": {"name": "一号楼", "meters": ["*_b1_*"], "tariff": {"kind": "flat", "price": "1"}},
                      "b2": {"name": "二号楼", "meters": ["*_b2_*"], "tariff": {"kind": "flat", "price": "1"}}},
        "reconcile_interval": 3600}})
    db = env.core.db
    a, b, old = "acrel_dtsy1352.x_b1_f2_m1", "acrel_dtsy1352.x_b2_f3_m2", "acrel_dtsy1352.x_b1_f3_m9"
    rows = readings(a, 1, [(1, 1000, (100, 200, 300, 400)), (23, 1600, (100, 500, 500, 500))])
    rows += readings(a, 2, [(9, 2000, (300, 600, 600, 500))])
    rows += readings(b, 1, [(8, 0, (0, 0, 0, 0)), (20, 700, (0, 700, 0, 0))])
    async with db.session() as session:
        await session.execute(insert(ReadingRow), rows)
    await env.site.rollup(datetime(2026, 3, 1, tzinfo=TZ).timestamp())
    # Day 3 arrives later (incremental): one reading without rate counters makes the day unsplit.
    async with db.session() as session:
        await session.execute(insert(ReadingRow), readings(a, 3, [(9, 2500, (300, 800, 600, 500)),
                                                                  (10, 2600, None)]))
    await env.site.rollup(None)
    # Day 4: split again, but the day before is unsplit: only the use within day 4 is split, the rest unsplit.
    async with db.session() as session:
        await session.execute(insert(ReadingRow), readings(a, 4, [(9, 3000, (300, 900, 700, 500)),
                                                                  (12, 3100, (300, 900, 800, 500))]))
    await env.site.rollup(None)
    async with db.session() as session:  # a day rolled up before migration 0034: no split columns
        await session.execute(insert(EnergyDailyRow), [{"entity_id": old, "day": date_day(date(2026, 3, 1)),
                                                        "first_wh": 0, "last_wh": 900, "use_wh": 900,
                                                        "readings": 3}])
    env.core.clock.freeze(datetime(2026, 3, 10, 12, tzinfo=TZ))

    await env.operator("viewer1", "viewer")
    client, _ = await env.login("viewer1")
    sheet = await sheet_of(client, env.base, "kind=energy&group=floor&start=2026-03-01&end=2026-03-05")
    assert sheet[0][0] == "楼层"
    assert [r[:3] + r[4:] for r in sheet[1:]] == [
        ("b1 2F", "2026-03-01", a, 0, 0.3, 0.2, 0.1, 0, 0.6, 0),
        ("b1 2F", "2026-03-02", a, 0.2, 0.1, 0.1, 0, 0, 0.4, 0),
        ("b1 2F", "2026-03-03", a, None, None, None, None, 0.6, 0.6, 0),
        ("b1 2F", "2026-03-04", a, 0, 0, 0.1, 0, 0.4, 0.5, 0),
        ("b1 2F 小计", None, None, 0.2, 0.4, 0.4, 0.1, 1, 2.1, 0),
        ("b1 3F", "2026-03-01", old, None, None, None, None, 0.9, 0.9, 0),
        ("b1 3F 小计", None, None, None, None, None, None, 0.9, 0.9, 0),
        ("b2 3F", "2026-03-01", b, 0, 0.7, 0, 0, 0, 0.7, 0),  # 3F of another building: another floor
        ("b2 3F 小计", None, None, 0, 0.7, 0, 0, 0, 0.7, 0),
        ("合计", None, None, 0.2, 1.1, 0.4, 0.1, 1.9, 3.7, 0),
    ]
    # By building, and one building only: another building's meters never show.
    by_building = await sheet_of(client, env.base, "kind=energy&group=building&period=year&start=2026-03-01"
                                                   "&end=2026-03-05")
    assert [(r[0], r[1], r[2], r[9]) for r in by_building[1:]] == [
        ("b1", "2026", a, 2.1), ("b1", "2026", old, 0.9), ("b1 小计", None, None, 3.0),
        ("b2", "2026", b, 0.7), ("b2 小计", None, None, 0.7), ("合计", None, None, 3.7)]
    only_b2 = await sheet_of(client, env.base, "kind=energy&group=floor&building=b2&start=2026-03-01"
                                               "&end=2026-03-05")
    assert [r[2] for r in only_b2[1:]] == [b, None, None] and only_b2[-1][9] == 0.7
    async with client.get(f"{env.base}/reports?kind=energy&building=b2&start=2026-03-01&end=2026-03-05") as resp:
        page = await resp.text()
    assert resp.status == 200 and b in page and a not in page and old not in page
    # An operator kept to b2 sees b2's meters only, and may not ask for b1.
    await env.site.auth.create_operator("floor2", "floor2", "viewer", PASSWORD, must_change=False, buildings=["b2"])
    kept, _ = await env.login("floor2")
    mine = await sheet_of(kept, env.base, "kind=energy&group=shop&start=2026-03-01&end=2026-03-05")
    assert [r[2] for r in mine[1:]] == [b, None, None] and mine[-1][9] == 0.7
    async with kept.get(f"{env.base}/reports?kind=energy&start=2026-03-01&end=2026-03-05") as resp:
        page = await resp.text()
    assert b in page and a not in page and old not in page and '<option value="b1"' not in page
    for suffix in ("", "&format=xlsx"):
        async with kept.get(f"{env.base}/reports?kind=energy&building=b1{suffix}") as resp:
            assert resp.status == 403 and "不是您负责的楼栋" in await resp.text()
    # Exports at once (each brings the rollups up to date under the site's lock) write the same lines.
    query = "kind=energy&group=floor&start=2026-03-01&end=2026-03-05"
    assert await asyncio.gather(*(sheet_of(client, env.base, query) for _ in range(3))) == [sheet] * 3


@pytest.mark.parametrize("query, message", [
    ("start=2026-02-30", "start must be a date"),
    ("end=２０２６-03-01", "end must be a date"),
    ("start=-2026-01-01", "start must be a date"),
    ("start=0001-01-01&end=9999-12-31", "日期范围不能超过 3660 天"),
    ("period=hour", "period must be one of day, month, year"),
    ("group=meter%27%20OR%201=1", "group must be one of shop, floor, building"),
    ("building=b9", "没有这个楼宇 / no such building"),
    ("building=%E4%B8%80%E5%8F%B7%E6%A5%BC", "没有这个楼宇"),
])
async def test_hostile_query_parameters_get_a_clear_400(
    start_web: Any, caplog: pytest.LogCaptureFixture, query: str, message: str
) -> None:
    """Bad dates, a range of millennia, unknown choices and a building that is not ours: a 400 that says which,
    on the page and on the export, with no traceback in the log."""
    env: WebEnv = await start_web()
    await env.operator("viewer1", "viewer")
    client, _ = await env.login("viewer1")
    for suffix in ("", "&format=xlsx"):
        async with client.get(f"{env.base}/reports?kind=energy&{query}{suffix}") as resp:
            assert resp.status == 400 and message in await resp.text()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_the_report_needs_a_login(start_web: Any) -> None:
    """Neither the page nor its export answers without a logged-in operator."""
    env: WebEnv = await start_web()
    async with env.client() as anonymous:
        for suffix in ("", "&format=xlsx"):
            async with anonymous.get(f"{env.base}/reports?kind=energy{suffix}", allow_redirects=False) as resp:
                assert resp.status == 302 and resp.headers["Location"].startswith("/login")


async def test_batches_hold_a_bounded_number_of_meter_days(start_web: Any) -> None:
    """An export of 30 meters × 10 days in batches of about 40 meter-days: no batch holds more, every
    meter-day comes exactly once, in report order."""
    env: WebEnv = await start_web()
    first = date_day(date(2026, 3, 1))
    rows = [{"entity_id": f"m.{n:02d}", "day": first + d, "first_wh": 0, "last_wh": 0, "use_wh": n + d,
             "readings": 1} for n in range(30) for d in range(10)]
    async with env.core.db.session() as session:
        await session.execute(insert(EnergyDailyRow), rows)
    meters = [ReportMeter(f"m.{n:02d}", "g") for n in range(30)]
    seen = []
    async for batch in energy_lines(env.core.db, meters, first, first + 9, env.site.offset_s, "day", size=40):
        detail = [line for line in batch if line.kind == LINE_ROW]
        assert len(detail) <= 40
        seen += [(line.entity_id, line.period, line.usage.total_wh) for line in detail]
    assert len(seen) == 300 and seen[0] == ("m.00", "2026-03-01", 0) and seen[-1] == ("m.29", "2026-03-10", 38)
    assert sum(wh for *_, wh in seen) == sum(r["use_wh"] for r in rows)


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
async def test_the_energy_report_in_a_browser(start_web: Any) -> None:
    """Pick the range, month by month, by floor, one building; see the groups, the subtotals and the cost note;
    export the same lines to Excel."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web()
    a, b = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f3_m2"
    rows = readings(a, 1, [(1, 0, (0, 0, 0, 0)), (23, 1500, (500, 1000, 0, 0))])
    rows += readings(b, 2, [(1, 0, (0, 0, 0, 0)), (23, 250, (0, 0, 0, 250))])
    async with env.core.db.session() as session:
        await session.execute(insert(ReadingRow), rows)
    await env.site.rollup(None)
    env.core.clock.freeze(datetime(2026, 3, 20, 12, tzinfo=TZ))
    await env.operator("viewer1", "viewer")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(accept_downloads=True, timezone_id="UTC")
            page = await context.new_page()
            await login(page, env.base, "viewer1")
            await page.goto(f"{env.base}/reports?kind=energy")
            await page.fill("#report-form input[name=start]", "2026-03-01")
            await page.fill("#report-form input[name=end]", "2026-03-05")
            await page.select_option("#report-form select[name=period]", "month")
            await page.select_option("#report-form select[name=group]", "floor")
            await page.select_option("#report-form select[name=building]", "b1")
            await page.click("#report-form button")
            await expect(page.locator("#energy-summary tbody tr")).to_have_count(3)  # 2F, 3F, total
            await expect(page.locator("#energy-summary tbody tr").last).to_contain_text("1.75")
            detail = page.locator("#report tbody tr")
            await expect(detail).to_have_count(5)  # a, 2F subtotal, b, 3F subtotal, total
            await expect(detail.nth(1)).to_contain_text("b1 2F 小计")
            await expect(detail.nth(0).locator("td").nth(4)).to_have_text("0.50")  # 尖
            await expect(page.locator("#energy-note")).to_contain_text("未分时")
            async with page.expect_download() as info:
                await page.click("#export")
            download = await info.value
            assert download.suggested_filename == "energy-2026-03-01-2026-03-05.xlsx"
            body = io.BytesIO(Path(await download.path()).read_bytes())
            sheet = list(load_workbook(body).active.iter_rows(values_only=True))
            assert [(r[0], r[2], r[9]) for r in sheet[1:]] == [
                ("b1 2F", a, 1.5), ("b1 2F 小计", None, 1.5), ("b1 3F", b, 0.25), ("b1 3F 小计", None, 0.25),
                ("合计", None, 1.75)]
        finally:
            await browser.close()


async def _export_peak_mb(meters: int) -> float:
    """Export a year of ``meters`` in a fresh process (bench/energy_export.py, streamed only: the web's path) and
    return that process's peak memory (its own VmHWM)."""
    figures = await bench_figures("energy_export.py", "--meters", str(meters), "--streamed-only")
    assert figures["rows"] == meters * 365 and figures["name"] == "energy_report_export"
    return float(figures["peak_rss_mb"])


async def test_a_year_export_takes_the_same_memory_for_ten_times_the_meters() -> None:
    """A year of 120 meters (43,800 rows) peaks no higher than a year of 12 (give or take 16 MB of allocator
    noise) and well under 120 MB. (bench/energy_export.py runs 1,000 or 10,000 meters.)"""
    small = await _export_peak_mb(12)
    large = await _export_peak_mb(120)
    assert large < 120, large
    assert large - small < 16, (small, large)


async def test_the_page_shows_the_first_lines_and_every_groups_total(start_web: Any) -> None:
    """60 meters × 10 days: the page shows 500 detail lines and says the export has the rest, while the groups'
    totals cover every meter; the export holds all 600 lines."""
    env: WebEnv = await start_web()
    first = date_day(date(2026, 3, 1))
    rows = [{"entity_id": f"acrel_dtsy1352.b1_f{2 + n % 2}_m{n}", "day": first + d, "first_wh": 0, "last_wh": 0,
             "use_wh": 100, "readings": 1} for n in range(60) for d in range(10)]
    async with env.core.db.session() as session:
        await session.execute(insert(EnergyDailyRow), rows)
    env.core.clock.freeze(datetime(2026, 3, 20, 12, tzinfo=TZ))
    await env.operator("viewer1", "viewer")
    client, _ = await env.login("viewer1")
    query = "kind=energy&group=floor&start=2026-03-01&end=2026-03-10"
    async with client.get(f"{env.base}/reports?{query}") as resp:
        page = await resp.text()
    assert resp.status == 200 and 'id="energy-more"' in page and "前 500 行" in page
    detail = page.split('id="report"', 1)[1]
    assert detail.count("<tr") == 1 + 500
    summary = page.split('id="energy-summary"', 1)[1].split("</table>", 1)[0]
    assert "b1 2F" in summary and "b1 3F" in summary and ">60<" in summary and ">60.00<" in summary
    sheet = await sheet_of(client, env.base, query)
    assert sum(1 for r in sheet[1:] if r[2]) == 600 and sheet[-1][9] == 60


async def test_days_rolled_up_before_the_split_stay_and_read_as_unsplit(
    db_settings: dict[str, str], tmp_path: Path
) -> None:
    """A database with a day rolled up before migration 0034: upgraded, the day keeps its use with no split
    (NULL, not 0), and the report lines show it all as unsplit; the migration also goes back down."""
    url = resolve_url(tmp_path, db_settings["db_url"])
    db = Database(url, db_settings.get("db_schema"))
    try:
        await db.async_upgrade("0036_web_roles")
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO energy_daily (entity_id, day, first_wh, last_wh, use_wh, readings)"
                                    " VALUES ('m.old', 20500, 100, 1300, 1200, 48)"))
        await db.async_upgrade()
        async with db.session() as session:
            row = await session.get(EnergyDailyRow, ("m.old", 20500))
            assert row is not None and row.use_wh == 1200 and row.sharp_wh is None and row.valley_last_wh is None
        lines = [line async for batch in energy_lines(db, [ReportMeter("m.old", "g")], 20500, 20500, 0, "day")
                 for line in batch]
        assert [(line.kind, line.usage.cells()[:6]) for line in lines] == [
            (LINE_ROW, [None, None, None, None, Decimal("1.20"), Decimal("1.20")]),
            ("subtotal", [None, None, None, None, Decimal("1.20"), Decimal("1.20")]),
            ("total", [None, None, None, None, Decimal("1.20"), Decimal("1.20")])]
        await db.async_downgrade("0036_web_roles")
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT use_wh FROM energy_daily"))).scalar() == 1200
    finally:
        await close_database(db)
        await drop_schema(tmp_path, db_settings)
