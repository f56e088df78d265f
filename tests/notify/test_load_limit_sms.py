"""The demo's load-limiting rules (config/demo/automations.yaml): a demand-response signal runs the first plan as the
system, and the tenants it limits are texted when it starts and when it ends; the modem simulator receives exactly
those texts and the simulated meter holds the plan's limit, then its own again."""
from __future__ import annotations

import asyncio
from datetime import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from integrations.acrel_dtsy1352.proposed import FACTORY_PMAX_W
from integrations.acrel_dtsy1352.sim_server import SimServer
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.core import Core
from tests.billing.conftest import ADMIN, CASHIER, TZ, billing_section, field_sections, sim_server

from tests.helpers import until

from .conftest import sms_sections
from .test_scenario import _messages

pytestmark = pytest.mark.timeout(60)

M1, M2 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2"
PHONE = "+8613911113333"
RULES = ("load_limit_sms", "demand_response")
DEMO_RULES = Path(__file__).resolve().parents[2] / "config" / "demo" / "automations.yaml"


def local(ts: float) -> str:
    """Return POSIX seconds as the SMS shows them (Asia/Shanghai)."""
    return datetime.fromtimestamp(ts, TZ).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
async def meter_sim() -> AsyncIterator[SimServer]:
    server = sim_server(2, remaining_fen=10000)
    await server.async_start()
    yield server
    await server.async_stop()


async def test_demand_response_limits_and_texts_the_tenants(
    simulator: ModemSimulator, meter_sim: SimServer, start_core: Callable[..., Awaitable[Core]]
) -> None:
    rules = [r for r in yaml.safe_load(DEMO_RULES.read_text(encoding="utf-8")) if r["id"] in RULES]
    assert [r["id"] for r in rules] == list(RULES)
    core = await start_core({
        **field_sections(meter_sim.port, 2), "billing": billing_section(), "automation": rules,
        **sms_sections(simulator),
    })
    async with asyncio.timeout(10):
        while not all((s := core.states.get(m)) is not None and s.attributes.get("online") for m in (M1, M2)):
            await asyncio.sleep(0.05)
    billing = core.data["billing"]
    await billing.open_account("川菜馆", [M1], CASHIER, phone=PHONE)
    await billing.open_account("律师事务所", [M2], CASHIER, phone="+8613900000000")
    await billing.set_meter_category(M1, "catering", ADMIN)
    await billing.set_meter_category(M2, "office", ADMIN)
    plan: dict[str, Any] = await billing.create_load_plan(
        "迎峰度夏", ["catering", "retail"], 3600, ADMIN, action="limit", limit_w=3000
    )
    assert plan["id"] == 1  # the demo rule runs plan 1

    core.bus.async_fire("demand_response", {"minutes": 45})
    async with asyncio.timeout(15):
        while not simulator.received():
            await asyncio.sleep(0.05)
    [run] = await billing.load_runs()
    assert run["operator_id"] == "demand_response" and run["end_ts"] - run["start_ts"] == 45 * 60
    await until(lambda: billing.load_runs(), lambda runs: runs[0]["limited"] == 1)
    assert meter_sim.meter(1).overload_w == 3000 and meter_sim.meter(2).overload_w == FACTORY_PMAX_W
    await billing.end_load_run(run["id"], ADMIN)
    async with asyncio.timeout(15):
        while len(_messages(simulator.received())) < 2:
            await asyncio.sleep(0.05)
    await until(lambda: billing.load_run(run["id"]), lambda r: r["meters"][0]["restored_ts"] is not None)
    await asyncio.sleep(0.3)  # nothing more may come
    received = simulator.received()
    assert {r["number"] for r in received} == {PHONE}, "only the limited tenant"
    start, end = _messages(received)
    assert start == (f"【演示大厦】因电力紧张，{local(run['start_ts'])}至{local(run['end_ts'])}用电功率限制在3000W以内，"
                     "超出时电表自动断电，敬请谅解。")
    assert end == "【演示大厦】限电已结束，您的用电已恢复正常。"
    assert meter_sim.meter(1).overload_w == FACTORY_PMAX_W
