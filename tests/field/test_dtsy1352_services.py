"""Driver <-> simulator round trips of every DTSY1352 service, over RTU-over-TCP and Modbus TCP."""
from __future__ import annotations

import pytest

from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, MODE_TCP
from integrations.modbus.errors import MeterCommandError
from tests.helpers import wait_for

from .conftest import attr, gateway, make_sim, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"


async def call(core, service: str, entity_id: str, **data):
    """Call a DTSY1352 service on one meter and return its result for that meter."""
    response = await core.services.async_call(DOMAIN, service, {"entity_id": entity_id, **data})
    return response["results"][entity_id]


@pytest.mark.parametrize("mode", [MODE_RTU_OVER_TCP, MODE_TCP])
async def test_every_service_round_trip(mode: str, sims, start_core) -> None:
    """Each service changes the simulated meter and the driver confirms it by reading back."""
    sim = make_sim(2, mode=mode)
    await sim.async_start()
    sims.append(sim)
    kind = "tcp" if mode == MODE_TCP else "rtu_over_tcp"
    core = await start_core({"modbus": [gateway("ss1", sim.port, type=kind)], DOMAIN: [meters("ss1", 2)]})
    meter = f"{DOMAIN}.m1"
    await wait_for(lambda: attr(core, meter, "online") is True, what="m1 online")

    # Decoded values and scaling: money in yuan as state, integer fen, Wh, volts, hertz.
    state = core.states.get(meter)
    sim_meter = sim.meter(1)
    assert state.state == f"{attr(core, meter, 'remaining_fen') / 100:.2f}"
    assert attr(core, meter, "purchase_count") == sim_meter.purchase_count == 1
    assert 218.0 <= attr(core, meter, "voltage_a") <= 232.0
    assert attr(core, meter, "power_factor") == 0.95
    assert attr(core, meter, "frequency") == 50.0
    assert attr(core, meter, "relay") == "closed" and attr(core, meter, "prepaid_mode") == "normal"
    assert attr(core, meter, "meter_type") == "dtsy1352" and attr(core, meter, "billing") == "meter"
    assert attr(core, meter, "gateway") == "ss1" and attr(core, meter, "address") == 1
    await wait_for(
        lambda: attr(core, meter, "remaining_kwh") is not None, what="settings read on the next sweep"
    )

    before = sim_meter.remaining_fen
    sold = await call(core, "sell", meter, amount_fen=10000, purchase_count=2)
    assert sold["purchase_count"] == 2 == sim_meter.purchase_count
    assert before + 10000 - 50 <= sold["remaining_fen"] <= before + 10000
    assert attr(core, meter, "purchase_count") == 2

    with pytest.raises(MeterCommandError, match="purchase count mismatch"):
        await call(core, "sell", meter, amount_fen=500, purchase_count=2)
    assert sim_meter.purchase_count == 2

    refunded = await call(core, "refund", meter, amount_fen=3000, purchase_count=3)
    assert refunded["purchase_count"] == 3
    assert sold["remaining_fen"] - 3000 - 50 <= refunded["remaining_fen"] <= sold["remaining_fen"] - 3000

    read = await call(core, "read_prepaid", meter)
    assert read["purchase_count"] == 3 and read["online"] is True

    assert await call(core, "trip", meter) == {"relay": "open", "prepaid_mode": "forced_off"}
    assert sim_meter.forced == "trip"
    assert await call(core, "hold", meter) == {"relay": "closed", "prepaid_mode": "hold"}
    assert await call(core, "close", meter) == {"relay": "closed", "prepaid_mode": "normal"}
    await call(core, "trip", meter)
    assert await call(core, "restore_prepaid", meter) == {"relay": "closed", "prepaid_mode": "normal"}
    assert sim_meter.prepaid_on and sim_meter.forced is None

    tou = [
        {"start": "00:00", "rate": "valley"},
        {"start": "08:00", "rate": "peak"},
        {"start": "22:00", "rate": "flat"},
    ]
    prices = {"sharp": "1.5", "peak": "1.2", "flat": "0.8", "valley": "0.35"}
    tariff = await call(core, "push_tariff", meter, prices=prices, tou=tou)
    assert tariff["prices"] == {"sharp": "1.5000", "peak": "1.2000", "flat": "0.8000", "valley": "0.3500"}
    assert sim_meter.prices == {"sharp": 15000, "peak": 12000, "flat": 8000, "valley": 3500}
    assert sim_meter.tou_table == [(0, 0, "valley"), (8, 0, "peak"), (22, 0, "flat")]
    assert (await call(core, "push_tariff", meter, price="0.9876"))["prices"]["flat"] == "0.9876"

    settings = {"alarm1_fen": 3000, "alarm2_fen": 1000, "overdraft_fen": 500, "overload_w": 12000}
    assert await call(core, "push_settings", meter, **settings) == settings
    assert (sim_meter.alarm1_fen, sim_meter.alarm2_fen, sim_meter.overdraft_fen, sim_meter.overload_w) == (
        3000,
        1000,
        500,
        12000,
    )
    assert attr(core, meter, "alarm1_fen") == 3000

    # The other meter was left alone.
    assert sim.meter(2).purchase_count == 1 and sim.meter(2).forced is None


async def test_service_data_is_validated(sims, start_core) -> None:
    """Bad service data is refused before anything reaches the wire."""
    sim = make_sim(1)
    await sim.async_start()
    sims.append(sim)
    core = await start_core({"modbus": [gateway("ss1", sim.port)], DOMAIN: [meters("ss1", 1)]})
    from scada_core.exceptions import ServiceValidationError

    for data in (
        {"amount_fen": 0, "purchase_count": 2},
        {"amount_fen": 100},
        {"amount_fen": 1.5, "purchase_count": 2},
    ):
        with pytest.raises(ServiceValidationError):
            await core.services.async_call(DOMAIN, "sell", {"entity_id": f"{DOMAIN}.m1", **data})
    with pytest.raises(ServiceValidationError, match="4 decimals"):
        await core.services.async_call(
            DOMAIN, "push_tariff", {"entity_id": f"{DOMAIN}.m1", "price": "0.12345"}
        )
    with pytest.raises(MeterCommandError, match="price or prices"):
        await core.services.async_call(DOMAIN, "push_tariff", {"entity_id": f"{DOMAIN}.m1"})


async def test_enciphered_meter_needs_its_key(sims, start_core) -> None:
    """A meter with encryption on accepts a sale only in frames enciphered with its YAML key."""
    sim = make_sim(2)
    for unit in (1, 2):
        sim.meter(unit).encrypted = True
        sim.meter(unit).cipher_key = "k3y4m3t3"
    await sim.async_start()
    sims.append(sim)
    group = {
        "bus": "ss1",
        "meters": [{"name": "m1", "address": 1, "key": "k3y4m3t3"}, {"name": "m2", "address": 2}],
    }
    core = await start_core({"modbus": [gateway("ss1", sim.port)], DOMAIN: [group]})
    await wait_for(lambda: attr(core, f"{DOMAIN}.m2", "online") is True, what="online")
    assert (await call(core, "sell", f"{DOMAIN}.m1", amount_fen=100, purchase_count=2))["purchase_count"] == 2
    with pytest.raises(MeterCommandError, match="bad key or cipher"):
        await call(core, "sell", f"{DOMAIN}.m2", amount_fen=100, purchase_count=2)
    assert sim.meter(2).purchase_count == 1


async def test_close_in_arrears_reports_the_open_relay_force_close_closes_it(sims, start_core) -> None:
    """close releases forced control but fails clearly while arrears keep the relay open; force_close does."""
    sim = make_sim(1)
    sim.set_money(1, -500)  # no overdraft allowed: prepaid control keeps the relay open
    sim.meter(1).forced = "trip"  # and staff had tripped it
    await sim.async_start()
    sims.append(sim)
    core = await start_core({"modbus": [gateway("ss1", sim.port)], DOMAIN: [meters("ss1", 1)]})
    meter = f"{DOMAIN}.m1"
    await wait_for(lambda: attr(core, meter, "online") is True, what="m1 online")
    assert attr(core, meter, "relay") == "open" and attr(core, meter, "arrears") is True

    with pytest.raises(MeterCommandError, match="relay stayed open") as err:
        await call(core, "close", meter)
    assert "arrears" in str(err.value) and "欠费" in str(err.value)
    assert sim.meter(1).forced is None  # released to prepaid control, which keeps it open
    assert attr(core, meter, "relay") == "open" and attr(core, meter, "prepaid_mode") == "normal"

    # Release promises the mode only and reports the relay the money decides.
    assert await call(core, "release", meter) == {"relay": "open", "prepaid_mode": "normal"}
    assert await call(core, "force_close", meter) == {"relay": "closed", "prepaid_mode": "hold"}
    assert sim.meter(1).forced == "hold" and attr(core, meter, "relay") == "closed"
    assert await call(core, "trip", meter) == {"relay": "open", "prepaid_mode": "forced_off"}
    assert await call(core, "hold", meter) == {"relay": "closed", "prepaid_mode": "hold"}  # 保电 = force_close

    # With money on the meter close keeps its promise.
    sim.set_money(1, 10000)
    assert await call(core, "close", meter) == {"relay": "closed", "prepaid_mode": "normal"}
