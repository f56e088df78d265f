"""Tell systemd (a Type=notify unit) that the server is ready, still alive (WatchdogSec=) and stopping."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from types import TracebackType

_LOGGER = logging.getLogger(__name__)

ENV_NOTIFY_SOCKET = "NOTIFY_SOCKET"
ENV_WATCHDOG_USEC = "WATCHDOG_USEC"
ENV_WATCHDOG_PID = "WATCHDOG_PID"


class SystemdNotifier:
    """Send sd_notify messages to $NOTIFY_SOCKET (nothing when systemd did not set it).

    Inside ``async with``: READY=1 on entry, WATCHDOG=1 from the event loop every half $WATCHDOG_USEC (so a loop
    that hangs stops them and systemd restarts the service), STOPPING=1 on exit.
    """

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get(ENV_NOTIFY_SOCKET, "")
        self.address = "\0" + address[1:] if address.startswith("@") else address  # @: Linux's abstract namespace
        usec = environ.get(ENV_WATCHDOG_USEC, "")
        for_us = environ.get(ENV_WATCHDOG_PID, str(os.getpid())) == str(os.getpid())
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and int(usec) and for_us else None
        self._pinger: asyncio.Task[None] | None = None

    def notify(self, message: str) -> None:
        """Send one message (e.g. READY=1); a systemd that does not listen is logged, never fatal."""
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode())
        except OSError as err:
            _LOGGER.warning("Cannot tell systemd %s: %s", message.replace("\n", " "), err)

    async def _ping(self, interval: float) -> None:
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    async def __aenter__(self) -> SystemdNotifier:
        self.notify("READY=1")
        if self.address and self.watchdog_interval:
            self._pinger = asyncio.create_task(self._ping(self.watchdog_interval), name="systemd watchdog")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        self.notify("STOPPING=1")
