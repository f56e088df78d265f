"""SMS modem simulator on a pty pair: answers the AT dialogue, records every PDU, fails on request.

Run it with ``python -m scada_core simulate sms_modem --link /tmp/modem``; point ``sms_modem: port:`` at the link.
While it runs, SIGUSR1 toggles silence and SIGUSR2 toggles network registration.
Like a real modem, after the ``> `` prompt it takes every byte as PDU text until Ctrl-Z (send) or ESC (abort), and
``cmgs_delay`` (``--cmgs-delay``) is the network's time to accept a PDU before ``+CMGS`` (real networks: up to 120 s).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import time
import tty
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .const import CTRL_Z, ESC, REG_HOME, REG_SEARCHING, REGISTERED
from .pdu import PduError, decode_submit, encode_status_report

_LOGGER = logging.getLogger(__name__)

OK = "\r\nOK\r\n"
ERROR = "\r\nERROR\r\n"


class ModemSimulator:
    """A fake GSM modem behind a pty; the test or the user reads ``records`` and steers its faults."""

    def __init__(
        self,
        link: str | Path | None = None,
        record_path: str | Path | None = None,
        *,
        auto_reports: bool = True,
        rssi: int = 23,
    ) -> None:
        self.link = Path(link) if link else None
        self.record_path = Path(record_path) if record_path else None
        self.auto_reports = auto_reports
        self.rssi = rssi
        self.registration = REG_HOME
        self.silent = False
        self.cmgs_delay = 0.0
        self.prompt_delay = 0.0
        self.records: list[dict[str, Any]] = []
        self.commands: list[str] = []
        self._failures: deque[int] = deque()
        self._ignore: set[str] = set()
        self._master = -1
        self._slave = -1
        self._buffer = b""
        self._pdu_length: int | None = None
        self._echo = True
        self._creg_urc = 0
        self._mr = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    @property
    def tty_name(self) -> str:
        """Return the pty slave device."""
        return os.ttyname(self._slave)

    @property
    def port(self) -> str:
        """Return the path the modem client opens (the link, or the pty slave itself)."""
        return str(self.link) if self.link else self.tty_name

    async def async_start(self) -> None:
        """Open the pty pair, make the slave raw and start answering."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # the slave stays open here, so the master never sees EIO between clients
        os.set_blocking(self._master, False)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(os.ttyname(self._slave))
        asyncio.get_running_loop().add_reader(self._master, self._on_readable)
        _LOGGER.info("SMS modem simulator on %s (%s)", self.port, self.tty_name)

    async def async_stop(self) -> None:
        """Stop answering and close the pty pair."""
        for task in list(self._tasks):
            task.cancel()
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            os.close(self._slave)
            self._master = self._slave = -1
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    # -- steering ------------------------------------------------------------------------------

    def fail_next(self, code: int, times: int = 1) -> None:
        """Answer the next ``times`` AT+CMGS with ``+CMS ERROR: code``."""
        self._failures.extend([code] * times)

    @property
    def registered(self) -> bool:
        """Tell whether the simulated network accepts messages (home or roaming)."""
        return self.registration in REGISTERED

    def set_registered(self, registered: bool) -> None:
        """Drop (to searching) or restore (to home) network registration, announced by +CREG if asked for."""
        self.set_registration(REG_HOME if registered else REG_SEARCHING)

    def set_registration(self, stat: int, *, announce: bool = True) -> None:
        """Set the +CREG <stat> (1 home, 5 roaming, 0/2/3/4 not registered); ``announce`` pushes the URC if enabled."""
        self.registration = stat
        if announce and self._creg_urc:
            self._send(f"\r\n+CREG: {stat}\r\n")

    def ignore_next(self, command: str) -> None:
        """Leave the next ``command`` (e.g. AT+CSQ) unanswered, as a modem that hangs for a moment."""
        self._ignore.add(command.upper())

    async def wait_command(self, prefix: str, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` commands starting with ``prefix`` were received."""
        prefix = prefix.upper()
        await self.wait(lambda sim: sum(c.upper().startswith(prefix) for c in sim.commands) >= count, timeout)

    def set_silent(self, silent: bool) -> None:
        """Stop (or resume) answering anything at all."""
        self.silent = silent

    def received(self) -> list[dict[str, Any]]:
        """Return the PDUs accepted with +CMGS, in order."""
        return [r for r in self.records if r["result"] == "ok"]

    async def wait(self, predicate: Callable[[ModemSimulator], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate(self)`` holds, re-checking whenever a command or a PDU arrives."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` PDUs were accepted; return them."""
        await self.wait(lambda sim: len(sim.received()) >= count, timeout)
        return self.received()

    async def send_status_report(self, mr: int, status: int = 0) -> None:
        """Push ``+CDS`` for message reference ``mr`` as a modem with CNMI ds=1 does."""
        record = next((r for r in self.records if r.get("mr") == mr), None)
        recipient = record["number"] if record else "+8613800000000"
        pdu = encode_status_report(mr, recipient, status, datetime.now().astimezone())
        self._send(f"\r\n+CDS: {len(pdu) // 2 - 1}\r\n{pdu}\r\n")

    # -- the dialogue ---------------------------------------------------------------------------

    def _send(self, text: str) -> None:
        if self._master < 0 or self.silent:
            return
        try:
            os.write(self._master, text.encode("ascii"))
        except BlockingIOError:
            _LOGGER.warning("Simulator output dropped (nobody reads the port)")

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        if self.silent:
            return
        self._buffer += data
        while self._buffer:
            if self._pdu_length is not None:
                if not self._take_pdu():
                    return
                continue
            cut = min((i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0), default=-1)
            escape = self._buffer.find(ESC.encode())
            if escape >= 0 and (cut < 0 or escape < cut):
                self._buffer = self._buffer[escape + 1 :]  # ESC cancels a half-typed command line
                continue
            if cut < 0:
                return
            line, self._buffer = self._buffer[:cut].decode("ascii", "replace").strip(), self._buffer[cut + 1 :]
            if line:
                if self._echo:
                    self._send(line + "\r")
                self._command(line)

    def _take_pdu(self) -> bool:
        """Collect the hex PDU up to Ctrl-Z (or ESC to abort); return False while incomplete."""
        ends = [i for i in (self._buffer.find(CTRL_Z.encode()), self._buffer.find(ESC.encode())) if i >= 0]
        if not ends:
            return False
        cut = min(ends)
        aborted = self._buffer[cut : cut + 1] == ESC.encode()
        pdu, self._buffer = self._buffer[:cut].decode("ascii", "replace").strip(), self._buffer[cut + 1 :]
        length, self._pdu_length = self._pdu_length, None
        if aborted:
            self._finish({"ts": time.time(), "pdu": pdu, "tpdu_length": length, "result": "aborted"}, OK)
            return True
        self._spawn(self._submit(pdu, length or 0))
        return True

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _command(self, line: str) -> None:
        """Answer one command line."""
        self.commands.append(line)
        self._changed.set()
        upper = line.upper()
        if upper in self._ignore:
            self._ignore.discard(upper)
            return
        simple = {"AT": "", "ATZ": "", "AT+CMEE=1": "", "AT+CMGF=0": "", "AT+CSMS=1": "", "AT+CNMA": ""}
        if upper in simple:
            self._send(OK)
        elif upper == "ATE0":
            self._echo = False
            self._send(OK)
        elif upper == "AT+CPIN?":
            self._send(f"\r\n+CPIN: READY\r\n{OK}")
        elif upper == "AT+CSQ":
            self._send(f"\r\n+CSQ: {self.rssi},99\r\n{OK}")
        elif upper in ("AT+CREG?", "AT+CEREG?"):
            name = upper[2:-1]
            self._send(f"\r\n{name}: {self._creg_urc},{self.registration}\r\n{OK}")
        elif upper.startswith("AT+CREG="):
            self._creg_urc = int(upper.split("=")[1] or 0)
            self._send(OK)
        elif upper == "AT+CSCA?":
            self._send(f'\r\n+CSCA: "+8613800100500",145\r\n{OK}')
        elif upper.startswith("AT+CNMI="):
            self._send(OK)
        elif upper.startswith("AT+CMGS="):
            value = upper.split("=", 1)[1]
            if not value.isdigit():
                self._send("\r\n+CMS ERROR: 304\r\n")
                return
            self._pdu_length = int(value)
            self._spawn(self._prompt())
        else:
            self._send(ERROR)

    async def _prompt(self) -> None:
        """Show the '> ' prompt (after ``prompt_delay``) unless the PDU input was already ended."""
        if self.prompt_delay:
            await asyncio.sleep(self.prompt_delay)
        if self._pdu_length is not None:
            self._send("\r\n> ")

    async def _submit(self, pdu: str, length: int) -> None:
        """Check, record and answer one SMS-SUBMIT."""
        if self.cmgs_delay:
            await asyncio.sleep(self.cmgs_delay)
        record: dict[str, Any] = {"ts": time.time(), "pdu": pdu, "tpdu_length": length}
        try:
            fields = decode_submit(pdu)
            smsc_octets = int(pdu[:2], 16) + 1
            if len(pdu) // 2 - smsc_octets != length:
                raise PduError(f"AT+CMGS={length} but the TPDU has {len(pdu) // 2 - smsc_octets} octets")
        except (PduError, ValueError, IndexError) as err:
            record.update(result="+CMS ERROR: 304", error=str(err))
            self._finish(record, "\r\n+CMS ERROR: 304\r\n")
            return
        record.update({k: fields[k] for k in ("number", "text", "concat", "dcs", "udl", "status_report")})
        if not self.registered:
            self._finish({**record, "result": "+CMS ERROR: 331"}, "\r\n+CMS ERROR: 331\r\n")
            return
        if self._failures:
            code = self._failures.popleft()
            self._finish({**record, "result": f"+CMS ERROR: {code}"}, f"\r\n+CMS ERROR: {code}\r\n")
            return
        self._mr = (self._mr + 1) % 256
        record.update(result="ok", mr=self._mr)
        concat = fields["concat"]
        part = f" (part {concat['seq']}/{concat['total']})" if concat else ""
        _LOGGER.info("SMS to %s%s: %s", fields["number"], part, fields["text"])
        self._finish(record, f"\r\n+CMGS: {self._mr}\r\n{OK}")
        if fields["status_report"] and self.auto_reports:
            self._spawn(self._report_later(self._mr))

    async def _report_later(self, mr: int) -> None:
        await asyncio.sleep(0.05)
        await self.send_status_report(mr)

    def _finish(self, record: dict[str, Any], answer: str) -> None:
        """Record first (so a test never misses a PDU that was answered), then answer."""
        self.records.append(record)
        if self.record_path is not None:
            with self.record_path.open("a", encoding="utf-8") as file:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._changed.set()
        self._send(answer)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command-line options of ``simulate sms_modem``."""
    parser.add_argument("--link", required=True, type=Path, help="symlink to create to the pty slave")
    parser.add_argument("--record", type=Path, help="append every received PDU to this JSONL file")
    parser.add_argument("--fail", action="append", default=[], metavar="CODE[xN]",
                        help="answer the next N AT+CMGS with +CMS ERROR: CODE (e.g. 331x2)")
    parser.add_argument("--unregistered", action="store_true", help="start without network registration")
    parser.add_argument("--no-reports", action="store_true", help="do not push +CDS delivery reports")
    parser.add_argument("--cmgs-delay", type=float, default=0.0,
                        help="network delay: seconds before a sent PDU gets its +CMGS (real networks: up to 120 s)")


async def async_main(args: argparse.Namespace) -> None:
    """Run the simulator until interrupted."""
    simulator = ModemSimulator(args.link, args.record, auto_reports=not args.no_reports)
    if args.unregistered:
        simulator.set_registered(False)
    simulator.cmgs_delay = args.cmgs_delay
    for spec in args.fail:
        code, _, times = spec.partition("x")
        simulator.fail_next(int(code), int(times or 1))
    await simulator.async_start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: simulator.set_silent(not simulator.silent))
    loop.add_signal_handler(signal.SIGUSR2, lambda: simulator.set_registered(not simulator.registered))
    try:
        await stop.wait()
    finally:
        await simulator.async_stop()
