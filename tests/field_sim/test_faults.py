"""Fault injection as a Modbus master sees it: timeouts, bad CRC, exception codes, slow replies, dropped links."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from integrations.acrel_dtsy1352.simulator import Simulator

pytestmark = pytest.mark.timeout(30)
Factory = Callable[..., Any]


def rtu_read_frame(unit: int, address: int = 0x0200, count: int = 48) -> bytes:
    """Build an FC03 RTU frame."""
    return FramerRTU(DecodePDU(False)).buildFrame(ReadHoldingRegistersRequest(address=address, count=count, dev_id=unit))


async def test_silent_unit_times_out_others_answer(sim: Simulator, make_client: Factory) -> None:
    """A silent unit gives the client a timeout; its neighbour still answers."""
    server = await sim.async_add_server("1-3", mode="rtu_over_tcp")
    server.set_offline(2)
    client = await make_client(server.port, rtu=True, timeout=0.3)
    with pytest.raises(ModbusIOException):
        await client.read_holding_registers(0x0200, count=48, device_id=2)
    assert not (await client.read_holding_registers(0x0200, count=48, device_id=3)).isError()
    server.set_offline(2, False)
    assert not (await client.read_holding_registers(0x0200, count=48, device_id=2)).isError()


async def test_crc_corrupted_reply(sim: Simulator) -> None:
    """The reply arrives complete but its CRC does not match."""
    server = await sim.async_add_server([4], mode="rtu_over_tcp")
    server.set_fault(4, crc=True)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(rtu_read_frame(4))
        reply = await asyncio.wait_for(reader.readexactly(5 + 96), 5)
        assert reply[:3] == bytes([4, 3, 96])
        assert not FramerRTU.check_CRC(reply[:-2], int.from_bytes(reply[-2:], "big"))
    finally:
        writer.close()


async def test_exception_codes(sim: Simulator, make_client: Factory) -> None:
    """Injected exception code, an address outside the map, and an unknown unit behind a TCP gateway."""
    server = await sim.async_add_server("1-2", mode="tcp")
    server.set_fault(1, exception=4)
    client = await make_client(server.port)
    reply = await client.read_holding_registers(0x0200, count=48, device_id=1)
    assert reply.isError() and reply.exception_code == 4
    outside = await client.read_holding_registers(0x7000, count=2, device_id=2)
    assert outside.isError() and outside.exception_code == 2
    read_only = await client.write_registers(0x021F, [0, 1], device_id=2)
    assert read_only.isError() and read_only.exception_code == 2
    missing = await client.read_holding_registers(0x0200, count=48, device_id=99)
    assert missing.isError() and missing.exception_code == 0x0B


async def test_slow_reply(sim: Simulator, make_client: Factory) -> None:
    """A slow unit answers late but answers."""
    server = await sim.async_add_server([6], mode="tcp")
    server.set_fault(6, delay=0.4)
    client = await make_client(server.port, timeout=2.0)
    started = time.monotonic()
    assert not (await client.read_holding_registers(0x0200, count=48, device_id=6)).isError()
    assert time.monotonic() - started >= 0.4


async def test_gateway_drops_connection(sim: Simulator, make_client: Factory) -> None:
    """drop_connections() closes the client's TCP link; drop_every closes it after each reply."""
    server = await sim.async_add_server([7], mode="tcp")
    client = await make_client(server.port)
    assert not (await client.read_holding_registers(0x0200, count=48, device_id=7)).isError()
    assert server.drop_connections() == 1
    await asyncio.sleep(0.05)
    with pytest.raises((ConnectionException, ModbusIOException)):
        await client.read_holding_registers(0x0200, count=48, device_id=7)
    server.drop_every = 1
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(bytes.fromhex("000100000006") + bytes([7, 3, 2, 0, 0, 48]))
        reply = await asyncio.wait_for(reader.read(1024), 5)
        assert reply[7] == 3
        assert await asyncio.wait_for(reader.read(1024), 5) == b""  # then the gateway hangs up
    finally:
        writer.close()


async def test_rtu_over_tcp_resynchronises_after_a_truncated_request(sim: Simulator) -> None:
    """A serial server forwarding half a frame, a silence, then a whole one: the whole one is answered."""
    server = await sim.async_add_server([4], mode="rtu_over_tcp")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        frame = rtu_read_frame(4)
        writer.write(frame[:5])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(frame)
        reply = await asyncio.wait_for(reader.readexactly(5 + 96), 5)
        assert reply[:3] == bytes([4, 3, 96])
        assert FramerRTU.check_CRC(reply[:-2], int.from_bytes(reply[-2:], "big"))
    finally:
        writer.close()


async def test_input_registers_are_an_illegal_function(sim: Simulator, make_client: Factory) -> None:
    """FC04 over Modbus TCP is answered with exception 01, never with holding registers."""
    server = await sim.async_add_server([5], mode="tcp")
    client = await make_client(server.port)
    reply = await client.read_input_registers(0x0200, count=48, device_id=5)
    assert reply.isError() and reply.function_code == 0x84 and reply.exception_code == 1
