"""The AT dialogue on one serial line: one reader task routes unsolicited lines apart from command replies."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import serial_asyncio

from .const import (
    CME_ERROR,
    CMS_ERROR,
    CTRL_Z,
    ESC,
    ESC_SETTLE,
    FINAL_ERROR,
    FINAL_OK,
    PROMPT_TIMEOUT,
    URC_PREFIXES,
)
from .errors import AtCommandError, CmsError, ModemError, ModemNotReady, ModemTimeout, SendUnconfirmed
from .pdu import SubmitPdu

_LOGGER = logging.getLogger(__name__)

# URCs whose second line is a PDU.
_TWO_LINE_URCS = ("+CDS:", "+CMT:")

UrcHandler = Callable[[str, str | None], None]


@dataclass
class _Pending:
    """The command waiting for its final result code."""

    command: str
    prefix: str | None
    lines: list[str] = field(default_factory=list)
    done: asyncio.Future[str] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    prompt: asyncio.Future[None] | None = None


def _reply_prefix(command: str) -> str | None:
    """Return the prefix of the information lines ``command`` answers with (AT+CSQ -> +CSQ:)."""
    if not command.upper().startswith("AT+"):
        return None
    name = command[2:]
    for stop in "?=":
        name = name.split(stop, 1)[0]
    return f"{name.upper()}:"


class AtChannel:
    """One serial line to the modem; one command at a time; URCs go to ``on_urc``."""

    def __init__(
        self, port: str, baudrate: int, on_urc: UrcHandler, on_close: Callable[[], None] | None = None
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self._on_urc = on_urc
        self._on_close = on_close
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._pdu_urc: str | None = None
        self._in_pdu_input = False  # AT+CMGS written, neither the PDU (Ctrl-Z) nor ESC yet: the modem reads PDU text
        self.generation = 0  # counts the openings, so a caller can tell the line it checked from a reopened one

    @property
    def is_open(self) -> bool:
        """Tell whether the serial port is open and read."""
        return self._reader_task is not None and not self._reader_task.done()

    async def async_open(self) -> None:
        """Open the port, drop stale input and start the reader task."""
        try:
            self._reader, self._writer = await serial_asyncio.open_serial_connection(
                url=self.port, baudrate=self.baudrate
            )
        except (OSError, ValueError) as err:
            raise ModemNotReady(f"cannot open {self.port}: {err}") from err
        serial_port = self._writer.transport.serial  # type: ignore[attr-defined]
        serial_port.reset_input_buffer()
        self.generation += 1
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"at reader {self.port}")

    def close(self) -> None:
        """Close the port at once (escaping PDU input first); a command waiting for the line then finds it closed."""
        if self._in_pdu_input:
            self._escape()
        task, self._reader_task = self._reader_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._fail_pending(ModemNotReady(f"{self.port} closed"))

    async def async_close(self) -> None:
        """Close the port and wait for the reader task to end."""
        task = self._reader_task
        self.close()
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait({task})  # its end, not a cancel of ours, is swallowed

    def _escape(self) -> None:
        """Send ESC: a modem at the '> ' prompt drops the PDU it was reading and takes commands again."""
        self._in_pdu_input = False
        if self._writer is not None:
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.write(ESC.encode("ascii"))

    async def async_escape(self) -> None:
        """Leave any PDU input a previous user left the modem in, and let its answer pass (before initialising)."""
        async with self._lock:
            self._check_line(None)
            self._escape()
            await asyncio.sleep(ESC_SETTLE)  # its OK (if any) arrives with no command waiting and is dropped

    async def _read_loop(self) -> None:
        """Split the byte stream into lines (and the '> ' prompt) and route them."""
        assert self._reader is not None
        buffer = b""
        try:
            while chunk := await self._reader.read(1024):
                buffer += chunk
                buffer = self._consume(buffer)
        except (OSError, asyncio.IncompleteReadError) as err:
            _LOGGER.warning("Modem port %s failed: %s", self.port, err)
        _LOGGER.warning("Modem port %s closed", self.port)
        self._fail_pending(ModemNotReady(f"{self.port} closed"))
        if self._on_close is not None:
            self._on_close()

    def _consume(self, buffer: bytes) -> bytes:
        """Handle every complete line in ``buffer``; return what is left."""
        while True:
            pending = self._pending
            stripped = buffer.lstrip(b"\r\n")
            if pending is not None and pending.prompt is not None and stripped.startswith(b">"):
                buffer = stripped[1:].lstrip(b" ")
                if not pending.prompt.done():
                    pending.prompt.set_result(None)
                continue
            ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
            if not ends:
                return buffer
            cut = min(ends)
            line, buffer = buffer[:cut].decode("ascii", "replace").strip(), buffer[cut + 1 :]
            if line:
                self._route(line)

    def _route(self, line: str) -> None:
        """Send ``line`` to the waiting command or to the URC handler."""
        if self._pdu_urc is not None:
            head, self._pdu_urc = self._pdu_urc, None
            self._on_urc(head, line)
            return
        if line.startswith(_TWO_LINE_URCS):
            self._pdu_urc = line
            return
        pending = self._pending
        if pending is not None and line == pending.command:
            return  # echo (before ATE0)
        if line in (FINAL_OK, FINAL_ERROR) or line.startswith((CMS_ERROR, CME_ERROR)):
            if pending is not None and not pending.done.done():
                pending.done.set_result(line)
            else:
                _LOGGER.debug("Result %r with no command waiting", line)
            return
        if pending is not None and pending.prefix and line.startswith(pending.prefix):
            pending.lines.append(line)
            return
        if line.startswith(URC_PREFIXES):
            self._on_urc(line, None)
            return
        if pending is not None:
            pending.lines.append(line)
        else:
            _LOGGER.debug("Unsolicited line ignored: %r", line)

    def _fail_pending(self, err: ModemError) -> None:
        pending = self._pending
        if pending is None:
            return
        for future in (pending.done, pending.prompt):
            if future is not None and not future.done():
                future.set_exception(err)
                future.exception()  # mark retrieved: the waiter may already have given up

    def _check_line(self, generation: int | None) -> None:
        """Raise unless the port is open (and, given ``generation``, still the opening the caller checked)."""
        if self._writer is None or not self.is_open:
            raise ModemNotReady(f"{self.port} is not open")
        if generation is not None and generation != self.generation:
            raise ModemNotReady(f"{self.port} was reopened while the message waited for the line")

    async def _write(self, data: str) -> None:
        self._check_line(None)
        assert self._writer is not None
        self._writer.write(data.encode("ascii"))
        await self._writer.drain()

    @staticmethod
    def _result(pending: _Pending, final: str) -> list[str]:
        """Return the information lines, or raise the error the final result code names."""
        if final == FINAL_OK:
            return pending.lines
        if final.startswith(CMS_ERROR):
            code = final[len(CMS_ERROR) :].strip()
            raise CmsError(int(code) if code.isdigit() else 500)
        raise AtCommandError(pending.command, final)

    async def command(self, command: str, timeout: float) -> list[str]:
        """Send ``command`` and return its information lines; raise on ERROR or timeout."""
        async with self._lock:
            self._check_line(None)
            pending = self._pending = _Pending(command, _reply_prefix(command))
            try:
                await self._write(command + "\r")
                try:
                    final = await asyncio.wait_for(asyncio.shield(pending.done), timeout)
                except TimeoutError:
                    raise ModemTimeout(f"{command}: no answer within {timeout:g} s") from None
                return self._result(pending, final)
            finally:
                self._pending = None

    async def send_pdu(
        self,
        pdu: SubmitPdu,
        network_timeout: float,
        prompt_timeout: float = PROMPT_TIMEOUT,
        generation: int | None = None,
    ) -> int:
        """Send one SMS-SUBMIT with AT+CMGS; return the message reference the modem assigns.

        Until the PDU is written a failure means nothing was sent (ModemError). Once it is written the network may
        have taken it: no answer within ``network_timeout``, or a line lost meanwhile, raises SendUnconfirmed.
        """
        command = f"AT+CMGS={pdu.tpdu_length}"
        async with self._lock:
            self._check_line(generation)
            pending = self._pending = _Pending(command, _reply_prefix(command))
            prompt = pending.prompt = asyncio.get_running_loop().create_future()
            try:
                self._in_pdu_input = True
                await self._write(command + "\r")
                await asyncio.wait([prompt, pending.done], timeout=prompt_timeout, return_when=asyncio.FIRST_COMPLETED)
                if pending.done.done():
                    self._in_pdu_input = False  # answered (+CMS ERROR) instead of prompting
                    self._result(pending, pending.done.result())
                if not prompt.done():
                    raise ModemTimeout(f"{command}: no '>' prompt within {prompt_timeout:g} s")
                prompt.result()
                self._check_line(None)
                writer = self._writer
                assert writer is not None
                writer.write((pdu.hex + CTRL_Z).encode("ascii"))
                self._in_pdu_input = False
                final = await self._network_answer(command, writer, pending, network_timeout)
                lines = self._result(pending, final)
            finally:
                self._pending = None
                if self._in_pdu_input:
                    self._escape()
        for line in lines:
            if line.startswith("+CMGS:"):
                return int(line.split(":", 1)[1].split(",")[0])
        raise AtCommandError(command, "OK without +CMGS")

    @staticmethod
    async def _network_answer(
        command: str, writer: asyncio.StreamWriter, pending: _Pending, timeout: float
    ) -> str:
        """Wait for the final result of a written PDU; any failure now leaves its fate unknown."""
        try:
            await writer.drain()
            return await asyncio.wait_for(asyncio.shield(pending.done), timeout)
        except TimeoutError:
            raise SendUnconfirmed(f"{command}: PDU sent, no +CMGS within {timeout:g} s") from None
        except (OSError, ModemNotReady) as err:
            raise SendUnconfirmed(f"{command}: PDU sent, then the line failed: {err}") from err
