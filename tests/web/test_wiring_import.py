"""Quick setup by import: the demo tower's 4 serial servers and 144 meters imported through the web page into a
configuration without meters, polled at once over real TCP; the export imports back unchanged."""
from __future__ import annotations

import io
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, SimServer
from integrations.modbus.models import WiringGatewayRow, WiringMeterRow
from integrations.modbus.profile import get_profile
from tests.helpers import wait_for

from .conftest import TZ, WebEnv

pytestmark = pytest.mark.timeout(120)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
NO_WIRING = {"modbus": None, "acrel_dtsy1352": None}
PLAN_RE = re.compile(r'name="plan_id" value="([0-9a-f]+)"')
FLOOR_RE = re.compile(r"_f(\d+)_(\d+)$")


@pytest.fixture
async def tower() -> AsyncIterator[dict[str, SimServer]]:
    """The demo's 4 simulated serial servers (units 1-36 each, RTU over TCP) on free ports."""
    servers = yaml.safe_load((DEMO / "dtsy1352_simulator.yaml").read_text(encoding="utf-8"))["servers"]
    sims: dict[str, SimServer] = {}
    for server in servers:
        first, last = (int(n) for n in server["units"].split("-"))
        meters = {u: SimMeter(unit=u, remaining_fen=10000 + u, last_ts=time.time()) for u in range(first, last + 1)}
        sims[server["name"]] = SimServer(get_profile("dtsy1352"), meters, time.time, TZ, name=server["name"],
                                         mode=MODE_RTU_OVER_TCP, port=0)
        await sims[server["name"]].async_start()
    yield sims
    for sim in sims.values():
        await sim.async_stop()


def demo_rows(sims: dict[str, SimServer]) -> tuple[list[list[Any]], list[list[Any]]]:
    """Return the demo's gateways (on the simulators' ports) and meters as template rows."""
    gateways = [[g["name"], g["label"], g["type"], g["host"], sims[g["name"]].port, g["baudrate"]]
                for g in yaml.safe_load((DEMO / "modbus.yaml").read_text(encoding="utf-8"))]
    meters = []
    for group in yaml.safe_load((DEMO / "acrel_dtsy1352.yaml").read_text(encoding="utf-8")):
        for meter in group["meters"]:
            floor, room = FLOOR_RE.search(meter["name"]).groups()  # type: ignore[union-attr]
            meters.append([meter["name"], "dtsy1352", group["bus"], meter["address"], "b1", f"{floor}F", room,
                           f"商铺{room}", "commercial", ""])
    return gateways, meters


def fill(template: bytes, gateways: list[list[Any]], meters: list[list[Any]]) -> bytes:
    """Return the downloaded template with its example rows replaced by these."""
    book = load_workbook(io.BytesIO(template))
    for sheet, rows in zip(book.worksheets, (gateways, meters), strict=True):
        sheet.delete_rows(2, sheet.max_row)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def admin(env: WebEnv) -> tuple[Any, str]:
    """Log the demo admin in."""
    await env.operator("office", "admin")
    return await env.login("office")


async def upload(env: WebEnv, client: Any, csrf: str, body: bytes) -> tuple[int, str]:
    """Post a workbook for the dry run; return status and page."""
    form = {"csrf": csrf, "action": "preview"}
    data = __import__("aiohttp").FormData(form)
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
    assert by_name["b1_f7_0705"][:9] == ("b1_f7_0705", "dtsy1352", "ss2", 29, "b1", "7F", "0705", "商铺0705", "commercial")
    assert gateways[1][:6] == ("ss2", "2号串口服务器（5–7层）", "rtu_over_tcp", "127.0.0.1", tower["ss2"].port, 9600)
    status, page = await upload(env, client, csrf, exported)
    assert status == 200 and 'id="wiring-problems"' not in page
    assert "0 台通讯管理机、0 块电表" in page, "the export imports back as nothing new"
