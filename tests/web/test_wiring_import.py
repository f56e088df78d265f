"""Quick setup by import: the demo tower's 4 serial servers and 144 meters imported through the web page into a
configuration without meters, polled at once over real TCP; the export imports back unchanged."""
from __future__ import annotations

import asyncio
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, LineTiming, SimServer
from integrations.modbus.models import WiringGatewayRow, WiringMeterRow
from integrations.modbus.profile import get_profile
from scada_core.bootstrap import async_from_config_dir
from tests.demo import copy_demo
from tests.helpers import wait_for
from web.models import AuditRow

from .conftest import TZ, WebEnv
from .wiring_tools import NO_WIRING, demo_rows, fill, tower, workbook  # noqa: F401 - tower is a fixture

pytestmark = pytest.mark.timeout(120)
PLAN_RE = re.compile(r'name="plan_id" value="([0-9a-f]+)"')


async def admin(env: WebEnv) -> tuple[Any, str]:
    """Log the demo admin in."""
    await env.operator("office", "admin")
    return await env.login("office")


async def upload(env: WebEnv, client: Any, csrf: str, body: bytes) -> tuple[int, str]:
    """Post a workbook for the dry run; return status and page."""
    form = {"csrf": csrf, "action": "preview"}
    data = aiohttp.FormData(form)
    data.add_field("sheet", body, filename="wiring.xlsx")
    async with client.post(f"{env.base}/admin/wiring", data=data) as resp:
        return resp.status, await resp.text()


async def stored(env: WebEnv) -> tuple[int, int]:
    """Return how many gateways and meters the wiring tables hold."""
    async with env.core.db.session() as session:
        gateways = (await session.execute(select(func.count()).select_from(WiringGatewayRow))).scalar_one()
        meters = (await session.execute(select(func.count()).select_from(WiringMeterRow))).scalar_one()
    return gateways, meters


async def test_demo_tower_imported_from_the_ui_polls_all_144_and_round_trips(start_web: Any,
                                                                           tower: dict[str, SimServer]) -> None:
    """Template -> filled -> dry run (no problems, 4 + 144 to add) -> apply -> all 144 online without a restart;
    floors, rooms and labels land in the directory; the export lists them as imported and imports back as nothing
    new; the apply is audited."""
    env = await start_web(extra=NO_WIRING)
    assert not env.core.states.async_all("acrel_dtsy1352")
    client, csrf = await admin(env)
    async with client.get(f"{env.base}/admin/wiring/template.xlsx") as resp:
        assert resp.status == 200
        template = await resp.read()
    book = load_workbook(io.BytesIO(template))
    assert book.sheetnames == ["通讯管理机 gateways", "电表 meters"]
    assert [c.value for c in book.worksheets[1][1]][:4] == ["表名 name", "型号 model", "总线 bus", "地址 address"]
    assert all(sheet.max_row == 2 for sheet in book.worksheets), "one example row each"

    status, page = await upload(env, client, csrf, fill(template, *demo_rows(tower)))
    assert status == 200, page[:2000]
    assert 'id="wiring-problems"' not in page, page[page.find("wiring-problems"):][:2000]
    assert "4 台通讯管理机、144 块电表" in page
    assert await stored(env) == (0, 0), "a dry run applies nothing"
    plan_id = PLAN_RE.search(page).group(1)  # type: ignore[union-attr]

    async with client.post(f"{env.base}/admin/wiring", data={"csrf": csrf, "action": "apply", "plan_id": plan_id}) as resp:
        assert resp.status == 200
        assert "已导入 4 台通讯管理机、144 块电表" in await resp.text()
    assert await stored(env) == (4, 144)
    buses = [f"modbus.bus_ss{n}" for n in range(1, 5)]
    await wait_for(lambda: [(env.core.states.get(b).attributes["meters_online"]) for b in buses] == [36] * 4,
                   60, "all 144 imported meters online")
    meters = env.core.states.async_all("acrel_dtsy1352")
    assert len(meters) == 144
    assert all(m.attributes["remaining_fen"] is not None for m in meters), "money read from every meter"
    assert env.site.directory.classify("acrel_dtsy1352.b1_f7_0705") == {
        "building": "b1", "floor": "7F", "room": "0705", "label": "商铺0705"}
    categories = await env.site.billing.meter_categories()
    assert len(categories) == 144 and set(categories.values()) == {"retail"}, "billing holds each row's 用电性质"
    async with client.get(f"{env.base}/admin/audit") as resp:
        assert "导入电表和通讯管理机" in await resp.text()

    async with client.get(f"{env.base}/admin/wiring/export.xlsx") as resp:
        assert resp.status == 200
        exported = await resp.read()
    book = load_workbook(io.BytesIO(exported))
    gateways = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    rows = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert len(gateways) == 4 and len(rows) == 144
    assert {row[-1] for row in gateways + rows} == {"imported"}
    by_name = {row[0]: row for row in rows}
    assert by_name["b1_f7_0705"][:9] == ("b1_f7_0705", "dtsy1352", "ss2", 29, "b1", "7F", "0705", "商铺0705", "retail")
    assert gateways[1][:6] == ("ss2", "2号串口服务器（5–7层）", "rtu_over_tcp", "127.0.0.1", tower["ss2"].port, 9600)
    status, page = await upload(env, client, csrf, exported)
    assert status == 200 and 'id="wiring-problems"' not in page
    assert "wiring_" not in page, "every message is in the catalogue"
    assert "0 台通讯管理机、0 块电表" in page, "the export imports back as nothing new"
    async with client.post(f"{env.base}/language", data={"csrf": csrf, "language": "en"}) as resp:
        assert resp.status == 200
    status, page = await upload(env, client, csrf, exported)
    assert "Applying adds 0 serial servers and 0 meters and edits 0 imported serial servers and 0 imported meters" in page
    assert "wiring_" not in page


PROBLEM_RE = re.compile(r'<tr class="b-failed"><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>')


def problems(page: str) -> set[tuple[str, int, str]]:
    """Return the (sheet, row, column key) of every problem the dry run lists."""
    return {(sheet.split()[-1], int(row), column.split()[-1]) for sheet, row, column, _why in PROBLEM_RE.findall(page)}


async def test_dry_run_names_every_bad_row_and_applies_nothing(start_web: Any) -> None:
    """Duplicates, unknown gateway/model/building, bad baud, ports and addresses out of range, non-ASCII ids,
    huge cells, bad tariffs, YAML-declared names and taken addresses: each named by row and column; nothing stored."""
    env = await start_web(units=2)  # YAML: gateway gw1 with meters b1_f2_m1 (address 1) and b1_f2_m2 (address 2)
    client, csrf = await admin(env)
    body = workbook(
        [["ss9", "", "rtu_over_tcp", "127.0.0.1", 5099, 9600],
         ["ss9", "", "rtu_over_tcp", "127.0.0.1", 5098, 9600],
         ["网关", "", "rtu_over_tcp", "127.0.0.1", 5097, 9600],
         ["gbad", "", "udp", "127.0.0.1", 5096, 9600],
         ["gport", "", "tcp", "127.0.0.1", 70000, 9600],
         ["gneg", "", "tcp", "127.0.0.1", -1, 9600],
         ["gbaud", "", "rtu_over_tcp", "127.0.0.1", 5095, 9601],
         ["x" * 200, "", "tcp", "127.0.0.1", 5094, 9600],
         ["gw1", "", "tcp", "127.0.0.1", 5093, 9600]],
        [["m1", "dtsy1352", "ss9", 1, "b1", "", "", "", "", ""],
         ["m2", "dtsy1352", "ss9", 1, "b1", "", "", "", "", ""],
         ["m1", "dtsy1352", "ss9", 3, "b1", "", "", "", "", ""],
         ["m3", "dtsy9999", "ss9", 4, "b1", "", "", "", "", ""],
         ["m4", "dtsy1352", "nope", 5, "b1", "", "", "", "", ""],
         ["m5", "dtsy1352", "ss9", 0, "b1", "", "", "", "", ""],
         ["m6", "dtsy1352", "ss9", -3, "b1", "", "", "", "", ""],
         ["m7", "dtsy1352", "ss9", 7, "b2", "", "", "", "", ""],
         ["m8", "dtsy1352", "ss9", 8, "b1", "", "", "", "", "abc"],
         ["m9", "dtsy1352", "ss9", 9, "b1", "", "", "", "", "-1"],
         ["电表", "dtsy1352", "ss9", 10, "b1", "", "", "", "", ""],
         ["m11", "dtsy1352", "ss9", 11, "b1", "", "", "x" * 500, "", ""],
         ["b1_f2_m1", "dtsy1352", "gw1", 5, "b1", "", "", "", "", ""],
         ["m13", "dtsy1352", "gw1", 2, "b1", "", "", "", "", ""],
         ["m14", "dtsy1352", "gw1", 9, "b1", "7F", "0701", "=cmd|' /C calc'!A0", "居民", "0.6"]],
    )
    status, page = await upload(env, client, csrf, body)
    assert status == 200
    assert problems(page) == {
        ("gateways", 3, "name"), ("gateways", 4, "name"), ("gateways", 5, "type"), ("gateways", 6, "port"),
        ("gateways", 7, "port"), ("gateways", 8, "baudrate"), ("gateways", 9, "name"), ("gateways", 10, "name"),
        ("meters", 3, "address"), ("meters", 4, "name"), ("meters", 5, "model"), ("meters", 6, "bus"),
        ("meters", 7, "address"), ("meters", 8, "address"), ("meters", 9, "building"), ("meters", 10, "tariff"),
        ("meters", 11, "tariff"), ("meters", 12, "name"), ("meters", 13, "label"), ("meters", 14, "name"),
        ("meters", 15, "address"), ("meters", 16, "category"),
    }
    assert "未知用电性质（可选：餐饮、零售、办公、公共照明、重要负荷）" in page
    assert "总线 gw1 上的地址 2 已被 acrel_dtsy1352.b1_f2_m2 占用" in page
    assert "配置文件（YAML）已声明此电表，在此只读" in page
    assert 'id="wiring-apply"' not in page and PLAN_RE.search(page) is None
    async with client.post(f"{env.base}/admin/wiring", data={"csrf": csrf, "action": "apply", "plan_id": "0" * 16}) as resp:
        assert resp.status == 400
        assert "请先上传工作簿并预检" in await resp.text()
    assert await stored(env) == (0, 0)
    assert sorted(env.core.states.async_entity_ids("acrel_dtsy1352")) == ["acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"]

    for bad, reason in ((b"not a workbook", "不是 Excel 工作簿"), (b"PK" + b"\0" * (5 * 1024 * 1024), "文件过大"),
                        (_one_sheet(), "缺少工作表")):
        status, page = await upload(env, client, csrf, bad)
        assert status == 400 and reason in page, page[:300]


def _one_sheet() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


async def test_imported_wiring_is_removable_yaml_is_not_and_a_restart_keeps_it(
    start_web: Any, tower: dict[str, SimServer], caplog: pytest.LogCaptureFixture
) -> None:
    """Import a serial server and 3 meters beside YAML's; remove one (live, audited); YAML's is refused; the
    gateway with meters is refused; after a restart the stored ones poll again, and a YAML gateway that now takes
    the stored gateway's name wins."""
    env = await start_web(units=2)
    client, csrf = await admin(env)
    port = tower["ss1"].port
    status, page = await upload(env, client, csrf, workbook(
        [["ss1", "一号", "rtu_over_tcp", "127.0.0.1", port, 9600]],
        [[f"n{u}", "dtsy1352", "ss1", u, "b1", "", "", "", "办公", "0.6"] for u in (1, 2, 3)]))
    async with client.post(f"{env.base}/admin/wiring", data={
            "csrf": csrf, "action": "apply", "plan_id": PLAN_RE.search(page).group(1)}) as resp:  # type: ignore[union-attr]
        assert resp.status == 200
    await wait_for(lambda: env.core.states.get("modbus.bus_ss1").attributes["meters_online"] == 3, 20, "3 online")
    tariff = await env.site.billing.tariff_for("acrel_dtsy1352.n2")
    assert tariff["kind"] == "flat" and tariff["price"] == "0.6", "the row's initial tariff is the meter's own"
    billing = env.site.billing
    before = tower["ss1"].meter(2).remaining_fen
    await billing.open_account("导入商铺", ["acrel_dtsy1352.n2"], {"id": "office", "role": "admin"})
    sold = await billing.sell("acrel_dtsy1352.n2", 1000, "cash", "wiring-sale-1", {"id": "office", "role": "admin"})
    assert sold["deliveries"][0]["status"] == "delivered", "billing sells to an imported meter"
    assert tower["ss1"].meter(2).remaining_fen == before + 1000

    async def post(action: str, target: str) -> tuple[int, str]:
        async with client.post(f"{env.base}/admin/wiring", data={"csrf": csrf, "action": action, "target": target}) as resp:
            return resp.status, await resp.text()

    assert (await post("remove_meter", "acrel_dtsy1352.b1_f2_m1"))[0] == 400
    assert (await post("remove_gateway", "gw1"))[0] == 400
    assert (await post("remove_gateway", "ss1"))[0] == 409
    status, page = await post("remove_meter", "acrel_dtsy1352.n2")
    assert status == 409 and "该电表已开户" in page and env.core.states.get("acrel_dtsy1352.n2") is not None
    status, page = await post("remove_meter", "acrel_dtsy1352.n3")
    assert status == 200 and "已删除 acrel_dtsy1352.n3" in page
    assert env.core.states.get("acrel_dtsy1352.n3") is None
    assert await stored(env) == (1, 2)
    async with client.get(f"{env.base}/admin/audit") as resp:
        assert "删除导入的电表" in await resp.text()

    folder = env.core.config.config_dir
    await env.core.async_stop()
    again = await async_from_config_dir(folder)
    try:
        await wait_for(lambda: (s := again.states.get("modbus.bus_ss1")) is not None
                       and s.attributes["meters_online"] == 2, 20, "stored meters poll after a restart")
        assert again.data["modbus_wiring"].in_force("acrel_dtsy1352.n1")
    finally:
        await again.async_stop()

    config = yaml.safe_load((folder / "configuration.yaml").read_text(encoding="utf-8"))
    config["modbus"].append({"name": "ss1", "type": "rtu_over_tcp", "host": "127.0.0.1", "port": port})
    (folder / "configuration.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    third = await async_from_config_dir(folder)
    try:
        wiring = third.data["modbus_wiring"]
        assert "ss1" not in wiring.gateways and "ss1" in wiring.yaml_gateways, "YAML wins"
        assert "Stored gateway ss1 refused: YAML declares a gateway or bus of that name" in caplog.text
        await wait_for(lambda: third.states.get("modbus.bus_ss1").attributes["meters_online"] == 2, 20,
                       "the stored meters ride YAML's bus of that name")
    finally:
        await third.async_stop()


async def test_a_plan_applies_once_and_two_offices_cannot_both_add_the_same_meters(
    start_web: Any, tower: dict[str, SimServer]
) -> None:
    """A replayed apply changes nothing; of two dry runs of the same rows applied at once, one wins and the other
    is refused with the rows that now clash; cashiers reach none of it."""
    env = await start_web(extra=NO_WIRING)
    client, csrf = await admin(env)
    body = workbook([["ss1", "", "rtu_over_tcp", "127.0.0.1", tower["ss1"].port, 9600]],
                    [[f"n{u}", "dtsy1352", "ss1", u, "", "", "", "", "", ""] for u in range(1, 6)])
    plans = [PLAN_RE.search((await upload(env, client, csrf, body))[1]).group(1)  # type: ignore[union-attr]
             for _ in range(3)]

    async def apply(plan_id: str) -> tuple[int, str]:
        async with client.post(f"{env.base}/admin/wiring", data={"csrf": csrf, "action": "apply",
                                                                 "plan_id": plan_id}) as resp:
            return resp.status, await resp.text()

    results = await asyncio.gather(apply(plans[0]), apply(plans[1]))
    assert [status for status, _page in results] == [200, 200]
    assert sorted(page.count("已导入 1 台通讯管理机、5 块电表") for _status, page in results) == [0, 1]
    assert sum(page.count("已导入 0 台通讯管理机、0 块电表") for _status, page in results) == 1, "the other adds none"
    assert (await apply(plans[0]))[0] == 400, "a plan is applied once"
    assert await stored(env) == (1, 5)
    assert len(env.core.states.async_all("acrel_dtsy1352")) == 5

    moved = workbook([], [["n1", "dtsy1352", "ss1", 9, "", "", "", "", "", ""],
                          ["n9", "dtsy1352", "ss1", 9, "", "", "", "", "", ""]])
    status, page = await upload(env, client, csrf, moved)
    assert PLAN_RE.search(page) is None and "总线 ss1 上的地址 9 已被 acrel_dtsy1352.n1 占用" in page
    edited = workbook([], [["n1", "dtsy1352", "ss1", 9, "", "", "", "", "", ""],
                           ["n2", "dtsy1352", "ss1", 2, "", "", "", "", "catering", "0.55"],
                           ["n6", "dtsy1352", "ss1", 1, "", "", "", "", "", ""]])
    status, page = await upload(env, client, csrf, edited)
    assert "新增 0 台通讯管理机、1 块电表，修改 0 台已导入的通讯管理机、2 块" in page, "n1 moves to 9, n2 changes; n6 takes n1's old address"
    status, page = await apply(PLAN_RE.search(page).group(1))  # type: ignore[union-attr]
    assert status == 200 and "修改 0 台通讯管理机（已按新地址重连，电表不变）、2 块电表" in page
    assert env.core.data["modbus"].devices["acrel_dtsy1352.n1"].address == 9
    await wait_for(lambda: all(env.core.states.get(f"acrel_dtsy1352.n{u}").attributes["online"] for u in (1, 6)),
                   20, "moved and new meters polled")
    assert (await env.site.billing.tariff_for("acrel_dtsy1352.n2"))["price"] == "0.55"
    async with env.core.db.session() as session:
        row = await session.get(WiringMeterRow, "n2")
        assert (row.category, row.tariff) == ("catering", "0.55")
    assert (await env.site.billing.meter_categories())["acrel_dtsy1352.n2"] == "catering", "a re-import edits it"
    fresh = [workbook([], [[name, "dtsy1352", "ss1", 20, "", "", "", "", "", ""]]) for name in ("n7", "n8")]
    plans = [PLAN_RE.search((await upload(env, client, csrf, b))[1]).group(1) for b in fresh]  # type: ignore[union-attr]
    results = await asyncio.gather(apply(plans[0]), apply(plans[1]))
    assert sorted(status for status, _page in results) == [200, 409], "two offices, one address: one wins"
    refused = next(page for status, page in results if status == 409)
    assert "预检之后接线已有变化" in refused and "总线 ss1 上的地址 20 已被" in refused
    assert await stored(env) == (1, 7)

    await env.operator("till", "cashier")
    cashier, cashier_csrf = await env.login("till")
    for url in ("/admin/wiring", "/admin/wiring/template.xlsx", "/admin/wiring/export.xlsx"):
        async with cashier.get(f"{env.base}{url}") as resp:
            assert resp.status == 403, url
    async with cashier.post(f"{env.base}/admin/wiring", data={"csrf": cashier_csrf, "action": "remove_meter",
                                                               "target": "acrel_dtsy1352.n1"}) as resp:
        assert resp.status == 403
    assert env.core.states.get("acrel_dtsy1352.n1") is not None


async def test_building_by_id_or_name_and_only_where_billing_bills_it(start_web: Any) -> None:
    """A building cell takes an id or a name; one billing's meter patterns would contradict is refused."""
    flat = {"kind": "flat", "price": "1.00"}
    env = await start_web(extra={**NO_WIRING, "billing": {"reconcile_interval": 3600, "buildings": {
        "b1": {"name": "一号楼", "meters": ["acrel_dtsy1352.b1_*"], "tariff": flat},
        "b2": {"name": "二号楼", "meters": ["acrel_dtsy1352.b2_*"], "tariff": flat}}}})
    client, csrf = await admin(env)
    rows = [["b2_f1_0101", "dtsy1352", "ss1", 1, "二号楼", "", "", "", "", ""],
            ["b1_f1_0101", "dtsy1352", "ss1", 2, "b2", "", "", "", "", ""],
            ["b2_f1_0102", "dtsy1352", "ss1", 3, "三号楼", "", "", "", "", ""]]
    status, page = await upload(env, client, csrf, workbook([["ss1", "", "tcp", "127.0.0.1", 1502, 9600]], rows))
    assert problems(page) == {("meters", 3, "building"), ("meters", 4, "building")}
    assert "按计费配置的表计规则，此表属于楼栋 b1" in page and "未知楼栋" in page
    status, page = await upload(env, client, csrf, workbook([["ss1", "", "tcp", "127.0.0.1", 1502, 9600]], rows[:1]))
    async with client.post(f"{env.base}/admin/wiring", data={
            "csrf": csrf, "action": "apply", "plan_id": PLAN_RE.search(page).group(1)}) as resp:  # type: ignore[union-attr]
        assert resp.status == 200
    async with env.core.db.session() as session:
        assert (await session.get(WiringMeterRow, "b2_f1_0101")).building == "b2"  # type: ignore[union-attr]
    assert env.site.billing.building_of("acrel_dtsy1352.b2_f1_0101") == "b2"


async def test_the_demo_exports_its_yaml_wiring_marked_and_imports_it_back_as_nothing_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped demo: 4 serial servers and 144 meters, all from YAML, exported marked yaml; the export's dry
    run adds nothing, and unmarked it is refused row by row as read-only."""
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the demo keeps its own SQLite file
    core = await async_from_config_dir(copy_demo(tmp_path / "demo", wire_timing=False))
    env = WebEnv(core, f"http://127.0.0.1:{core.http.port}", None)
    try:
        client, csrf = await admin(env)
        async with client.get(f"{env.base}/admin/wiring/export.xlsx") as resp:
            exported = await resp.read()
        book = load_workbook(io.BytesIO(exported))
        gateways = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
        meters = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
        name, label, mode, host, port, baud = gateways[0][:6]
        assert (name, label, mode, host, baud) == ("ss1", "1号串口服务器（2–4层）", "rtu_over_tcp", "127.0.0.1", 9600)
        assert port == core.data["modbus"].gateways[0].conf["port"], "copy_demo's free port, as a number"
        assert len(gateways) == 4 and len(meters) == 144 and {r[-1] for r in gateways + meters} == {"yaml"}
        status, page = await upload(env, client, csrf, exported)
        assert status == 200 and "新增 0 台通讯管理机、0 块电表，修改 0 台已导入的通讯管理机、0 块" in page
        for sheet in book.worksheets:
            for row in sheet.iter_rows(min_row=2):
                row[-1].value = None
        out = io.BytesIO()
        book.save(out)
        status, page = await upload(env, client, csrf, out.getvalue())
        assert len(problems(page)) == 148 and "YAML）已声明此电表" in page
    finally:
        for session in env.sessions:
            await session.close()
        await core.async_stop()


async def test_a_meter_removed_while_its_poll_is_on_the_wire_stays_removed(start_web: Any) -> None:
    """The slow line's answer to a poll sent before the removal does not bring the meter's state back."""
    sim = SimServer(get_profile("dtsy1352"), {1: SimMeter(unit=1, last_ts=time.time())}, time.time, TZ,
                    mode=MODE_RTU_OVER_TCP, port=0, timing=LineTiming(turnaround_s=0.3))
    await sim.async_start()
    try:
        env = await start_web(extra=NO_WIRING)
        client, csrf = await admin(env)
        status, page = await upload(env, client, csrf, workbook(
            [["slow", "", "rtu_over_tcp", "127.0.0.1", sim.port, 9600]],
            [["s1", "dtsy1352", "slow", 1, "", "", "", "", "", ""]]))
        async with client.post(f"{env.base}/admin/wiring", data={
                "csrf": csrf, "action": "apply", "plan_id": PLAN_RE.search(page).group(1)}) as resp:  # type: ignore[union-attr]
            assert resp.status == 200
        bus = env.core.data["modbus"].bus("slow")
        await wait_for(lambda: bus.link.stats.as_dict().get("requests", 0) > 0 or bus.link.connected, 10, "polling")
        async with client.post(f"{env.base}/admin/wiring", data={
                "csrf": csrf, "action": "remove_meter", "target": "acrel_dtsy1352.s1"}) as resp:
            assert resp.status == 200
        await asyncio.sleep(1.5)  # the poll in flight answers (0.3 s a request) and the sweep moves on
        assert env.core.states.get("acrel_dtsy1352.s1") is None
        assert bus.devices == []
    finally:
        await sim.async_stop()


async def test_an_imported_serial_server_is_edited_in_place_and_its_meters_follow(
    start_web: Any, tower: dict[str, SimServer], unused_tcp_port: int
) -> None:
    """A serial server imported at a wrong port: its meters stay offline; 修改 puts it on the right port and label
    (checked as a sheet row: a bad port, non-ASCII host or a YAML gateway refused), the line reconnects and the
    same meters poll without being removed; stored and audited; a re-imported sheet row moves it back."""
    env = await start_web(units=2)
    client, csrf = await admin(env)
    status, page = await upload(env, client, csrf, workbook(
        [["ss1", "一号", "rtu_over_tcp", "127.0.0.1", unused_tcp_port, 9600]],
        [[f"n{u}", "dtsy1352", "ss1", u, "b1", "", "", "", "", ""] for u in (1, 2)]))
    async with client.post(f"{env.base}/admin/wiring", data={
            "csrf": csrf, "action": "apply", "plan_id": PLAN_RE.search(page).group(1)}) as resp:  # type: ignore[union-attr]
        assert resp.status == 200
    assert env.core.states.get("modbus.bus_ss1").attributes["meters_online"] == 0

    async def edit(target: str, **fields: Any) -> tuple[int, str]:
        form = {"csrf": csrf, "action": "edit_gateway", "target": target, "label": "一号楼串口", "type": "rtu_over_tcp",
                "host": "127.0.0.1", "port": tower["ss1"].port, "baudrate": 9600, **fields}
        async with client.post(f"{env.base}/admin/wiring", data=form) as resp:
            return resp.status, await resp.text()

    status, page = await edit("ss1", port="99999")
    assert status == 400 and "端口应为 1–65535" in page
    status, page = await edit("ss1", host="主机")
    assert status == 400 and "只能用英文字母、数字和符号" in page
    assert (await edit("gw1"))[0] == 400, "a YAML gateway is read-only"
    assert env.core.data["modbus_wiring"].gateways["ss1"]["port"] == str(unused_tcp_port), "a refused edit stores nothing"

    status, page = await edit("ss1")
    assert status == 200 and "修改 1 台通讯管理机" in page
    await wait_for(lambda: env.core.states.get("modbus.bus_ss1").attributes["meters_online"] == 2, 20,
                   "the same meters poll on the new port")
    gateway = env.core.states.get("modbus.gateway_ss1")
    assert gateway.attributes["label"] == "一号楼串口" and gateway.attributes["meters"] == 2
    async with env.core.db.session() as session:
        row = await session.get(WiringGatewayRow, "ss1")
        assert (row.port, row.label) == (str(tower["ss1"].port), "一号楼串口")
        audit = (await session.scalars(select(AuditRow).where(AuditRow.action == "wiring_import")
                                       .order_by(AuditRow.id.desc()))).first()
    assert json.loads(audit.before)["gateways"][0]["port"] == str(unused_tcp_port)
    assert json.loads(audit.after)["changed_gateways"][0]["port"] == str(tower["ss1"].port)

    status, page = await upload(env, client, csrf, workbook(
        [["ss1", "一号楼串口", "rtu_over_tcp", "127.0.0.1", unused_tcp_port, 9600]], []))
    assert "修改 1 台已导入的通讯管理机" in page, "a sheet row naming an imported gateway edits it"
    async with client.post(f"{env.base}/admin/wiring", data={
            "csrf": csrf, "action": "apply", "plan_id": PLAN_RE.search(page).group(1)}) as resp:  # type: ignore[union-attr]
        assert resp.status == 200
    await wait_for(lambda: env.core.states.get("modbus.bus_ss1").attributes["meters_online"] == 0, 30,
                   "moved back to the dead port, the meters go offline")
