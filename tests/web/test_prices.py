"""Prices and limits in the dashboard: an admin changes a tariff or the alarm levels now (pushed as a tracked batch)
or from a later moment (waits, then pushed), audited before/after; wrong and hostile values are refused."""
from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from .conftest import TZ, WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = pytest.mark.timeout(90)

M1 = "acrel_dtsy1352.b1_f2_m1"
CASHIER = {"id": "clerk", "role": "cashier"}


async def finished_batch(client: Any, base: str, url: str) -> dict[str, Any]:
    """Follow a batch page's data until every meter has its outcome."""
    batch_id = url.rsplit("/", 1)[1]
    for _ in range(200):
        async with client.get(f"{base}/web/batch/{batch_id}") as resp:
            job = await resp.json()
        if job["finished"]:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch did not finish: {job}")


async def post(env: WebEnv, client: Any, csrf: str, status: int = 200, **fields: str) -> tuple[str, str]:
    """Post the prices form; return the page and where it ended."""
    async with client.post(env.base + "/admin/prices", data={"csrf": csrf, "building": "b1", **fields}) as resp:
        assert resp.status == status, await resp.text()
        return await resp.text(), str(resp.url)


def local(dt: datetime) -> str:
    """Return a datetime-local field's value."""
    return dt.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


async def test_tariff_now_pushed_as_batch_later_waits(start_web: Any) -> None:
    """A single price in force now reaches the meter through a tracked batch; a TOU tariff from a later day
    waits as 待生效 and leaves the meter alone; both are audited before/after."""
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    await env.site.billing.open_account("甲", [M1], CASHIER)
    assert env.sim is not None
    sim = env.sim.meters[1]
    async with client.get(env.base + "/admin/prices") as resp:
        page = await resp.text()
        assert resp.status == 200 and "单一电价" in page and 'id="tariff-form-b1"' in page
    _page, url = await post(env, client, csrf, action="tariff", kind="flat", price="1.25")
    assert re.search(r"/batches/[\w-]+$", url), url
    job = await finished_batch(client, env.base, url)
    assert job["service"] == "push_tariff" and job["done"] == 1, job
    assert sim.prices["flat"] == 12500 and (await env.site.billing.tariff_for(M1))["price"] == "1.25"
    [audit] = await env.site.audit.query(action="tariff_set")
    assert json.loads(audit["before"])["tariff"]["price"] == "1.00" and json.loads(audit["after"])["tariff"]["price"] == "1.25"
    async with client.get(env.base + "/admin/audit?action=tariff_set") as resp:
        shown = await resp.text()  # the auditor reads words: the building by name, the tariff as prices
        assert "一号楼" in shown and "单一电价 1.00→单一电价 1.25" in shown and "生效时间" in shown

    monday = env.core.clock.now() + timedelta(days=3)
    hours = {f"h{h}": ("valley" if h < 8 or h >= 22 else "peak" if 9 <= h < 12 else "flat") for h in range(24)}
    page, url = await post(env, client, csrf, action="tariff", kind="tou", price_sharp="1.5", price_peak="1.2",
                           price_flat="0.8", price_valley="0.4", effective=local(monday), **hours)
    assert url.endswith("/admin/prices") and 'id="message"' in page and "待生效" in page
    upcoming = (await env.site.billing.tariffs("building:b1"))[0]
    assert upcoming["spec"]["periods"] == [
        {"start": "00:00", "rate": "valley"}, {"start": "08:00", "rate": "flat"}, {"start": "09:00", "rate": "peak"},
        {"start": "12:00", "rate": "flat"}, {"start": "22:00", "rate": "valley"}]
    assert upcoming["effective_ts"] > env.site.billing.now() + 2 * 86400
    assert sim.prices["flat"] == 12500  # not yet


async def test_alarm_levels_now_reach_the_meter(start_web: Any) -> None:
    """报警1/报警2 changed for the building: pushed to the opened meter as a 设置下发 batch; the page shows them."""
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    await env.site.billing.open_account("甲", [M1], CASHIER)
    _page, url = await post(env, client, csrf, action="policy", alarm1="80.00", alarm2="30", overdraft="0",
                            credit_cap="", overload="6000")
    job = await finished_batch(client, env.base, url)
    assert job["service"] == "push_settings" and job["done"] == 1, job
    assert env.sim is not None and (env.sim.meters[1].alarm1_fen, env.sim.meters[1].alarm2_fen) == (8000, 3000)
    async with client.get(env.base + "/admin/prices") as resp:
        assert "80.00" in await resp.text()
    [audit] = await env.site.audit.query(action="policy_set")
    assert json.loads(audit["before"])["alarm1_fen"] == 5000 and json.loads(audit["after"])["alarm1_fen"] == 8000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "tariff", "kind": "flat", "price": "-1"}, "电价须为"),
        ({"action": "tariff", "kind": "flat", "price": "1" * 10_000}, "电价须为"),
        ({"action": "tariff", "kind": "flat", "price": "一元"}, "电价须为"),
        ({"action": "tariff", "kind": "flat", "price": "1.00001"}, "电价须为"),
        ({"action": "tariff", "kind": "tou", "price_sharp": "1", "price_peak": "1", "price_flat": "1",
          "price_valley": "1", **{f"h{h}": "flat" for h in range(23)}}, "每个小时"),
        ({"action": "tariff", "kind": "tiered", "band0_kwh": "200", "band0_price": "0.5"}, "阶梯"),
        ({"action": "tariff", "kind": "tiered", "band0_kwh": "300", "band0_price": "0.5", "band1_kwh": "200",
          "band1_price": "0.6", "band2_price": "0.9"}, "阶梯"),
        ({"action": "tariff", "kind": "eval", "price": "1"}, "计价方式"),
        ({"action": "tariff", "kind": "flat", "price": "1", "meter": "不存在"}, "找不到这块表"),
        ({"action": "tariff", "kind": "flat", "price": "1", "effective": "2020-01-01T00:00"}, "不能早于现在"),
        ({"action": "tariff", "kind": "flat", "price": "1", "effective": "9999-99-99"}, "格式不对"),
        ({"action": "policy", "alarm1": "10", "alarm2": "20", "overdraft": "0"}, "报警2"),
        ({"action": "policy", "alarm1": "-10", "alarm2": "5", "overdraft": "0"}, "金额须为"),
        ({"action": "policy", "alarm1": "10", "alarm2": "5", "overdraft": "0", "overload": "0"}, "功率须为"),
        ({"action": "policy", "alarm1": "10", "alarm2": "5", "overdraft": "0", "building": "b9"}, "b9"),
    ],
)
async def test_wrong_values_refused_and_nothing_changes(start_web: Any, fields: dict[str, str], message: str) -> None:
    """Each mistake is named on the page (400, the site's layout); no version is added."""
    env: WebEnv = await start_web()
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    page, _ = await post(env, client, csrf, status=400, **fields)
    assert message in page and 'id="error"' in page and "<nav>" in page
    assert len(await env.site.billing.tariffs("building:b1")) == 1
    assert len(await env.site.billing.building_policies("b1")) == 1


async def test_cashier_cannot_change_prices(start_web: Any) -> None:
    """The page and its form are the admin's."""
    env: WebEnv = await start_web()
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    async with client.get(env.base + "/admin/prices") as resp:
        assert resp.status == 403
    await post(env, client, csrf, status=403, action="tariff", kind="flat", price="9")
    assert len(await env.site.billing.tariffs("building:b1")) == 1


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
async def test_price_change_from_next_monday_in_the_browser(start_web: Any) -> None:
    """An admin paints a TOU day on the strip and saves it from next Monday, then pushes a price now and sees
    the batch finish."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    await env.site.billing.open_account("甲", [M1], CASHIER)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
            await login(page, env.base, "boss")
            await page.click('nav a[href="/admin/prices"]')
            form = page.locator("#tariff-form-b1")
            await form.locator("select[name=kind]").select_option("tou")
            await expect(form.locator("fieldset.kind-flat")).to_be_hidden()
            for rate, price in (("sharp", "1.5"), ("peak", "1.2"), ("flat", "0.8"), ("valley", "0.4")):
                await form.locator(f"input[name=price_{rate}]").fill(price)
            await form.locator('button[data-brush="peak"]').click()
            for hour in (9, 10, 11):
                await form.locator(f'.cell[data-hour="{hour}"]').click()
            await expect(form.locator('.cell[data-hour="10"]')).to_have_text("峰")
            await form.locator('button:has-text("下周一")').click()
            assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            await form.locator("button.save").click()
            await expect(page.locator("#message")).to_contain_text("生效并自动下发")
            await expect(page.locator("#tariff-versions-b1 .badge.pending")).to_have_count(1)
            upcoming = (await env.site.billing.tariffs("building:b1"))[0]
            when = datetime.fromtimestamp(upcoming["effective_ts"], TZ)
            assert when.weekday() == 0 and (when.hour, when.minute) == (0, 0)
            assert {"start": "09:00", "rate": "peak"} in upcoming["spec"]["periods"]
            # and a single price now: pushed as a batch the admin watches finish
            await form.locator("select[name=kind]").select_option("flat")
            await form.locator("input[name=price]").fill("1.10")
            await form.locator("button.save").click()
            await expect(page).to_have_url(re.compile(r"/batches/[\w-]+$"))
            await expect(page.locator("main")).to_contain_text("成功 1", timeout=15000)
        finally:
            await browser.close()
    assert env.sim is not None and env.sim.meters[1].prices["flat"] == 11000
