"""POST /api/alipay/notify: verify, check against our order, credit once, answer `success` after commit."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from integrations.topup.const import SEC_AMOUNT_MISMATCH
from integrations.topup.forms import parse_form
from integrations.topup.logsafe import shown
from integrations.topup.money import yuan_to_fen
from scada_core.http import View

from .const import (
    NOTIFY_FAILURE,
    NOTIFY_PATH,
    NOTIFY_SUCCESS,
    PAID_STATUSES,
    SEC_APP_ID_MISMATCH,
    SEC_BAD_SIGNATURE,
    SEC_BAD_STATUS,
    SEC_SELLER_MISMATCH,
    SEC_UNKNOWN_ORDER,
    TRADE_CLOSED,
    TRADE_WAIT,
)
from .signing import verify_notify

if TYPE_CHECKING:
    from Crypto.PublicKey import RSA

    from scada_core.core import Core

    from .payments import AlipayPayments


SOURCE = "alipay_notify"
SEC_MALFORMED = "malformed"


class NotifyView(View):
    """Alipay's asynchronous payment notification."""

    url = NOTIFY_PATH
    name = "alipay:notify"
    tag = "alipay"
    public = True  # signed by the gateway, checked here
    openapi = {
        "post": {
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "`success` once the payment is recorded and credited"},
                "400": {"description": "`failure`: forged or mismatched notification (logged)"},
            },
        }
    }

    def __init__(
        self, core: Core, payments: AlipayPayments, app_id: str, seller_id: str, alipay_key: RSA.RsaKey
    ) -> None:
        super().__init__(core)
        self.payments = payments
        self.app_id = app_id
        self.seller_id = seller_id
        self.alipay_key = alipay_key

    async def _refuse(self, kind: str, detail: str, remote: str | None, reference: str | None) -> web.Response:
        await self.payments.store.security_event(SOURCE, kind, detail, remote, reference)
        return web.Response(text=NOTIFY_FAILURE, status=400, content_type="text/plain")

    async def post(self, request: web.Request) -> web.Response:
        """Receive a payment notification (form-encoded, RSA2-signed by Alipay)."""
        remote = request.remote
        body = await request.read()
        form = parse_form(body)
        if form is None:
            return await self._refuse(SEC_MALFORMED, "body is not a UTF-8 form with single values", remote, None)
        if not verify_notify(form, self.alipay_key):  # nothing of an unsigned body is logged
            return await self._refuse(SEC_BAD_SIGNATURE, f"signature does not verify ({len(body)} bytes)", remote,
                                      None)
        out_trade_no = form.get("out_trade_no")
        if form.get("app_id") != self.app_id:
            return await self._refuse(SEC_APP_ID_MISMATCH, f"app_id {shown(form.get('app_id'))}", remote,
                                      out_trade_no)
        if form.get("seller_id") != self.seller_id:
            return await self._refuse(SEC_SELLER_MISMATCH, f"seller_id {shown(form.get('seller_id'))}", remote,
                                      out_trade_no)
        order = await self.payments.store.get(out_trade_no) if out_trade_no else None
        if order is None or order.provider != self.payments.name:
            return await self._refuse(SEC_UNKNOWN_ORDER, "no such Alipay order", remote, out_trade_no)
        try:
            amount_fen = yuan_to_fen(form.get("total_amount", ""))
        except ValueError:
            amount_fen = -1
        if amount_fen != order.amount_fen:
            return await self._refuse(
                SEC_AMOUNT_MISMATCH,
                f"total_amount {shown(form.get('total_amount'))} vs order {order.amount_fen} fen",
                remote, out_trade_no,
            )
        status = form.get("trade_status")
        if status == TRADE_WAIT:
            return self._success()
        if status == TRADE_CLOSED:
            await self.payments.store.record_closed(order.out_trade_no)
            return self._success()
        if status not in PAID_STATUSES:
            return await self._refuse(SEC_BAD_STATUS, f"trade_status {shown(status)}", remote, out_trade_no)
        credited = await self.payments.settle_notified(order, form.get("trade_no"), remote, SOURCE,
                                                       form.get("notify_id"))
        if not credited:
            return web.Response(text=NOTIFY_FAILURE, status=503, content_type="text/plain")
        return self._success()

    @staticmethod
    def _success() -> web.Response:
        return web.Response(text=NOTIFY_SUCCESS, content_type="text/plain")
