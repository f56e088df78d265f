"""Opening an account from the dashboard: meters by room or name, and the question about money found on them."""
from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from tests.helpers import wait_for

from .conftest import WebEnv
from .test_browser import ARGS, CHROMIUM, login

M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"

pytestmark = pytest.mark.timeout(90)


async def money_shown(env: WebEnv, entity_id: str, fen: int) -> None:
    """Wait until the meter's state shows ``fen`` (the form reads the last reading)."""
    await wait_for(lambda: (s := env.core.states.get(entity_id)) is not None and s.attributes.get("remaining_fen") == fen,
                   what=f"{entity_id} shows {fen}")


async def post_open(env: WebEnv, client: Any, csrf: str, status: int = 200, **fields: str) -> tuple[str, str]:
    """Post the opening form; return the page and where it ended."""
    async with client.post(env.base + "/accounts/open", data={"csrf": csrf, "name": "王记面馆", **fields}) as resp:
        assert resp.status == status, await resp.text()
        return await resp.text(), str(resp.url)


async def test_found_money_is_asked_about_then_cleared(start_web: Any) -> None:
    """A meter with money on it: the check step shows it and asks; 清零 takes it off the meter; nothing silent."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    assert env.sim is not None
    env.sim.meters[1].remaining_fen = 3650
    await money_shown(env, M1, 3650)
    page, url = await post_open(env, client, csrf, meters="b1_f2_m1", key="k-open", step="check")
    assert url.endswith("/accounts/open") and 'id="leftover-found"' in page
    assert "36.50" in page and "保留给新租户" in page and "清零" in page and "转入其他账户" in page
    assert 'name="leftover" value="keep" required' in page  # no choice is made for the cashier
    assert (await env.site.billing.meter_status(M1))["status"] == "not_opened"  # asking opened nothing
    _page, url = await post_open(env, client, csrf, meters=M1, key="k-open", leftover="clear")
    account_id = int(re.search(r"/accounts/(\d+)$", url).group(1))
    assert env.sim.meters[1].remaining_fen == 0
    kinds = [h["kind"] for h in await env.site.billing.account_history(account_id)]
    assert sorted(kinds) == ["adjustment", "opening"]
    audit = await env.site.audit.query(action="account_open")
    assert json.loads(audit[0]["after"])["leftover"] == [{"meter_entity_id": M1, "choice": "clear", "amount_fen": 3650}]


async def test_meters_named_by_room_and_refusals(start_web: Any) -> None:
    """Meters are named as people name them; an unknown or ambiguous one, a transfer without an account and
    hostile values are refused with the form kept, and nothing opens."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    for meters, message in (("不存在的表", "找不到表计"), ("x" * 10_000, "找不到表计"), ("' OR 1=1 --", "找不到表计"),
                            (",".join(["m1"] * 51), "1 至 50"), ("", "1 至 50")):
        page, _ = await post_open(env, client, csrf, status=400, meters=meters)
        assert message in page and 'id="open-form"' in page and "王记面馆" in page
    assert env.sim is not None
    env.sim.meters[2].remaining_fen = 1200
    await money_shown(env, M2, 1200)
    page, _ = await post_open(env, client, csrf, status=400, meters="b1_f2_m2", leftover="transfer")
    assert "leftover_account_id" in page or "接收账户" in page
    page, _ = await post_open(env, client, csrf, status=400, meters="b1_f2_m2", leftover="transfer",
                              leftover_account="99999999999999999999")
    assert (await env.site.billing.meter_status(M2))["status"] == "not_opened" and env.sim.meters[2].remaining_fen == 1200
    # a meter without money opens at once from the check step (nothing to ask)
    _page, url = await post_open(env, client, csrf, meters="b1_f2_m1", step="check")
    assert re.search(r"/accounts/\d+$", url)


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
async def test_opening_with_leftover_in_the_browser(start_web: Any) -> None:
    """From the meter page: open, see the money found, transfer it to another account, see it in that wallet."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=2)
    await env.operator("clerk", "cashier")
    earlier = await env.site.billing.open_account("老客户", [M2], {"id": "clerk", "role": "cashier"})
    assert env.sim is not None
    env.sim.meters[1].remaining_fen = 2000
    await money_shown(env, M1, 2000)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 768})).new_page()
            await login(page, env.base, "clerk")
            await page.goto(f"{env.base}/meters/{M1}")
            await page.click(f'a[href="/accounts?meter={M1}"]')
            named = await page.locator("#open-form input[name=meters]").input_value()
            assert named == env.site.directory.display_name(M1) and M1 not in named  # named, not an id
            await page.fill("#open-form input[name=name]", "新店")
            await page.click("#open-form button[type=submit]")
            await expect(page.locator("#leftover-found")).to_contain_text("20.00")
            await page.click("#leftover-confirm")  # no choice made: the browser asks for one
            await expect(page).to_have_url(re.compile(r"/accounts/open$"))
            await page.check('input[name=leftover][value=transfer]')
            await page.fill("#leftover-account", str(earlier["id"]))
            await page.click("#leftover-confirm")
            await expect(page).to_have_url(re.compile(r"/accounts/\d+$"))
            await page.goto(f"{env.base}/accounts/{earlier['id']}")
            await expect(page.locator("body")).to_contain_text("20.00")
            assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        finally:
            await browser.close()
    assert env.sim.meters[1].remaining_fen == 0
    assert (await env.site.billing.account(earlier["id"]))["wallet_fen"] == 2000


async def test_display_names_people_use(start_web: Any) -> None:
    """A meter is its floor-room and label; with a room but no label its YAML name stays in the advanced line;
    without a room the name is all that tells two meters of a floor apart."""
    env: WebEnv = await start_web(units=2)
    directory = env.site.directory
    await directory.save([{"entity_id": M1, "floor": "3F", "room": "0301", "label": "", "errors": []},
                          {"entity_id": M2, "floor": "3F", "room": "0302", "label": "王记面馆", "errors": []}])
    assert directory.display_name(M1) == "3F-0301"
    assert directory.display_name(M2) == "3F-0302 王记面馆"
    await directory.save([{"entity_id": M1, "floor": "", "room": "", "label": "", "errors": []}])
    assert directory.display_name(M1) == "2F b1_f2_m1"
    assert directory.resolve("3F-0302") == M2 and directory.resolve("王记面馆") is None  # a label alone names no meter (shops may share one)
