"""The modem's life: open and initialise, watch signal and registration, reconnect, send PDUs."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .at import AtChannel
from .const import (
    CONF_BAUDRATE,
    CONF_COMMAND_TIMEOUT,
    CONF_HEALTH_INTERVAL,
    CONF_MIN_SIGNAL,
    CONF_NETWORK_TIMEOUT,
    CONF_PORT,
    CONF_SMSC,
    CONF_STATUS_REPORT,
    CONF_VALIDITY,
    EVENT_DELIVERY_REPORT,
    PROMPT_TIMEOUT,
    REGISTERED,
    REGISTRATION_NAMES,
    REOPEN_MAX,
    REOPEN_MIN,
)
from .errors import AtCommandError, CmsError, ModemError, ModemNotReady, ModemTimeout, SendUnconfirmed
from .pdu import PduError, SubmitPdu, decode_status_report, encode_submit

if TYPE_CHECKING:
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)


def _fields(line: str) -> list[str]:
    """Return the fields of an information line such as ``+CREG: 1,"1A2B","01C3"`` (quotes dropped)."""
    return [raw.strip().strip('"') for raw in line.split(":", 1)[1].split(",")]


def parse_registration(line: str, *, solicited: bool) -> int | None:
    """Return <stat> of ``+CREG``/``+CEREG``: the 2nd field of a read reply (``<n>,<stat>[,lac,ci...]``), the 1st of a URC."""
    fields = _fields(line)
    index = 1 if solicited else 0
    return int(fields[index]) if len(fields) > index and fields[index].isdigit() else None


class SmsModem:
    """One GSM/4G modem: its health as attributes, and ``async_send_pdu`` for the outbox."""

    def __init__(self, core: Core, config: dict[str, Any]) -> None:
        self.core = core
        self.config = config
        self.channel = AtChannel(config[CONF_PORT], config[CONF_BAUDRATE], self._on_urc, self._on_channel_closed)
        self.online = False
        self.initialised = False
        self.rssi: int | None = None
        self.registration: int | None = None
        self.sim: str | None = None
        self.smsc: str | None = config.get(CONF_SMSC)
        self.last_error: str | None = None
        self.queue_length = 0
        self.sent = 0
        self._listeners: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._backoff = REOPEN_MIN
        self._reconnect: asyncio.TimerHandle | None = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def registered(self) -> bool:
        """Tell whether the modem is registered on a network (home or roaming)."""
        return self.registration in REGISTERED

    @property
    def ready(self) -> bool:
        """Tell whether a message can be sent now."""
        return self.online and self.initialised and self.registered and self.channel.is_open

    @property
    def signal_dbm(self) -> int | None:
        """Return the received signal strength in dBm (None when unknown)."""
        if self.rssi is None or self.rssi == 99:
            return None
        return -113 + 2 * self.rssi

    def attributes(self) -> dict[str, Any]:
        """Return what the modem entity shows."""
        return {
            "port": self.config[CONF_PORT],
            "online": self.online,
            "registered": self.registered,
            "registration": REGISTRATION_NAMES.get(self.registration, "unknown") if self.registration is not None else None,
            "rssi": self.rssi,
            "signal_dbm": self.signal_dbm,
            "signal_weak": self.rssi is not None and (self.rssi == 99 or self.rssi < self.config[CONF_MIN_SIGNAL]),
            "sim": self.sim,
            "smsc": self.smsc,
            "queue_length": self.queue_length,
            "sent": self.sent,
            "last_error": self.last_error,
        }

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever the modem's state changes; return the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self) -> None:
        if self.ready:
            self._ready.set()
        else:
            self._ready.clear()
        for listener in list(self._listeners):
            listener()

    def set_queue_length(self, length: int) -> None:
        """Show how many messages wait in the outbox."""
        if length != self.queue_length:
            self.queue_length = length
            self._changed()

    # -- life ----------------------------------------------------------------------------------

    def async_start(self) -> None:
        """Start the supervisor task (open, initialise, health checks, reconnect)."""
        self._task = self.core.async_create_task(self._supervise(), "sms_modem supervisor")

    async def async_stop(self) -> None:
        """Stop supervising and close the port."""
        if self._reconnect is not None:
            self._reconnect.cancel()
        self._stopping = True  # Python 3.11 can lose a cancel that meets an answer (wait_for): the loop ends anyway
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # its end, not a cancel of ours, is swallowed
        await self.channel.async_close()

    async def async_wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the modem can send; return False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    async def _supervise(self) -> None:
        while not self._stopping:
            try:
                if not self.channel.is_open:
                    await self.channel.async_open()
                    self.initialised = False
                if not self.initialised:
                    await self._initialise()
                await self._check_health()
                self._backoff = REOPEN_MIN
                delay = self.config[CONF_HEALTH_INTERVAL]
            except ModemError as err:
                self._went_offline(str(err))
                delay, self._backoff = self._backoff, min(self._backoff * 2, REOPEN_MAX)
            self._wake.clear()
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _went_offline(self, reason: str) -> None:
        """Mark the modem offline and close the port now, so nothing queued for the line writes to it."""
        if self.online or self.last_error != reason:
            _LOGGER.warning("SMS modem %s offline: %s", self.config[CONF_PORT], reason)
        self.online = False
        self.initialised = False
        self.last_error = reason
        self.channel.close()
        self._changed()

    def _reconnect_later(self) -> None:
        """Reopen after the reconnect delay, not at the next health check (which may be long away)."""
        if self._reconnect is not None:
            self._reconnect.cancel()
        self._reconnect = asyncio.get_running_loop().call_later(self._backoff, self.check_soon)

    async def _command(self, command: str) -> list[str]:
        return await self.channel.command(command, self.config[CONF_COMMAND_TIMEOUT])

    async def _initialise(self) -> None:
        """Run the init sequence of payments_sms.md §2.2, after ESC in case the modem was left at a '> ' prompt."""
        await self.channel.async_escape()
        for attempt in range(3):
            try:
                await self._command("AT")
                break
            except ModemTimeout:
                if attempt == 2:
                    raise
        await self._command("ATE0")
        await self._command("AT+CMEE=1")
        lines = await self._command("AT+CPIN?")
        self.sim = lines[0].split(":", 1)[1].strip() if lines else None
        if self.sim != "READY":
            raise ModemNotReady(f"SIM not ready: {self.sim} (enter the PIN on the SIM; PINs are never guessed)")
        await self._command("AT+CMGF=0")
        if not self.config.get(CONF_SMSC):
            await self._check_smsc()
        with contextlib.suppress(AtCommandError, CmsError):
            await self._command("AT+CREG=1")
        if self.config[CONF_STATUS_REPORT]:
            try:
                await self._command("AT+CNMI=2,1,0,1,0")
            except (AtCommandError, CmsError) as err:
                _LOGGER.warning("Modem refuses delivery reports (AT+CNMI): %s", err)
        self.initialised = True
        self.online = True
        self.last_error = None
        _LOGGER.info("SMS modem %s initialised", self.config[CONF_PORT])

    async def _check_smsc(self) -> None:
        """Warn when the SIM holds no SMS centre number (sending would fail with +CMS ERROR: 330)."""
        try:
            lines = await self._command("AT+CSCA?")
        except (AtCommandError, CmsError):
            lines = []
        number = lines[0].split(":", 1)[1].split(",")[0].strip().strip('"') if lines else ""
        self.smsc = number or None
        if not number:
            _LOGGER.warning("The SIM has no SMS centre number: set smsc: in the sms_modem configuration")

    async def _check_health(self) -> None:
        """Read signal and registration (CREG, then CEREG for LTE-only modules)."""
        csq = await self._command("AT+CSQ")
        rssi = _fields(csq[0])[0] if csq else ""
        self.rssi = int(rssi) if rssi.isdigit() else None
        creg = await self._command("AT+CREG?")
        stat = parse_registration(creg[0], solicited=True) if creg else None
        if stat not in REGISTERED:
            with contextlib.suppress(AtCommandError, CmsError):
                cereg = await self._command("AT+CEREG?")
                if cereg and (lte := parse_registration(cereg[0], solicited=True)) in REGISTERED:
                    stat = lte
        if stat != self.registration:
            _LOGGER.info("SMS modem registration: %s", REGISTRATION_NAMES.get(stat, stat))
        self.registration = stat
        self.online = True
        self._changed()

    def check_soon(self) -> None:
        """Run a health check now instead of at the next interval."""
        self._wake.set()

    def _on_channel_closed(self) -> None:
        if self.online:
            self._went_offline("serial port closed")
        self.check_soon()

    def _on_urc(self, line: str, pdu: str | None) -> None:
        """Handle an unsolicited result code from the reader task."""
        if line.startswith("+CDS:") and pdu:
            try:
                report = decode_status_report(pdu)
            except PduError as err:
                _LOGGER.warning("Unreadable delivery report %r: %s", pdu, err)
                return
            self.core.bus.async_fire(
                EVENT_DELIVERY_REPORT,
                {"mr": report["mr"], "recipient": report["recipient"], "status": report["status"],
                 "outcome": report["outcome"]},
            )
        elif line.startswith(("+CREG:", "+CEREG:")):
            stat = parse_registration(line, solicited=False)
            if stat is not None and stat != self.registration:
                self.registration = stat
                _LOGGER.info("SMS modem registration: %s", REGISTRATION_NAMES.get(stat, stat))
                self._changed()
        else:
            _LOGGER.debug("Modem says %s", line)

    # -- sending -------------------------------------------------------------------------------

    def abort_send(self) -> None:
        """Give up the send on the line (stopping): closing it ends a written PDU as SendUnconfirmed."""
        self.channel.close()

    def encode(self, number: str, text: str, reference: int) -> list[SubmitPdu]:
        """Return the PDUs for ``text`` to ``number`` with this modem's settings."""
        return encode_submit(
            number,
            text,
            smsc=self.config.get(CONF_SMSC),
            validity=self.config[CONF_VALIDITY],
            status_report=self.config[CONF_STATUS_REPORT],
            reference=reference,
        )

    async def async_send_pdu(self, pdu: SubmitPdu) -> int:
        """Send one PDU; return its message reference.

        Raise SendUnconfirmed when the PDU went out but no +CMGS came back: the caller must not send it again.
        Any other ModemError means it was not sent: ModemNotReady (wait), CmsError (refused; see ``retryable``) ...
        """
        if not self.ready:
            self._changed()
            self.check_soon()
            raise ModemNotReady("modem offline or not registered")
        try:
            mr = await self.channel.send_pdu(
                pdu,
                self.config[CONF_NETWORK_TIMEOUT],
                min(PROMPT_TIMEOUT, self.config[CONF_COMMAND_TIMEOUT]),
                self.channel.generation,
            )
        except (ModemTimeout, SendUnconfirmed) as err:
            # A modem that does not answer is reset: closed now, reopened after the reconnect delay.
            self._went_offline(str(err))
            self._reconnect_later()
            raise
        except CmsError as err:
            self.last_error = str(err)
            if err.code == 331:
                self.registration = None
                self.check_soon()
            self._changed()
            raise
        self.sent += 1
        self._changed()
        return mr
