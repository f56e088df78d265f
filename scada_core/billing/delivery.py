"""Exactly-once delivery of money to meter-side meters, and the reconciler that settles pending deliveries.

Steps of one delivery (the meter's lock is held throughout):
1. the ledger transaction and a pending delivery with purchase count N+1 are committed;
2. acrel_dtsy1352.sell/refund writes it to the meter with purchase count N+1;
3. the purchase count is read back: the sell/refund service confirms its write with a fresh read and returns
   it; when the write raised, or in the reconciler, acrel_dtsy1352.read_prepaid reads it;
4. purchase count N+1: the delivery is committed as delivered; N: not delivered, retried by the reconciler;
   anything else: tamper alarm, and the meter is blocked for sales until an admin resolves it.
Purchase counts are compared modulo 2**16 (the meter's register wraps from 65535 to 0).
OPENPREPAY_CRASH_AT=<step> (after_pending_commit, after_meter_write, after_read_back, before_delivered_commit)
kills the process with SIGKILL at that step of the next delivery, ``<step>:<entity_id>`` only at a delivery to
that meter (crash tests only; never set it in production).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from scada_core.exceptions import OpenPrepayError

from scada_core.permissions import PERM_RESOLVE

from . import ledger
from .alarms import crossing
from .const import (
    ACCOUNT_ADJUSTMENT,
    DELIVERY_DELIVERED,
    DELIVERY_PENDING,
    ENV_CRASH_AT,
    KIND_ADJUSTMENT,
    LEVEL_TAMPER,
    OP_SELL,
    PURCHASE_COUNT_MODULUS,
)
from .errors import BillingError, DeliveryPending, PermissionDenied
from .models import DeliveryRow, MeterRow

if TYPE_CHECKING:
    from scada_core.storage.group_commit import GroupCommit

    from .books import Books
    from .port import MeterPort

_LOGGER = logging.getLogger(__name__)

# Core statements built once: settling runs after every sale, and the ORM's bulk update only costs time here.
_DELIVERIES = DeliveryRow.__table__
_METERS = MeterRow.__table__
SETTLE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("settle_id"), _DELIVERIES.c.status == DELIVERY_PENDING)
    .values(
        status=DELIVERY_DELIVERED,
        settled_ts=bindparam("settle_ts"),
        remaining_fen=bindparam("settle_remaining"),
        attempts=_DELIVERIES.c.attempts + 1,
        error=None,
    )
)
PENDING_OF = (
    select(DeliveryRow)
    .where(DeliveryRow.meter_entity_id == bindparam("pending_meter"), DeliveryRow.status == DELIVERY_PENDING)
    .order_by(DeliveryRow.id)
    .limit(1)
)
BOOK_COUNT = (
    update(_METERS)
    .where(_METERS.c.entity_id == bindparam("book_meter"))
    .values(purchase_count=bindparam("book_count"))
)

OUTCOME_DELIVERED = "delivered"
OUTCOME_NOT_DELIVERED = "not_delivered"
OUTCOME_TAMPER = "tamper"
OUTCOME_UNREACHABLE = "unreachable"


def register_count(count: int) -> int:
    """Return ``count`` as the meter's 16-bit register holds it (older rows may hold 65536)."""
    return count % PURCHASE_COUNT_MODULUS


def next_count(count: int) -> int:
    """Return the purchase count that follows ``count`` on the meter (65535 is followed by 0)."""
    return register_count(count + 1)


def counts_ahead(count: int, booked: int) -> int:
    """Return how far the meter's ``count`` is ahead of ``booked`` (negative: behind), modulo 2**16."""
    ahead = (count - booked) % PURCHASE_COUNT_MODULUS
    return ahead - PURCHASE_COUNT_MODULUS if ahead >= PURCHASE_COUNT_MODULUS // 2 else ahead


def _settle_rows(delivery: DeliveryRow, target: int, remaining: int, ts: float, session: Session) -> None:
    """Mark a pending delivery delivered and book its purchase count on the meter (once: a settled one stays)."""
    settled = session.execute(SETTLE, {"settle_id": delivery.id, "settle_ts": ts, "settle_remaining": remaining})
    if settled.rowcount:
        session.execute(BOOK_COUNT, {"book_meter": delivery.meter_entity_id, "book_count": target})
        crash_point("before_delivered_commit", delivery.meter_entity_id)


def crash_point(step: str, entity_id: str) -> None:
    """Kill this process with SIGKILL when OPENPREPAY_CRASH_AT is ``step`` or ``step:entity_id`` (crash tests)."""
    wanted = os.environ.get(ENV_CRASH_AT)
    if wanted in (step, f"{step}:{entity_id}"):
        _LOGGER.warning("Crash point %s reached on %s: killing the process", step, entity_id)
        os.kill(os.getpid(), signal.SIGKILL)


async def deliveries_of(session: AsyncSession, transaction_id: int) -> list[dict[str, Any]]:
    """Return the deliveries of one transaction."""
    rows = (
        await session.execute(
            select(DeliveryRow).where(DeliveryRow.transaction_id == transaction_id).order_by(DeliveryRow.id)
        )
    ).scalars()
    return [delivery_dict(d) for d in rows]


def delivery_dict(delivery: DeliveryRow) -> dict[str, Any]:
    """Return a JSON-friendly delivery."""
    return {
        "id": delivery.id,
        "meter_entity_id": delivery.meter_entity_id,
        "op": delivery.op,
        "amount_fen": delivery.amount_fen,
        "purchase_count": delivery.purchase_count,
        "status": delivery.status,
        "remaining_fen": delivery.remaining_fen,
        "error": delivery.error,
    }


def pending_row(session: Session, entity_id: str) -> DeliveryRow | None:
    """Return the meter's pending delivery (there is at most one; a sync body)."""
    return session.execute(PENDING_OF, {"pending_meter": entity_id}).scalar_one_or_none()


async def pending_of(session: AsyncSession, entity_id: str) -> DeliveryRow | None:
    """Return the meter's pending delivery (there is at most one)."""
    return await session.run_sync(pending_row, entity_id)


def add_delivery(
    session: AsyncSession, meter: MeterRow, transaction_id: int, op: str, amount_fen: int, ts: float
) -> DeliveryRow:
    """Add a pending delivery with the meter's next purchase count."""
    row = DeliveryRow(
        transaction_id=transaction_id,
        meter_entity_id=meter.entity_id,
        op=op,
        amount_fen=amount_fen,
        purchase_count=next_count(meter.purchase_count),
        status=DELIVERY_PENDING,
        attempts=0,
        created_ts=ts,
    )
    session.add(row)
    return row


class Deliveries:
    """Write money to meters exactly once; reconcile; resolve tamper blocks."""

    def __init__(self, books: Books, meters: MeterPort, settles: GroupCommit) -> None:
        self.books = books
        self.db = books.db
        self.meters = meters
        self.settles = settles  # deliveries confirmed at the same time are booked in one commit

    async def ensure_settled(
        self, entity_id: str, pending: DeliveryRow | None = None
    ) -> None:
        """Settle the meter's pending delivery (found by the caller or looked up) before a new one, or refuse."""
        if pending is None:
            async with self.db.session() as session:
                pending = await pending_of(session, entity_id)
        if pending is None:
            return
        outcome = await self._reconcile_one(pending)
        if outcome != OUTCOME_DELIVERED:
            raise DeliveryPending(
                f"表计 {entity_id} 上一笔充值尚未确认到表，请稍后再试",
                f"meter {entity_id} has an earlier sale not yet confirmed on the meter; try again later",
            )

    async def deliver(self, delivery: DeliveryRow) -> str:
        """Write a pending delivery to its meter and settle it from the read-back (meter lock held)."""
        error: str | None = None
        result: dict[str, Any] = {}
        try:
            result = await self.meters.call(
                delivery.meter_entity_id,
                delivery.op,
                {
                    "amount_fen": delivery.amount_fen,
                    "purchase_count": register_count(delivery.purchase_count),
                },
            )
        except OpenPrepayError as err:
            error = str(err)
            _LOGGER.warning("Delivery %s to %s: %s", delivery.id, delivery.meter_entity_id, err)
        crash_point("after_meter_write", delivery.meter_entity_id)
        if result.get("purchase_count") is None or result.get("remaining_fen") is None:
            return await self._check(delivery, error)
        # The service confirmed the write with a fresh read of the meter: that is our read-back.
        crash_point("after_read_back", delivery.meter_entity_id)
        return await self._settle(delivery, int(result["purchase_count"]), int(result["remaining_fen"]), None)

    async def _check(self, delivery: DeliveryRow, error: str | None = None) -> str:
        """Read the meter's purchase count back and settle the delivery from it."""
        try:
            read = await self.meters.call(delivery.meter_entity_id, "read_prepaid")
        except OpenPrepayError as err:
            await self._note_attempt(delivery, error or str(err))
            return OUTCOME_UNREACHABLE
        crash_point("after_read_back", delivery.meter_entity_id)
        return await self._settle(delivery, int(read["purchase_count"]), int(read["remaining_fen"]), error)

    async def _settle(
        self, delivery: DeliveryRow, count: int, remaining: int, error: str | None
    ) -> str:
        target = register_count(delivery.purchase_count or 0)
        ahead = counts_ahead(count, target)
        if ahead == -1:
            await self._note_attempt(delivery, error or "purchase count unchanged")
            return OUTCOME_NOT_DELIVERED
        if ahead != 0:
            await self.block(delivery.meter_entity_id, count, register_count(target - 1))
            return OUTCOME_TAMPER
        await self.settles.async_write(
            functools.partial(_settle_rows, delivery, target, remaining, self.books.now())
        )
        delivery.status = DELIVERY_DELIVERED
        delivery.remaining_fen = remaining
        return OUTCOME_DELIVERED

    async def _note_attempt(self, delivery: DeliveryRow, error: str) -> None:
        async with self.db.write() as session:
            row = await session.get(DeliveryRow, delivery.id)
            if row is not None:
                row.attempts += 1
                row.error = error[:2000]
        delivery.error = error

    async def block(self, entity_id: str, count: int, expected: int) -> None:
        """Block a meter whose purchase count moved without a sale of ours; fire the tamper alarm."""
        reason = f"购电次数 {count}，应为 {expected} / purchase count {count}, expected {expected}"
        async with self.db.write() as session:
            meter = await session.get(MeterRow, entity_id, with_for_update=True)
            if meter is None or meter.blocked:
                return
            meter.blocked = True
            meter.blocked_reason = reason
            row, event = crossing(meter, LEVEL_TAMPER, "enter", None, self.books.now())
            row.reason = event["reason"] = reason
            session.add(row)
        _LOGGER.error("Tamper alarm on %s: %s; meter blocked for sales", entity_id, reason)
        self.books.fire_alarms([event])

    async def _reconcile_one(self, delivery: DeliveryRow) -> str:
        """Settle one pending delivery: delivered, or written again when the meter has not got it."""
        outcome = await self._check(delivery)
        if outcome == OUTCOME_NOT_DELIVERED:
            outcome = await self.deliver(delivery)
        return outcome

    async def reconcile(self) -> dict[str, int]:
        """Settle every pending delivery from its meter's purchase count; return counts per outcome."""
        async with self.db.session() as session:
            meters = (
                (
                    await session.execute(
                        select(DeliveryRow.meter_entity_id)
                        .where(DeliveryRow.status == DELIVERY_PENDING)
                        .distinct()
                    )
                )
                .scalars()
                .all()
            )
            blocked = set(
                (await session.execute(select(MeterRow.entity_id).where(MeterRow.blocked))).scalars()
            )
        outcomes: dict[str, int] = {}
        for entity_id in meters:
            if entity_id in blocked:
                outcomes["blocked"] = outcomes.get("blocked", 0) + 1
                continue
            async with self.books.meter_lock(entity_id):
                async with self.db.session() as session:
                    pending = await pending_of(session, entity_id)
                if pending is None:
                    continue
                outcome = await self._reconcile_one(pending)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcomes:
            _LOGGER.info("Reconciled pending deliveries: %s", outcomes)
        return outcomes

    async def _read_for_resolve(self, entity_id: str) -> tuple[int, int]:
        """Return the meter's purchase count and money, or refuse the resolution when it cannot be read."""
        try:
            read = await self.meters.call(entity_id, "read_prepaid")
            return int(read["purchase_count"]), int(read["remaining_fen"])
        except (OpenPrepayError, KeyError, TypeError, ValueError) as err:
            detail = str(err) if isinstance(err, OpenPrepayError) else "no reading"
            raise BillingError(
                f"无法读取表计 {entity_id}（{detail}），锁定未解除，请检查通讯后重试",
                f"meter {entity_id} could not be read ({detail}); the block stays, check the link and retry",
            ) from None

    async def resolve_tamper(
        self, entity_id: str, operator: Any, reason: str = ""
    ) -> dict[str, Any]:
        """Admin only: accept the meter's purchase count and money, post the difference, unblock and redeliver."""
        operator = ledger.Operator.from_dict(operator)
        if not operator.may(PERM_RESOLVE):
            raise PermissionDenied("没有解除锁定的权限", "not allowed to resolve a tamper block")
        async with self.books.meter_lock(entity_id):
            count, remaining = await self._read_for_resolve(entity_id)
            async with self.db.write() as session:
                meter = await session.get(MeterRow, entity_id, with_for_update=True)
                if meter is None or not meter.blocked:
                    raise BillingError(f"表计 {entity_id} 未被锁定", f"meter {entity_id} is not blocked")
                pending = await pending_of(session, entity_id)
                in_flight = 0
                if pending is not None:
                    in_flight = pending.amount_fen if pending.op == OP_SELL else -pending.amount_fen
                    pending.purchase_count = next_count(count)
                account = ledger.meter_account(entity_id)
                difference = remaining + in_flight - await ledger.held(session, account)
                if difference:
                    await ledger.post(
                        session,
                        kind=KIND_ADJUSTMENT,
                        idempotency_key=f"tamper:{entity_id}:{self.books.now()}",
                        entries=[(ACCOUNT_ADJUSTMENT, difference), (account, -difference)],
                        operator=operator,
                        ts=self.books.now(),
                        amount_fen=difference,
                        reason=reason or f"tamper resolved: {meter.blocked_reason}",
                        account_id=meter.account_id,
                        meter_entity_id=entity_id,
                    )
                meter.purchase_count = count
                meter.blocked = False
                meter.blocked_reason = None
                row, event = crossing(meter, LEVEL_TAMPER, "leave", difference, self.books.now())
                row.reason = event["reason"] = f"{operator.id}: {reason}" if reason else operator.id
                session.add(row)
            self.books.fire_alarms([event])
            if pending is not None:
                await self.deliver(pending)
        return {
            "entity_id": entity_id,
            "purchase_count": count,
            "remaining_fen": remaining,
            "adjusted_fen": difference,
        }
