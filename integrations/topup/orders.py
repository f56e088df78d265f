"""The order table every top-up provider shares: create orders, move them PENDING -> PAID/CLOSED -> REFUNDED,
and log security events."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from scada_core.clock import Clock
from scada_core.storage.database import Database

from .const import (
    BEIJING_TZ,
    DEFAULT_PROVIDER,
    DETAIL_LIMIT,
    REFERENCE_LIMIT,
    STATE_CLOSED,
    STATE_PAID,
    STATE_PENDING,
    STATE_REFUNDED,
)
from .logsafe import shown
from .models import OrderRow, SecurityEventRow
from .references import OrderReferences

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Order:
    """A read-only copy of an order row."""

    out_trade_no: str
    account_id: int
    amount_fen: int
    channel: str
    state: str
    subject: str
    trade_no: str | None
    qr_code: str | None
    created_ts: float
    expire_ts: float
    paid_ts: float | None
    credited: bool
    transaction_id: int | None
    receipt_no: str | None
    provider: str = DEFAULT_PROVIDER
    meter_entity_id: str | None = None  # the meter the tenant chose; None: the account's top-up rule decides

    @classmethod
    def from_row(cls, row: OrderRow) -> Order:
        """Copy a row."""
        return cls(
            row.out_trade_no, row.account_id, row.amount_fen, row.channel, row.state, row.subject, row.trade_no,
            row.qr_code, row.created_ts, row.expire_ts, row.paid_ts, bool(row.credited), row.transaction_id,
            row.receipt_no, row.provider or DEFAULT_PROVIDER, row.meter_entity_id,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]

    def ledger_key(self, action: str = "") -> str:
        """Return billing's idempotency key of this order's credit (or of ``action`` on it, e.g. refund).

        The key is the order's own, whichever provider or path settles it, so an order is credited once.
        """
        return f"{self.provider}:{action}:{self.out_trade_no}" if action else f"{self.provider}:{self.out_trade_no}"


class OrderLog:
    """What every provider's orders share: an account's orders and the security events, whoever wrote them."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def for_account(self, account_id: int, limit: int = 50) -> list[Order]:
        """Return an account's newest orders."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(OrderRow).where(OrderRow.account_id == account_id).order_by(OrderRow.created_ts.desc()).limit(limit)
            )
            return [Order.from_row(r) for r in rows]

    async def security_event(
        self, source: str, kind: str, detail: str, remote: str | None = None, reference: str | None = None
    ) -> None:
        """Write one security event row and log it (reference and detail escaped onto one line and shortened)."""
        reference = shown(reference, REFERENCE_LIMIT) if reference else None
        detail = shown(detail, DETAIL_LIMIT)
        _LOGGER.warning("Security event %s/%s ref=%s from %s: %s", source, kind, reference, remote, detail)
        async with self._db.write() as session:
            session.add(
                SecurityEventRow(
                    ts=self._clock.timestamp(), source=source, kind=kind, remote=remote, reference=reference,
                    detail=detail,
                )
            )

    async def security_events(self, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest security events."""
        async with self._db.session() as session:
            rows = await session.scalars(select(SecurityEventRow).order_by(SecurityEventRow.id.desc()).limit(limit))
            return [
                {"ts": r.ts, "source": r.source, "kind": r.kind, "remote": r.remote, "reference": r.reference,
                 "detail": r.detail}
                for r in rows
            ]


class OrderStore(OrderLog):
    """Persist one provider's orders (lookups by out_trade_no and account see every provider's)."""

    def __init__(self, db: Database, clock: Clock, provider: str, prefix: str) -> None:
        super().__init__(db, clock)
        self.provider = provider
        self._prefix = prefix
        self.references = OrderReferences(db)

    def new_out_trade_no(self) -> str:
        """Return a fresh out_trade_no: prefix + Beijing date/time + 8 random hex digits (never reused)."""
        stamp = self._clock.utcnow().astimezone(Clock(BEIJING_TZ).time_zone).strftime("%Y%m%d%H%M%S")
        return f"{self._prefix}{stamp}{secrets.token_hex(4).upper()}"

    async def create(
        self, account_id: int, amount_fen: int, channel: str, subject: str, timeout_s: float,
        meter_entity_id: str | None = None,
    ) -> Order:
        """Store a new PENDING order (for one chosen meter of the account, or for the account's top-up rule)."""
        now = self._clock.timestamp()
        row = OrderRow(
            out_trade_no=self.new_out_trade_no(), account_id=account_id, amount_fen=amount_fen, channel=channel,
            state=STATE_PENDING, subject=subject, created_ts=now, expire_ts=now + timeout_s, refunded_fen=0,
            credited=False, provider=self.provider, meter_entity_id=meter_entity_id,
        )
        async with self._db.write() as session:
            session.add(row)
        return Order.from_row(row)

    async def get(self, out_trade_no: str) -> Order | None:
        """Return one order or None."""
        async with self._db.session() as session:
            row = await session.scalar(select(OrderRow).where(OrderRow.out_trade_no == out_trade_no))
            return Order.from_row(row) if row is not None else None

    async def set_qr_code(self, out_trade_no: str, qr_code: str) -> None:
        """Remember the QR code text of a precreated order."""
        async with self._db.write() as session:
            await session.execute(
                update(OrderRow).where(OrderRow.out_trade_no == out_trade_no).values(qr_code=qr_code)
            )

    async def record_paid(self, out_trade_no: str, trade_no: str | None) -> bool:
        """Move a PENDING or CLOSED order to PAID; return False if it was not in one of those states."""
        async with self._db.write() as session:
            result = await session.execute(
                update(OrderRow)
                .where(OrderRow.out_trade_no == out_trade_no, OrderRow.state.in_((STATE_PENDING, STATE_CLOSED)))
                .values(state=STATE_PAID, trade_no=trade_no, paid_ts=self._clock.timestamp())
            )
            return bool(result.rowcount)

    async def record_credited(self, out_trade_no: str, transaction_id: int | None, receipt_no: str | None) -> None:
        """Mark a PAID order as credited to its account."""
        async with self._db.write() as session:
            await session.execute(
                update(OrderRow)
                .where(OrderRow.out_trade_no == out_trade_no)
                .values(credited=True, transaction_id=transaction_id, receipt_no=receipt_no)
            )

    async def record_closed(self, out_trade_no: str) -> bool:
        """Move a PENDING order to CLOSED."""
        async with self._db.write() as session:
            result = await session.execute(
                update(OrderRow)
                .where(OrderRow.out_trade_no == out_trade_no, OrderRow.state == STATE_PENDING)
                .values(state=STATE_CLOSED, closed_ts=self._clock.timestamp())
            )
            return bool(result.rowcount)

    async def record_refunded(self, out_trade_no: str, amount_fen: int) -> None:
        """Mark a PAID order as REFUNDED."""
        async with self._db.write() as session:
            await session.execute(
                update(OrderRow)
                .where(OrderRow.out_trade_no == out_trade_no, OrderRow.state == STATE_PAID)
                .values(state=STATE_REFUNDED, refunded_fen=amount_fen, refunded_ts=self._clock.timestamp())
            )

    async def touch_query(self, out_trade_no: str) -> None:
        """Remember when we last asked the gateway about an order."""
        async with self._db.write() as session:
            await session.execute(
                update(OrderRow).where(OrderRow.out_trade_no == out_trade_no).values(last_query_ts=self._clock.timestamp())
            )

    async def due_for_query(self, older_than_ts: float, limit: int = 100) -> list[Order]:
        """Return this provider's PENDING orders created before ``older_than_ts`` and not asked about since."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(OrderRow)
                .where(OrderRow.provider == self.provider)
                .where(OrderRow.state == STATE_PENDING, OrderRow.created_ts < older_than_ts)
                .where((OrderRow.last_query_ts.is_(None)) | (OrderRow.last_query_ts < older_than_ts))
                .order_by(OrderRow.created_ts)
                .limit(limit)
            )
            return [Order.from_row(r) for r in rows]

    async def paid_not_credited(self) -> list[Order]:
        """Return this provider's PAID orders whose credit has not been confirmed (crash in between)."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(OrderRow).where(
                    OrderRow.provider == self.provider, OrderRow.state == STATE_PAID, OrderRow.credited.is_(False)
                )
            )
            return [Order.from_row(r) for r in rows]
