"""Faults on the wire: silent, CRC-corrupting and exception-answering meters, and a gateway that drops."""
from __future__ import annotations

import asyncio

import pytest

from integrations.acrel_dtsy1352.sim_pty import PtyCable
from integrations.acrel_dtsy1352.sim_server import MODE_SERIAL
from integrations.modbus.errors import MeterCommandError
from tests.helpers import free_port, wait_for

from .conftest import attr, gateway, make_sim, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"


async def test_bad_meters_never_stop_the_other_35(sims, start_core) -> None:
    """A silent meter, a CRC-corrupting one and one answering exceptions go offline; the rest stay fresh."""
    sim = make_sim(36)
    sim.set_fault(5, silent=True)
    sim.set_fault(6, crc=True)
    sim.set_fault(7, exception=4)
    await sim.async_start()
    sims.append(sim)
    core = await start_core({"modbus": [gateway("ss1", sim.port)], DOMAIN: [meters("ss1", 36)]})
    bad = {f"{DOMAIN}.m5", f"{DOMAIN}.m6", f"{DOMAIN}.m7"}
    good = [f"{DOMAIN}.m{u}" for u in range(1, 37) if f"{DOMAIN}.m{u}" not in bad]
    await wait_for(lambda: all(attr(core, e, "online") for e in good), what="33 good meters online")
    await wait_for(
        lambda: all(core.states.get(e).state == "unavailable" for e in bad), what="bad meters offline"
    )
    assert all(attr(core, e, "online") is False for e in bad)

    # Several sweeps later every good meter has been read again recently: the bad ones cost little.
    bus = "modbus.bus_ss1"
    sweeps = attr(core, bus, "sweeps")
    first = {e: attr(core, e, "last_read") for e in good}
    await wait_for(lambda: attr(core, bus, "sweeps") >= sweeps + 3, what="three more sweeps")
    assert all(attr(core, e, "last_read") > first[e] for e in good)
    stats = core.states.get(bus).attributes
    assert stats["timeouts"] >= 2 and stats["crc_errors"] >= 2 and stats["exceptions"] >= 2
    assert stats["meters_online"] == 33 and stats["online"] is True
    assert attr(core, "modbus.gateway_ss1", "meters_online") == 33

    # Faults cleared: the slow lane brings them back.
    sim.clear_faults()
    await wait_for(lambda: all(attr(core, e, "online") for e in bad), what="bad meters back online")
    assert core.states.get(f"{DOMAIN}.m5").state != "unavailable"


async def test_gateway_drop_offline_then_back(sims, start_core) -> None:
    """A serial server that goes away takes its bus, gateway and meters offline; they return with it."""
    sim = make_sim(3)
    await sim.async_start()
    sims.append(sim)
    port = sim.port
    core = await start_core({"modbus": [gateway("ss1", port)], DOMAIN: [meters("ss1", 3)]})
    meter = f"{DOMAIN}.m2"
    await wait_for(lambda: attr(core, meter, "online") is True, what="online")

    assert sim.drop_connections() == 1  # a drop alone: reconnect at once
    await wait_for(lambda: attr(core, "modbus.bus_ss1", "connects") >= 2, what="reconnect after a drop")

    await sim.async_stop()
    await wait_for(lambda: core.states.get("modbus.gateway_ss1").state == "offline", what="gateway offline")
    assert core.states.get("modbus.bus_ss1").state == "offline"
    assert core.states.get(meter).state == "unavailable" and attr(core, meter, "online") is False

    again = make_sim(3, port=port)
    await again.async_start()
    sims.append(again)
    await wait_for(lambda: attr(core, meter, "online") is True, what="meter back online")
    assert core.states.get("modbus.gateway_ss1").state == "online"


async def test_commands_wait_for_an_offline_gateway(sims, start_core) -> None:
    """A trip queued while the gateway is down is sent and confirmed when it comes back."""
    sim = make_sim(2)
    await sim.async_start()
    sims.append(sim)
    port = sim.port
    core = await start_core(
        {"modbus": [gateway("ss1", port, command_timeout=20)], DOMAIN: [meters("ss1", 2)]}
    )
    meter = f"{DOMAIN}.m1"
    await wait_for(lambda: attr(core, meter, "online") is True, what="online")
    await sim.async_stop()
    await wait_for(lambda: core.states.get("modbus.bus_ss1").state == "offline", what="bus offline")

    call = asyncio.create_task(core.services.async_call(DOMAIN, "trip", {"entity_id": meter}))
    await asyncio.sleep(0.5)
    assert not call.done()
    assert attr(core, "modbus.bus_ss1", "queued_commands") == 1

    again = make_sim(2, port=port)
    await again.async_start()
    sims.append(again)
    result = await asyncio.wait_for(call, 10)
    assert result["results"][meter] == {"relay": "open", "prepaid_mode": "forced_off"}
    assert again.meter(1).forced == "trip"


async def test_command_expires_when_the_gateway_stays_away(sims, start_core) -> None:
    """Past its deadline a waiting command expires with a clear error instead of hanging."""
    port = free_port()
    core = await start_core(
        {"modbus": [gateway("ss1", port, command_timeout=0.5)], DOMAIN: [meters("ss1", 1)]}
    )
    with pytest.raises(MeterCommandError, match="not confirmed before its deadline"):
        await core.services.async_call(DOMAIN, "hold", {"entity_id": f"{DOMAIN}.m1"})


async def test_gateway_back_is_reconnected_without_waiting_out_the_backoff(sims, start_core) -> None:
    """While backing off the line probes the serial server; once it answers, the meters are back at once."""
    sim = make_sim(2)
    await sim.async_start()
    sims.append(sim)
    port = sim.port
    core = await start_core({"modbus": [gateway("ss1", port, reconnect_max=600)], DOMAIN: [meters("ss1", 2)]})
    meter, bus = f"{DOMAIN}.m2", "modbus.bus_ss1"
    await wait_for(lambda: attr(core, meter, "online") is True, what="online")
    assert attr(core, bus, "reconnect_delay") is None

    await sim.async_stop()
    await wait_for(lambda: (attr(core, bus, "reconnect_delay") or 0) >= 8, 30, "an 8 s backoff step")
    again = make_sim(2, port=port)
    await again.async_start()
    sims.append(again)
    # Far sooner than the 8 s step the line is waiting out.
    await wait_for(lambda: attr(core, meter, "online") is True, 4, "meters back before the step ends")
    assert attr(core, bus, "reconnect_delay") is None and core.states.get(bus).state == "online"


async def test_serial_adapter_plugged_in_is_used_without_waiting_out_the_backoff(
    sims, start_core, tmp_path
) -> None:
    """A serial port that appears (a USB adapter plugged in) is opened at once, not at the end of the step."""
    device = tmp_path / "ttyUSB9"
    serial = {"name": "usb9", "type": "serial", "port": str(device), "timeout": 0.3, "status_interval": 0.3,
              "reconnect_max": 600}
    core = await start_core({"modbus": [serial], DOMAIN: [meters("usb9", 1)]})
    bus = "modbus.bus_usb9"
    await wait_for(lambda: (attr(core, bus, "reconnect_delay") or 0) >= 8, 30, "an 8 s backoff step")
    cable = PtyCable(device)  # the adapter appears at the configured path
    cable.start()
    sim = make_sim(1, mode=MODE_SERIAL, serial_path=cable.server_path)
    try:
        await sim.async_start()
        sims.append(sim)
        await wait_for(lambda: attr(core, f"{DOMAIN}.m1", "online") is True, 4, "online before the step ends")
    finally:
        await sim.async_stop()
        sims.remove(sim)
        cable.close()
