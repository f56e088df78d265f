"""Scenario: a simulated DTSY1352 runs down through both alarm levels into arrears; automation rules send one SMS per
level from the shipped templates to the tenant (resolved through billing); the modem simulator receives exactly those
texts. (The shipped rules themselves are tested in tests/automation.)"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from integrations.acrel_dtsy1352.sim_server import SimServer
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.core import Core
from tests.billing.conftest import CASHIER, billing_section, field_sections, sim_server

from .conftest import sms_sections

pytestmark = pytest.mark.timeout(60)

M1 = "acrel_dtsy1352.m1"
PHONE = "+8613911112222"
TEMPLATES = {"alarm1": "low_balance_1", "alarm2": "low_balance_2", "arrears": "arrears"}


def _rule(level: str) -> dict[str, Any]:
    """Return a rule: on entering ``level``, SMS the account with that level's template."""
    return {
        "id": f"sms_{level}",
        "trigger": [{"platform": "event", "event_type": "billing_alarm", "event_data": {"level": level, "phase": "enter"}}],
        "action": [{
            "service": "notify.sms",
            "data": {
                "target": {"account_id": "{{ trigger.event.data.account_id }}"},
                "template": TEMPLATES[level],
                "data": {"meter": "{{ trigger.event.data.meter_entity_id }}", "balance_fen": "{{ trigger.event.data.value_fen }}",
                         "alarm1_fen": 5000, "alarm2_fen": 1000},
            },
        }],
    }


@pytest.fixture
async def meter_sim() -> AsyncIterator[SimServer]:
    server = sim_server(1, remaining_fen=10000)
    await server.async_start()
    yield server
    await server.async_stop()


def _messages(records: list[dict[str, Any]]) -> list[str]:
    """Reassemble the received PDUs into whole texts (linked parts by reference)."""
    texts: dict[Any, dict[int, str]] = {}
    for record in records:
        concat = record["concat"]
        key = (record["number"], concat["reference"]) if concat else (record["number"], id(record))
        texts.setdefault(key, {})[concat["seq"] if concat else 1] = record["text"]
    return ["".join(parts[i] for i in sorted(parts)) for parts in texts.values()]


async def test_one_sms_per_alarm_level(
    simulator: ModemSimulator, meter_sim: SimServer, start_core: Callable[..., Awaitable[Core]]
) -> None:
    sections = {
        **field_sections(meter_sim.port, 1),
        "billing": billing_section(),
        "automation": [_rule(level) for level in TEMPLATES],
        **sms_sections(simulator),
    }
    core = await start_core(sections)
    alarms: list[dict[str, Any]] = []
    core.bus.async_listen("billing_alarm", lambda e: alarms.append(dict(e.data)) if e.data["phase"] == "enter" else None)
    async with asyncio.timeout(10):
        while (state := core.states.get(M1)) is None or state.attributes.get("online") is not True:
            await asyncio.sleep(0.05)
    billing = core.data["billing"]
    await billing.open_account("301 咖啡店", [M1], CASHIER, phone=PHONE)

    meter = meter_sim.meter(1)
    for remaining, level, count in ((4000, "alarm1", 1), (3000, "alarm1", 1), (800, "alarm2", 2), (0, "arrears", 3)):
        meter.remaining_fen = remaining
        async with asyncio.timeout(15):
            while len(alarms) < count or len(simulator.received()) < count:
                await asyncio.sleep(0.05)
        assert alarms[-1]["level"] == level
    await asyncio.sleep(0.3)  # nothing more may come: one SMS per crossing

    assert [a["level"] for a in alarms] == ["alarm1", "alarm2", "arrears"]
    received = simulator.received()
    assert {r["number"] for r in received} == {PHONE}
    balances = [f"{a['value_fen'] // 100}.{a['value_fen'] % 100:02d}" for a in alarms]
    assert balances[0] == "40.00"
    assert _messages(received) == [
        f"【测试大厦】尊敬的301 咖啡店：您的电表{M1}剩余金额{balances[0]}元，已低于一级预警值50.00元，请及时充值。",
        f"【测试大厦】尊敬的301 咖啡店：您的电表{M1}剩余金额仅{balances[1]}元，已低于二级预警值10.00元。"
        "余额用尽将自动断电，请尽快充值。",
        f"【测试大厦】尊敬的301 咖啡店：您的电表{M1}已欠费（余额{balances[2]}元），将在非保电时段断电。充值后自动恢复供电。",
    ]
