"""Sales through the dashboard's forms, batch failures, the meter directory import and energy rollups."""
from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import date, datetime
from typing import Any

import pytest
import aiohttp
from openpyxl import Workbook, load_workbook
from sqlalchemy import insert

from scada_core.reports.queries import day_bounds, energy_per_meter, energy_per_meter_raw
from scada_core.reports.rollup import date_day
from scada_core.storage.models import ReadingRow
from tests.helpers import wait_for

from .conftest import TZ, WebEnv

M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"


async def open_account(env: WebEnv, client: Any, csrf: str, meter: str) -> int:
    """Open an account on one meter through the form; return its id."""
    async with client.post(env.base + "/accounts/open", data={"csrf": csrf, "name": "李四", "meters": meter,
                                                              "key": f"open-{meter}"}) as resp:
        assert resp.status == 200
        return int(str(resp.url).rsplit("/", 1)[1])


@pytest.mark.timeout(90)
async def test_double_submit_sells_once_and_refund_reverse_close(start_web: Any) -> None:
    """Two posts of one confirmed form move money once; refund, reversal and closing work from the forms."""
    env: WebEnv = await start_web(units=2)
    await env.operator("clerk", "cashier")
    client, csrf = await env.login("clerk")
    account_id = await open_account(env, client, csrf, M1)
    form = {"csrf": csrf, "meter": M1, "kind": "sale", "amount": "100.07", "method": "cash", "key": "k-1"}
    async with client.post(env.base + "/sell", data=form) as resp:
        page = await resp.text()
        assert resp.status == 200 and "壹佰元零柒分" in page and 'name="confirmed"' in page
    assert env.sim is not None and env.sim.meters[1].remaining_fen == 0

    async def confirm() -> str:
        async with client.post(env.base + "/sell", data={**form, "confirmed": "1"}) as resp:
            assert resp.status == 200
            return str(resp.url)

    first, second = await asyncio.gather(confirm(), confirm())
    assert first == second and re.search(r"/transactions/\d+$", first)
    assert env.sim.meters[1].remaining_fen == 10007
    history = await env.site.billing.account_history(account_id)
    assert [h["kind"] for h in history].count("sale") == 1
    sales = await env.site.audit.query(action="sale")
    assert len(sales) == 1 and sales[0]["operator"] == "clerk"

    sale_id = int(first.rsplit("/", 1)[1])
    async with client.post(env.base + f"/transactions/{sale_id}/reverse",
                           data={"csrf": csrf, "reason": "输错金额", "key": "rev-1"}) as resp:
        assert resp.status == 200 and "error" not in str(resp.url), str(resp.url)
    assert env.sim.meters[1].remaining_fen == 0
    async with client.post(env.base + "/sell", data={**form, "key": "k-3", "confirmed": "1"}) as resp:
        assert resp.status == 200
    async with client.post(env.base + "/sell", data={**form, "kind": "refund", "amount": "0.07", "key": "k-2",
                                                     "confirmed": "1"}) as resp:
        assert resp.status == 200
    assert env.sim.meters[1].remaining_fen == 10000
    kinds = [h["kind"] for h in await env.site.billing.account_history(account_id)]
    assert sorted(kinds) == ["refund", "reversal", "sale", "sale"]
    async with client.post(env.base + "/sell", data={**form, "amount": "12.345", "confirmed": "1"}) as resp:
        assert resp.status == 400
    async with client.post(env.base + f"/accounts/{account_id}/close",
                           data={"csrf": csrf, "key": "close-1", "method": "cash"}) as resp:
        assert resp.status == 200
    assert (await env.site.billing.account(account_id))["status"] == "closed"
    async with client.get(env.base + "/reports?kind=sales&group=method&period=month") as resp:
        page = await resp.text()
    month = datetime.now(TZ).strftime("%Y-%m")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page.split('<tr class="totals">')[0])
    assert cells[-8:] == [month, "现金", "5", "200.14", "0.07", "100.07", "100.00", "0.00"], cells
    trial = await env.site.billing.trial_balance()
    assert trial["balanced"]


@pytest.mark.timeout(60)
async def test_batch_lists_failures(start_web: Any) -> None:
    """A batch runs on every meter; the one that fails is listed with its error, the other succeeds."""
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    body = {"service": "hold", "entity_ids": [M1, "acrel_dtsy1352.ghost"], "data": {}}
    async with client.post(env.base + "/web/batch", data=json.dumps(body),
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}) as resp:
        assert resp.status == 200
        batch_id = (await resp.json())["batch_id"]
    job: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal job
        async with client.get(env.base + f"/web/batch/{batch_id}") as resp:
            job = await resp.json()
        return bool(job["finished"])

    for _ in range(200):
        if await finished():
            break
        await asyncio.sleep(0.05)
    assert job["done"] == 1 and job["failed"] == 1
    assert job["items"][M1]["result"]["prepaid_mode"] == "hold"
    assert job["items"]["acrel_dtsy1352.ghost"]["error"]
    assert env.sim is not None
    env.sim.meters[1].prices = dict.fromkeys(env.sim.meters[1].prices, 5000)
    body = {"service": "push_tariff", "entity_ids": [M1], "data": {}}
    async with client.post(env.base + "/web/batch", data=json.dumps(body),
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}) as resp:
        batch_id = (await resp.json())["batch_id"]
    for _ in range(200):
        if await finished():
            break
        await asyncio.sleep(0.05)
    assert job["done"] == 1, job  # billing's flat 1.00 yuan/kWh went to the meter
    assert set(env.sim.meters[1].prices.values()) == {10000}  # 1.0000 yuan/kWh in 0.0001 units
    async with client.post(env.base + "/web/batch", data=json.dumps({**body, "service": "format_disk"}),
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    await wait_for(lambda: env.core.states.get(M1).attributes.get("prepaid_mode") == "hold", what="hold shown")
    async with client.get(env.base + "/web/grid.json") as resp:
        rows = {r[0]: r for r in (await resp.json())["rows"]}
    assert "H" in rows[M1][7]
    async with client.post(env.base + "/web/export/readings", data={"csrf": csrf, "entity_ids": M1}) as resp:
        assert resp.status == 200
        book = load_workbook(io.BytesIO(await resp.read()))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[0][0] == "表计" and sheet[1][0] == M1 and len(sheet) == 2


@pytest.mark.timeout(60)
async def test_directory_import_dry_run_then_import(start_web: Any) -> None:
    """A sheet with a bad row is previewed with per-row errors and not importable; a clean one is imported."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    async with client.get(env.base + "/admin/settings/template.csv") as resp:
        template = (await resp.read()).decode("utf-8-sig")
    assert template.splitlines()[0] == "entity_id,floor,room,label" and M1 in template
    bad = f"entity_id,floor,room,label\n{M1},5F,0501,前台\nacrel_dtsy1352.nope,6F,0601,x\n"

    async def preview(sheet: str | bytes, filename: str = "meters.csv") -> str:
        data = aiohttp.FormData()
        data.add_field("csrf", csrf)
        data.add_field("action", "preview")
        data.add_field("sheet", sheet.encode() if isinstance(sheet, str) else sheet, filename=filename)
        async with client.post(env.base + "/admin/settings", data=data) as resp:
            assert resp.status == 200
            return await resp.text()

    page = await preview(bad)
    assert "未知表计" in page and 'id="do-import"' not in page
    book = Workbook()
    book.active.append(["entity_id", "floor", "room", "label"])
    book.active.append([M2, "7F", 701, "仓库"])
    book.active.append([M2, "7F", 702, "重复"])
    xlsx = io.BytesIO()
    book.save(xlsx)
    page = await preview(xlsx.getvalue(), "meters.xlsx")
    assert "仓库" in page and "重复的表计" in page and 'id="do-import"' not in page
    assert env.site.directory.classify(M1)["floor"] == "2F"
    page = await preview(bad.splitlines()[0] + "\n" + bad.splitlines()[1] + "\n")
    import_id = re.search(r'name="import_id" value="([0-9a-f]+)"', page).group(1)
    async with client.post(env.base + "/admin/settings", data={"csrf": csrf, "action": "import",
                                                                 "import_id": import_id}) as resp:
        assert resp.status == 200 and "已导入 1 块表" in await resp.text()
    assert env.site.directory.classify(M1) | {"building": ""} == {"building": "", "floor": "5F", "room": "0501",
                                                                  "label": "前台"}
    async with client.get(env.base + "/web/grid.json") as resp:
        rows = {r[0]: r for r in (await resp.json())["rows"]}
    assert rows[M1][3] == "5F" and rows[M1][1] == "前台"
    audit = await env.site.audit.query(action="directory_import")
    assert "2F" in audit[0]["before"] and "5F" in audit[0]["after"]


@pytest.mark.timeout(60)
async def test_energy_rollups_match_raw_readings_and_export(start_web: Any) -> None:
    """Daily rollups give the raw readings' answer, stay right incrementally, and the report exports the same."""
    env: WebEnv = await start_web()
    db = env.core.db
    offset = env.site.offset_s
    start = datetime(2026, 3, 1, tzinfo=TZ).timestamp()
    rows = [
        {"entity_id": e, "ts": start + i * 1800, "received_ts": start + i * 1800, "total_wh": base + i * step}
        for e, base, step in (("acrel_dtsy1352.a", 1000, 100), ("acrel_dtsy1352.b", 0, 250)) for i in range(48 * 3)
    ]
    async with db.session() as session:
        await session.execute(insert(ReadingRow), rows)
    await env.site.rollup(None)  # through the site's lock: its own rollup loop runs too
    first, last = date(2026, 3, 1), date(2026, 3, 3)
    lo, hi = day_bounds(first, last, offset)
    rolled = await energy_per_meter(db, date_day(first), date_day(last))
    assert rolled == await energy_per_meter_raw(db, lo, hi) == {"acrel_dtsy1352.a": 14300, "acrel_dtsy1352.b": 35750}
    async with db.session() as session:
        await session.execute(insert(ReadingRow), [{"entity_id": "acrel_dtsy1352.a", "ts": start + 144 * 1800 + 60,
                                                     "received_ts": 0, "total_wh": 1000 + 144 * 100}])
    await env.site.rollup(start + 2 * 86400)
    assert (await energy_per_meter(db, date_day(date(2026, 3, 4)), date_day(date(2026, 3, 4)))) == {
        "acrel_dtsy1352.a": 100}
    assert (await energy_per_meter(db, date_day(first), date_day(last))) == rolled

    await env.operator("viewer1", "viewer")
    client, _csrf = await env.login("viewer1")
    query = "kind=energy&group=building&period=month&start=2026-03-01&end=2026-03-03"
    async with client.get(f"{env.base}/reports?{query}") as resp:
        page = await resp.text()
        assert resp.status == 200 and "<svg" in page and "35.75" in page and "50.05" in page
    async with client.get(f"{env.base}/reports?{query}&format=xlsx") as resp:
        book = load_workbook(io.BytesIO(await resp.read()))
    sheet = list(book.active.iter_rows(values_only=True))
    # The energy report per period × meter with its TOU split (these readings carry none: all unsplit) and cost.
    assert sheet[0] == ("楼宇", "期间", "表计", "名称", "尖(kWh)", "峰(kWh)", "平(kWh)", "谷(kWh)", "未分时(kWh)",
                        "电量(kWh)", "电费(元)")
    assert [(r[2], r[8], r[9]) for r in sheet[1:3]] == [("acrel_dtsy1352.a", 14.3, 14.3),
                                                        ("acrel_dtsy1352.b", 35.75, 35.75)]
    assert sheet[-1][0] == "合计" and float(sheet[-1][9]) == 50.05


@pytest.mark.timeout(60)
async def test_admin_sets_overdraft_and_caps_on_the_account_page(start_web: Any) -> None:
    """The account page lets an admin set the account's and a meter's overdraft and cap; a cashier cannot."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    await env.operator("clerk", "cashier")
    admin, admin_csrf = await env.login("boss")
    account_id = await open_account(env, admin, admin_csrf, f"{M1},{M2}")
    billing = env.site.billing
    async with admin.get(f"{env.base}/accounts/{account_id}") as resp:
        page = await resp.text()
        assert resp.status == 200 and 'id="credit"' in page and "透支额度" in page

    async def save(client: Any, csrf: str, **fields: str) -> aiohttp.ClientResponse:
        return await client.post(f"{env.base}/accounts/{account_id}/credit", data={"csrf": csrf, **fields},
                                 allow_redirects=False)

    resp = await save(admin, admin_csrf, meter="", overdraft="8.00", cap="500")
    assert resp.status == 302 and "error" not in resp.headers["Location"]
    assert (await billing.account_credit(account_id))["overdraft_fen"] == 800
    assert (await billing.account_credit(account_id))["credit_cap_fen"] == 50000
    assert env.sim is not None and env.sim.meters[1].overdraft_fen == 800, "the meter follows the account"
    resp = await save(admin, admin_csrf, meter=M2, overdraft="", cap="120.50")
    assert (await billing.meter_credit(M2))["effective_credit_cap_fen"] == 12050
    assert (await billing.meter_credit(M1))["effective_credit_cap_fen"] == 50000
    resp = await save(admin, admin_csrf, meter="", overdraft="abc", cap="")
    assert resp.status == 302 and "error=" in resp.headers["Location"]
    assert (await billing.account_credit(account_id))["overdraft_fen"] == 800, "a bad amount changes nothing"
    audit = await env.site.audit.query(action="credit_policy")
    assert [(a["target"], a["ok"]) for a in audit] == [(M2, True), (f"account {account_id}", True)]

    clerk, clerk_csrf = await env.login("clerk")
    async with clerk.get(f"{env.base}/accounts/{account_id}") as resp:
        assert resp.status == 200 and 'id="credit"' not in await resp.text()
    resp = await save(clerk, clerk_csrf, meter="", overdraft="100", cap="")
    assert resp.status == 403
    assert (await billing.account_credit(account_id))["overdraft_fen"] == 800


@pytest.mark.timeout(60)
async def test_admin_sets_a_meters_alarm_levels_and_overload_on_the_account_page(start_web: Any) -> None:
    """The credit policy form also sets a meter's own 报警1/报警2/过载功率: pushed to the meter and audited."""
    env: WebEnv = await start_web(units=1)
    await env.operator("boss", "admin")
    admin, csrf = await env.login("boss")
    account_id = await open_account(env, admin, csrf, M1)
    async with admin.get(f"{env.base}/accounts/{account_id}") as resp:
        page = await resp.text()
        assert resp.status == 200 and 'name="alarm1"' in page and 'name="overload"' in page
    form = {"csrf": csrf, "meter": M1, "overdraft": "", "cap": "", "alarm1": "400", "alarm2": "380",
            "overload": "1000"}
    async with admin.post(f"{env.base}/accounts/{account_id}/credit", data=form, allow_redirects=False) as resp:
        assert resp.status == 302 and "error" not in resp.headers["Location"]
    assert env.sim is not None
    sim = env.sim.meters[1]
    assert (sim.alarm1_fen, sim.alarm2_fen, sim.overload_w) == (40000, 38000, 1000)
    audit = await env.site.audit.query(action="credit_policy")
    assert audit[0]["target"] == M1 and audit[0]["ok"]
    assert '"alarm1_fen": 40000' in audit[0]["after"] and '"overload_w": 1000' in audit[0]["after"]
    async with admin.post(f"{env.base}/accounts/{account_id}/credit", data={**form, "overload": "1e3"},
                          allow_redirects=False) as resp:
        assert resp.status == 302 and "error=" in resp.headers["Location"]
    assert sim.overload_w == 1000, "a bad value changes nothing"
