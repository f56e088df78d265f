"""The dashboard in a real browser (Debian's chromium through Playwright) against simulated DTSY1352 meters."""
from __future__ import annotations

import io
import os
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from .conftest import PASSWORD, WebEnv

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


async def login(page: Any, base: str, username: str) -> None:
    """Log in through the form."""
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


@pytest.mark.timeout(120)
async def test_staff_day_in_the_browser(start_web: Any) -> None:
    """Open an account, sell with confirmation, print the receipt, batch-trip two meters, export a report."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=3)
    await env.operator("boss", "admin")
    await env.operator("clerk", "cashier")
    m1, m2, m3 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2", "acrel_dtsy1352.b1_f3_m3"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(accept_downloads=True, timezone_id="UTC")
            page = await context.new_page()
            blocked: list[str] = []  # the Content-Security-Policy allows no inline script or style: nothing may break
            page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
            await login(page, env.base, "boss")
            # The grid shows every meter, not opened yet.
            await expect(page.locator("#grid tbody tr")).to_have_count(3)
            await expect(page.locator(f'tr[data-id="{m1}"] .status')).to_contain_text("未开户")
            # Reading times are in the site's zone (Asia/Shanghai), whatever zone the browser is in.
            last_read = (await page.locator(f'tr[data-id="{m1}"] td').last.inner_text()).strip()
            shown = datetime.strptime(last_read, "%Y/%m/%d %H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
            assert abs((datetime.now(ZoneInfo("Asia/Shanghai")) - shown).total_seconds()) < 600, last_read

            # Open an account on m1 (开户), then sell 1234.50 with the confirmation step.
            await page.goto(f"{env.base}/accounts?meter={m1}")
            await page.fill("#open-form input[name=name]", "张三商店")
            await page.click("#open-form button[type=submit]")
            await expect(page).to_have_url(re.compile(r"/accounts/\d+$"))
            await page.goto(f"{env.base}/sell?meter={m1}&kind=sale")
            await page.click('#quick-amounts [data-value="500"]')  # a one-tap amount fills the field
            await expect(page.locator("#amount")).to_have_value("500")
            await page.fill("#amount", "1234.50")
            await page.click("#next")
            await expect(page.locator("#balance-after")).to_have_text("1234.50 元")  # from 0.00 before
            await expect(page.locator("#confirm-words")).to_have_text("壹仟贰佰叁拾肆元伍角整")
            await page.click("#confirm")
            await expect(page.locator("#tx-amount")).to_have_text("1234.50")
            await expect(page.locator("#delivery")).to_contain_text("已写表")
            assert env.sim is not None and env.sim.meters[1].remaining_fen == 123450
            async with page.expect_download() as info:
                await page.click("#receipt")
            pdf = await (await info.value).path()
            text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
            for expected in ("1234.50", "壹仟贰佰叁拾肆元伍角整", "张三商店", "存根联", "客户联", "财务联", "现金"):
                assert expected in text, expected
            assert "cash" not in text and m1 not in text  # the method and the meter in words

            # The sale shows on the grid within seconds; batch-trip two meters and watch them go red.
            await page.goto(env.base + "/?tab=table")  # the meter table is the home page's second tab
            await expect(page.locator(f'tr[data-id="{m1}"] .status')).to_contain_text("开户")
            await expect(page.locator(f'tr[data-id="{m1}"] td.num').first).to_have_text("1234.50", timeout=10000)
            await page.check(f'input.sel[value="{m2}"]')
            await page.check(f'input.sel[value="{m3}"]')
            await page.select_option("#b-service", "trip")
            await page.click("#b-run")
            await expect(page.locator("#b-question")).to_have_text("确认对 2 户拉闸？")  # nothing runs unconfirmed
            await page.click("#b-confirm")
            await expect(page.locator("#b-summary")).to_contain_text("2/2", timeout=15000)
            for meter in (m2, m3):
                row = page.locator(f'tr[data-id="{meter}"]')
                await expect(row).to_have_class(re.compile("tripped"), timeout=10000)
                color = await row.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
                red, green, _blue = (int(v) for v in re.findall(r"\d+", color)[:3])
                assert red > 200 and green < 230, color
            await expect(page.locator(f'tr[data-id="{m1}"]')).not_to_have_class(re.compile("tripped"))
            assert env.sim.meters[2].forced == "trip" and env.sim.meters[3].forced == "trip"

            # Sales report on screen and as .xlsx: the same columns and totals.
            await page.goto(f"{env.base}/reports?kind=sales&group=operator")
            await expect(page.locator("#report tbody tr").first).to_contain_text("boss")
            async with page.expect_download() as info:
                await page.click("#export")
            book = load_workbook(io.BytesIO(open(await (await info.value).path(), "rb").read()))
            rows = list(book.active.iter_rows(values_only=True))
            headers = await page.locator("#report thead th").all_inner_texts()
            assert list(rows[0]) == headers
            assert rows[1][1] == "boss" and float(rows[1][3]) == 1234.50
            assert rows[-1][0] == "合计" and float(rows[-1][3]) == 1234.50

            # Language switch: English for this operator.
            await page.select_option("select[name=language]", "en")
            await expect(page.locator("header nav")).to_contain_text("Reports")
            assert blocked == []

            # A cashier is refused on an admin page.
            clerk = await browser.new_context()
            clerk_page = await clerk.new_page()
            await login(clerk_page, env.base, "clerk")
            response = await clerk_page.goto(f"{env.base}/admin/operators")
            assert response is not None and response.status == 403
            await expect(clerk_page.locator("#forbidden")).to_be_visible()
            await expect(clerk_page.locator("header nav")).not_to_contain_text("操作员")
        finally:
            await browser.close()
    trips = await env.site.audit.query(action="meter:trip")
    assert {r["target"] for r in trips} == {m2, m3} and all(r["operator"] == "boss" for r in trips)
