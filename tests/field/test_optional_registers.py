"""Optional (PROPOSED) registers: a meter without one stays online, keeps its status and retries it rarely."""
from __future__ import annotations

import datetime as dt

import pytest

from integrations.modbus.const import UNSUPPORTED_RETRY_S
from tests.helpers import wait_for

from .conftest import attr, gateway, make_sim, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"
FREQUENCY = 0x0077  # PROPOSED for the DTSY1352 (DTSD1352 address)


async def test_meter_refusing_the_frequency_stays_online(sims, start_core) -> None:
    """Exception 02 on 0x0077: status published, frequency marked unsupported and not asked every sweep."""
    sim = make_sim(2)
    sim.set_fault(1, refuse=[FREQUENCY])
    await sim.async_start()
    sims.append(sim)
    # The energy scan (which holds the frequency) is due on every sweep.
    core = await start_core(
        {"modbus": [gateway("ss1", sim.port, energy_interval=0.3)], DOMAIN: [meters("ss1", 2)]}
    )
    m1, m2, bus = f"{DOMAIN}.m1", f"{DOMAIN}.m2", "modbus.bus_ss1"
    await wait_for(lambda: attr(core, m1, "online") is True, what="m1 online despite the refused register")
    await wait_for(lambda: attr(core, m2, "frequency") == 50.0, what="m2 frequency")

    state = core.states.get(m1)
    assert state.state == f"{sim.meter(1).remaining_fen / 100:.2f}"
    assert attr(core, m1, "relay") == "closed" and 218.0 <= attr(core, m1, "voltage_a") <= 232.0
    assert attr(core, m1, "frequency") is None
    assert attr(core, m1, "unsupported") == ["frequency"]
    assert attr(core, m2, "unsupported") is None

    # Several sweeps with the energy scan due: the refused register was asked once, not every sweep.
    sweeps = attr(core, bus, "sweeps")
    await wait_for(lambda: attr(core, bus, "sweeps") >= sweeps + 4, what="four more sweeps")
    assert attr(core, bus, "exceptions") == 1
    assert attr(core, m1, "online") is True and core.states.get(m1).state != "unavailable"

    # An hour later it is asked again; a meter that has it now shows it.
    sim.set_fault(1)
    assert attr(core, m1, "frequency") is None
    core.clock.set_now(core.clock.utcnow() + dt.timedelta(seconds=UNSUPPORTED_RETRY_S + 1))
    await wait_for(lambda: attr(core, m1, "frequency") == 50.0, what="frequency after the retry")
    assert attr(core, m1, "unsupported") is None
    assert attr(core, bus, "exceptions") == 1


async def test_refused_required_register_still_takes_the_meter_offline(sims, start_core) -> None:
    """Only optional registers are forgiven: a meter refusing its status block is offline (失联)."""
    sim = make_sim(2)
    sim.set_fault(2, refuse=[0x0221])  # the purchase count, inside the 0x0200 status block
    await sim.async_start()
    sims.append(sim)
    core = await start_core({"modbus": [gateway("ss1", sim.port)], DOMAIN: [meters("ss1", 2)]})
    await wait_for(lambda: attr(core, f"{DOMAIN}.m1", "online") is True, what="m1 online")
    await wait_for(lambda: core.states.get(f"{DOMAIN}.m2").state == "unavailable", what="m2 offline")
    assert attr(core, f"{DOMAIN}.m2", "online") is False
