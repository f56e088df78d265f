"""Scenario: a simulated DTSY1352 runs down through both alarm levels into arrears; the shipped demo rules send one
SMS per level to the tenant (resolved through billing) and the modem simulator receives exactly those texts."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from integrations.acrel_dtsy1352.sim_server import SimServer
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.automation.templates import TemplateRenderer
from scada_core.core import Core
from tests.billing.conftest import CASHIER, billing_section, field_sections, sim_server

from .conftest import sms_sections

pytestmark = pytest.mark.timeout(60)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
M1 = "acrel_dtsy1352.m1"
PHONE = "+8613911112222"


@pytest.fixture
async def meter_sim() -> AsyncIterator[SimServer]:
    server = sim_server(1, remaining_fen=10000)
    await server.async_start()
    yield server
    await server.async_stop()


def _sms_rules() -> dict[str, str]:
    """Return the SMS text template of each demo rule that sends one, by level."""
    rules = yaml.safe_load((DEMO / "automations.yaml").read_text(encoding="utf-8"))
    texts = {}
    for rule in rules:
        level = rule["trigger"][0].get("event_data", {}).get("level")
        for action in rule["action"]:
            if action.get("service") == "notify.sms" and level:
                texts[level] = action["data"]["message"]
    return texts


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
    templates = _sms_rules()
    assert set(templates) >= {"alarm1", "alarm2", "arrears"}
    sections = {
        **field_sections(meter_sim.port, 1),
        "billing": billing_section(),
        "automation": yaml.safe_load((DEMO / "automations.yaml").read_text(encoding="utf-8")),
        "friendly_credit": yaml.safe_load((DEMO / "friendly_credit.yaml").read_text(encoding="utf-8")),
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
            while len([a for a in alarms if a["level"] in templates]) < count or len(simulator.received()) < count:
                await asyncio.sleep(0.05)
        assert alarms[-1]["level"] == level
    await asyncio.sleep(0.5)  # nothing more may come: one SMS per crossing

    renderer = TemplateRenderer(core)
    expected = [renderer.render(templates[a["level"]], {"trigger": {"event": {"data": a}}}) for a in alarms]
    received = simulator.received()
    assert {r["number"] for r in received} == {PHONE}
    assert _messages(received) == expected
    assert "一级预警" in expected[0] and "40.00" in expected[0]
