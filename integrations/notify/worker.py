"""One worker per channel: take the oldest due message, wait for the channel, rate-limit, send, record, retry."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from .const import (
    CONF_EXPIRE_AFTER,
    CONF_MAX_ATTEMPTS,
    CONF_RATE_PER_MINUTE,
    CONF_RETRY_BASE,
    CONF_RETRY_MAX,
    ERROR_PAUSE,
    NOT_READY_PAUSE,
    STOP_GRACE,
    EVENT_NOTIFY_FAILED,
    EVENT_NOTIFY_SENT,
)
from .models import OutboxRow
from .outbox import Outbox

if TYPE_CHECKING:
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)


class PermanentError(Exception):
    """Sending can never succeed as it stands (wrong number, rejected address): give the message up."""


class NotReady(Exception):
    """The channel cannot send now (modem offline or unregistered): wait, without counting an attempt."""


class Channel(Protocol):
    """How one channel sends one stored message."""

    name: str

    async def async_wait_ready(self) -> None:
        """Return once the channel can probably send."""

    async def async_deliver(self, row: OutboxRow) -> None:
        """Send ``row``, recording progress in the outbox; raise PermanentError, NotReady or anything retryable."""

    def queue_changed(self, length: int) -> None:
        """Learn how many messages wait."""

    def abort(self) -> None:
        """Cut the send in flight short (stopping); ``async_deliver`` still records what is known."""


def backoff(attempt: int, base: float, cap: float) -> float:
    """Return the delay before retry number ``attempt`` (1, 2, ...): base, 2·base, 4·base ... up to ``cap``."""
    return min(cap, base * 2 ** max(0, attempt - 1))


class ChannelWorker:
    """Drain the outbox of one channel, one message at a time."""

    def __init__(self, core: Core, outbox: Outbox, channel: Channel, config: dict[str, Any]) -> None:
        self.core = core
        self.outbox = outbox
        self.channel = channel
        self.config = config
        self._min_interval = 60.0 / config[CONF_RATE_PER_MINUTE]
        self._last_send = -float("inf")
        self._task: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None
        self._stopping = False

    def async_start(self) -> None:
        """Start draining."""
        self._task = self.core.async_create_task(self._run(), f"notify {self.channel.name} worker")

    async def async_stop(self) -> None:
        """Stop draining; let a message in flight finish (briefly) so its +CMGS is recorded, not lost to a resend.

        Past the grace the send is cut short and its outcome (an SMS part unconfirmed) recorded before returning,
        while the database is still open.
        """
        self._stopping = True  # Python 3.11 can lose a cancel that meets a result: the loop ends anyway
        self.outbox.wake_event(self.channel.name).set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # its end, not a cancel of ours, is swallowed
        if self._sending is not None and not self._sending.done():
            await asyncio.wait({self._sending}, timeout=STOP_GRACE)
            if not self._sending.done():
                self.channel.abort()
                await asyncio.wait({self._sending}, timeout=STOP_GRACE)

    async def _run(self) -> None:
        wake = self.outbox.wake_event(self.channel.name)
        while not self._stopping:
            try:
                wake.clear()
                if self._stopping:
                    return
                row = await self.outbox.async_next_due(self.channel.name)
                self.channel.queue_changed(await self.outbox.async_pending_count(self.channel.name))
                if row is None:
                    due = await self.outbox.async_next_wake(self.channel.name)
                    timeout = None if due is None else max(0.0, due - self.outbox.now())
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(timeout):
                            await wake.wait()
                    continue
                await self.channel.async_wait_ready()
                pause = self._last_send + self._min_interval - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._sending = asyncio.get_running_loop().create_task(self._send(row))
                await asyncio.shield(self._sending)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the worker must outlive a database or driver hiccup
                _LOGGER.exception("Notify %s worker error; retrying", self.channel.name)
                await asyncio.sleep(ERROR_PAUSE)

    async def _send(self, row: OutboxRow) -> None:
        """Try ``row`` once and record the outcome."""
        expire = self.config[CONF_EXPIRE_AFTER]
        if expire and row.parts_sent == 0 and self.outbox.now() - row.created_ts > expire:
            reason = f"expired: not sent within {expire:g} s"
            _LOGGER.warning("Notify %s #%s to %s %s", self.channel.name, row.id, row.target, reason)
            await self.outbox.async_fail(row.id, reason)
            self._fire(EVENT_NOTIFY_FAILED, row, reason)
            return
        self._last_send = time.monotonic()
        try:
            await self.channel.async_deliver(row)
        except NotReady as err:
            _LOGGER.info("Notify %s #%s waits: %s", self.channel.name, row.id, err)
            await asyncio.sleep(NOT_READY_PAUSE)
            return
        except PermanentError as err:
            _LOGGER.error("Notify %s #%s to %s failed for good: %s", self.channel.name, row.id, row.target, err)
            await self.outbox.async_fail(row.id, str(err))
            self._fire(EVENT_NOTIFY_FAILED, row, str(err))
            return
        except Exception as err:  # noqa: BLE001 - any other failure is worth another try
            attempt = row.attempts + 1
            reason = str(err) or type(err).__name__
            if attempt >= self.config[CONF_MAX_ATTEMPTS]:
                _LOGGER.error("Notify %s #%s to %s failed after %d attempts: %s",
                              self.channel.name, row.id, row.target, attempt, reason)
                await self.outbox.async_fail(row.id, reason)
                self._fire(EVENT_NOTIFY_FAILED, row, reason)
                return
            delay = backoff(attempt, self.config[CONF_RETRY_BASE], self.config[CONF_RETRY_MAX])
            _LOGGER.warning("Notify %s #%s to %s attempt %d failed: %s; retrying in %.1f s",
                            self.channel.name, row.id, row.target, attempt, reason, delay)
            await self.outbox.async_retry(row.id, reason, delay)
            return
        _LOGGER.info("Notify %s #%s sent to %s", self.channel.name, row.id, row.target)
        self._fire(EVENT_NOTIFY_SENT, row, None)

    def _fire(self, event: str, row: OutboxRow, error: str | None) -> None:
        self.core.bus.async_fire(
            event, {"id": row.id, "channel": row.channel, "target": row.target, "account_id": row.account_id,
                    "error": error}
        )
