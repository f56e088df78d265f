"""One physical line: a pymodbus client, one request in flight, inter-frame silence, retries, reconnect."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest, WriteMultipleRegistersRequest

from .const import (
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_HOST,
    CONF_MESSAGE_WAIT_MS,
    CONF_PARITY,
    CONF_PORT,
    CONF_RECONNECT_MAX,
    CONF_RETRIES,
    CONF_STOPBITS,
    CONF_TIMEOUT,
    CONF_TYPE,
    DEFAULT_RECONNECT_MIN,
    FIXED_T35_BAUD,
    FIXED_T35_S,
    PROBE_INTERVAL_S,
    PROBE_TIMEOUT_S,
    TYPE_SERIAL,
    TYPE_TCP,
)
from .errors import BusOfflineError, CrcError, ExceptionCodeError, RequestTimeoutError
from .responses import HoldingRegistersResponse

_LOGGER = logging.getLogger(__name__)


class _NoResponseFilter(logging.Filter):
    """Drop pymodbus' ERROR (with frame dump) on every timeout: we count timeouts and log offline meters."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other pymodbus message."""
        return "No response received" not in record.getMessage()


logging.getLogger("pymodbus.logging").addFilter(_NoResponseFilter())

# A request that fails this many times in a row would make pymodbus drop the link; we decide that ourselves.
_NEVER_DISCONNECT = 1 << 30

PacketHook = Callable[[bool, bytes], bytes]


def char_time(baudrate: int, bytesize: int = 8, parity: str = "N", stopbits: int = 1) -> float:
    """Return the seconds one character takes on the line (start + data + parity + stop bits)."""
    bits = 1 + bytesize + (0 if parity == "N" else 1) + stopbits
    return bits / baudrate


def t35(baudrate: int, bytesize: int = 8, parity: str = "N", stopbits: int = 1) -> float:
    """Return the 3.5-character inter-frame silence of the Modbus serial line spec."""
    if baudrate > FIXED_T35_BAUD:
        return FIXED_T35_S
    return 3.5 * char_time(baudrate, bytesize, parity, stopbits)


@dataclass
class LinkStats:
    """Counters of one line, shown on the bus entity."""

    requests: int = 0
    responses: int = 0
    timeouts: int = 0
    crc_errors: int = 0
    exceptions: int = 0
    bytes_tx: int = 0
    bytes_rx: int = 0
    connects: int = 0
    disconnects: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as entity attributes."""
        return {
            "requests": self.requests,
            "responses": self.responses,
            "timeouts": self.timeouts,
            "crc_errors": self.crc_errors,
            "exceptions": self.exceptions,
            "bytes_tx": self.bytes_tx,
            "bytes_rx": self.bytes_rx,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "last_error": self.last_error,
        }


class ModbusLink:
    """Own one pymodbus client; serialise requests on it and keep it connected."""

    def __init__(self, name: str, conf: dict[str, Any], on_change: Callable[[], None]) -> None:
        self.name = name
        self.kind: str = conf[CONF_TYPE]
        self.timeout: float = conf[CONF_TIMEOUT]
        self.retries: int = conf[CONF_RETRIES]
        self.reconnect_max: float = conf[CONF_RECONNECT_MAX]
        self.message_wait = _message_wait(conf)
        self._line = _line_times(conf)
        self.stats = LinkStats()
        self.packet_hooks: list[PacketHook] = []
        self._pdus: list[type[ModbusPDU]] = [HoldingRegistersResponse]  # decoders a new client must learn too
        self._on_change = on_change
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self._up: bool | None = None
        self._last_io = 0.0
        self._rx_seen = 0
        self._rx_any = False
        self._closing = False
        self._reconnect_delay = DEFAULT_RECONNECT_MIN
        self.backoff: float | None = None  # the backoff step being waited out while the line is down
        self._probe_woke = False  # the last backoff ended early because a probe found the gateway
        self._host: str | None = conf.get(CONF_HOST)
        self._port = conf[CONF_PORT]
        self.client: ModbusBaseClient = self._build_client(conf)

    def _build_client(self, conf: dict[str, Any]) -> ModbusBaseClient:
        client = self._new_client(conf)
        client.set_max_no_responses(_NEVER_DISCONNECT)  # applied at each connect
        for pdu_class in self._pdus:
            client.register(pdu_class)
        return client

    def _new_client(self, conf: dict[str, Any]) -> ModbusBaseClient:
        common: dict[str, Any] = {
            "name": self.name,
            "timeout": self.timeout,
            "retries": 0,
            "reconnect_delay": 0,
            "trace_packet": self._trace_packet,
            "trace_connect": self._trace_connect,
        }
        if self.kind == TYPE_SERIAL:
            return AsyncModbusSerialClient(
                conf[CONF_PORT],
                framer=FramerType.RTU,
                baudrate=conf[CONF_BAUDRATE],
                bytesize=conf[CONF_BYTESIZE],
                parity=conf[CONF_PARITY],
                stopbits=conf[CONF_STOPBITS],
                **common,
            )
        framer = FramerType.SOCKET if self.kind == TYPE_TCP else FramerType.RTU
        return AsyncModbusTcpClient(conf[CONF_HOST], port=conf[CONF_PORT], framer=framer, **common)

    def wire_time(self, requests: int, nbytes: int) -> float | None:
        """Return the least time ``requests`` exchanges of ``nbytes`` in all take on the serial line: each byte's
        characters plus a t3.5 silence after each request and each answer (None for Modbus TCP)."""
        if self._line is None:
            return None
        char_s, t35_s = self._line
        return nbytes * char_s + requests * 2 * t35_s

    @property
    def connected(self) -> bool:
        """Tell whether the line is up."""
        return self._connected.is_set()

    def register_pdu(self, pdu_class: type[ModbusPDU]) -> None:
        """Teach the decoder a custom response PDU (e.g. Acrel FC 0x20)."""
        self._pdus.append(pdu_class)
        self.client.register(pdu_class)

    async def async_move(self, conf: dict[str, Any]) -> None:
        """Point the line at another address, mode or speed: the request on the wire finishes, then it reconnects."""
        async with self._lock:
            old = self.client
            self.kind = conf[CONF_TYPE]
            self.message_wait = _message_wait(conf)
            self._line = _line_times(conf)
            self._host, self._port = conf.get(CONF_HOST), conf[CONF_PORT]
            self.client = self._build_client(conf)
            self._reconnect_delay = DEFAULT_RECONNECT_MIN
            old.close()
            self._mark(False)
            self._lost.set()  # the keeper, connected or backing off, starts over on the new client

    async def wait_connected(self) -> None:
        """Return once the line is up."""
        await self._connected.wait()

    async def run(self) -> None:
        """Keep the line connected, backing off exponentially while it fails."""
        while not self._closing:
            if not self.client.connected:
                if not await self.client.connect() or not self.client.connected:
                    self.stats.last_error = "connect failed"
                    self._mark(False)
                    await self._back_off()
                    continue
                self._reconnect_delay = DEFAULT_RECONNECT_MIN
                self._probe_woke = False
            self.backoff = None
            self._mark(True)
            await self._lost.wait()
            if not self._closing:
                self.client.close()

    async def _back_off(self) -> None:
        """Wait out the next backoff step, or less: until a probe finds the gateway answering again."""
        self.backoff = self._reconnect_delay
        self._reconnect_delay = min(self._reconnect_delay * 2, self.reconnect_max)
        self._on_change()
        deadline = time.monotonic() + self.backoff
        # The connect just failed, so the gateway is not answering; unless a probe had said it was and the
        # connect failed all the same: then only a new change of the probe counts (no hammering).
        answering = await self._probe() if self._probe_woke else False
        self._probe_woke = False
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(PROBE_INTERVAL_S, remaining))
            was_answering, answering = answering, await self._probe()
            if answering and not was_answering:
                _LOGGER.info("Modbus line %s: the gateway answers again; reconnecting now", self.name)
                self._probe_woke = True
                return

    async def _probe(self) -> bool:
        """Tell cheaply whether a connect could work: a bare TCP connect, or the serial device present."""
        if self.kind == TYPE_SERIAL:
            return os.path.exists(self._port)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), PROBE_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def _mark(self, up: bool) -> None:
        if up == self._up or self._closing:
            return
        self._up = up
        if up:
            self.stats.connects += 1
            self._lost.clear()
            self._connected.set()
            _LOGGER.info("Modbus line %s connected", self.name)
        else:
            self.stats.disconnects += 1
            self._connected.clear()
            self._lost.set()
            _LOGGER.warning("Modbus line %s is offline", self.name)
        self._on_change()

    def close(self) -> None:
        """Close the line for good."""
        self._closing = True
        self.client.close()
        self._connected.clear()
        self._lost.set()

    def _trace_connect(self, up: bool) -> None:
        if not up and not self._closing:
            self._mark(False)

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        for hook in self.packet_hooks:
            data = hook(sending, data)
        if sending:
            self.stats.bytes_tx += len(data)
            self._rx_seen = 0
        else:
            self._rx_any = True
            grown = len(data) - self._rx_seen if len(data) >= self._rx_seen else len(data)
            self.stats.bytes_rx += grown
            self._rx_seen = len(data)
        return data

    async def read_holding(
        self, unit: int, address: int, count: int, retries: int | None = None
    ) -> list[int]:
        """Read ``count`` holding registers (FC03) from ``unit``."""
        response = await self.execute(
            ReadHoldingRegistersRequest(address=address, count=count, dev_id=unit), retries
        )
        registers = response.registers
        if len(registers) < count:
            self.stats.crc_errors += 1
            raise CrcError(f"unit {unit}: {len(registers)} registers in the answer, {count} asked")
        return registers[:count]

    async def write_registers(
        self, unit: int, address: int, values: list[int], retries: int | None = None
    ) -> None:
        """Write holding registers (FC10) on ``unit``."""
        await self.execute(
            WriteMultipleRegistersRequest(address=address, registers=values, dev_id=unit), retries
        )

    async def execute(self, request: ModbusPDU, retries: int | None = None) -> ModbusPDU:
        """Send ``request`` with inter-frame silence, timeout and retries; return the answer."""
        attempts = (self.retries if retries is None else retries) + 1
        async with self._lock:
            error: Exception = RequestTimeoutError("no attempt")
            for _ in range(attempts):
                if not self.connected or not self.client.connected:
                    raise BusOfflineError(f"{self.name} is offline")
                try:
                    return await self._attempt(request)
                except (RequestTimeoutError, CrcError) as err:
                    error = err
            raise error

    async def _attempt(self, request: ModbusPDU) -> ModbusPDU:
        wait = self._last_io + self.message_wait - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._rx_any = False
        self.stats.requests += 1
        try:
            response = await self.client.execute(False, request)
        except ModbusIOException as err:
            return self._failed(request, err)
        except ConnectionException as err:
            self._mark(False)
            raise BusOfflineError(f"{self.name}: {err}") from None
        except ModbusException as err:
            self.stats.crc_errors += 1
            raise CrcError(f"unit {request.dev_id}: {err}") from None
        finally:
            self._last_io = time.monotonic()
        if response.isError():
            self.stats.exceptions += 1
            self.stats.last_error = f"unit {request.dev_id}: exception {response.exception_code}"
            raise ExceptionCodeError(request.function_code, response.exception_code)
        self.stats.responses += 1
        return response

    def _failed(self, request: ModbusPDU, err: Exception) -> ModbusPDU:
        if not self.client.connected:
            self._mark(False)
            raise BusOfflineError(f"{self.name} lost its connection")
        if self._rx_any:
            self.stats.crc_errors += 1
            self.stats.last_error = f"unit {request.dev_id}: bad frame (CRC)"
            raise CrcError(self.stats.last_error)
        self.stats.timeouts += 1
        self.stats.last_error = f"unit {request.dev_id}: timeout"
        raise RequestTimeoutError(f"unit {request.dev_id} did not answer within {self.timeout} s: {err}")


def _message_wait(conf: dict[str, Any]) -> float:
    """Return the silence between frames: configured, else t3.5 of the serial line (0 for Modbus TCP)."""
    if conf.get(CONF_MESSAGE_WAIT_MS) is not None:
        return conf[CONF_MESSAGE_WAIT_MS] / 1000.0
    if conf[CONF_TYPE] == TYPE_TCP:
        return 0.0
    return t35(conf[CONF_BAUDRATE], conf[CONF_BYTESIZE], conf[CONF_PARITY], conf[CONF_STOPBITS])


def _line_times(conf: dict[str, Any]) -> tuple[float, float] | None:
    """Return a serial line's character time and t3.5 (None for Modbus TCP, which has no line of its own)."""
    if conf[CONF_TYPE] == TYPE_TCP:
        return None
    framing = (conf[CONF_BAUDRATE], conf[CONF_BYTESIZE], conf[CONF_PARITY], conf[CONF_STOPBITS])
    return char_time(*framing), t35(*framing)
