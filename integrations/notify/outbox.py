"""The persisted outbox: store first, then send; every step of progress is committed at once."""
from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable

from sqlalchemy import delete, func, select, update

from scada_core.storage.database import Database

from .const import (
    CHANNEL_EMAIL,
    SECRET_MASK,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SENT,
    STATUS_UNCONFIRMED,
    UNCONFIRMED_REF,
)
from .models import OutboxRow

DELIVERY_MATCH_WINDOW = 3 * 86400.0  # a delivery report older than this cannot match a message reference


class Outbox:
    """Read and write the notify_outbox table; wake the channel workers when something is queued."""

    def __init__(self, db: Database, now: Callable[[], float]) -> None:
        self.db = db
        self.now = now
        self._wake: dict[str, asyncio.Event] = {}

    def wake_event(self, channel: str) -> asyncio.Event:
        """Return the event set whenever ``channel`` gets a new message."""
        return self._wake.setdefault(channel, asyncio.Event())

    async def async_enqueue(
        self,
        channel: str,
        targets: list[str],
        body: str,
        *,
        subject: str | None = None,
        account_id: str | None = None,
        domain: str = "openprepay.local",
        secret: str | None = None,
    ) -> list[int]:
        """Store one message per target (committed before anything is sent); return the row ids.

        A ``secret`` in ``body`` (a one-time code) is stored masked in the readable text; the real text is kept
        apart, sent, and wiped once the message is sent or given up.
        """
        now = self.now()
        secret_body = body if secret else None
        if secret:
            body = body.replace(secret, SECRET_MASK)
        rows = [
            OutboxRow(
                channel=channel,
                target=target,
                account_id=account_id,
                subject=subject,
                body=body,
                secret_body=secret_body,
                status=STATUS_PENDING,
                attempts=0,
                next_attempt_ts=now,
                created_ts=now,
                concat_ref=random.randrange(256),
                parts_total=0,
                parts_sent=0,
                refs="",
                message_id=f"<{uuid.uuid4().hex}@{domain}>" if channel == CHANNEL_EMAIL else None,
            )
            for target in targets
        ]
        async with self.db.session() as session:
            session.add_all(rows)
            await session.flush()
            ids = [row.id for row in rows]
        self.wake_event(channel).set()
        return ids

    async def async_get(self, row_id: int) -> OutboxRow | None:
        """Return one row."""
        async with self.db.session() as session:
            return await session.get(OutboxRow, row_id)

    async def async_list(self, channel: str | None = None) -> list[OutboxRow]:
        """Return every row (of one channel), oldest first."""
        query = select(OutboxRow).order_by(OutboxRow.id)
        if channel is not None:
            query = query.where(OutboxRow.channel == channel)
        async with self.db.session() as session:
            return list((await session.scalars(query)).all())

    async def async_recent(self, limit: int, channel: str | None = None, status: str | None = None) -> list[OutboxRow]:
        """Return the newest ``limit`` rows, optionally of one channel and status."""
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if channel is not None:
            query = query.where(OutboxRow.channel == channel)
        if status is not None:
            query = query.where(OutboxRow.status == status)
        async with self.db.session() as session:
            return list((await session.scalars(query)).all())

    async def async_next_due(self, channel: str) -> OutboxRow | None:
        """Return the pending message of ``channel`` whose turn has come, oldest first."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.channel == channel, OutboxRow.status == STATUS_PENDING,
                   OutboxRow.next_attempt_ts <= self.now())
            .order_by(OutboxRow.next_attempt_ts, OutboxRow.id)
            .limit(1)
        )
        async with self.db.session() as session:
            return (await session.scalars(query)).first()

    async def async_next_wake(self, channel: str) -> float | None:
        """Return when the next pending message of ``channel`` is due (None if nothing waits)."""
        query = select(func.min(OutboxRow.next_attempt_ts)).where(
            OutboxRow.channel == channel, OutboxRow.status == STATUS_PENDING
        )
        async with self.db.session() as session:
            return await session.scalar(query)

    async def async_pending_count(self, channel: str) -> int:
        """Return how many messages of ``channel`` still wait."""
        query = select(func.count()).where(OutboxRow.channel == channel, OutboxRow.status == STATUS_PENDING)
        async with self.db.session() as session:
            return int(await session.scalar(query) or 0)

    async def async_pending_by_channel(self) -> dict[str, int]:
        """Return how many messages wait, per channel that has any."""
        query = select(OutboxRow.channel, func.count()).where(OutboxRow.status == STATUS_PENDING).group_by(
            OutboxRow.channel)
        async with self.db.session() as session:
            return {channel: int(count) for channel, count in (await session.execute(query)).all()}

    async def async_part_sent(
        self, row_id: int, part: int, parts: int, reference: int | None, error: str | None = None
    ) -> None:
        """Record that SMS part ``part`` of ``parts`` left with message reference ``reference``.

        ``reference`` None means the modem took the part but never confirmed it (``error`` says why): it counts as
        gone, so it is never sent twice, and the message ends ``unconfirmed`` instead of ``sent``.
        """
        async with self.db.write() as session:
            row = await session.get(OutboxRow, row_id)
            assert row is not None
            row.parts_total = parts
            row.parts_sent = part
            row.refs = ",".join(filter(None, [row.refs, UNCONFIRMED_REF if reference is None else str(reference)]))
            if error is not None:
                row.last_error = error
            if part >= parts:
                row.status = STATUS_UNCONFIRMED if UNCONFIRMED_REF in row.refs.split(",") else STATUS_SENT
                row.sent_ts = self.now()
                row.secret_body = None

    async def async_mark_sent(self, row_id: int) -> None:
        """Record that a message (e-mail) was accepted by the server."""
        async with self.db.write() as session:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == row_id)
                .values(status=STATUS_SENT, sent_ts=self.now(), secret_body=None)
            )

    async def async_retry(self, row_id: int, error: str, delay: float) -> None:
        """Count a failed attempt and schedule the next one ``delay`` seconds from now."""
        async with self.db.write() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(attempts=OutboxRow.attempts + 1, last_error=error, next_attempt_ts=self.now() + delay)
            )

    async def async_fail(self, row_id: int, error: str) -> None:
        """Give a message up for good."""
        async with self.db.write() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(attempts=OutboxRow.attempts + 1, last_error=error, status=STATUS_FAILED,
                        secret_body=None)
            )

    async def async_purge(self, keep_days: int) -> int:
        """Delete sent, unconfirmed and failed messages created more than ``keep_days`` ago; return how many went."""
        cutoff = self.now() - keep_days * 86400.0
        async with self.db.write() as session:
            result = await session.execute(
                delete(OutboxRow).where(
                    OutboxRow.status.in_((STATUS_SENT, STATUS_UNCONFIRMED, STATUS_FAILED)),
                    OutboxRow.created_ts < cutoff,
                )
            )
        return int(result.rowcount or 0)

    async def async_delivery_report(self, reference: int, recipient: str, outcome: str) -> int | None:
        """Store a delivery report on the newest SMS that used message reference ``reference``; return its id."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.channel == "sms", OutboxRow.sent_ts >= self.now() - DELIVERY_MATCH_WINDOW)
            .order_by(OutboxRow.sent_ts.desc())
        )
        tail = recipient[-8:]
        async with self.db.write() as session:
            for row in await session.scalars(query):
                if str(reference) in row.refs.split(",") and row.target.endswith(tail):
                    if row.delivery != "failed":
                        row.delivery = outcome
                    return row.id
        return None
