"""POST /api/wechatpay/notify: verify the raw body's signature, decrypt the resource, check, credit once."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from scada_core.http import View

from .aead import decrypt
from .const import (
    ALGORITHM_AES_GCM,
    CODE_FAIL,
    NOTIFY_PATH,
    PROVIDER,
    SEC_AMOUNT_MISMATCH,
    SEC_BAD_CIPHERTEXT,
    SEC_BAD_STATUS,
    SEC_MALFORMED,
    SEC_UNKNOWN_ORDER,
    SOURCE_NOTIFY,
    TRADE_SUCCESS,
)
from .payments import merchant_mismatch, paid_total
from .verifier import SignatureError, WeChatPayVerifier

if TYPE_CHECKING:
    from integrations.topup.orders import Order
    from scada_core.core import Core

    from .payments import WeChatPayments

_LOGGER = logging.getLogger(__name__)


class Refused(Exception):
    """A notification to refuse: security event ``kind`` with ``detail``."""

    def __init__(self, kind: str, detail: str, reference: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.reference = reference


def fail_response(message: str, status: int) -> web.Response:
    """Return ``{"code":"FAIL","message":…}`` with a 4xx/5xx status (WeChat Pay will notify again)."""
    return web.json_response({"code": CODE_FAIL, "message": message}, status=status)


def open_resource(body: bytes, apiv3_key: bytes) -> dict[str, Any]:
    """Return the decrypted transaction of a notification body; raise Refused when unreadable or tampered."""
    try:
        envelope = json.loads(body)
        resource = envelope["resource"]
        algorithm, nonce = resource["algorithm"], resource["nonce"]
        ciphertext, aad = resource["ciphertext"], resource.get("associated_data") or ""
    except (ValueError, KeyError, TypeError) as err:
        raise Refused(SEC_MALFORMED, f"not a notification envelope: {err!r}") from None
    if algorithm != ALGORITHM_AES_GCM or not all(isinstance(v, str) for v in (nonce, ciphertext, aad)):
        raise Refused(SEC_MALFORMED, f"resource algorithm {algorithm!r} or fields unusable")
    try:
        plaintext = decrypt(apiv3_key, nonce, aad, ciphertext)
    except ValueError:
        raise Refused(SEC_BAD_CIPHERTEXT, "resource does not decrypt with the APIv3 key") from None
    try:
        transaction = json.loads(plaintext)
    except ValueError:
        raise Refused(SEC_MALFORMED, "decrypted resource is not JSON") from None
    if not isinstance(transaction, dict):
        raise Refused(SEC_MALFORMED, "decrypted resource is not an object")
    return transaction


class WeChatNotifyView(View):
    """WeChat Pay's payment notification (TRANSACTION.SUCCESS)."""

    url = NOTIFY_PATH
    name = "wechatpay:notify"
    tag = "wechatpay"
    public = True  # signed by the gateway, checked here
    openapi = {
        "post": {
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "204": {"description": "the payment is recorded and credited (or was already)"},
                "400": {"description": '{"code":"FAIL"}: malformed, mismatched or unknown order (logged)'},
                "401": {"description": '{"code":"FAIL"}: bad, stale or probe signature (logged)'},
                "503": {"description": '{"code":"FAIL"}: paid but not credited yet (WeChat Pay retries)'},
            },
        }
    }

    def __init__(
        self, core: Core, payments: WeChatPayments, verifier: WeChatPayVerifier, apiv3_key: bytes
    ) -> None:
        super().__init__(core)
        self.payments = payments
        self.verifier = verifier
        self.apiv3_key = apiv3_key

    async def post(self, request: web.Request) -> web.Response:
        """Receive a payment notification (signed over the raw body, resource AES-256-GCM encrypted)."""
        remote = request.remote
        body = await request.read()
        try:
            await self.verifier.async_verify(request.headers, body)
        except SignatureError as err:
            await self.payments.store.security_event(SOURCE_NOTIFY, err.kind, str(err), remote, None)
            return fail_response(f"signature refused: {err.kind}", 401)
        try:
            transaction = open_resource(body, self.apiv3_key)
            order = await self._check(transaction)
        except Refused as err:
            await self.payments.store.security_event(SOURCE_NOTIFY, err.kind, str(err), remote, err.reference)
            return fail_response(f"refused: {err.kind}", 400)
        credited = await self.payments.settle_notified(
            order, transaction.get("transaction_id"), remote, SOURCE_NOTIFY, _envelope_id(body)
        )
        if not credited:
            return fail_response("paid but not credited yet", 503)
        return web.Response(status=204)

    async def _check(self, transaction: dict[str, Any]) -> Order:
        """Return our order the transaction pays; raise Refused on any mismatch."""
        out_trade_no = transaction.get("out_trade_no")
        reference = str(out_trade_no)[:64] if out_trade_no else None
        mismatch = merchant_mismatch(transaction, self.payments.client.settings)
        if mismatch is not None:
            raise Refused(*mismatch, reference)
        order = await self.payments.store.get(out_trade_no) if isinstance(out_trade_no, str) else None
        if order is None or order.provider != PROVIDER:
            raise Refused(SEC_UNKNOWN_ORDER, "no such WeChat Pay order", reference)
        if paid_total(transaction) != order.amount_fen:
            raise Refused(
                SEC_AMOUNT_MISMATCH,
                f"amount {transaction.get('amount')!r} vs order {order.amount_fen} fen",
                reference,
            )
        if transaction.get("trade_state") != TRADE_SUCCESS:
            raise Refused(SEC_BAD_STATUS, f"trade_state {transaction.get('trade_state')!r}", reference)
        return order


def _envelope_id(body: bytes) -> str | None:
    """Return the notification's id (for the log of repeats)."""
    try:
        return str(json.loads(body).get("id"))
    except (ValueError, AttributeError):
        return None
