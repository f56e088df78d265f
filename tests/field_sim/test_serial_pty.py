"""A third-party master (minimalmodbus) on a real pty reads the simulator's serial line; values match the driver's decode."""
from __future__ import annotations

import asyncio
from pathlib import Path

import minimalmodbus
import pytest
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.framer import FramerType

from integrations.acrel_dtsy1352.pdu import AcrelCommandResponse, purchase_request
from integrations.acrel_dtsy1352.simulator import Simulator
from integrations.modbus_meter.profile import get_profile

pytestmark = pytest.mark.timeout(30)
PROFILE = get_profile("dtsy1352")
STABLE = ("remaining_fen", "purchase_count", "total_wh", "peak_wh", "power_w", "relay", "prepaid_mode",
          "alarm1", "alarm2", "arrears", "meter_type_code")


def _minimalmodbus_read(path: str, unit: int) -> tuple[list[int], int, float, int]:
    instrument = minimalmodbus.Instrument(path, unit)
    instrument.serial.baudrate = 9600
    instrument.serial.timeout = 1.0
    instrument.clear_buffers_before_each_transaction = True
    try:
        block = instrument.read_registers(0x0200, 48, functioncode=3)
        money = instrument.read_long(0x021F, functioncode=3, signed=True)
        voltage = instrument.read_register(0x0201, number_of_decimals=1, functioncode=3)
        count = instrument.read_register(0x0221, functioncode=3)
    finally:
        instrument.serial.close()
    return block, money, voltage, count


async def test_minimalmodbus_and_pymodbus_agree_over_pty(sim: Simulator, tmp_path: Path) -> None:
    """Both masters read the same block over the pty; minimalmodbus' own scaling matches the profile decode."""
    link = tmp_path / "ttyDTSY"
    server = await sim.async_add_server("1-36", mode="serial", serial_path=link)
    meter = server.meter(36)
    meter.remaining_fen, meter.power_override_w, meter.purchase_count = -98765, 1200.0, 41
    meter.overdraft_fen = 100000
    meter.energy_wh.update(peak=123450.0)
    block, money, voltage, count = await asyncio.to_thread(_minimalmodbus_read, str(link), 36)
    third_party = PROFILE.decode(0x0200, block)
    assert money == -98765 == third_party["remaining_fen"]
    assert count == 41 and third_party["peak_wh"] == 123450
    assert 218.0 <= voltage <= 232.0

    client = AsyncModbusSerialClient(str(link), framer=FramerType.RTU, baudrate=9600, timeout=1, retries=0)
    client.register(AcrelCommandResponse)
    assert await client.connect()
    try:
        response = await client.read_holding_registers(0x0200, count=48, device_id=36)
        ours = PROFILE.decode(0x0200, response.registers)
        assert {k: ours[k] for k in STABLE} == {k: third_party[k] for k in STABLE}
        reply = await client.execute(False, purchase_request(36, 100000, 42))
        assert reply.ok and reply.purchase_count == 42
    finally:
        client.close()
    _, money, _, count = await asyncio.to_thread(_minimalmodbus_read, str(link), 36)
    assert (money, count) == (-98765 + 100000, 42)
