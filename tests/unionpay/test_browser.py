"""A tenant tops up with UnionPay from the phone page in Debian's chromium: the provider's row, our page with the
signed form, the sandbox cashier, back by frontUrl to the return page with the new balance and the receipt."""
from __future__ import annotations

import os
import re

import pytest

from tests.alipay.harness import PASSWORDS, Site
from tests.helpers import wait_for
from tests.tenant.test_browser import ARGS, CHROMIUM, NO_OVERFLOW, phone_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


async def test_phone_top_up_with_unionpay(site: Site) -> None:
    """Choose 银联 (the whole row), 100.00, tap 前往银联付款, pay at the cashier: the browser comes back by
    frontUrl to the return page showing 充值成功, the new balance and a receipt; the meter has the money."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only browser tests need it

    before, meter_before = await site.balance("A"), site.sim.meters[1].remaining_fen
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await phone_login(browser, site.base, site.accounts["A"], PASSWORDS["A"])
            await page.click('.amounts [data-amount="100.00"]')
            await page.locator(".provider-row", has_text="银联").click()
            assert await page.is_checked("#provider-unionpay")
            await page.click("#pay")
            await page.wait_for_url(re.compile(r".*/api/unionpay/front/UP.*"))
            assert await page.evaluate(NO_OVERFLOW)
            await page.click("#to-gateway")
            await page.wait_for_url(re.compile(r".*/gateway/api/frontTransReq\.do$"))
            assert (await page.inner_text("#amount")).strip() == "100.00"
            await page.click("#pay")  # the sandbox cashier's 确认付款, then its signed front form to frontUrl
            await page.wait_for_url(re.compile(r".*/m/topup/return\?.*"))
            await page.locator("#new-balance").wait_for(timeout=20000)
            assert (await page.inner_text("#new-balance")).strip() == f"{(before + 10000) / 100:.2f}"
            assert "充值成功" in await page.inner_text("#state")
            assert await page.locator("#receipt").get_attribute("href")
        finally:
            await browser.close()
    assert await site.balance("A") == before + 10000
    await wait_for(lambda: site.sim.meters[1].remaining_fen == meter_before + 10000, what="meter +100.00")
