"""UnionPay's top-up orders: the front form on phones, the QR code at the kiosk, query sweeps, refunds."""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from integrations.topup.const import CHANNEL_QR, CHANNEL_WAP
from integrations.topup.errors import TopUpError
from integrations.topup.payments import TopUpPayments

from .client import UnionPayClient, UnionPayError
from .const import (
    AMOUNT_PATTERN,
    EVENT_PAYMENT_CREDITED,
    LABELS,
    PAYMENT_METHOD,
    PROVIDER_UNIONPAY,
    RESP_NOT_FOUND,
    RESP_SUCCESS,
    SCAN_PROMPTS,
)

if TYPE_CHECKING:
    from integrations.topup.limits import TopUpLimits
    from integrations.topup.orders import Order, OrderStore
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)
_AMOUNT = re.compile(AMOUNT_PATTERN)


def amount_fen(text: str | None) -> int:
    """Return a txnAmt in fen, or -1 when it is not a plain positive integer (never an exception)."""
    return int(text) if text is not None and _AMOUNT.fullmatch(text) else -1


class UnionPayPayments(TopUpPayments):
    """The UnionPay integration's service object (``core.data['unionpay']``)."""

    name = PROVIDER_UNIONPAY
    label = "UnionPay"
    labels = LABELS
    scan_prompts = SCAN_PROMPTS
    refund_reason = "银联退款"
    method = PAYMENT_METHOD
    credited_event = EVENT_PAYMENT_CREDITED
    source = PROVIDER_UNIONPAY
    gateway_error = UnionPayError

    def __init__(self, core: Core, client: UnionPayClient, store: OrderStore, limits: TopUpLimits) -> None:
        super().__init__(core, store, limits)
        self.client = client

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        """Store a PENDING order and return it with our page that posts its signed form to the gateway."""
        order = await self._new_order(account_id, amount_fen, CHANNEL_WAP, meter_entity_id)
        return order, await self.front_page_url(order)

    async def front_page_url(self, order: Order) -> str:
        """Return the URL of the page holding ``order``'s signed front form (named by its signed reference)."""
        reference = await self.store.references.sign(order.out_trade_no)
        return self.client.settings.front_url.format(out_trade_no=order.out_trade_no) + f"?ref={reference}"

    async def create_qr_order(self, account_id: int, amount_fen: int, meter_entity_id: str | None = None) -> Order:
        """Store a PENDING order, apply for its QR code at the gateway and return it with ``qr_code``."""
        order = await self._new_order(account_id, amount_fen, CHANNEL_QR, meter_entity_id)
        try:
            answer = await self.client.qr_apply(order)
        except UnionPayError as err:
            await self.store.record_closed(order.out_trade_no)
            raise TopUpError(f"银联下单失败 / UnionPay refused the order: {err}") from err
        if answer.get("respCode") != RESP_SUCCESS or not answer.get("qrCode"):
            await self.store.record_closed(order.out_trade_no)
            raise TopUpError(f"银联下单失败 / UnionPay refused the order: {answer.get('respMsg')}")
        await self.store.set_qr_code(order.out_trade_no, answer["qrCode"])
        return await self.store.get(order.out_trade_no)  # type: ignore[return-value]

    async def _query_one(self, order: Order, now: float) -> None:
        answer = await self.client.query(order)
        if answer.get("respCode") == RESP_SUCCESS and answer.get("origRespCode") == RESP_SUCCESS:
            await self.settle_queried(order, amount_fen(answer.get("txnAmt")), answer.get("queryId"),
                                      str(answer.get("txnAmt")))
            return
        if now >= order.expire_ts and answer.get("respCode") in (RESP_SUCCESS, RESP_NOT_FOUND):
            await self.close(order)

    async def close(self, order: Order) -> None:
        """Close an expired order here: ACP has no close, its payTimeout ends the order at the gateway."""
        await self.store.record_closed(order.out_trade_no)
        _LOGGER.info("Closed expired order %s", order.out_trade_no)

    async def _refund_at_gateway(self, order: Order) -> dict[str, Any]:
        try:
            answer = await self.client.refund(order, f"{order.out_trade_no}R")
        except UnionPayError as err:
            raise TopUpError(f"银联退款失败 / UnionPay refund failed: {err}") from err
        if answer.get("respCode") != RESP_SUCCESS:
            raise TopUpError(f"银联退款失败 / UnionPay refund failed: {answer.get('respMsg')}")
        return {"out_trade_no": order.out_trade_no, "refund_fee": order.amount_fen, "query_id": answer.get("queryId")}
