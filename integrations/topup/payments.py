"""The generic order flow every provider shares: limits, settle-once through billing, the credit sweep,
refunds off the meter then at the gateway."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from scada_core.exceptions import OpenPrepayError

from .const import (
    OPERATOR_ROLE,
    RETURN_REF,
    SEC_AMOUNT_MISMATCH,
    SEC_LATE_PAYMENT,
    SEC_REPLAYED,
    STATE_CLOSED,
    STATE_PAID,
    STATE_PENDING,
    STATE_REFUNDED,
)
from .errors import TopUpError
from .money import fen_to_yuan
from .orders import Order, OrderStore

if TYPE_CHECKING:
    from scada_core.core import Core

    from .limits import TopUpLimits

_LOGGER = logging.getLogger(__name__)


class TopUpPayments:
    """What every provider shares: limits, settle-once through billing, the credit sweep, ledger refunds.

    A provider sets the class attributes and implements ``_query_one``, ``close`` and ``_refund_at_gateway``.
    """

    name: str = ""  # the provider column of its orders, its services' domain and the pages' form value
    label: str = ""  # shown in logs
    labels: Mapping[str, str] = {}  # its name on the tenant pages, by language (zh-CN, en)
    scan_prompts: Mapping[str, str] = {}  # what the kiosk says beside its QR code, by language
    refund_reason: str = ""  # the ledger's reason of a refund, before the out_trade_no
    method: str = ""  # billing's payment method
    credited_event: str = ""
    source: str = ""  # security events of its sweeps
    gateway_error: type[Exception] = OpenPrepayError
    client: Any  # the provider's gateway client; ``client.settings`` has ``notify_url`` and ``return_url``

    def __init__(self, core: Core, store: OrderStore, limits: TopUpLimits) -> None:
        self.core = core
        self.store = store
        self.limits = limits
        self._locks: dict[str, asyncio.Lock] = {}
        self.sandbox: Any = None  # the in-process sandbox when the demo runs one

    async def _check(self, account_id: int, amount_fen: int, meter_entity_id: str | None) -> None:
        """Refuse amounts out of range, accounts that cannot take a payment and meters of other accounts."""
        billing = self.core.data.get("billing")
        if billing is None:
            raise TopUpError("充值暂不可用 / top-up unavailable: billing is not loaded")
        account = await billing.account_summary(account_id)
        if account["status"] != "open":
            raise TopUpError(f"账户 {account_id} 已销户 / account {account_id} is closed")
        if meter_entity_id is not None and meter_entity_id not in {m["entity_id"] for m in account["meters"]}:
            raise TopUpError(f"表计不属于账户 {account_id} / not a meter of account {account_id}")
        if not self.limits.min_fen <= amount_fen <= self.limits.max_fen:
            raise TopUpError(
                f"充值金额须在 {fen_to_yuan(self.limits.min_fen)} 至 {fen_to_yuan(self.limits.max_fen)} 元之间"
            )

    def _subject(self, account_id: int) -> str:
        return self.limits.subject.format(account=account_id)

    async def _new_order(
        self, account_id: int, amount_fen: int, channel: str, meter_entity_id: str | None = None
    ) -> Order:
        """Check the request and store a PENDING order (for a chosen meter of the account, or none)."""
        await self._check(account_id, amount_fen, meter_entity_id)
        return await self.store.create(
            account_id, amount_fen, channel, self._subject(account_id), self.limits.timeout_s, meter_entity_id
        )

    async def return_url(self, order: Order) -> str | None:
        """Return where the provider sends the browser after paying ``order``: the return page (configured, or
        under `http: external_url`) naming the order with its signed reference; None when there is none."""
        base = self.client.settings.return_url
        if not base:
            return None
        reference = await self.store.references.sign(order.out_trade_no)
        query = urlencode({"out_trade_no": order.out_trade_no, RETURN_REF: reference})
        return f"{base}{'&' if '?' in base else '?'}{query}"

    def _lock(self, out_trade_no: str) -> asyncio.Lock:
        return self._locks.setdefault(out_trade_no, asyncio.Lock())

    async def settle(self, order: Order, trade_no: str | None, remote: str | None = None) -> bool:
        """Record a verified payment and credit its account exactly once; True once the credit is committed."""
        async with self._lock(order.out_trade_no):
            current = await self.store.get(order.out_trade_no)
            if current is None:
                return False
            if current.state == STATE_CLOSED:
                await self.store.security_event(
                    self.source, SEC_LATE_PAYMENT, "paid after we closed the order; crediting the money received",
                    remote, order.out_trade_no,
                )
            if current.state == STATE_REFUNDED:
                return True
            if current.state in (STATE_PENDING, STATE_CLOSED):
                await self.store.record_paid(order.out_trade_no, trade_no)
            if current.credited:
                return True
            return await self._credit(current)

    async def settle_notified(
        self, order: Order, trade_no: str | None, remote: str | None, source: str, notify_id: str | None
    ) -> bool:
        """Settle the order a verified notification names; a repeat is logged as replayed; False: retry later."""
        if order.credited:
            await self.store.security_event(
                source, SEC_REPLAYED, f"repeat of a credited order (notify id {notify_id})", remote, order.out_trade_no
            )
            return True
        try:
            return await self.settle(order, trade_no, remote)
        except OpenPrepayError as err:  # billing refused (e.g. account closed): the gateway retries, the sweep too
            _LOGGER.error("Paid order %s not credited yet: %s", order.out_trade_no, err)
            return False

    async def _credit(self, order: Order) -> bool:
        """Hand the paid order to billing (idempotency key: the order's), then mark it credited."""
        billing = self.core.data.get("billing")
        if billing is None:
            _LOGGER.error("Order %s is paid but billing is not loaded; it will be credited later", order.out_trade_no)
            return False
        result = await billing.credit_payment(
            order.account_id,
            order.amount_fen,
            method=self.method,
            idempotency_key=order.ledger_key(),
            operator={"id": self.name, "role": OPERATOR_ROLE},
            reference=order.out_trade_no,
            meter_entity_id=order.meter_entity_id,
            chosen_earlier=True,
        )
        transaction_id, receipt_no = _result_ids(result)
        await self.store.record_credited(order.out_trade_no, transaction_id, receipt_no)
        self._locks.pop(order.out_trade_no, None)
        if result.get("repeated"):  # another path credited it first and has announced it
            return True
        self.core.bus.async_fire(
            self.credited_event,
            {"account_id": order.account_id, "out_trade_no": order.out_trade_no, "amount_fen": order.amount_fen,
             "receipt_no": receipt_no},
        )
        _LOGGER.info("%s order %s credited %s fen to account %s", self.label, order.out_trade_no, order.amount_fen,
                     order.account_id)
        return True

    async def sweep(self, query_after_s: float) -> None:
        """Credit PAID-but-uncredited orders, ask about quiet PENDING ones, close the expired."""
        for order in await self.store.paid_not_credited():
            try:
                await self.settle(order, order.trade_no)
            except Exception:  # noqa: BLE001 - one order must not stop the sweep
                _LOGGER.exception("Crediting order %s failed; retrying next sweep", order.out_trade_no)
        now = self.core.clock.timestamp()
        for order in await self.store.due_for_query(now - query_after_s):
            try:
                await self.store.touch_query(order.out_trade_no)
                await self._query_one(order, now)
            except self.gateway_error as err:
                _LOGGER.warning("Query of %s failed: %s", order.out_trade_no, err)
            except Exception:  # noqa: BLE001
                _LOGGER.exception("Query of %s failed", order.out_trade_no)

    async def settle_queried(self, order: Order, paid_fen: int, trade_no: str | None, shown_amount: str) -> None:
        """Settle an order the gateway's query says is paid, unless the amount differs (a security event)."""
        if paid_fen != order.amount_fen:
            await self.store.security_event(
                self.source, SEC_AMOUNT_MISMATCH,
                f"query says {shown_amount} but the order is {fen_to_yuan(order.amount_fen)}",
                None, order.out_trade_no,
            )
            return
        _LOGGER.info("Query found %s order %s paid (notify missing)", self.label, order.out_trade_no)
        await self.settle(order, trade_no)

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        """Store a PENDING order and return it with the URL the phone's browser is sent to."""
        raise NotImplementedError

    async def create_qr_order(self, account_id: int, amount_fen: int, meter_entity_id: str | None = None) -> Order:
        """Store a PENDING order and return it with its ``qr_code`` for the kiosk's screen."""
        raise NotImplementedError

    async def _query_one(self, order: Order, now: float) -> None:
        """Ask the gateway about one quiet PENDING order and act on the answer."""
        raise NotImplementedError

    async def close(self, order: Order) -> None:
        """Close an expired order at the gateway, then here."""
        raise NotImplementedError

    async def _refund_at_gateway(self, order: Order) -> dict[str, Any]:
        """Give the buyer the order's money back at the gateway; raise TopUpError when refused."""
        raise NotImplementedError

    async def refund(self, out_trade_no: str, operator: dict[str, str], reason: str) -> dict[str, Any]:
        """Refund a paid order in full: off its meter in the ledger (退电) first, then at the gateway; safe to repeat."""
        order = await self.store.get(out_trade_no)
        if (order is None or order.provider != self.name or order.state != STATE_PAID or not order.credited
                or order.transaction_id is None):
            raise TopUpError(f"订单 {out_trade_no} 不是已入账的支付订单 / not a credited paid order")
        billing = self.core.data.get("billing")
        if billing is None:
            raise TopUpError("billing is not loaded")
        credited = await billing.transaction(order.transaction_id)
        credit = credited["transaction"]
        if not credit.get("meter_entity_id"):
            if credited["deliveries"]:
                raise TopUpError("该笔充值已分到多块表，请在柜台逐表退费 / split over several meters: refund each at the counter")
            raise TopUpError("该笔充值在账户余额中，请在柜台退款 / paid into the wallet: refund it at the counter")
        await billing.refund(
            credit["meter_entity_id"], order.amount_fen, self.method, order.ledger_key("refund"),
            operator, reason or f"{self.refund_reason} {out_trade_no}",
        )
        answer = await self._refund_at_gateway(order)
        await self.store.record_refunded(out_trade_no, order.amount_fen)
        return answer


def _result_ids(result: dict[str, Any] | None) -> tuple[int | None, str | None]:
    """Pick transaction id and receipt number out of billing's answer."""
    transaction = (result or {}).get("transaction") or {}
    return transaction.get("id"), transaction.get("receipt_no")
