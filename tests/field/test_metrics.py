"""/metrics of the field layer: meters online per gateway, line counters and sweeps per bus."""
from __future__ import annotations

import pytest

from tests.helpers import sample, scrape, wait_for

from .conftest import attr, gateway, make_sim, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"


async def test_gateway_offline_gauge_and_bus_counters(sims, start_core) -> None:
    """Polls raise a bus's request counter; a meter gone silent counts offline on its own gateway only, with
    its timeouts; a garbling one counts CRC errors."""
    one, two = make_sim(3), make_sim(1)
    for sim in (one, two):
        await sim.async_start()
        sims.append(sim)
    core = await start_core({
        "modbus": [gateway("ss1", one.port), gateway("ss2", two.port)],
        DOMAIN: [meters("ss1", 3), meters("ss2", 1, prefix="n")],
    })
    entities = [f"{DOMAIN}.m1", f"{DOMAIN}.m2", f"{DOMAIN}.m3", f"{DOMAIN}.n1"]
    await wait_for(lambda: all(attr(core, e, "online") for e in entities), what="every meter online")
    base = f"http://127.0.0.1:{core.http.port}"
    first = await scrape(base)
    assert sample(first, "openprepay_gateway_meters", gateway="ss1", state="online") == 3
    assert sample(first, "openprepay_gateway_meters", gateway="ss1", state="offline") == 0
    assert sample(first, "openprepay_gateway_up", gateway="ss2") == 1
    requests = sample(first, "openprepay_bus_requests_total", bus="ss1", gateway="ss1")
    assert requests is not None and requests >= 3

    sweeps = attr(core, "modbus.bus_ss1", "sweeps")
    await wait_for(lambda: attr(core, "modbus.bus_ss1", "sweeps") > sweeps, what="another sweep")
    later = await scrape(base)
    assert sample(later, "openprepay_bus_requests_total", bus="ss1", gateway="ss1") > requests
    # RTU over TCP at 9600 baud: the sweep's least wire time is known, and its ratio to the sweep's duration.
    wire = sample(later, "openprepay_bus_sweep_wire_seconds", bus="ss1", gateway="ss1")
    duration = sample(later, "openprepay_bus_sweep_duration_seconds", bus="ss1", gateway="ss1")
    assert wire is not None and wire > 0 and duration is not None
    assert sample(later, "openprepay_bus_sweep_wire_ratio", bus="ss1", gateway="ss1") == pytest.approx(
        duration / wire)

    one.set_fault(2, silent=True)
    one.set_fault(3, crc=True)
    await wait_for(lambda: attr(core, f"{DOMAIN}.m2", "online") is False and attr(core, f"{DOMAIN}.m3", "online")
                   is False, what="m2 and m3 offline")
    faulty = await scrape(base)
    assert sample(faulty, "openprepay_gateway_meters", gateway="ss1", state="offline") == 2
    assert sample(faulty, "openprepay_gateway_meters", gateway="ss1", state="online") == 1
    assert sample(faulty, "openprepay_gateway_meters", gateway="ss2", state="offline") == 0
    assert sample(faulty, "openprepay_bus_timeouts_total", bus="ss1", gateway="ss1") >= 2
    assert sample(faulty, "openprepay_bus_crc_errors_total", bus="ss1", gateway="ss1") >= 2
    assert sample(faulty, "openprepay_bus_timeouts_total", bus="ss2", gateway="ss2") == 0
