"""The Modbus line against a plain pymodbus server over TCP: answers, exception codes, CRC errors, drops."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer

from integrations.modbus.connection import ModbusLink, t35
from integrations.modbus.errors import BusOfflineError, CrcError, ExceptionCodeError, RequestTimeoutError
from integrations.modbus.schema import SECTION_SCHEMA
from tests.helpers import free_port

pytestmark = pytest.mark.timeout(30)


class Server:
    """A pymodbus RTU-over-TCP server with units 1 and 2 (9 silent) that can corrupt its answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.corrupt = False
        self.server: ModbusTcpServer | None = None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending and data[:1] == b"\x09":
            return b""  # unit 9 is a silent meter
        if sending and self.corrupt:
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    async def start(self) -> None:
        devices = {
            u: ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, list(range(600)))) for u in (1, 2, 9)
        }
        self.server = ModbusTcpServer(
            ModbusServerContext(devices=devices),
            framer=FramerType.RTU,
            address=("127.0.0.1", self.port),
            trace_packet=self._trace,
        )
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        assert self.server is not None
        await self.server.shutdown()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server(free_port())
    await srv.start()
    yield srv
    await srv.stop()


async def open_link(port: int, **extra: object) -> tuple[ModbusLink, asyncio.Task[None]]:
    conf = SECTION_SCHEMA(
        [
            {
                "name": "g",
                "type": "rtu_over_tcp",
                "host": "127.0.0.1",
                "port": port,
                "timeout": 0.2,
                "retries": 1,
                **extra,
            }
        ]
    )[0]
    link = ModbusLink("g", conf, lambda: None)
    task = asyncio.create_task(link.run())
    await asyncio.wait_for(link.wait_connected(), 5)
    return link, task


async def close_link(link: ModbusLink, task: asyncio.Task[None]) -> None:
    link.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_reads_and_counts_errors_without_crashing(server: Server) -> None:
    """Good answers decode; exception codes, silent units and CRC errors are counted and raised."""
    link, task = await open_link(server.port)
    try:
        assert await link.read_holding(1, 0x200, 3) == [0x200, 0x201, 0x202]
        with pytest.raises(ExceptionCodeError) as err:
            await link.read_holding(1, 0x1000, 4)
        assert err.value.exception_code in (2, 4)
        with pytest.raises(RequestTimeoutError):
            await link.read_holding(9, 0, 2)
        server.corrupt = True
        with pytest.raises(CrcError):
            await link.read_holding(2, 0, 2)
        server.corrupt = False
        assert await link.read_holding(2, 0x10, 1) == [0x10]
        stats = link.stats
        assert stats.exceptions == 1
        assert stats.timeouts == 2  # one try and one retry
        assert stats.crc_errors == 2
        assert stats.responses == 2
        assert stats.bytes_tx == stats.requests * 8
    finally:
        await close_link(link, task)


async def test_line_drop_goes_offline_then_reconnects(server: Server) -> None:
    """A serial server that goes away makes the line offline; when it is back the line reconnects."""
    link, task = await open_link(server.port, reconnect_max=0.5)
    try:
        await server.stop()
        for _ in range(50):
            if not link.connected:
                break
            await asyncio.sleep(0.05)
        assert not link.connected
        with pytest.raises(BusOfflineError):
            await link.read_holding(1, 0, 1)
        await server.start()
        await asyncio.wait_for(link.wait_connected(), 5)
        assert await link.read_holding(1, 0x200, 1) == [0x200]
        assert link.stats.disconnects >= 1 and link.stats.connects >= 2
    finally:
        await close_link(link, task)


async def test_inter_frame_silence_follows_the_baud_rate() -> None:
    """t3.5 is 3.5 characters of 10 bits at 9600 8N1 (3.646 ms), 11 bits with parity, fixed above 19200."""
    assert t35(9600) == pytest.approx(0.0036458, rel=1e-3)
    assert t35(9600, parity="E") == pytest.approx(0.0040104, rel=1e-3)
    assert t35(38400) == 0.00175
    conf = SECTION_SCHEMA(
        [{"name": "g", "type": "tcp", "host": "h"}, {"name": "s", "type": "serial", "port": "/dev/x"}]
    )
    assert ModbusLink("g", conf[0], lambda: None).message_wait == 0
    assert ModbusLink("s", conf[1], lambda: None).message_wait == pytest.approx(0.0036458, rel=1e-3)
