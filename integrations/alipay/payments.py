"""Alipay's top-up orders: wap.pay on phones, precreate QR at the kiosk, query/close sweeps, refunds."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from integrations.topup.const import CHANNEL_QR, CHANNEL_WAP
from integrations.topup.errors import TopUpError
from integrations.topup.money import yuan_to_fen
from integrations.topup.payments import TopUpPayments

from .client import AlipayClient, AlipayError
from .const import (
    CODE_SUCCESS,
    EVENT_PAYMENT_CREDITED,
    LABELS,
    PAID_STATUSES,
    PAYMENT_METHOD,
    PROVIDER_ALIPAY,
    SCAN_PROMPTS,
    SUB_TRADE_HAS_CLOSE,
    SUB_TRADE_NOT_EXIST,
    TRADE_CLOSED,
)

if TYPE_CHECKING:
    from integrations.topup.limits import TopUpLimits
    from integrations.topup.orders import Order, OrderStore
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)

SOURCE = "alipay"


class AlipayPayments(TopUpPayments):
    """The Alipay integration's service object (``core.data['alipay']``)."""

    name = PROVIDER_ALIPAY
    label = "Alipay"
    labels = LABELS
    scan_prompts = SCAN_PROMPTS
    refund_reason = "支付宝退款"
    method = PAYMENT_METHOD
    credited_event = EVENT_PAYMENT_CREDITED
    source = SOURCE
    gateway_error = AlipayError

    def __init__(self, core: Core, client: AlipayClient, store: OrderStore, limits: TopUpLimits) -> None:
        super().__init__(core, store, limits)
        self.client = client

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        """Store a PENDING order and return it with the wap.pay URL for the phone's browser."""
        order = await self._new_order(account_id, amount_fen, CHANNEL_WAP, meter_entity_id)
        url = self.client.wap_pay_url(
            order.out_trade_no, amount_fen, order.subject, self.limits.timeout_s // 60, quit_url,
            await self.return_url(order),
        )
        return order, url

    async def create_qr_order(self, account_id: int, amount_fen: int, meter_entity_id: str | None = None) -> Order:
        """Store a PENDING order, precreate it at the gateway and return it with its ``qr_code``."""
        order = await self._new_order(account_id, amount_fen, CHANNEL_QR, meter_entity_id)
        answer = await self.client.precreate(
            order.out_trade_no, amount_fen, order.subject, self.limits.timeout_s // 60
        )
        if answer.get("code") != CODE_SUCCESS or not answer.get("qr_code"):
            await self.store.record_closed(order.out_trade_no)
            raise TopUpError(f"支付宝下单失败: {answer.get('sub_msg') or answer.get('msg')}")
        await self.store.set_qr_code(order.out_trade_no, answer["qr_code"])
        return await self.store.get(order.out_trade_no)  # type: ignore[return-value]

    async def _query_one(self, order: Order, now: float) -> None:
        answer = await self.client.query(order.out_trade_no)
        status = answer.get("trade_status")
        if answer.get("code") == CODE_SUCCESS and status in PAID_STATUSES:
            try:
                paid_fen = yuan_to_fen(answer.get("total_amount", ""))
            except ValueError:
                paid_fen = -1
            await self.settle_queried(order, paid_fen, answer.get("trade_no"), str(answer.get("total_amount")))
            return
        if status == TRADE_CLOSED:
            await self.store.record_closed(order.out_trade_no)
            return
        if now >= order.expire_ts:
            await self.close(order)

    async def close(self, order: Order) -> None:
        """Close an expired order at the gateway, then here."""
        answer = await self.client.close(order.out_trade_no)
        if answer.get("code") == CODE_SUCCESS or answer.get("sub_code") in (SUB_TRADE_NOT_EXIST, SUB_TRADE_HAS_CLOSE):
            await self.store.record_closed(order.out_trade_no)
            _LOGGER.info("Closed expired order %s", order.out_trade_no)
        else:
            _LOGGER.warning("Close of %s refused: %s", order.out_trade_no, answer.get("sub_code"))

    async def _refund_at_gateway(self, order: Order) -> dict[str, Any]:
        answer = await self.client.refund(order.out_trade_no, order.amount_fen, f"{order.out_trade_no}R")
        if answer.get("code") != CODE_SUCCESS:
            raise TopUpError(f"支付宝退款失败: {answer.get('sub_msg') or answer.get('msg')}")
        return {"out_trade_no": order.out_trade_no, "refund_fee": answer.get("refund_fee"),
                "fund_change": answer.get("fund_change")}
