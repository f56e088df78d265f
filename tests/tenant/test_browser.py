"""End to end in Debian's chromium: a tenant tops up 50.00 on the phone page through the Alipay sandbox."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.alipay.harness import PASSWORDS, Site
from tests.helpers import wait_for
from web.directory import MeterDirectory

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

NO_OVERFLOW = "document.documentElement.scrollWidth <= innerWidth"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


async def phone_login(browser: Any, base: str, account_id: int, password: str) -> Any:
    """Open a 390x844 phone page, log in with the password (the login page checked for sideways scroll) and
    return the page at /m/home."""
    page = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await page.goto(f"{base}/m/login")
    assert await page.evaluate(NO_OVERFLOW)
    await page.fill("input[name=account_id]", str(account_id))
    await page.fill("input[name=password]", password)
    await page.click("#login")
    await page.wait_for_url(re.compile(r".*/m/home$"))
    return page


@pytest.fixture
def db_kind() -> str:
    """The browser run uses SQLite only (orders on PostgreSQL are covered by the other tests)."""
    return "sqlite"


async def test_phone_top_up_50_yuan(site: Site) -> None:
    """Log in, top up 50.00, press 确认付款 at the sandbox: notified, account and meter +50.00, receipt there."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only browser tests need it

    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await phone_login(browser, site.base, site.accounts["A"], PASSWORDS["A"])
            await page.fill("#amount", "50.00")
            await page.click("#pay")
            await page.wait_for_url(re.compile(r".*/sandbox/qr/TU\w+$"))
            await page.get_by_text("确认付款").click()
            await page.wait_for_url(re.compile(r".*/m/topup/return\?.*"))
            await page.locator("#state", has_text="充值成功").wait_for(timeout=20000)
            assert await site.balance("A") == before + 5000
            # the return page, drawn again once credited, shows the new balance and the receipt
            await page.locator("#new-balance").wait_for(timeout=20000)
            assert (await page.inner_text("#new-balance")).strip() == f"{(before + 5000) / 100:.2f}"
            assert await page.evaluate(NO_OVERFLOW)
            assert await page.locator("#receipt").get_attribute("href")
            await wait_for(lambda: site.sim.meters[1].remaining_fen == meter_before + 5000, what="meter +50.00")
            await page.click("#back")
            await page.wait_for_url(re.compile(r".*/m/home$"))
            assert (await page.inner_text("#balance")).strip() == f"{(before + 5000) / 100:.2f}"
            link = page.locator("#history a").first
            href = await link.get_attribute("href")
            assert href is not None
            pdf = await (await page.request.get(f"{site.base}{href}")).body()
        finally:
            await browser.close()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "50.00" in text
    assert [e[1:] for e in site.sandbox.notify_log] == [(200, "success")]


async def test_return_on_another_host_shows_the_result(site: Site) -> None:
    """Logged in at localhost, the phone comes back from paying to 127.0.0.1 (another origin, no session
    cookie there): it shows the paid order by its signed reference, not a bare 401; going home there asks
    the tenant to log in."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only browser tests need it

    login_host = site.base.replace("127.0.0.1", "localhost")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
            await page.goto(f"{login_host}/m/login")
            await page.fill("input[name=account_id]", str(site.accounts["A"]))
            await page.fill("input[name=password]", PASSWORDS["A"])
            await page.click("#login")
            await page.wait_for_url(f"{login_host}/m/home")
            await page.fill("#amount", "50.00")
            await page.click("#pay")
            await page.wait_for_url(re.compile(r".*/sandbox/qr/TU\w+$"))
            await page.get_by_text("确认付款").click()
            await page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/m/topup/return\?.*ref=.*"))
            await page.locator("#state", has_text="充值成功").wait_for(timeout=20000)
            assert "login required" not in await page.content()
            await page.click("#back")
            await page.wait_for_url(f"{site.base}/m/login")
            assert await page.locator("#login").is_visible()
        finally:
            await browser.close()


async def test_kiosk_top_up_by_qr(site: Site) -> None:
    """At the kiosk: type the room number, prove the shop with its password, touch 100.00, the QR shows; once paid
    the page turns into the receipt. The start page lists no shop."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415

    directory = MeterDirectory(site.core)
    await directory.async_load()
    await directory.save([{"entity_id": "acrel_dtsy1352.m2", "floor": "3F", "room": "0302", "label": "", "errors": []}])
    before = await site.balance("B")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            # the lobby's portrait screen
            page = await (await browser.new_context(viewport={"width": 1080, "height": 1920})).new_page()
            await page.goto(f"{site.base}/kiosk/")
            assert await page.evaluate(NO_OVERFLOW)
            assert "商铺A" not in await page.inner_text("main") and "商铺B" not in await page.inner_text("main")
            await page.fill("#shop", "0302")
            await page.press("#shop", "Enter")  # the first button: find by room
            await page.wait_for_url(re.compile(r".*/kiosk/check$"))
            assert await page.evaluate(NO_OVERFLOW)
            assert "商铺B" not in await page.inner_text("main")
            await page.fill("#password", PASSWORDS["B"])
            await page.click("#check-password")
            await page.wait_for_url(re.compile(r".*/kiosk/account$"))
            assert "商铺B" in await page.inner_text("main") and await page.evaluate(NO_OVERFLOW)
            assert await page.locator("#usage svg.chart").count() == 1  # the shop's last 30 days
            assert min(await page.evaluate(CHART_TEXT_PX)) >= 12
            await page.get_by_role("button", name="100.00").first.click()
            await page.wait_for_url(re.compile(r".*/kiosk/pay/TU\w+$"))
            assert await page.locator("#qr svg").count() == 1
            first = await page.inner_text("#countdown .left")  # the code's life, counting down
            assert re.fullmatch(r"\d+:\d\d", first), first
            await expect(page.locator("#countdown .left")).not_to_have_text(first, timeout=3000)
            assert await page.evaluate(NO_OVERFLOW)
            out_trade_no = page.url.rsplit("/", 1)[1]
            site.sandbox.pay(out_trade_no)  # the tenant's phone scanned and paid
            await page.wait_for_url(re.compile(rf".*/kiosk/receipt/{out_trade_no}$"), timeout=20000)
            assert "100.00" in await page.inner_text("#receipt") and await page.evaluate(NO_OVERFLOW)
        finally:
            await browser.close()
    assert await site.balance("B") == before + 10000


CHART_TEXT_PX = """() => [...document.querySelectorAll('svg.chart text')].map((text) => {
  const svg = text.ownerSVGElement;
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return parseFloat(getComputedStyle(text).fontSize) * scale;
})"""


async def test_phone_home_in_one_look(site: Site, tmp_path: Path) -> None:
    """At 390x844: no sideways scroll, the state in words with what to do, today's and this month's use, chart
    text at 12 px or more as shown, a tapped bar tells its day, each provider a row with its radio inside."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only browser tests need it

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await phone_login(browser, site.base, site.accounts["A"], PASSWORDS["A"])
            assert await page.evaluate(NO_OVERFLOW)
            state = (await page.inner_text("#account-state")).strip()
            assert state in ("正常", "余额不足", "已欠费", "已拉闸") and (await page.inner_text("#next-step")).strip()
            await expect(page.locator("#stats")).to_contain_text("今日用电")
            await expect(page.locator("#stats")).to_contain_text("本月电费")
            sizes = await page.evaluate(CHART_TEXT_PX)
            assert sizes and min(sizes) >= 11.9, sizes
            column = page.locator("figure.daily [data-bar]").last  # today, in the 30-day chart
            await column.click(force=True)
            caption = page.locator("figure.daily .bar-caption")
            await expect(caption).to_contain_text("kWh")
            await expect(caption).to_contain_text("元")  # and what the meter's use cost that day
            await expect(page.locator("#last-month")).to_contain_text("上月")
            await expect(page.locator("figure.hourly svg")).to_contain_text("今日每小时用电")
            await expect(page.locator(".warn-levels").first).to_contain_text("短信提醒")
            for row in await page.locator(".provider-row").all():
                box, radio = await row.bounding_box(), await row.locator("input").bounding_box()
                assert box and radio and box["height"] >= 44  # a thumb's target
                assert box["x"] <= radio["x"] <= box["x"] + 60  # the radio sits at the row's start, by its name
            await page.screenshot(path=str(tmp_path / "phone-home.png"), full_page=True)  # a test artifact
        finally:
            await browser.close()


async def test_kiosk_forgets_the_shop_when_idle(site: Site) -> None:
    """Nobody touches the kiosk for its idle time: back to the start, and the shop's page needs a check again."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only browser tests need it

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1080, "height": 1920})).new_page()
            await page.clock.install()  # the page's timers, not the test's wall clock
            await page.goto(f"{site.base}/kiosk/")
            await page.fill("#shop", str(site.accounts["A"]))
            await page.click('button[value="account"]')
            await page.wait_for_url(re.compile(r".*/kiosk/check$"))
            await page.fill("#password", PASSWORDS["A"])
            await page.click("#check-password")
            await page.wait_for_url(re.compile(r".*/kiosk/account$"))
            idle = int(await page.get_attribute("body", "data-idle") or 0)
            assert idle > 0
            await page.clock.fast_forward(f"00:{idle - 2:02d}")
            assert page.url.endswith("/kiosk/account")  # not yet
            await page.clock.fast_forward("00:03")
            await page.wait_for_url(re.compile(r".*/kiosk/$"))
            await page.goto(f"{site.base}/kiosk/account")
            assert not page.url.endswith("/kiosk/account") and "商铺A" not in await page.inner_text("main")
        finally:
            await browser.close()
