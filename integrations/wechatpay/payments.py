"""WeChat Pay top-ups: H5 (phone) and Native (kiosk QR) orders, the query/close sweep and refunds."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from integrations.topup.const import CHANNEL_QR, CHANNEL_WAP
from integrations.topup.errors import TopUpError
from integrations.topup.limits import TopUpLimits
from integrations.topup.orders import Order, OrderStore
from integrations.topup.payments import TopUpPayments

from .client import WeChatPayClient, WeChatPayError, WeChatPaySettings
from .const import (
    CODE_ORDER_NOT_EXIST,
    CODE_ORDER_PAID,
    DEAD_STATES,
    EVENT_PAYMENT_CREDITED,
    LABEL,
    LABELS,
    MAX_DESCRIPTION,
    PAYMENT_METHOD,
    PROVIDER,
    REFUND_ACCEPTED,
    REFUND_REASON,
    SCAN_PROMPTS,
    SEC_APPID_MISMATCH,
    SEC_MCHID_MISMATCH,
    SOURCE,
    TRADE_SUCCESS,
)

if TYPE_CHECKING:
    from scada_core.core import Core

    from .certificates import CertificateKeeper

_LOGGER = logging.getLogger(__name__)

LOCAL_IP = "127.0.0.1"


def paid_total(transaction: dict[str, Any]) -> int:
    """Return ``amount.total`` of a transaction in fen, or -1 when it is not an integer."""
    amount = transaction.get("amount")
    total = amount.get("total") if isinstance(amount, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else -1


def merchant_mismatch(transaction: dict[str, Any], settings: WeChatPaySettings) -> tuple[str, str] | None:
    """Return (security event kind, detail) when a transaction names another merchant or app, else None."""
    if transaction.get("mchid") != settings.mchid:
        return SEC_MCHID_MISMATCH, f"mchid {transaction.get('mchid')!r}"
    if transaction.get("appid") != settings.appid:
        return SEC_APPID_MISMATCH, f"appid {transaction.get('appid')!r}"
    return None


class WeChatPayments(TopUpPayments):
    """The WeChat Pay integration's service object (``core.data['wechatpay']``)."""

    name = PROVIDER
    label = LABEL
    labels = LABELS
    scan_prompts = SCAN_PROMPTS
    refund_reason = REFUND_REASON
    method = PAYMENT_METHOD
    credited_event = EVENT_PAYMENT_CREDITED
    source = SOURCE
    gateway_error = WeChatPayError

    def __init__(self, core: Core, client: WeChatPayClient, store: OrderStore, limits: TopUpLimits) -> None:
        super().__init__(core, store, limits)
        self.client = client
        self.certificates: CertificateKeeper | None = None  # keeps the platform certificates in auto mode

    def _subject(self, account_id: int) -> str:
        return super()._subject(account_id)[:MAX_DESCRIPTION]

    async def _refused(self, order: Order, err: WeChatPayError) -> TopUpError:
        """Close our copy of an order the gateway would not create; return the error for the tenant."""
        await self.store.record_closed(order.out_trade_no)
        _LOGGER.warning("WeChat Pay refused order %s: %s", order.out_trade_no, err)
        return TopUpError(f"微信支付下单失败 / WeChat Pay refused the order: {err.code or err}")

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        """Store a PENDING order, create it as an H5 order, return it with the h5_url (plus redirect_url)."""
        order = await self._new_order(account_id, amount_fen, CHANNEL_WAP, meter_entity_id)
        try:
            h5_url = await self.client.h5(
                order.out_trade_no, amount_fen, order.subject, order.expire_ts, payer_ip or LOCAL_IP
            )
        except WeChatPayError as err:
            raise await self._refused(order, err) from err
        return order, self.client.h5_redirect(h5_url, await self.return_url(order))

    async def create_qr_order(self, account_id: int, amount_fen: int, meter_entity_id: str | None = None) -> Order:
        """Store a PENDING order, create it as a Native order, return it with its code_url as ``qr_code``."""
        order = await self._new_order(account_id, amount_fen, CHANNEL_QR, meter_entity_id)
        try:
            code_url = await self.client.native(
                order.out_trade_no, amount_fen, order.subject, order.expire_ts
            )
        except WeChatPayError as err:
            raise await self._refused(order, err) from err
        await self.store.set_qr_code(order.out_trade_no, code_url)
        return await self.store.get(order.out_trade_no)  # type: ignore[return-value]

    async def _query_one(self, order: Order, now: float) -> None:
        try:
            answer = await self.client.query(order.out_trade_no)
        except WeChatPayError as err:
            if err.code != CODE_ORDER_NOT_EXIST:
                raise
            if now >= order.expire_ts:
                await self.store.record_closed(order.out_trade_no)
            return
        state = answer.get("trade_state")
        if state == TRADE_SUCCESS:
            mismatch = merchant_mismatch(answer, self.client.settings)
            if mismatch is not None:
                await self.store.security_event(self.source, *mismatch, None, order.out_trade_no)
                return
            total = paid_total(answer)
            await self.settle_queried(order, total, answer.get("transaction_id"), f"{total} fen")
            return
        if state in DEAD_STATES:
            await self.store.record_closed(order.out_trade_no)
            return
        if now >= order.expire_ts:
            await self.close(order)

    async def close(self, order: Order) -> None:
        """Close an expired order at the gateway, then here (a paid one is left for the next query)."""
        try:
            await self.client.close(order.out_trade_no)
        except WeChatPayError as err:
            if err.code == CODE_ORDER_PAID:
                _LOGGER.warning(
                    "Order %s was paid as it expired; the next query credits it", order.out_trade_no
                )
                return
            if err.code != CODE_ORDER_NOT_EXIST:
                raise
        await self.store.record_closed(order.out_trade_no)
        _LOGGER.info("Closed expired WeChat Pay order %s", order.out_trade_no)

    async def _refund_at_gateway(self, order: Order) -> dict[str, Any]:
        try:
            answer = await self.client.refund(
                order.out_trade_no,
                f"{order.out_trade_no}R",
                order.amount_fen,
                order.amount_fen,
                f"{REFUND_REASON} {order.out_trade_no}",
            )
        except WeChatPayError as err:
            raise TopUpError(f"微信支付退款失败 / refund refused: {err.code or err}") from err
        if answer.get("status") not in REFUND_ACCEPTED:
            raise TopUpError(f"微信支付退款失败 / refund {answer.get('status')}")
        return {
            "out_trade_no": order.out_trade_no,
            "refund_id": answer.get("refund_id"),
            "status": answer.get("status"),
            "refund_fen": (answer.get("amount") or {}).get("refund"),
        }
