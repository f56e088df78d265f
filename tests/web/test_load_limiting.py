"""Load limiting (限电) in the dashboard: an admin gives meters a category on their page, makes a plan, runs it after
a confirmation naming the meters, reads the report (and its Excel) and ends it early; the simulated meters' limits
are read back each time. Wrong and hostile values are refused with a message and change nothing; a cashier
cannot change anything; every change is audited before/after."""
from __future__ import annotations

import asyncio
import io
import json
import os
from typing import Any

import pytest
from openpyxl import load_workbook

from integrations.acrel_dtsy1352.proposed import FACTORY_PMAX_W
from tests.helpers import until

from .conftest import WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = pytest.mark.timeout(90)

M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"
CASHIER = {"id": "clerk", "role": "cashier"}
ADMIN = {"id": "boss", "role": "admin"}
PLAN = {"action": "plan", "name": "午高峰限电", "categories": "catering", "limit_w": "2500", "minutes": "90"}


async def post(env: WebEnv, client: Any, csrf: str, status: int = 200, **fields: str) -> str:
    """Post the load-limiting form; return the page it ends on."""
    async with client.post(env.base + "/load_limiting", data={"csrf": csrf, **fields}) as resp:
        text = await resp.text()
        assert resp.status == status, text[:2000]
        return text


async def page_of(client: Any, url: str) -> str:
    """Return a page's text."""
    async with client.get(url) as resp:
        assert resp.status == 200
        return await resp.text()


@pytest.mark.parametrize(("fields", "message"), [
    ({**PLAN, "limit_w": "70000"}, "65535"),
    ({**PLAN, "limit_w": "-1"}, "65535"),
    ({**PLAN, "limit_w": "１٢"}, "65535"),
    ({**PLAN, "minutes": "0"}, "10080"),
    ({**PLAN, "minutes": "9" * 40}, "10080"),
    ({**PLAN, "name": ""}, "name"),
    ({**PLAN, "categories": "important"}, "重要负荷"),
    ({**PLAN, "categories": "nope"}, "未知用电性质"),
    ({**PLAN, "plan_id": "99"}, "不存在"),
    ({"action": "run", "plan_id": "99"}, "不存在"),
    ({"action": "run", "plan_id": "1' OR 1=1"}, "输入有误"),
    ({"action": "run_confirm", "plan_id": "1", "start_ts": "nan", "minutes": "60", "key": "k1"}, "请求无效"),
    ({"action": "run_confirm", "plan_id": "1", "start_ts": "1", "minutes": "60", "key": "<script>"}, "输入有误"),
    ({"action": "end", "run_id": "9" * 30}, "输入有误"),
    ({"action": "category", "key": "餐饮", "name": "x"}, "key"),
])
async def test_wrong_values_refused_and_nothing_changes(start_web: Any, fields: dict[str, str], message: str) -> None:
    env: WebEnv = await start_web()
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    page = await post(env, client, csrf, status=400, **fields)
    assert 'id="error"' in page and message in page
    assert await env.site.billing.load_plans() == [] and await env.site.billing.load_runs() == []
    assert len(await env.site.billing.load_categories()) == 5


async def test_cashier_sees_but_cannot_change(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    async with client.get(env.base + "/load_limiting") as resp:
        page = await resp.text()
        assert resp.status == 200 and "餐饮" in page and 'id="category-form"' not in page
    async with client.post(env.base + "/load_limiting", data={"csrf": csrf, **PLAN}) as resp:
        assert resp.status == 403
    async with client.post(env.base + f"/meters/{M1}/category", data={"csrf": csrf, "key": "retail"}) as resp:
        assert resp.status == 403
    assert await env.site.billing.load_plans() == [] and await env.site.billing.meter_categories() == {}


async def test_meter_category_and_plan_audited(start_web: Any) -> None:
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    async with client.post(env.base + f"/meters/{M1}/category", data={"csrf": csrf, "key": "retail"}) as resp:
        assert resp.status == 200 and str(resp.url).endswith(f"/meters/{M1}")
        assert '<option value="retail" selected>' in await resp.text()
    async with client.post(env.base + f"/meters/{M1}/category", data={"csrf": csrf, "key": "ghost"}) as resp:
        assert "未知用电性质" in await resp.text()
    assert await env.site.billing.meter_categories() == {M1: "retail"}
    failed, changed = await env.site.audit.query(action="meter_category")
    assert not failed["ok"] and "ghost" in failed["after"]
    assert json.loads(changed["before"]) == {"category": None} and json.loads(changed["after"]) == {"category": "retail"}
    await post(env, client, csrf, **PLAN)
    [plan] = await env.site.billing.load_plans()
    await post(env, client, csrf, **{**PLAN, "plan_id": str(plan["id"]), "limit_w": "1800"})
    audits = await env.site.audit.query(action="load_plan")
    assert [json.loads(a["after"])["limit_w"] for a in audits] == [1800, 2500]
    assert json.loads(audits[0]["before"])["limit_w"] == 2500
    await post(env, client, csrf, action="category", key="hotel", name="酒店 🏨")
    assert (await env.site.billing.load_categories())[-1] == {"key": "hotel", "name": "酒店 🏨", "protected": False}


async def test_account_category_from_the_account_page_audited(start_web: Any) -> None:
    """An admin gives an account 零售 on its page (audited before/after); a ghost key is refused on the page; a
    cashier sees the category but gets no form and is refused a forged post."""
    env: WebEnv = await start_web(units=1)
    account = await env.site.billing.open_account("文具店", [M1], CASHIER)
    await env.operator("boss", "admin")
    await env.operator("till", "cashier")
    client, csrf = await env.login("boss")
    page = f"/accounts/{account['id']}"
    async with client.post(env.base + f"{page}/category", data={"csrf": csrf, "key": "retail"}) as resp:
        assert resp.status == 200 and str(resp.url).endswith(page)
        assert '<option value="retail" selected>' in (await resp.text()).split('id="account-category"')[1]
    async with client.post(env.base + f"{page}/category", data={"csrf": csrf, "key": "ghost"}) as resp:
        assert "未知用电性质" in await resp.text()
    assert (await env.site.billing.account(account["id"]))["load_category"] == "retail"
    failed, changed = await env.site.audit.query(action="account_category")
    assert not failed["ok"] and changed["target"] == str(account["id"])
    assert json.loads(changed["before"]) == {"category": None} and json.loads(changed["after"]) == {"category": "retail"}
    till, till_csrf = await env.login("till")
    async with till.get(env.base + page) as resp:
        shown = (await resp.text()).split('id="account-category"')[1].split("</p>")[0]
        assert "零售" in shown and "<form" not in shown
    async with till.post(env.base + f"{page}/category", data={"csrf": till_csrf, "key": ""}) as resp:
        assert resp.status == 403
    assert (await env.site.billing.account(account["id"]))["load_category"] == "retail"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.timeout(120)
async def test_load_limiting_in_the_browser(start_web: Any) -> None:
    """Category from the meter's page, a plan, a run after confirming, the report read back from the meters, the
    Excel, and ending it early restores the limit."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env: WebEnv = await start_web(units=2)
    assert env.sim is not None
    await env.operator("boss", "admin")
    await env.site.billing.open_account("川菜馆", [M1], CASHIER)
    await env.site.billing.open_account("文具店", [M2], CASHIER)
    await env.site.billing.set_meter_category(M2, "retail", ADMIN)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(accept_downloads=True)
            page = await context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            await login(page, env.base, "boss")
            await page.goto(f"{env.base}/meters/{M1}")
            await page.select_option("#meter-category select", "catering")
            await page.click("#meter-category button")
            await expect(page.locator("#meter-category select")).to_have_value("catering")

            await page.click("header nav >> text=限电")
            form = page.locator("#plan-form-new")
            await form.locator("input[name=name]").fill("午高峰限电")
            await form.locator("input[value=catering]").check()
            await form.locator("input[name=limit_w]").fill("2500")
            await form.locator("input[name=minutes]").fill("90")
            await form.locator("button").click()
            await expect(page.locator(".plan h3")).to_have_text("午高峰限电")
            await page.locator(".plan button[id^=load-run-]").click()
            await expect(page.locator("#confirm-meters")).to_contain_text("b1_f2_m1")
            await expect(page.locator("#confirm-meters")).not_to_contain_text("m2")
            assert env.sim.meters[1].overload_w == FACTORY_PMAX_W, "nothing before the confirmation"
            await page.click("#load-confirm-run")
            await expect(page.locator("#run-status")).to_have_text("限电中")
            await expect(page.locator(f'tr[data-meter="{M1}"] .outcome')).to_have_text("已限电（已回读）")
            assert env.sim.meters[1].overload_w == 2500 and env.sim.meters[2].overload_w == FACTORY_PMAX_W

            async with page.expect_download() as download_info:
                await page.click("#load-export")
            download = await download_info.value
            sheet = load_workbook(io.BytesIO(open(await download.path(), "rb").read())).active  # noqa: ASYNC230
            rows = list(sheet.iter_rows(values_only=True))
            assert rows[0][0] == "方案" and rows[0][4] == "表计", rows[0]
            assert rows[1][0] == "午高峰限电" and rows[1][6] == "餐饮" and rows[1][7] == FACTORY_PMAX_W, rows

            await page.click("header nav >> text=限电")
            await page.locator("button[id^=load-end-]").click()
            await expect(page.locator("#run-status")).to_have_text("已结束")
            await expect(page.locator(f'tr[data-meter="{M1}"] .restored')).to_have_text(str(FACTORY_PMAX_W))
            assert env.sim.meters[1].overload_w == FACTORY_PMAX_W
        finally:
            await browser.close()


async def test_trip_plan_from_the_form(start_web: Any) -> None:
    """A trip plan made, run (after the confirmation) and ended from the page: the meter goes off and comes back."""
    env: WebEnv = await start_web(units=1)
    assert env.sim is not None
    sim = env.sim.meters[1]
    sim.remaining_fen = 50000
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    await env.site.billing.open_account("奶茶店", [M1], CASHIER)
    await env.site.billing.set_meter_category(M1, "catering", ADMIN)
    await post(env, client, csrf, **{**PLAN, "plan_action": "trip", "limit_w": ""})
    [plan] = await env.site.billing.load_plans()
    assert plan["action"] == "trip" and plan["limit_w"] is None
    page = await post(env, client, csrf, action="run", plan_id=str(plan["id"]), minutes="30")
    assert 'id="load-confirm"' in page and "拉闸" in page and "b1_f2_m1" in page
    assert sim.forced is None, "nothing before the confirmation"
    start = page.split('name="start_ts" value="', 1)[1].split('"', 1)[0]
    key = page.split('name="key" value="', 1)[1].split('"', 1)[0]
    confirm = {"action": "run_confirm", "plan_id": str(plan["id"]), "start_ts": start, "minutes": "30", "key": key}
    first, again = await asyncio.gather(post(env, client, csrf, **confirm), post(env, client, csrf, **confirm))
    assert 'id="run-status">限电中' in first and 'id="run-status">限电中' in again, "a double click: one run"
    [run] = await env.site.billing.load_runs()
    assert run["end_ts"] - run["start_ts"] == 1800
    report = await until(lambda: page_of(client, f"{env.base}/load_limiting/runs/{run['id']}"),
                         lambda text: 'http-equiv="refresh"' not in text)
    assert "已拉闸（已回读）" in report and sim.forced == "trip"
    await post(env, client, csrf, action="end", run_id=str(run["id"]))
    ended = await until(lambda: page_of(client, f"{env.base}/load_limiting/runs/{run['id']}"),
                        lambda text: 'http-equiv="refresh"' not in text)
    assert "已恢复" in ended and sim.forced is None
    audits = await env.site.audit.query(operator="boss")
    assert [a["action"] for a in audits][:4] == ["load_end", "load_run", "load_run", "load_plan"]
    assert sorted(json.loads(a["after"])["repeated"] for a in audits[1:3]) == [False, True]


async def test_category_from_the_account_page(start_web: Any) -> None:
    """Each meter of an account gets its category from the account's page, which it comes back to."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    account = await env.site.billing.open_account("美食城", [M1, M2], CASHIER)
    page = f"{env.base}/accounts/{account['id']}"
    async with client.get(page) as resp:
        assert resp.status == 200 and (await resp.text()).count('class="inline category-form"') == 2
    form = {"csrf": csrf, "key": "catering", "account": str(account["id"])}
    async with client.post(f"{env.base}/meters/{M2}/category", data=form) as resp:
        assert str(resp.url) == page and '<option value="catering" selected>' in await resp.text()
    async with client.post(f"{env.base}/meters/{M1}/category", data={**form, "account": "//evil.example"}) as resp:
        assert str(resp.url).endswith(f"/meters/{M1}"), "never sent anywhere but our own pages"
    assert await env.site.billing.meter_categories() == {M1: "catering", M2: "catering"}


async def test_report_over_days_and_its_export(start_web: Any) -> None:
    """限电报表: every run's meters over the chosen days, paged, exported whole (streamed); a run outside the days is
    not in it; a date that is no date is refused."""
    env: WebEnv = await start_web(units=2)
    assert env.sim is not None
    await env.operator("boss", "admin")
    await env.operator("look", "viewer")
    await env.site.billing.open_account("甲", [M1], CASHIER)
    await env.site.billing.open_account("乙", [M2], CASHIER)
    for meter in (M1, M2):
        await env.site.billing.set_meter_category(meter, "retail", ADMIN)
    plan = await env.site.billing.create_load_plan("零售限电", ["retail"], 600, ADMIN, limit_w=1200)
    run = await env.site.billing.run_load_plan(plan["id"], ADMIN)
    await until(lambda: env.site.billing.load_run(run["id"]),
                lambda r: all(m["outcome"] == "limited" for m in r["meters"]))
    await env.site.billing.end_load_run(run["id"], ADMIN)
    client, _csrf = await env.login("look")
    today = env.core.clock.now().date()
    page = await page_of(client, f"{env.base}/load_limiting/report?start={today}&end={today}")
    assert page.count('data-meter="') == 2 and "零售限电" in page and "降低过载限值 1200 W" in page
    assert 'id="load-report-xlsx"' in page
    empty = await page_of(client, f"{env.base}/load_limiting/report?start=2020-01-01&end=2020-01-31")
    assert 'data-meter="' not in empty
    async with client.get(f"{env.base}/load_limiting/report?start=2026-13-45") as resp:
        assert resp.status == 400
    async with client.get(f"{env.base}/load_limiting/report?start={today}&end={today}&format=xlsx") as resp:
        assert resp.status == 200
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    names = {env.site.directory.display_name(M1), env.site.directory.display_name(M2)}
    assert len(rows) == 3 and {r[4] for r in rows[1:]} == names and len(names) == 2, rows
    assert {r[8] for r in rows[1:]} == {"已限电（已回读）"} and {r[7] for r in rows[1:]} == {FACTORY_PMAX_W}
    [exported] = await env.site.audit.query(action="load_export")
    assert exported["operator"] == "look"
