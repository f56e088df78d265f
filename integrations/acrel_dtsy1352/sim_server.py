"""One simulated serial server / gateway: a pymodbus server whose units are SimMeters behind one RS485 bus.

The stock pymodbus request handler answers from a datastore; ours answers from the meters (through the
device profile), serialises requests like a real bus, adds wire timing and injects faults.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import SimData, SimDevice

from integrations.modbus.profile import MAX_READ_REGISTERS, Block, DeviceProfile

from .cipher import FrameCipher
from .pdu import AcrelCommandRequest, AcrelCommandResponse, PrepaidSettings, decode_purchase
from .proposed import (
    ACREL_FUNCTION_CODE,
    CMD_PREPAID_SETTINGS,
    CMD_PURCHASE,
    EXC_ILLEGAL_ADDRESS,
    EXC_ILLEGAL_FUNCTION,
    EXC_ILLEGAL_VALUE,
    PURCHASE_MISMATCH_AS_EXCEPTION,
    RESULT_BAD_KEY,
    RESULT_OK,
)
from .sim_frames import Heard, RtuListener
from .sim_meter import SimMeter

_LOGGER = logging.getLogger(__name__)

MODE_TCP = "tcp"
MODE_RTU_OVER_TCP = "rtu_over_tcp"
MODE_SERIAL = "serial"
MODES = (MODE_TCP, MODE_RTU_OVER_TCP, MODE_SERIAL)
EXC_GATEWAY_NO_RESPONSE = 0x0B
# Requests that change a meter: FC06, FC10 and Acrel's FC 0x20.
WRITE_FUNCTION_CODES = (
    WriteSingleRegisterRequest.function_code, WriteMultipleRegistersRequest.function_code, ACREL_FUNCTION_CODE
)


@dataclass
class Fault:
    """Faults of one unit: no answer, a broken CRC, an exception code instead of data, extra delay,
    and registers it does not have (a request touching one of ``refuse`` answers exception 02)."""

    silent: bool = False
    crc: bool = False
    exception: int | None = None
    delay: float = 0.0
    refuse: tuple[int, ...] = ()

    def refuses(self, request: ModbusPDU) -> bool:
        """Tell whether ``request`` touches a register this unit does not have."""
        if not self.refuse or request.function_code == ACREL_FUNCTION_CODE:  # its "address" is a command
            return False
        first, end = request.address, request.address + max(request.count, 1)
        return any(first <= address < end for address in self.refuse)


@dataclass
class LineTiming:
    """RS485 wire timing: baud, character format and slave turnaround."""

    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    turnaround_s: float = 0.020

    @property
    def char_s(self) -> float:
        """Seconds per character (start + 8 data + parity + stop bits)."""
        return (1 + 8 + (0 if self.parity == "N" else 1) + self.stopbits) / self.baudrate

    @property
    def t35_s(self) -> float:
        """Inter-frame silence (fixed 1.75 ms above 19200 baud)."""
        return 0.00175 if self.baudrate > 19200 else 3.5 * self.char_s

    def transaction_s(self, request_bytes: int, reply_bytes: int) -> float:
        """Wire time of one transaction: bytes on the line, two silences and the turnaround."""
        return (request_bytes + reply_bytes) * self.char_s + 2 * self.t35_s + self.turnaround_s


def rtu_size(pdu: ModbusPDU) -> int:
    """Return the bytes ``pdu`` takes on an RTU line (address + function code + body + CRC)."""
    return 4 + len(pdu.encode())


def _merge(spans: list[Block]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for block in spans:
        if merged and block.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], block.end))
        else:
            merged.append((block.start, block.end))
    return merged


class SimServer:
    """Units on one bus behind one listening port (Modbus TCP, RTU-over-TCP) or one serial line."""

    def __init__(
        self,
        profile: DeviceProfile,
        meters: dict[int, SimMeter],
        clock: Callable[[], float],
        tz: ZoneInfo,
        *,
        name: str = "sim",
        mode: str = MODE_RTU_OVER_TCP,
        host: str = "127.0.0.1",
        port: int = 0,
        serial_path: str | None = None,
        timing: LineTiming | None = None,
        on_write: Callable[[SimServer, int], Awaitable[None]] | None = None,
    ) -> None:
        self.profile = profile
        self.meters = meters
        self.clock = clock
        self.tz = tz
        self.name = name
        self.mode = mode
        self.host = host
        self.requested_port = port
        self.serial_path = serial_path
        self.timing = timing
        self.on_write = on_write  # awaited after a write to a unit and before the reply (e.g. save its state)
        self.faults: dict[int, Fault] = {}
        self.drop_every: int | None = None
        self.requests = 0
        self.bus_lock = asyncio.Lock()
        self._readable = _merge(profile.readable_spans())
        self._writable = {
            address: reg for reg in profile.writable_registers() for address in range(reg.address, reg.end)
        }
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- Python API for tests and the CLI ---
    def meter(self, unit: int) -> SimMeter:
        """Return the meter at ``unit``."""
        return self.meters[unit]

    def set_power(self, unit: int, watts: float | None) -> None:
        """Fix ``unit``'s load in W (None = back to its seeded load profile)."""
        self.meters[unit].advance(self.clock(), self.tz)
        self.meters[unit].power_override_w = watts

    def set_money(self, unit: int, remaining_fen: int) -> None:
        """Set ``unit``'s remaining money in fen (negative = overdraft)."""
        self.meters[unit].advance(self.clock(), self.tz)
        self.meters[unit].remaining_fen = remaining_fen

    def set_offline(self, unit: int, offline: bool = True) -> None:
        """Make ``unit`` stop answering (失联) or answer again."""
        self.faults[unit] = Fault(silent=offline)

    def set_fault(self, unit: int, **fault: Any) -> None:
        """Give ``unit`` faults: silent=True, crc=True, exception=<code>, delay=<s>, refuse=(<address>, ...);
        no arguments clears."""
        if "refuse" in fault:
            fault["refuse"] = tuple(fault["refuse"])
        self.faults[unit] = Fault(**fault)

    def clear_faults(self) -> None:
        """Every unit answers normally again."""
        self.faults.clear()
        self.drop_every = None

    def drop_connections(self) -> int:
        """Close every open TCP connection (a gateway dropping its clients); return how many."""
        if self._server is None or self.mode == MODE_SERIAL:
            return 0
        connections = list(self._server.active_connections.values())
        for connection in connections:
            connection.close()
        return len(connections)

    @property
    def port(self) -> int:
        """The bound TCP port (useful after asking for port 0)."""
        if self._server is not None and self._server.transport is not None:
            return int(self._server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self.requested_port

    async def async_start(self) -> None:
        """Listen."""
        context = SimDevice(0, simdata=[SimData(0)])
        if self.mode == MODE_SERIAL:
            timing = self.timing or LineTiming()
            self._server = _SerialServer(
                self, context, framer=FramerType.RTU, port=self.serial_path or "",
                baudrate=timing.baudrate, parity=timing.parity, stopbits=timing.stopbits,
                custom_pdu=[AcrelCommandRequest],
            )
        else:
            framer = FramerType.SOCKET if self.mode == MODE_TCP else FramerType.RTU
            self._server = _TcpServer(
                self, context, framer=framer, address=(self.host, self.requested_port),
                custom_pdu=[AcrelCommandRequest],
            )
        await self._server.serve_forever(background=True)
        _LOGGER.info("Simulator %s serving %d %s units (%s) on %s", self.name, len(self.meters),
                     self.profile.name, self.mode, self.serial_path or f"{self.host}:{self.port}")

    def submit(self, handler: _Handler, request: ModbusPDU, enciphered: bool, wire_bytes: int) -> None:
        """Queue a request that took ``wire_bytes`` on the line (called from the handler's data callback)."""
        task = asyncio.get_running_loop().create_task(self.handle(handler, request, enciphered, wire_bytes))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_stop(self) -> None:
        """Stop listening and drop connections."""
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    # --- request handling ---
    def keyed(self) -> list[tuple[int, FrameCipher]]:
        """Return (unit, cipher) of every meter with encryption on: each deciphers what it hears."""
        return [(unit, meter.cipher) for unit, meter in self.meters.items() if meter.encrypted]

    async def handle(self, handler: _Handler, request: ModbusPDU, enciphered: bool, wire_bytes: int) -> None:
        """Answer one request like a bus: one at a time, with wire timing and faults."""
        async with self.bus_lock:
            started = time.monotonic()
            self.requests += 1
            unit = request.dev_id
            fault = self.faults.get(unit, Fault())
            reply: ModbusPDU | None
            if unit not in self.meters:
                reply = ExceptionResponse(request.function_code, EXC_GATEWAY_NO_RESPONSE) \
                    if self.mode == MODE_TCP else None
            elif fault.silent or self.meters[unit].silent:
                reply = None
            elif fault.exception is not None:
                reply = ExceptionResponse(request.function_code, fault.exception)
            elif fault.refuses(request):
                reply = ExceptionResponse(request.function_code, EXC_ILLEGAL_ADDRESS)
            else:
                reply = self._execute(self.meters[unit], request, enciphered)
                if self.on_write and request.function_code in WRITE_FUNCTION_CODES and not reply.isError():
                    await self.on_write(self, unit)
            frame = b""
            if reply is not None:
                reply.dev_id = unit
                reply.transaction_id = request.transaction_id
                frame = handler.framer.buildFrame(reply)
                if fault.crc:
                    frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
            delay = fault.delay
            if self.timing is not None:
                delay += self.timing.transaction_s(wire_bytes, rtu_size(reply) if reply else 0)
            remaining = started + delay - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)
            if frame and handler.transport is not None:
                handler.send(frame)
            if self.drop_every and self.requests % self.drop_every == 0:
                handler.close()

    def _execute(self, meter: SimMeter, request: ModbusPDU, enciphered: bool) -> ModbusPDU:
        now = self.clock()
        meter.advance(now, self.tz)
        code = request.function_code
        # By function code: pymodbus' FC04 request subclasses the FC03 one, and the map is FC03 only.
        if code == ReadHoldingRegistersRequest.function_code:
            if not 1 <= request.count <= MAX_READ_REGISTERS:
                return ExceptionResponse(code, EXC_ILLEGAL_VALUE)
            end = request.address + request.count
            if not any(start <= request.address and end <= stop for start, stop in self._readable):
                return ExceptionResponse(code, EXC_ILLEGAL_ADDRESS)
            words = self.profile.encode(meter.values(now, self.tz), request.address, request.count)
            return ReadHoldingRegistersResponse(registers=words)
        if code in (WriteMultipleRegistersRequest.function_code, WriteSingleRegisterRequest.function_code):
            words = list(request.registers)
            targets = range(request.address, request.address + len(words))
            if not words or any(address not in self._writable for address in targets):
                return ExceptionResponse(code, EXC_ILLEGAL_ADDRESS)
            meter.write(self.profile.decode(request.address, words))
            if code == WriteSingleRegisterRequest.function_code:
                return WriteSingleRegisterResponse(address=request.address, registers=words)
            return WriteMultipleRegistersResponse(address=request.address, count=len(words))
        if isinstance(request, AcrelCommandRequest):
            return self._command(meter, request, enciphered)
        return ExceptionResponse(code, EXC_ILLEGAL_FUNCTION)

    @staticmethod
    def _command(meter: SimMeter, request: AcrelCommandRequest, enciphered: bool) -> ModbusPDU:
        def reply(result: int) -> AcrelCommandResponse:
            return AcrelCommandResponse(request.command, request.count, result, meter.purchase_count)

        if meter.encrypted and not enciphered:
            return reply(RESULT_BAD_KEY)
        if request.command == CMD_PURCHASE and len(request.data) == 8:
            amount, count = decode_purchase(request.data)
            result = meter.purchase(amount, count)
            if result != RESULT_OK and PURCHASE_MISMATCH_AS_EXCEPTION:
                return ExceptionResponse(ACREL_FUNCTION_CODE, EXC_ILLEGAL_VALUE)
            return reply(result)
        if request.command == CMD_PREPAID_SETTINGS and len(request.data) == 60:
            meter.apply_settings(PrepaidSettings.decode(request.data))
            return reply(RESULT_OK)
        if request.command in (CMD_PURCHASE, CMD_PREPAID_SETTINGS):
            return ExceptionResponse(ACREL_FUNCTION_CODE, EXC_ILLEGAL_VALUE)
        return ExceptionResponse(ACREL_FUNCTION_CODE, EXC_ILLEGAL_ADDRESS)


class _Handler(ServerRequestHandler):
    """Frames requests for the SimServer: Modbus TCP with pymodbus' framer, RTU as the bus hears it.

    On an RTU line a silence of 3.5 characters ends every frame: the bytes kept when it falls (or found
    older than it when more arrive) are judged on their own, a request or noise to drop, so a truncated
    request never swallows the next one. Which meter a frame is for, plain or enciphered, is sim_frames'.
    """

    def __init__(self, owner: _TcpServer | _SerialServer) -> None:
        super().__init__(owner, None, None, None)
        self.sim: SimServer = owner.sim
        self._listener = RtuListener(self.framer.decoder, self.sim.keyed)
        self._silence = (self.sim.timing or LineTiming()).t35_s
        self._last_rx = 0.0
        self._pending = 0  # bytes of an unfinished frame pymodbus keeps for the next call
        self._silence_timer: asyncio.TimerHandle | None = None

    def callback_data(self, data: bytes, addr: tuple | None = None) -> int:
        """Handle received bytes; return how many were used."""
        if self.sim.mode == MODE_TCP:
            return self._mbap_frames(data, addr)
        now = time.monotonic()
        before = min(self._pending, len(data)) if now - self._last_rx > self._silence else 0
        self._last_rx = now
        used = self._rtu_frames(data[:before], True)
        used += self._rtu_frames(data[used:], False)
        self._pending = len(data) - used
        if self._silence_timer is not None:
            self._silence_timer.cancel()
        if self._pending:
            self._silence_timer = self.loop.call_later(self._silence, self._line_silent)
        else:
            self._silence_timer = None
        return used

    def _line_silent(self) -> None:
        """The line fell silent: the bytes kept are a whole frame, or noise."""
        self._silence_timer = None
        self._rtu_frames(self.recv_buffer, True)
        self.recv_buffer = b""
        self._pending = 0

    def callback_disconnected(self, exc: Exception | None) -> None:
        """Forget a frame left unfinished by the connection."""
        if self._silence_timer is not None:
            self._silence_timer.cancel()
            self._silence_timer = None
        super().callback_disconnected(exc)

    def _rtu_frames(self, data: bytes, ended: bool) -> int:
        """Hand every request at the head of ``data`` to the simulator, drop noise; return the bytes used."""
        used = 0
        while used < len(data):
            heard = self._listener.hear(data[used:], ended)
            if not heard.used:
                break
            used += heard.used
            if heard.frame:
                self._submit_frame(heard)
        return used

    def _submit_frame(self, heard: Heard) -> None:
        """Decode one plain RTU frame (CRC already checked) and queue it."""
        try:
            _, pdu = self.framer.handleFrame(heard.frame, 0, 0)
        except ModbusIOException as exc:
            self._refuse(exc, None)  # RTU lines and TCP streams have no per-datagram address
            return
        if pdu is not None:
            self.sim.submit(self, pdu, heard.enciphered, heard.used)

    def _mbap_frames(self, data: bytes, addr: tuple | None) -> int:
        """Hand every complete Modbus TCP request in ``data`` to the simulator; return the bytes used."""
        used = 0
        while used < len(data):  # Modbus TCP clients may send several requests in one segment
            try:
                step, pdu = self.framer.handleFrame(data[used:], 0, 0)
            except ModbusIOException as exc:
                self._refuse(exc, addr)
                return len(data)
            used += step
            if pdu is None or not step:
                break
            self.sim.submit(self, pdu, False, rtu_size(pdu))
        return used

    def _refuse(self, exc: ModbusIOException, addr: tuple | None) -> None:
        """Answer a request pymodbus cannot decode with exception 01."""
        error = ExceptionResponse(exc.fcode or 0, EXC_ILLEGAL_FUNCTION)
        error.dev_id = exc.dev_id or 0
        error.transaction_id = exc.transaction_id or 0
        self.pdu_send(error, addr)


class _TcpServer(ModbusTcpServer):
    """ModbusTcpServer whose connections use our handler."""

    def __init__(self, sim: SimServer, *args: Any, **kwargs: Any) -> None:
        self.sim = sim
        super().__init__(*args, **kwargs)

    def callback_new_connection(self) -> _Handler:
        """Use the simulator's handler."""
        return _Handler(self)


class _SerialServer(ModbusSerialServer):
    """ModbusSerialServer whose line uses our handler."""

    def __init__(self, sim: SimServer, *args: Any, **kwargs: Any) -> None:
        self.sim = sim
        super().__init__(*args, **kwargs)

    def callback_new_connection(self) -> _Handler:
        """Use the simulator's handler."""
        return _Handler(self)
