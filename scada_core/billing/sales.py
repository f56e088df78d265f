"""Sales (售电), payments, refunds (退电) and reversals (冲正): a ledger transaction plus, on meter-side meters,
a delivery to the meter."""

from __future__ import annotations

import functools
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scada_core.permissions import PERM_REVERSE, PERM_SELL

from . import ledger
from .books import earlier_posting, open_account_row, opened_meter
from .const import (
    EVENT_BILLING_PAYMENT_RECEIVED,
    EVENT_BILLING_SALE,
    KIND_REFUND,
    KIND_REVERSAL,
    KIND_SALE,
    KIND_TRANSFER,
    METHOD_WALLET,
    MODE_METER,
    OP_REFUND,
    OP_SELL,
)
from .credit import check_can_take, check_credit_cap
from .delivery import (
    OUTCOME_DELIVERED,
    add_delivery,
    crash_point,
    deliveries_of,
    delivery_dict,
    pending_row,
    register_count,
)
from .errors import BillingError, DeliveryPending, PermissionDenied
from .models import DeliveryRow, MeterRow, TransactionRow
from .topup import Parts

if TYPE_CHECKING:
    from .books import Books
    from .charging import MeterMirror
    from .delivery import Deliveries
    from .opened import OpenedMeters
    from .topup import TopUpRules


def fresh_result(
    row: TransactionRow, entries: list[tuple[str, int]], deliveries: list[Any]
) -> dict[str, Any]:
    """Return the result of a transaction just posted (what result_of would read back)."""
    return {
        "transaction": ledger.transaction_dict(row),
        "entries": [{"account": a, "amount_fen": v} for a, v in entries],
        "deliveries": [delivery_dict(d) for d in deliveries],
        "repeated": False,
    }


@dataclass(frozen=True, slots=True)
class Movement:
    """Money to or off meter-side meters as one ledger transaction: what to post and why."""

    parts: Parts
    op: str
    kind: str
    method: str
    key: str
    operator: ledger.Operator
    reason: str
    reference: str | None
    reverses_id: int | None
    account_id: int | None
    counterpart: str | None


class _SettleFirst(DeliveryPending):
    """A meter of the movement has an earlier delivery to settle first (its message, should it stay pending)."""

    def __init__(self, pending: list[DeliveryRow]) -> None:
        entity_ids = ", ".join(row.meter_entity_id for row in pending)
        super().__init__(
            f"表计 {entity_ids} 上一笔充值尚未确认到表，请稍后再试",
            f"meter {entity_ids} has an earlier sale not yet confirmed on the meter; try again later",
        )
        self.pending = pending


class _CatchUpFirst(Exception):
    """The ledger must catch up with a meter's own money before the movement is checked."""


class Sales:
    """Move money in and out of wallets and meters."""

    def __init__(
        self,
        books: Books,
        opened: OpenedMeters,
        deliveries: Deliveries,
        mirror: MeterMirror,
        topup: TopUpRules,
    ) -> None:
        self.books = books
        self.db = books.db
        self.opened = opened
        self.deliveries = deliveries
        self.mirror = mirror
        self.topup = topup

    async def sell(
        self,
        meter_entity_id: str,
        amount_fen: int,
        method: str,
        idempotency_key: str,
        operator: Any,
        reference: str | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Sell electricity to one meter (售电): to the meter itself when meter-side, else to its account.

        With method "wallet", money already in the account's wallet moves to the meter: a transfer, not a sale.
        """
        operator = ledger.Operator.from_dict(operator)
        if self.opened.mode_of(meter_entity_id) == MODE_METER:
            return await self._parts_movement(
                [(meter_entity_id, amount_fen)],
                OP_SELL,
                KIND_TRANSFER if method == METHOD_WALLET else KIND_SALE,
                method,
                idempotency_key,
                operator,
                reason,
                reference,
            )
        async with self.db.session() as session:
            meter = await self.books.get_meter(session, meter_entity_id)
        return await self.wallet_movement(
            meter.account_id,
            KIND_SALE,
            amount_fen,
            method,
            idempotency_key,
            operator,
            reason,
            reference,
            meter_entity_id,
        )

    async def credit_payment(
        self,
        account_id: int,
        amount_fen: int,
        method: str,
        idempotency_key: str,
        operator: Any,
        reference: str | None = None,
        meter_entity_id: str | None = None,
        chosen_earlier: bool = False,
    ) -> dict[str, Any]:
        """Take a payment for an account (Alipay, WeChat Pay, kiosk): to the meter the tenant chose, else by the
        account's top-up rule (see topup.py), delivered like a sale: one transaction, one key, whatever the split.

        ``chosen_earlier``: the meter was chosen when a now-paid order was made; if it has left the account
        since, the rule decides (the money is received and must land); otherwise a foreign meter is refused.
        """
        operator = ledger.Operator.from_dict(operator)
        if method == METHOD_WALLET:
            raise BillingError("付款不能来自账户钱包", "a payment cannot come from the wallet")
        async with self.db.session() as session:
            earlier = await self.books.repeated(
                session, idempotency_key, account_id=account_id, amount_fen=amount_fen
            )
            parts = (
                None
                if earlier
                else await self.topup.parts(session, account_id, amount_fen, meter_entity_id, chosen_earlier)
            )
        if earlier is not None:
            return earlier
        if parts is not None:
            result = await self._parts_movement(
                parts, OP_SELL, KIND_SALE, method, idempotency_key, operator, "", reference, account_id=account_id
            )
        else:
            result = await self.wallet_movement(
                account_id, KIND_SALE, amount_fen, method, idempotency_key, operator, "", reference
            )
        if not result["repeated"]:
            self.books.bus.async_fire(
                EVENT_BILLING_PAYMENT_RECEIVED,
                {
                    "account_id": account_id,
                    "amount_fen": amount_fen,
                    "method": method,
                    "reference": reference,
                },
            )
        return result

    async def refund(
        self,
        meter_entity_id: str,
        amount_fen: int,
        method: str,
        idempotency_key: str,
        operator: Any,
        reason: str = "",
    ) -> dict[str, Any]:
        """Take money back off a meter (or its account's wallet) and pay it out (退电)."""
        operator = ledger.Operator.from_dict(operator)
        if self.opened.mode_of(meter_entity_id) == MODE_METER:
            return await self._parts_movement(
                [(meter_entity_id, amount_fen)],
                OP_REFUND,
                KIND_TRANSFER if method == METHOD_WALLET else KIND_REFUND,
                method,
                idempotency_key,
                operator,
                reason,
                None,
            )
        async with self.db.session() as session:
            meter = await self.books.get_meter(session, meter_entity_id)
        return await self.wallet_movement(
            meter.account_id,
            KIND_REFUND,
            amount_fen,
            method,
            idempotency_key,
            operator,
            reason,
            None,
            meter_entity_id,
        )

    async def reverse(
        self, transaction_id: int, reason: str, idempotency_key: str, operator: Any
    ) -> dict[str, Any]:
        """Undo a mistaken sale (冲正): admins any sale, cashiers only their own sale of today."""
        operator = ledger.Operator.from_dict(operator)
        async with self.db.session() as session:
            original = await session.get(TransactionRow, transaction_id)
            if original is None or original.kind != KIND_SALE:
                raise BillingError(
                    f"交易 {transaction_id} 不是售电", f"transaction {transaction_id} is not a sale"
                )
            earlier = await self.books.repeated(session, idempotency_key, reverses_id=transaction_id)
            if earlier is not None:
                return earlier
            done = (
                await session.execute(
                    select(TransactionRow.id).where(TransactionRow.reverses_id == transaction_id)
                )
            ).scalar_one_or_none()
        if done is not None:
            raise BillingError(
                f"交易 {transaction_id} 已冲正", f"transaction {transaction_id} is already reversed"
            )
        self._check_reversal_rights(original, operator)
        meter_id = original.meter_entity_id
        async with self.db.session() as session:
            split = meter_id is None and bool(await deliveries_of(session, transaction_id))
        if split:
            raise BillingError(
                "分表充值请逐表退费", "a top-up split over several meters is refunded meter by meter"
            )
        if meter_id is not None and self.opened.mode_of(meter_id) == MODE_METER:
            return await self._parts_movement(
                [(meter_id, original.amount_fen)],
                OP_REFUND,
                KIND_REVERSAL,
                original.method or "cash",
                idempotency_key,
                operator,
                reason,
                original.reference,
                reverses_id=transaction_id,
                account_id=original.account_id,
            )
        return await self.wallet_movement(
            original.account_id,
            KIND_REVERSAL,
            original.amount_fen,
            original.method or "cash",
            idempotency_key,
            operator,
            reason,
            original.reference,
            meter_id,
            reverses_id=transaction_id,
        )

    def _check_reversal_rights(
        self, original: TransactionRow, operator: ledger.Operator
    ) -> None:
        if operator.may(PERM_REVERSE):
            return
        today = self.books.clock.now().date()
        sold_on = datetime.fromtimestamp(original.ts, self.books.clock.time_zone).date()
        if not operator.may(PERM_SELL) or original.operator_id != operator.id or sold_on != today:
            raise PermissionDenied(
                "收银员只能冲正自己当天的售电", "a cashier may reverse only their own sale of today"
            )

    async def meter_movement(
        self,
        entity_id: str,
        op: str,
        kind: str,
        amount_fen: int,
        method: str | None,
        key: str,
        operator: ledger.Operator,
        reason: str,
        reference: str | None,
        counterpart: str | None = None,
    ) -> dict[str, Any]:
        """Post money to or off one meter-side meter and deliver it exactly once (closing an account and money
        found at opening use it; ``counterpart``: the ledger account on the other side instead of the method's)."""
        return await self._parts_movement(
            [(entity_id, amount_fen)], op, kind, method, key, operator, reason, reference, counterpart=counterpart
        )

    async def _parts_movement(
        self,
        parts: Parts,
        op: str,
        kind: str,
        method: str,
        key: str,
        operator: ledger.Operator,
        reason: str,
        reference: str | None,
        reverses_id: int | None = None,
        account_id: int | None = None,
        counterpart: str | None = None,
    ) -> dict[str, Any]:
        """Post money to or off meter-side meters as one transaction and deliver each part exactly once (meter
        locks held, taken in entity id order)."""
        movement = Movement(
            parts, op, kind, method, key, operator, reason, reference, reverses_id, account_id, counterpart
        )
        async with AsyncExitStack() as locks:
            for entity_id, _ in sorted(parts):
                await locks.enter_async_context(self.books.meter_lock(entity_id))
            try:
                row, entries, deliveries = await self._write_movement(movement)
            except ledger.KeyTaken as taken:  # posted before, by an earlier request or a concurrent one
                return await self.books.taken(taken)
            for delivery in deliveries:
                crash_point("after_pending_commit", delivery.meter_entity_id)
                outcome = await self.deliveries.deliver(delivery)
                if outcome == OUTCOME_DELIVERED and delivery.remaining_fen is not None:
                    self.mirror.delivered(
                        delivery.meter_entity_id, register_count(delivery.purchase_count), delivery.remaining_fen
                    )
            result = fresh_result(row, entries, deliveries)
        if kind in (KIND_SALE, KIND_TRANSFER):
            self._fire_sale(row)
        return result

    async def _write_movement(
        self, movement: Movement
    ) -> tuple[TransactionRow, list[tuple[str, int]], list[DeliveryRow]]:
        """Post a movement in one write; first settle a meter's earlier delivery and catch the ledger up with
        the meters' own money when the write finds it must (each time it rolls back having only read)."""
        synced: set[str] = set()
        while True:  # each pass settles or syncs a meter the last one stopped at, or posts (or raises)
            # The ledger catches up with the meter's own money before any check: a fresh read to refund, the
            # last status read to sell unless it is the one last synced (running consumption is otherwise
            # mirrored at an interval).
            behind = [
                entity_id
                for entity_id, _ in movement.parts
                if entity_id not in synced
                and (movement.op == OP_REFUND or not self.mirror.unchanged_since_sync(entity_id))
            ]
            try:
                return await self.db.run_write(functools.partial(self._post_parts, movement, behind))
            except _SettleFirst as first:
                for delivery in first.pending:
                    await self.deliveries.ensure_settled(delivery.meter_entity_id, delivery)
            except _CatchUpFirst:
                for entity_id in behind:
                    await self.mirror.sync_meter(entity_id, fresh=movement.op == OP_REFUND)
                    synced.add(entity_id)

    def _post_parts(
        self, movement: Movement, behind: list[str], session: Session
    ) -> tuple[TransactionRow, list[tuple[str, int]], list[DeliveryRow]]:
        """Check the request, the meters and the money; post the transaction and add each part's pending
        delivery (one write body)."""
        parts, op, method = movement.parts, movement.op, movement.method
        amount_fen = sum(fen for _, fen in parts)
        single = parts[0][0] if len(parts) == 1 else None
        earlier = earlier_posting(session, movement.key, meter_entity_id=single, amount_fen=amount_fen)
        if earlier is not None:
            raise ledger.KeyTaken(movement.key)
        pending = [waiting for e, _ in parts if (waiting := pending_row(session, e)) is not None]
        if pending:
            for waiting in pending:
                session.expunge(waiting)  # kept as read: the rollback that follows would expire it
            raise _SettleFirst(pending)
        if behind:
            raise _CatchUpFirst
        meters = [self._movable_meter(session, e, movement.account_id) for e, _ in parts]
        account = open_account_row(session, meters[0].account_id)
        wallet = ledger.tenant_account(account.id)
        source = movement.counterpart or (wallet if method == METHOD_WALLET else method)
        if op == OP_SELL and method == METHOD_WALLET:
            check_can_take(ledger.held_sync(session, source), amount_fen)
        legs: list[tuple[str, int]] = []
        for meter, (entity_id, fen) in zip(meters, parts):
            meter_acct = ledger.meter_account(entity_id)
            on_meter = ledger.held_sync(session, meter_acct)
            if op == OP_SELL:
                building = self.books.buildings.get(meter.building, {})
                check_credit_cap(meter, account, on_meter, fen, building.get("credit_cap_fen"))
            else:
                check_can_take(on_meter, fen)
            legs.append((meter_acct, -fen if op == OP_SELL else fen))
        entries = [(source, amount_fen), *legs] if op == OP_SELL else [*legs, (source, -amount_fen)]
        row = ledger.post_once_sync(
            session,
            movement.key,
            kind=movement.kind,
            entries=entries,
            operator=movement.operator,
            ts=self.books.now(),
            amount_fen=amount_fen,
            reason=movement.reason,
            account_id=account.id,
            meter_entity_id=single,
            method=method,
            reference=movement.reference,
            building=meters[0].building,
            reverses_id=movement.reverses_id,
        )
        deliveries = [
            add_delivery(session, meter, row.id, op, fen, self.books.now())
            for meter, (_, fen) in zip(meters, parts)
        ]
        return row, entries, deliveries

    @staticmethod
    def _movable_meter(session: Session, entity_id: str, account_id: int | None) -> MeterRow:
        """Return a meter's row (locked) that may take or give money: not blocked, still on ``account_id``."""
        meter = opened_meter(session, entity_id, lock=True)
        if meter.blocked:
            raise BillingError(
                f"表计 {entity_id} 充值次数异常，已锁定售电，需管理员处理",
                f"meter {entity_id} is blocked for sales after a purchase-count mismatch; an admin must resolve it",
            )
        if account_id is not None and meter.account_id != account_id:
            raise BillingError("表计已不属于原账户", "the meter no longer belongs to the sale's account")
        return meter

    async def wallet_movement(
        self,
        account_id: int | None,
        kind: str,
        amount_fen: int,
        method: str,
        key: str,
        operator: ledger.Operator,
        reason: str,
        reference: str | None,
        meter_entity_id: str | None = None,
        reverses_id: int | None = None,
    ) -> dict[str, Any]:
        """Post money into (sale) or out of (refund, reversal) an account's wallet."""
        if account_id is None or method == METHOD_WALLET:
            raise BillingError("没有可入账的账户", "no account to take the money")
        async with self.books.account_lock(account_id):
            try:
                async with self.db.write() as session:
                    earlier = await self.books.repeated(
                        session, key, account_id=account_id, amount_fen=amount_fen
                    )
                    if earlier is not None:
                        return earlier
                    account = await self.books.get_account(session, account_id, lock=True)
                    wallet = ledger.tenant_account(account_id)
                    held = await ledger.held(session, wallet)
                    if kind == KIND_SALE:
                        building = self.books.buildings.get(account.building, {})
                        meter = await session.get(MeterRow, meter_entity_id) if meter_entity_id else None
                        check_credit_cap(meter, account, held, amount_fen, building.get("credit_cap_fen"))
                        entries = [(method, amount_fen), (wallet, -amount_fen)]
                    else:
                        check_can_take(held, amount_fen)
                        entries = [(wallet, amount_fen), (method, -amount_fen)]
                    row = await ledger.post_once(
                        session,
                        key,
                        kind=kind,
                        entries=entries,
                        operator=operator,
                        ts=self.books.now(),
                        amount_fen=amount_fen,
                        reason=reason,
                        account_id=account_id,
                        meter_entity_id=meter_entity_id,
                        method=method,
                        reference=reference,
                        building=account.building,
                        reverses_id=reverses_id,
                    )
            except ledger.KeyTaken as taken:
                return await self.books.taken(taken)
        result = fresh_result(row, entries, [])  # after the commit, which numbers the receipt on PostgreSQL
        if kind == KIND_SALE:
            self._fire_sale(row)
        await self.mirror.refresh_account(account_id)
        return result

    def _fire_sale(self, row: TransactionRow) -> None:
        self.books.bus.async_fire(
            EVENT_BILLING_SALE,
            {
                "account_id": row.account_id,
                "meter_entity_id": row.meter_entity_id,
                "amount_fen": row.amount_fen,
                "transaction_id": row.id,
                "receipt_no": row.receipt_no,
                "method": row.method,
                "kind": row.kind,
            },
        )
