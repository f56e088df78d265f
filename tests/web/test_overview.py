"""The home page shows the building in one look: figures, trend, top consumers, alarms, a floor map of every shop
coloured by status, and the meter table as a second tab whose batch toolbar cannot surprise."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from scada_core.reports.models import EnergyDailyRow
from scada_core.reports.rollup import date_day

from .conftest import PASSWORD, WebEnv
from .test_browser import ARGS, CHROMIUM, login

CSS = Path(__file__).resolve().parents[2] / "web" / "static" / "web.css"
ADMIN = {"id": "boss", "role": "admin"}
M1, M2, M3 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2", "acrel_dtsy1352.b1_f3_m3"
X1, X2 = "acrel_dtsy1352.b1_f9_0901", "acrel_dtsy1352.b1_f9_0902"  # no readings: the rollup loop leaves their rows
STATUS_RULE = re.compile(r"\.st-(\w+) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}")


def _luminance(colour: str) -> float:
    """WCAG relative luminance of #rrggbb."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two colours."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_status_colour_passes_wcag_aa() -> None:
    """Each status badge/tile's text on its background has a contrast of at least 4.5:1."""
    rules = {status: (bg, fg) for status, bg, fg in STATUS_RULE.findall(CSS.read_text(encoding="utf-8"))}
    assert set(rules) == {"not_opened", "opened", "alarm1", "alarm2", "arrears", "offline"}
    assert {status: round(contrast(*pair), 2) for status, pair in rules.items() if contrast(*pair) < 4.5} == {}
    assert round(contrast("#d4a106", "#ffffff"), 2) == 2.36  # the old 报警1 badge, which failed


async def test_overview_counts_money_energy_and_names_the_top_consumers(start_web: Any) -> None:
    env: WebEnv = await start_web(units=3)
    billing = env.site.billing
    account = await billing.open_account("张三商店", [M1], ADMIN)
    await billing.sell(M1, 12345, "cash", "ov-1", ADMIN)
    await billing.sell(M1, 1000, "cash", "ov-2", ADMIN)
    await billing.refund(M1, 345, "cash", "ov-3", ADMIN)
    today = date_day(env.core.clock.now().date())
    async with env.site.db.write() as session:  # what the daily rollups hold for today and yesterday
        await session.execute(insert(EnergyDailyRow), [
            {"entity_id": X1, "day": today, "first_wh": 0, "last_wh": 5250, "use_wh": 5250, "readings": 2},
            {"entity_id": X2, "day": today, "first_wh": 0, "last_wh": 1000, "use_wh": 1000, "readings": 2},
            {"entity_id": X2, "day": today - 1, "first_wh": 0, "last_wh": 700, "use_wh": 700, "readings": 2},
        ])
    view = await env.site.overview.build()
    assert (view.total, view.statuses["opened"], view.statuses["not_opened"], view.online_rate) == (3, 1, 2, 1.0)
    assert (view.sales_today_fen, view.energy_today_wh) == (13000, 6250)  # sales less the refund
    assert len(view.trend) == 30 and view.trend[-1][1:] == (13000, 6250) and view.trend[-2][2] == 700
    yesterday_this_month = 700 if env.core.clock.now().day > 1 else 0  # on the 1st, yesterday is last month
    assert view.top == [(X1, 5250), (X2, 1000 + yesterday_this_month)]
    assert view.energy_month_wh == 6250 + yesterday_this_month
    client = env.client()
    await env.operator("boss", "admin")
    await env.submit_login(client, "boss")
    async with client.get(env.base + "/") as resp:
        page = await resp.text()
    assert resp.status == 200 and "<title>楼层平面图 · 表计总览 · " in page
    assert 'id="kpi-sales-today">130.00<' in page and 'id="kpi-energy-today">6.25<' in page
    top = page.split('id="top"')[1].split("</table>")[0]
    assert top.index("9F-0901") < top.index("9F-0902")  # named by floor and room, biggest first
    assert X1 not in re.sub(r'href="[^"]*"', "", top)  # names, not entity ids
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2 and "暂无数据" not in page  # both trends drawn
    assert account["id"]


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.timeout(120)
async def test_floor_map_table_tab_and_a_batch_that_asks_first(start_web: Any, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=3)
    await env.operator("boss", "admin")
    await env.site.billing.open_account("李四餐饮", [M2], ADMIN)
    await env.site.billing.sell(M2, 10000, "cash", "map-1", ADMIN)
    shots = Path(os.environ.get("ARTIFACTS_DIR") or tmp_path)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
            await login(page, env.base, "boss")
            await expect(page.locator("#floor-map .tile")).to_have_count(3)
            tile = page.locator(f'#floor-map .tile[data-id="{M2}"]')
            await expect(tile).to_have_class(re.compile("st-opened"))
            await expect(tile).to_contain_text("李四餐饮")
            await expect(page.locator("#floor-map .floor-name").first).to_have_text("3F")  # top floor first
            await expect(page.locator("#floor-map")).to_contain_text("一号楼")  # the building's name, not b1
            assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            await page.screenshot(path=str(shots / "overview-1366.png"), full_page=True)
            await tile.click()
            await expect(page).to_have_url(f"{env.base}/meters/{M2}")

            await page.goto(env.base + "/")
            await page.click('#tabs a[data-tab="table"]')
            await expect(page.locator("#grid tbody tr")).to_have_count(3)
            await expect(page).to_have_url(re.compile(r"tab=table"))
            await page.click("#b-run")  # no action chosen: nothing runs, and it says why
            await expect(page.locator("#b-progress")).to_have_text("请先选择要执行的操作")
            await page.select_option("#b-service", "trip")
            await page.click("#b-run")
            await expect(page.locator("#b-progress")).to_have_text("请先勾选要操作的表计")
            await page.check(f'input.sel[value="{M1}"]')
            await page.click("#b-run")
            await expect(page.locator("#b-question")).to_have_text("确认对 1 户拉闸？")
            await page.click("#b-cancel")
            await page.wait_for_timeout(300)
            assert env.sim is not None and env.sim.meters[1].forced != "trip"  # cancelled: the meter is untouched
            await page.click("#b-run")
            await page.click("#b-confirm")
            await expect(page.locator("#b-summary")).to_contain_text("拉闸: 1/1", timeout=15000)
            assert env.sim.meters[1].forced == "trip"
            await expect(page.locator(f'#floor-map .tile[data-id="{M1}"] .mark-T')).to_have_count(1, timeout=10000)
            await page.screenshot(path=str(shots / "table-1366.png"), full_page=True)
        finally:
            await browser.close()
    assert PASSWORD


def test_axis_labels_never_overlap_and_stay_legible() -> None:
    """However many bars, neighbouring axis labels (``11-05``) are further apart than a label is wide, and the text
    is 13 chart units (>= 12 CSS px at the width the pages draw the charts)."""
    from web.charts import AXIS_PX, bar_chart  # noqa: PLC0415

    for count, width in ((30, 560), (31, 760), (365, 760), (7, 560)):
        svg = bar_chart([(f"{n:05d}", 1.0) for n in range(count)], "kWh", "", width)
        xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="\d+" text-anchor="middle"', svg)]
        assert xs and min(b - a for a, b in zip(xs, xs[1:]) or [99]) > 5 * 0.6 * AXIS_PX + 8, (count, width)
    assert f'font-size="{AXIS_PX}"' in svg and AXIS_PX >= 12
    assert bar_chart([("a", 0.0)], "kWh", "暂无数据") == '<p class="chart-empty">暂无数据</p>'
