"""Friendly credit against real DTSY1352 meters: simulated serial server, Modbus over TCP, the real driver."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integrations.acrel_dtsy1352.sim_server import SimServer
from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from tests.field.conftest import attr, gateway, make_sim, meters
from tests.helpers import wait_for, write_config

from .conftest import local, stop_ticker

pytestmark = pytest.mark.timeout(60)

M1, M2 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = make_sim(2)
    await server.async_start()
    yield server
    await server.async_stop()


def tick(core: Core, moment: object) -> None:
    core.clock.set_now(moment)  # type: ignore[arg-type]
    core.bus.async_fire(EVENT_TIME_CHANGED, {"now": core.clock.now()})


async def test_meter_held_at_night_and_trips_by_itself_when_restored(tmp_path: Path, sim: SimServer) -> None:
    sections = {
        "modbus": [gateway("ss1", sim.port)],
        "acrel_dtsy1352": [meters("ss1", 2)],
        "friendly_credit": {"opt_out": [M2]},
    }
    core = await async_from_config_dir(write_config(tmp_path / "cfg", sections))
    try:
        stop_ticker(core)
        await wait_for(lambda: attr(core, M1, "online") and attr(core, M2, "online"), what="online")
        tick(core, local(2026, 3, 4, 12, 0))  # Wednesday noon: no window, nothing held
        await wait_for(lambda: not core.data["friendly_credit"].held, what="nothing held at noon")
        assert sim.meter(1).forced is None

        tick(core, local(2026, 3, 4, 18, 0))  # the window opens: 保电
        await wait_for(lambda: sim.meter(1).forced == "hold", what="m1 held")
        assert sim.meter(2).forced is None  # opted out
        await wait_for(lambda: attr(core, M1, "prepaid_mode") == "hold", what="hold read back")

        sim.meter(1).remaining_fen = -1000  # money runs out at night: the supply stays on
        response = await core.services.async_call("friendly_credit", "trip_for_arrears", {"entity_id": M1})
        assert response is not None and response["action"] == "held"
        assert response["until"] == "2026-03-05T08:00:00+08:00"
        await wait_for(lambda: (attr(core, M1, "remaining_fen") or 0) < 0, what="arrears read")
        assert attr(core, M1, "relay") == "closed"

        tick(core, local(2026, 3, 5, 8, 0))  # the window closes: prepaid mode again, the meter trips itself
        await wait_for(lambda: sim.meter(1).forced is None, what="restored")
        await wait_for(lambda: attr(core, M1, "relay") == "open", what="m1 tripped by itself")
        await wait_for(lambda: M1 not in core.data["friendly_credit"].held, what="hold forgotten")
        assert attr(core, M1, "prepaid_mode") == "normal"
    finally:
        await core.async_stop()
