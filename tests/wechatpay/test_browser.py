"""A tenant tops up with WeChat Pay from the phone page in Debian's chromium: the provider's row, the H5 cashier,
back to the return page that shows the new balance and the receipt."""
from __future__ import annotations

import os
import re

import pytest

from tests.alipay.harness import PASSWORDS
from tests.helpers import wait_for
from tests.tenant.test_browser import ARGS, CHROMIUM, NO_OVERFLOW, phone_login

from .harness import WeChatSite

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


async def test_phone_top_up_with_wechat_pay(site: WeChatSite) -> None:
    """Choose 微信支付 (a whole row to tap), 100.00 by a quick amount, pay at the sandbox's H5 cashier: the return
    page shows 充值成功, the new balance and a receipt; the meter has the money."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only browser tests need it

    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await phone_login(browser, site.base, site.accounts["A"], PASSWORDS["A"])
            await page.click('.amounts [data-amount="100.00"]')
            await page.locator(".provider-row", has_text="微信支付").click()  # the row, not the small radio
            assert await page.is_checked("#provider-wechatpay")
            await page.click("#pay")
            await page.wait_for_url(re.compile(r".*/sandbox/pay/.*"))
            await page.click("#pay")  # the sandbox cashier's 确认支付
            await page.wait_for_url(re.compile(r".*/m/topup/return\?.*"))
            await page.locator("#new-balance").wait_for(timeout=20000)
            assert (await page.inner_text("#new-balance")).strip() == f"{(before + 10000) / 100:.2f}"
            assert "充值成功" in await page.inner_text("#state")
            assert await page.locator("#receipt").get_attribute("href") and await page.evaluate(NO_OVERFLOW)
            await page.click("#back")
            await page.wait_for_url(re.compile(r".*/m/home$"))
        finally:
            await browser.close()
    assert await site.balance("A") == before + 10000
    await wait_for(lambda: site.sim.meters[1].remaining_fen == meter_before + 10000, what="meter +100.00")
