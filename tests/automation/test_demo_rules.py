"""The shipped demo rules (config/demo/automations.yaml) on simulated DTSY1352 meters."""
from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from integrations.acrel_dtsy1352.sim_server import SimServer
from scada_core.automation.alarms import list_alarms
from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from tests.field.conftest import attr, gateway, make_sim, meters
from tests.helpers import wait_for, write_config

from .conftest import INCLUDES, local, stop_ticker

pytestmark = pytest.mark.timeout(60)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
M1, M2 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2"
GATEWAY = "modbus.gateway_ss1"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = make_sim(2)
    await server.async_start()
    yield server
    await server.async_stop()


@pytest.fixture
async def core(tmp_path: Path, sim: SimServer, db_settings: dict[str, str]) -> AsyncIterator[Core]:
    """A core with the demo's automations.yaml and friendly_credit.yaml and two simulated meters."""
    folder = write_config(
        tmp_path / "cfg",
        {"modbus": [gateway("ss1", sim.port)], "acrel_dtsy1352": [meters("ss1", 2)]},
        db_settings,
        includes=INCLUDES,
    )
    for name in INCLUDES.values():
        shutil.copy(DEMO / name, folder / name)
    instance = await async_from_config_dir(folder)
    stop_ticker(instance)
    yield instance
    await instance.async_stop()


def tick(core: Core, moment: Any) -> None:
    core.clock.set_now(moment)
    core.bus.async_fire(EVENT_TIME_CHANGED, {"now": core.clock.now()})


def last_trace(core: Core, automation_id: str) -> dict[str, Any] | None:
    traces = core.data["automation"].get(automation_id).traces.all()
    return traces[0].as_dict() if traces and traces[0].result else None


async def test_arrears_at_night_is_held_then_trips_in_the_morning(core: Core, sim: SimServer) -> None:
    await wait_for(lambda: attr(core, M1, "online") and attr(core, M2, "online"), what="online")
    tick(core, local(2026, 3, 4, 12, 0))
    await wait_for(lambda: not core.data["friendly_credit"].held, what="nothing held at noon")
    tick(core, local(2026, 3, 4, 19, 0))  # Wednesday evening: 保电 for every meter-side meter
    await wait_for(lambda: sim.meter(1).forced == sim.meter(2).forced == "hold", what="held")
    sim.meter(1).remaining_fen = -300
    arrears = {"meter_entity_id": M1, "account_id": 7, "level": "arrears", "value_fen": -300}
    arrears["phase"] = "enter"
    core.bus.async_fire("billing_alarm", arrears)
    await wait_for(lambda: last_trace(core, "arrears") is not None, what="arrears run")
    trace = last_trace(core, "arrears")
    assert trace is not None
    raise_alarm, sms, trip = trace["actions"]
    assert raise_alarm["result"]["kind"] == "arrears" and raise_alarm["result"]["level"] == "critical"
    assert sms["data"]["target"] == {"account_id": 7} and "欠费（余额-3.00元）" in sms["data"]["message"]
    assert sms["error"] == "service notify.sms not found"  # no modem here: an error in the trace, no crash
    assert trip["result"]["action"] == "held" and trip["result"]["until"] == "2026-03-05T08:00:00+08:00"
    assert trace["result"] == "finished"
    await wait_for(lambda: (attr(core, M1, "remaining_fen") or 0) < 0, what="arrears read")
    assert attr(core, M1, "relay") == "closed"

    tick(core, local(2026, 3, 5, 8, 0))
    await wait_for(lambda: attr(core, M1, "relay") == "open", what="m1 trips at 08:00")
    assert core.db is not None
    alarms = await list_alarms(core.db, None, None, active_only=True)
    assert [(a["entity_id"], a["kind"]) for a in alarms] == [(M1, "arrears")]

    core.bus.async_fire("billing_alarm", {**arrears, "phase": "leave", "value_fen": 500})
    await wait_for(lambda: last_trace(core, "balance_alarm_cleared") is not None, what="cleared")
    assert await list_alarms(core.db, None, None, active_only=True) == []


async def test_gateway_offline_for_five_minutes_raises_an_alarm(core: Core, sim: SimServer) -> None:
    """The gateway rule (meters with an account go through billing's offline alarm: tests/web/test_staff_alarms.py)."""
    await wait_for(lambda: attr(core, M2, "online") is True, what="m2 online")
    alarms: list[dict[str, Any]] = []
    core.bus.async_listen("alarm", lambda event: alarms.append(dict(event.data)))
    tick(core, local(2026, 3, 4, 10, 0))
    await sim.async_stop()  # the serial server goes away: the gateway is offline
    await wait_for(lambda: core.states.get(GATEWAY).state == "offline", what="gateway offline")
    tick(core, local(2026, 3, 4, 10, 4))
    assert last_trace(core, "device_offline") is None
    tick(core, local(2026, 3, 4, 10, 6))
    await wait_for(lambda: any(a["entity_id"] == GATEWAY for a in alarms), what="gateway alarm")
    gateway_run = last_trace(core, "device_offline")
    assert gateway_run is not None and gateway_run["trigger"]["entity_id"] == GATEWAY
    assert gateway_run["trigger"]["to_state"]["state"] == "offline"
    alarm, email = gateway_run["actions"]
    assert alarm["result"]["kind"] == "offline" and alarm["result"]["message"] == "ss1 已失联 5 分钟"
    assert email["service"] == "notify.email" and email["data"]["template"] == "device_offline"
    assert email["data"]["data"]["device"] == "ss1"
    assert email["data"]["data"]["last_seen"].startswith("2026-03-04 10:0")
    assert core.db is not None
    assert [a["active"] for a in await list_alarms(core.db, None, None)] == [True]
