"""Async client of the ACP gateway: signed front forms for phones, QR codes, queries and refunds; every answer
verified against UnionPay's certificate chain."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.topup.const import BEIJING_TZ
from scada_core.clock import Clock
from scada_core.exceptions import OpenPrepayError

from .certs import TrustChain, cert_id
from .const import (
    ACCESS_MERCHANT,
    BACK_TRANS_PATH,
    BIZ_GATEWAY,
    BIZ_QR,
    CHANNEL_MOBILE,
    CURRENCY_CNY,
    ENCODING,
    FRONT_TRANS_PATH,
    QUERY_TRANS_PATH,
    SIGN_METHOD_RSA,
    SUB_CONSUME,
    SUB_NONE,
    SUB_QR_APPLY,
    TIME_FORMAT,
    TXN_CONSUME,
    TXN_QUERY,
    TXN_REFUND,
    VERSION,
)
from .signing import sign_params
from .verify import refusal

if TYPE_CHECKING:
    from integrations.topup.orders import Order

_LOGGER = logging.getLogger(__name__)
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=15)


class UnionPayError(OpenPrepayError):
    """The gateway could not be reached or answered with something UnionPay did not sign for us."""


@dataclass(slots=True)
class UnionPaySettings:
    """One merchant's access (URLs filled in once the web server listens)."""

    mer_id: str
    gateway: str
    notify_url: str
    return_url: str | None
    front_url: str  # our page holding an order's signed form ({out_trade_no} in it)
    bounce_url: str  # frontUrl without its query: where the cashier sends the browser back
    sign_key: rsa.RSAPrivateKey
    sign_cert: x509.Certificate
    chain: TrustChain


def parse_answer(raw: str) -> dict[str, str]:
    """Read a synchronous answer: ``key=value`` pairs joined by '&', values as sent (not URL-encoded)."""
    answer: dict[str, str] = {}
    for pair in raw.strip().split("&"):
        key, sep, value = pair.partition("=")
        if not sep or key in answer:
            raise UnionPayError("unreadable answer")
        answer[key] = value
    return answer


def format_answer(params: dict[str, str]) -> str:
    """Write a synchronous answer as the gateway does (the sandbox's side of ``parse_answer``)."""
    return "&".join(f"{k}={v}" for k, v in params.items())


class UnionPayClient:
    """Build signed requests and verify the gateway's signed answers."""

    def __init__(self, settings: UnionPaySettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self.settings = settings
        self._session = session
        self._clock = clock
        self._tz = ZoneInfo(BEIJING_TZ)

    def txn_time(self, timestamp: float) -> str:
        """Return an order's txnTime: Beijing time yyyyMMddHHmmss."""
        return datetime.fromtimestamp(timestamp, self._tz).strftime(TIME_FORMAT)

    def _common(self, order_id: str, txn_time: str, txn_type: str, sub_type: str, biz_type: str) -> dict[str, str]:
        return {
            "version": VERSION, "encoding": ENCODING, "signMethod": SIGN_METHOD_RSA,
            "certId": cert_id(self.settings.sign_cert), "txnType": txn_type, "txnSubType": sub_type,
            "bizType": biz_type, "accessType": ACCESS_MERCHANT, "merId": self.settings.mer_id,
            "orderId": order_id, "txnTime": txn_time,
        }

    def _consume(self, order: Order, sub_type: str, biz_type: str) -> dict[str, str]:
        params = self._common(order.out_trade_no, self.txn_time(order.created_ts), TXN_CONSUME, sub_type, biz_type)
        params.update({"channelType": CHANNEL_MOBILE, "currencyCode": CURRENCY_CNY, "txnAmt": str(order.amount_fen),
                       "backUrl": self.settings.notify_url, "payTimeout": self.txn_time(order.expire_ts)})
        return params

    def front_form(self, order: Order, front_url: str) -> tuple[str, dict[str, str]]:
        """Return (action URL, signed fields) of the form the phone's browser posts to start paying."""
        params = self._consume(order, SUB_CONSUME, BIZ_GATEWAY)
        params["frontUrl"] = front_url
        return f"{self.settings.gateway}{FRONT_TRANS_PATH}", sign_params(params, self.settings.sign_key)

    async def qr_apply(self, order: Order) -> dict[str, str]:
        """Ask for the QR code of a consume (主扫); the answer holds ``qrCode``."""
        return await self.call(BACK_TRANS_PATH, self._consume(order, SUB_QR_APPLY, BIZ_QR))

    async def query(self, order: Order) -> dict[str, str]:
        """Ask for an order's state (origRespCode, txnAmt, queryId)."""
        biz = BIZ_QR if order.channel == "qr" else BIZ_GATEWAY
        return await self.call(QUERY_TRANS_PATH, self._common(
            order.out_trade_no, self.txn_time(order.created_ts), TXN_QUERY, SUB_NONE, biz))

    async def refund(self, order: Order, refund_order_id: str) -> dict[str, str]:
        """Refund a paid order in full (退货), naming it by the queryId UnionPay gave it."""
        biz = BIZ_QR if order.channel == "qr" else BIZ_GATEWAY
        params = self._common(refund_order_id, self.txn_time(self._clock.timestamp()), TXN_REFUND, SUB_NONE, biz)
        params.update({"channelType": CHANNEL_MOBILE, "origQryId": order.trade_no or "",
                       "txnAmt": str(order.amount_fen), "currencyCode": CURRENCY_CNY,
                       "backUrl": self.settings.notify_url})
        return await self.call(BACK_TRANS_PATH, params)

    async def call(self, path: str, params: dict[str, str]) -> dict[str, str]:
        """POST one signed request form; return the answer once it is proven UnionPay's and ours."""
        signed = sign_params(params, self.settings.sign_key)
        try:
            async with self._session.post(f"{self.settings.gateway}{path}", data=signed,
                                          timeout=REQUEST_TIMEOUT) as resp:
                raw = await resp.text(encoding=ENCODING)
        except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as err:
            raise UnionPayError(f"{path}: gateway unreachable: {err}") from err
        answer = parse_answer(raw)
        refused = refusal(answer, self.settings.chain, self._clock.utcnow(), self.settings.mer_id)
        if refused is not None:
            raise UnionPayError(f"{path}: answer refused: {refused[1]} ({answer.get('respCode')})")
        return answer
