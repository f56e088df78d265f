"""A staff page's 403, 404 and unexpected errors keep the site's layout and navigation; a meter's page controls it
after a confirmation naming it."""
from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any

import pytest

from .conftest import WebEnv
from .test_browser import ARGS, CHROMIUM, login


async def test_unknown_pages_meters_and_records_answer_404_in_the_layout(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, _csrf = await env.login("boss")
    for path in ("/no/such/page", "/meters/acrel_dtsy1352.nonesuch", "/transactions/999999", "/batches/nope"):
        async with client.get(env.base + path) as resp:
            page = await resp.text()
        assert resp.status == 404 and resp.content_type == "text/html", path
        assert 'id="error-page"' in page and "<title>404 页面不存在 · " in page, path
        assert '<a href="/accounts"' in page and "Traceback" not in page, path  # the navigation is kept
    async with client.get(env.base + "/api/no/such/route") as resp:
        assert resp.status == 404 and "error-page" not in await resp.text()  # a program's route: no page


async def test_a_forbidden_page_and_an_unexpected_error_keep_the_layout(
    start_web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("clerk", "cashier")
    client, _csrf = await env.login("clerk")
    async with client.get(env.base + "/admin/operators") as resp:
        assert resp.status == 403 and '<a href="/accounts"' in await resp.text()

    async def broken(*_scope: Any) -> Any:
        raise RuntimeError("the overview broke")

    env.site.overview.get = broken  # a fault inside one page
    with caplog.at_level(logging.ERROR):
        async with client.get(env.base + "/") as resp:
            page = await resp.text()
    assert resp.status == 500 and "<title>500 系统出错 · " in page and '<a href="/accounts"' in page
    assert "the overview broke" not in page and "Traceback" not in page
    logged = [r for r in caplog.records if r.exc_info and "the overview broke" in str(r.exc_info[1])]
    assert len(logged) == 1  # logged once, with its traceback


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.timeout(90)
async def test_a_meter_is_tripped_from_its_page_only_once_confirmed(start_web: Any) -> None:
    """The meter page's 拉闸 asks first, naming the meter; cancelled, nothing happens; confirmed, the meter trips
    and the batch's page shows the outcome."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    meter = "acrel_dtsy1352.b1_f2_m1"
    name = env.site.directory.display_name(meter)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
            await login(page, env.base, "boss")
            await page.goto(f"{env.base}/meters/{meter}")
            asked: list[str] = []

            async def answer(dialog: Any, accept: bool) -> None:
                asked.append(dialog.message)
                await (dialog.accept() if accept else dialog.dismiss())

            page.once("dialog", lambda dialog: asyncio.ensure_future(answer(dialog, False)))
            await page.click("#control-trip")
            await page.wait_for_timeout(300)
            assert asked == [f"确认对 {name} 拉闸？"] and page.url.endswith(meter)
            assert env.sim is not None and env.sim.meters[1].forced != "trip"
            page.once("dialog", lambda dialog: asyncio.ensure_future(answer(dialog, True)))
            await page.click("#control-trip")
            await expect(page).to_have_url(re.compile(r"/batches/\w+$"))
            await expect(page.locator(f'#batch-items tr[data-id="{meter}"]')).to_contain_text("成功", timeout=10000)
            assert env.sim.meters[1].forced == "trip"
        finally:
            await browser.close()


async def test_a_refusal_inside_a_page_is_not_an_unexpected_error(
    start_web: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Billing refusing inside a page answers 400 with its message, and logs no traceback (the caller's mistake)."""
    from scada_core.billing.errors import BillingError  # noqa: PLC0415

    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, _csrf = await env.login("boss")

    async def refused(*_scope: Any) -> Any:
        raise BillingError("账户已销户", "the account is closed")

    env.site.overview.get = refused
    with caplog.at_level(logging.INFO):
        async with client.get(env.base + "/") as resp:
            body = await resp.text()
    assert resp.status == 400 and "the account is closed" in body
    assert not [r for r in caplog.records if r.exc_info]
