"""A third-party master (minimalmodbus) on a real pty reads the simulator's serial line; values match the driver's decode."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import minimalmodbus
import pytest
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.framer import FramerRTU, FramerType

from integrations.acrel_dtsy1352.pdu import AcrelCommandResponse, purchase_request
from integrations.acrel_dtsy1352.simulator import Simulator
from integrations.modbus.profile import get_profile

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


def _minimalmodbus_fc04_then_fc03(path: str, unit: int) -> tuple[Exception | None, list[int]]:
    instrument = minimalmodbus.Instrument(path, unit)
    instrument.serial.timeout = 1.0
    instrument.clear_buffers_before_each_transaction = True
    try:
        try:
            instrument.read_registers(0x0200, 48, functioncode=4)
            refused: Exception | None = None
        except minimalmodbus.ModbusException as err:
            refused = err
        return refused, instrument.read_registers(0x0200, 48, functioncode=3)
    finally:
        instrument.serial.close()


async def test_input_register_read_is_refused_with_exception_01(sim: Simulator, tmp_path: Path) -> None:
    """The DTSY1352 map is FC03 only: FC04 gets exception 01 (illegal function), not an FC03 reply."""
    link = tmp_path / "ttyFC04"
    await sim.async_add_server("1-2", mode="serial", serial_path=link)
    refused, block = await asyncio.to_thread(_minimalmodbus_fc04_then_fc03, str(link), 2)
    assert isinstance(refused, minimalmodbus.IllegalRequestError)
    assert PROFILE.decode(0x0200, block)["meter_type_code"] == 5


def _truncated_then_valid(path: str, unit: int) -> list[int]:
    instrument = minimalmodbus.Instrument(path, unit)
    instrument.serial.timeout = 1.0
    try:
        valid = bytes([unit, 3, 0x02, 0x00, 0x00, 0x30])
        frame = valid + FramerRTU.compute_CRC(valid).to_bytes(2, "big")
        instrument.serial.write(frame[:5])  # a master that died mid-frame
        time.sleep(0.05)  # far more than the 3.5-character silence at 9600 baud
        return instrument.read_registers(0x0200, 48, functioncode=3)
    finally:
        instrument.serial.close()


async def test_truncated_request_does_not_cost_the_next_one(sim: Simulator, tmp_path: Path) -> None:
    """After the silence that ends a broken frame, the next valid request is answered."""
    link = tmp_path / "ttyCut"
    await sim.async_add_server("1-3", mode="serial", serial_path=link)
    block = await asyncio.to_thread(_truncated_then_valid, str(link), 3)
    assert PROFILE.decode(0x0200, block)["meter_type_code"] == 5
