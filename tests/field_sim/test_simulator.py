"""The DTSY1352 simulator over real Modbus TCP / RTU-over-TCP frames, read with pymodbus and decoded by the profile."""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pymodbus.client import AsyncModbusTcpClient

from integrations.acrel_dtsy1352.cipher import EncipherHook, make_cipher
from integrations.acrel_dtsy1352.pdu import (
    PrepaidSettings,
    control_values,
    decode_tou_table,
    encode_tou_table,
    purchase_request,
    settings_request,
)
from integrations.acrel_dtsy1352.proposed import RESULT_BAD_KEY, RESULT_BAD_PURCHASE_COUNT, RESULT_OK
from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.simulator import LineTiming, Simulator
from integrations.modbus.profile import get_profile

pytestmark = pytest.mark.timeout(30)
PROFILE = get_profile("dtsy1352")
Factory = Callable[..., Any]


async def read_status(client: AsyncModbusTcpClient, unit: int) -> dict[str, Any]:
    """Read the status scan the way the driver does and decode it."""
    (block,) = PROFILE.plan("status")
    response = await client.read_holding_registers(block.start, count=block.count, device_id=unit)
    assert not response.isError()
    return PROFILE.decode(block.start, response.registers)


async def test_status_block_decodes_with_scale_and_sign(sim: Simulator, make_client: Factory) -> None:
    """Every field of the 0x0200 block comes back with the right scale and sign, negative money included."""
    server = await sim.async_add_server("1-36", mode="tcp")
    meter = server.meter(17)
    meter.overdraft_fen = 5000  # still closed while within the overdraft
    server.set_money(17, -1234)
    server.set_power(17, 2400.0)
    meter.energy_wh.update(sharp=1000.0, peak=2000.0, flat=3000.0, valley=4000.0)
    meter.purchase_count = 12
    client = await make_client(server.port)
    values = await read_status(client, 17)
    assert values["remaining_fen"] == -1234
    assert PROFILE.state_value(values) == "-12.34"
    assert values["purchase_count"] == 12
    assert (values["sharp_wh"], values["peak_wh"], values["flat_wh"], values["valley_wh"]) == (1000, 2000, 3000, 4000)
    assert values["total_wh"] == 10000
    assert values["power_w"] == 2400 and values["power_a_w"] == 800
    assert 218.0 <= values["voltage_a"] <= 232.0 and isinstance(values["voltage_a"], float)
    assert values["current_a"] == pytest.approx(800 / values["voltage_a"], abs=0.011)
    assert values["power_factor"] == 0.95
    assert values["relay"] == "closed" and values["prepaid_mode"] == "normal"
    assert values["arrears"] and values["alarm1"] and values["alarm2"] and not values["overload"]
    assert values["meter_type_code"] == 5
    assert abs(values["meter_clock"].replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() - time.time()) < 5


async def test_purchase_count_rule(sim: Simulator, make_client: Factory) -> None:
    """A sale with stored count + 1 adds the money; a repeated count is refused and the balance is unchanged."""
    server = await sim.async_add_server("1-2", mode="rtu_over_tcp")
    meter = server.meter(1)
    meter.remaining_fen, meter.purchase_count, meter.power_override_w = 1000, 4, 0.0
    client = await make_client(server.port, rtu=True)
    reply = await client.execute(False, purchase_request(1, 5000, 5))
    assert reply.ok and reply.result == RESULT_OK and reply.purchase_count == 5
    values = await read_status(client, 1)
    assert (values["remaining_fen"], values["purchase_count"]) == (6000, 5)
    again = await client.execute(False, purchase_request(1, 5000, 5))
    assert again.result == RESULT_BAD_PURCHASE_COUNT and not again.ok and again.purchase_count == 5
    values = await read_status(client, 1)
    assert (values["remaining_fen"], values["purchase_count"]) == (6000, 5)


async def test_trip_hold_release_and_settings(sim: Simulator, make_client: Factory) -> None:
    """0x0057 trips and holds; release returns to prepaid logic; FC 0x20 0x0200 sets money and thresholds."""
    server = await sim.async_add_server([3], mode="tcp")
    meter = server.meter(3)
    meter.remaining_fen, meter.power_override_w = 10000, 0.0
    client = await make_client(server.port)
    await client.write_registers(0x0057, control_values("trip"), device_id=3)
    values = await read_status(client, 3)
    assert (values["relay"], values["prepaid_mode"]) == ("open", "forced_off")
    await client.write_registers(0x0057, control_values("release"), device_id=3)
    values = await read_status(client, 3)
    assert (values["relay"], values["prepaid_mode"]) == ("closed", "normal")
    # out of money: trips; hold keeps it closed; release trips again
    reply = await client.execute(False, settings_request(3, PrepaidSettings(remaining_fen=-1, alarms_fen=(3000, 800))))
    assert reply.ok
    values = await read_status(client, 3)
    assert (values["remaining_fen"], values["relay"], values["arrears"]) == (-1, "open", True)
    await client.write_registers(0x0057, control_values("hold"), device_id=3)
    values = await read_status(client, 3)
    assert (values["relay"], values["prepaid_mode"]) == ("closed", "hold")
    await client.write_registers(0x0057, control_values("release"), device_id=3)
    assert (await read_status(client, 3))["relay"] == "open"
    settings = await client.read_holding_registers(0x0046, count=28, device_id=3)
    decoded = PROFILE.decode(0x0046, settings.registers)
    assert (decoded["alarm1_fen"], decoded["alarm2_fen"]) == (3000, 800)
    # TOU table written with FC10 reads back
    table = [(0, 0, "valley"), (8, 30, "peak"), (20, 0, "flat")]
    await client.write_registers(0x2000, encode_tou_table(table), device_id=3)
    tou = await client.read_holding_registers(0x2000, count=21, device_id=3)
    assert decode_tou_table(tou.registers) == table


async def test_thresholds_raise_flags() -> None:
    """ALM1 at alarm1, ALM2 at alarm2, arrears at zero, trip at -overdraft."""
    tz = ZoneInfo("Asia/Shanghai")
    meter = SimMeter(unit=1, alarm1_fen=2000, alarm2_fen=500, overdraft_fen=300, power_override_w=0.0)
    expectations = [(2001, (False, False, False, "closed")), (2000, (True, False, False, "closed")),
                    (500, (True, True, False, "closed")), (0, (True, True, True, "closed")),
                    (-299, (True, True, True, "closed")), (-300, (True, True, True, "open"))]
    for money, (alarm1, alarm2, arrears, relay) in expectations:
        meter.remaining_fen = money
        values = meter.values(0.0, tz)
        assert (values["alarm1"], values["alarm2"], values["arrears"], values["relay"]) == \
            (alarm1, alarm2, arrears, relay), money


def test_money_deduction_follows_tou() -> None:
    """One hour at 1 kW costs the valley price at 03:00 and the peak price at 10:00; energy lands in that rate."""
    tz = ZoneInfo("Asia/Shanghai")
    meter = SimMeter(unit=1, power_override_w=1000.0, remaining_fen=100000,
                     prices={"sharp": 15000, "peak": 12000, "flat": 8000, "valley": 3500})
    night = dt.datetime(2026, 1, 1, 3, 0, tzinfo=tz).timestamp()
    meter.last_ts = night
    meter.advance(night + 3600, tz)
    assert meter.remaining_fen == 100000 - 35  # 1 kWh × 0.35 yuan
    assert round(meter.energy_wh["valley"]) == 1000
    morning = night + 7 * 3600
    meter.last_ts = morning
    meter.advance(morning + 3600, tz)
    assert meter.remaining_fen == 100000 - 35 - 120
    assert round(meter.energy_wh["peak"]) == 1000


def test_overload_trips_until_recovery() -> None:
    """Power above PMAX opens the relay for the recovery time."""
    tz = ZoneInfo("Asia/Shanghai")
    meter = SimMeter(unit=1, power_override_w=9000.0, overload_w=8000, recovery_time=120, last_ts=0.0)
    meter.advance(60.0, tz)
    values = meter.values(60.0, tz)
    assert (values["relay"], values["overload"]) == ("open", True)
    meter.power_override_w = 100.0
    meter.advance(400.0, tz)
    assert meter.values(400.0, tz)["relay"] == "closed"
    assert meter.trip_count == 1


async def test_money_runs_down_with_time_acceleration(tmp_path: Path, make_client: Factory) -> None:
    """At speed 3600 a 3.6 kW load spends about 3.6 kWh per second of wall time."""
    sim = Simulator(seed=3, speed=3600.0)
    try:
        server = await sim.async_add_server([1], mode="tcp")
        meter = server.meter(1)
        meter.power_override_w, meter.remaining_fen = 3600.0, 100000
        client = await make_client(server.port)
        first = await read_status(client, 1)
        await asyncio.sleep(0.3)
        second = await read_status(client, 1)
        assert second["remaining_fen"] < first["remaining_fen"]
        assert second["total_wh"] > first["total_wh"]
    finally:
        await sim.async_stop()


async def test_state_file_survives_restart(tmp_path: Path, make_client: Factory) -> None:
    """Counters written by the first run are what the second run serves."""
    state = tmp_path / "state.json"
    first = Simulator(seed=1, state_file=state)
    server = await first.async_add_server([9], mode="tcp", name="busA")
    server.meter(9).power_override_w = 0.0
    client = await make_client(server.port)
    count = server.meter(9).purchase_count
    assert (await client.execute(False, purchase_request(9, 777, count + 1))).ok
    money = server.meter(9).remaining_fen
    await first.async_stop()
    assert state.is_file() and not (tmp_path / ".state.json.tmp").exists()
    second = Simulator(seed=99, state_file=state)
    try:
        server = await second.async_add_server([9], mode="tcp", name="busA")
        client = await make_client(server.port)
        values = await read_status(client, 9)
        assert values["purchase_count"] == count + 1
        assert abs(values["remaining_fen"] - money) <= 5  # load between stop and restart may cost a few fen
    finally:
        await second.async_stop()


async def test_wire_timing_lower_bound(sim: Simulator, make_client: Factory) -> None:
    """A 48-register read at 9600 8N1 takes at least its wire time; two clients share one bus."""
    timing = LineTiming(9600, "N", 1, 0.020)
    server = await sim.async_add_server("1-2", mode="rtu_over_tcp", timing=timing)
    lower = timing.transaction_s(8, 5 + 2 * 48)
    assert lower == pytest.approx(0.1408, abs=0.001)
    one, two = await make_client(server.port, rtu=True), await make_client(server.port, rtu=True)
    started = time.monotonic()
    await asyncio.gather(read_status(one, 1), read_status(two, 2))
    assert time.monotonic() - started >= 2 * lower  # one request at a time on the bus


async def test_enciphered_purchase(sim: Simulator, make_client: Factory) -> None:
    """A meter with encryption on takes a TEA-enciphered sale and refuses a plain one."""
    server = await sim.async_add_server("4-5", mode="rtu_over_tcp")
    meter = server.meter(5)
    meter.encrypted, meter.cipher_key, meter.power_override_w = True, "secret12", 0.0
    hook = EncipherHook({5: make_cipher("acrel_tea", "secret12")})
    client = await make_client(server.port, rtu=True, trace_packet=hook)
    count = meter.purchase_count
    plain = await make_client(server.port, rtu=True)
    assert (await plain.execute(False, purchase_request(5, 100, count + 1))).result == RESULT_BAD_KEY
    reply = await client.execute(False, purchase_request(5, 100, count + 1))
    assert reply.ok and reply.purchase_count == count + 1
    values = await read_status(client, 5)
    assert values["purchase_count"] == count + 1
    settings = await client.read_holding_registers(0x0022, count=1, device_id=5)
    assert PROFILE.decode(0x0022, settings.registers)["encrypted"] is True


async def test_plain_meter_profile_served(make_client: Factory) -> None:
    """The same simulator serves ADL400-profile meters: planned reads decode, the relay register trips the load."""
    profile = get_profile("adl400")
    sim = Simulator(seed=2, profile=profile, meter_defaults={"prepaid_on": False, "remaining_fen": 0})
    try:
        server = await sim.async_add_server([8], mode="tcp")
        server.set_power(8, 3000.0)
        server.meter(8).energy_wh.update(flat=5_000_000.0)
        client = await make_client(server.port)

        async def status() -> dict[str, Any]:
            values: dict[str, Any] = {}
            for block in profile.plan("status"):
                response = await client.read_holding_registers(block.start, count=block.count, device_id=8)
                values.update(profile.decode(block.start, response.registers))
            return values

        values = await status()
        assert values["relay"] == "closed" and values["power_w"] == 3000 and values["frequency"] == 50.0
        assert profile.state_value(values) == "5000.00"
        relay = profile.relay
        assert relay is not None
        await client.write_registers(relay["address"], relay["trip"], device_id=8)
        values = await status()
        assert values["relay"] == "open" and values["power_w"] == 0
        await client.write_registers(relay["address"], relay["close"], device_id=8)
        assert (await status())["relay"] == "closed"
    finally:
        await sim.async_stop()


async def test_pipelined_modbus_tcp_requests(sim: Simulator) -> None:
    """Two MBAP requests in one TCP segment get two replies, in order."""
    server = await sim.async_add_server("1-2", mode="tcp")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        request = bytes([0, 1, 0, 0, 0, 6, 1, 3, 2, 0, 0, 48]) + bytes([0, 2, 0, 0, 0, 6, 2, 3, 2, 0, 0, 48])
        writer.write(request)
        replies = await asyncio.wait_for(reader.readexactly(2 * (9 + 96)), 5)
        assert (replies[0:2], replies[6], replies[105:107], replies[111]) == (b"\x00\x01", 1, b"\x00\x02", 2)
    finally:
        writer.close()
