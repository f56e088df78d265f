"""UnionPay's web endpoints: the back notification (backUrl), the phone's signed front form, and frontUrl."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from integrations.topup.const import RETURN_PATH, RETURN_REF, SEC_AMOUNT_MISMATCH, STATE_PENDING
from integrations.topup.forms import parse_form
from integrations.topup.logsafe import shown
from scada_core.http import View

from .const import (
    CURRENCY_CNY,
    FRONT_PATH,
    MAX_NOTIFY_BYTES,
    NOTIFY_FAILURE,
    NOTIFY_OK,
    NOTIFY_PATH,
    RESP_SUCCESS,
    RETURN_PATH as FRONT_RETURN_PATH,
    SEC_BAD_STATUS,
    SEC_MALFORMED,
    SEC_UNKNOWN_ORDER,
    TXN_CONSUME,
    TXN_REFUND,
)
from .payments import amount_fen
from .verify import refusal

if TYPE_CHECKING:
    from scada_core.core import Core

    from .payments import UnionPayPayments

SOURCE = "unionpay_notify"


class NotifyView(View):
    """UnionPay's back notification of a consume (or of a refund, acknowledged only)."""

    url = NOTIFY_PATH
    name = "unionpay:notify"
    tag = "unionpay"
    public = True  # signed by UnionPay's certificate, checked here
    openapi = {
        "post": {
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "`ok` once the payment is recorded and credited"},
                "400": {"description": "`failure`: forged or mismatched notification (logged)"},
                "503": {"description": "paid but not credited yet: UnionPay sends it again"},
            },
        }
    }

    def __init__(self, core: Core, payments: UnionPayPayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def _refuse(self, kind: str, detail: str, remote: str | None, reference: str | None) -> web.Response:
        await self.payments.store.security_event(SOURCE, kind, detail, remote, reference)
        return web.Response(text=NOTIFY_FAILURE, status=400, content_type="text/plain")

    async def post(self, request: web.Request) -> web.Response:
        """Verify the certificate chain and the signature, match our order and amount, credit once."""
        remote = request.remote
        body = await request.content.read(MAX_NOTIFY_BYTES + 1)
        form = parse_form(body) if len(body) <= MAX_NOTIFY_BYTES else None
        if form is None:
            return await self._refuse(SEC_MALFORMED, f"not a UTF-8 form with single values ({len(body)} bytes)",
                                      remote, None)
        settings = self.payments.client.settings
        refused = refusal(form, settings.chain, self.core.clock.utcnow(), settings.mer_id)
        if refused is not None:  # nothing of an unproven body is logged
            return await self._refuse(*refused, remote, None)
        order_id = form.get("orderId")
        if form.get("txnType") == TXN_REFUND:
            return self._ok()
        order = await self.payments.store.get(order_id) if order_id else None
        if order is None or order.provider != self.payments.name:
            return await self._refuse(SEC_UNKNOWN_ORDER, "no such UnionPay order", remote, order_id)
        if amount_fen(form.get("txnAmt")) != order.amount_fen or form.get("currencyCode") != CURRENCY_CNY:
            return await self._refuse(
                SEC_AMOUNT_MISMATCH, f"txnAmt {shown(form.get('txnAmt'))} vs order {order.amount_fen} fen",
                remote, order_id)
        if form.get("txnType") != TXN_CONSUME or form.get("respCode") != RESP_SUCCESS:
            return await self._refuse(SEC_BAD_STATUS, f"txnType {shown(form.get('txnType'))} respCode "
                                      f"{shown(form.get('respCode'))}", remote, order_id)
        if not await self.payments.settle_notified(order, form.get("queryId"), remote, SOURCE, form.get("queryId")):
            return web.Response(text=NOTIFY_FAILURE, status=503, content_type="text/plain")
        return self._ok()

    @staticmethod
    def _ok() -> web.Response:
        return web.Response(text=NOTIFY_OK, content_type="text/plain")


class FrontFormView(View):
    """The page that posts a pending order's signed consume form to UnionPay's front gateway (the phone's way)."""

    url = FRONT_PATH
    name = "unionpay:front"
    tag = "unionpay"
    public = True  # the order's signed reference is the key
    openapi = {"get": {"parameters": [{"name": "ref", "in": "query", "required": True, "schema": {"type": "string"}}],
                       "responses": {"200": {"description": "the form to UnionPay"},
                                     "403": {"description": "wrong reference"},
                                     "409": {"description": "the order is no longer waiting for payment"}}}}

    def __init__(self, core: Core, payments: UnionPayPayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def get(self, request: web.Request) -> web.Response:
        """Render the signed form for the order its reference names."""
        site: Any = self.core.data["tenant"]
        t = site.t(request)
        out_trade_no = request.match_info["out_trade_no"]
        reference = request.query.get(RETURN_REF, "")
        store = self.payments.store
        order = await store.get(out_trade_no)
        if order is None or order.provider != self.payments.name or not await store.references.verify(
                out_trade_no, reference):
            raise web.HTTPForbidden(text=t["forbidden"])
        if order.state != STATE_PENDING or self.core.clock.timestamp() >= order.expire_ts:
            raise web.HTTPConflict(text=t["order_expired"])
        query = urlencode({"out_trade_no": out_trade_no, RETURN_REF: reference})
        front_url = f"{self.payments.client.settings.bounce_url}?{query}"
        action, fields = self.payments.client.front_form(order, front_url)
        return site.render(request, "unionpay_front.html", order=order, action=action, fields=fields)


class FrontReturnView(View):
    """frontUrl: UnionPay's cashier sends the browser back here (a POST); it goes on to the return page, which
    reads only our order table."""

    url = FRONT_RETURN_PATH
    name = "unionpay:front_return"
    tag = "unionpay"
    public = True
    openapi = {method: {"responses": {"303": {"description": "to the top-up return page"}}}
               for method in ("get", "post")}

    async def get(self, request: web.Request) -> web.Response:
        """Send the browser on to the return page with the order and its reference (nothing else passes)."""
        kept = {k: request.query[k] for k in ("out_trade_no", RETURN_REF) if k in request.query}
        raise web.HTTPSeeOther(f"{RETURN_PATH}?{urlencode(kept)}")

    post = get
