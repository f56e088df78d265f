"""Async client of the Alipay open-platform gateway (gateway.do) with RSA2 signatures both ways."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
from Crypto.PublicKey import RSA

from integrations.topup.const import BEIJING_TZ, CHARSET
from integrations.topup.money import fen_to_yuan
from integrations.topup.signing import verify
from scada_core.clock import Clock
from scada_core.exceptions import OpenPrepayError

from .const import (
    FORMAT,
    METHOD_CLOSE,
    METHOD_PRECREATE,
    METHOD_QUERY,
    METHOD_REFUND,
    METHOD_WAP_PAY,
    PRODUCT_WAP,
    SIGN_TYPE,
    TIMESTAMP_FORMAT,
    VERSION,
)
from .signing import extract_signed_response, sign_params

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=15)


class AlipayError(OpenPrepayError):
    """The gateway could not be reached, refused us, or answered with a bad signature."""


@dataclass(slots=True)
class AlipaySettings:
    """What the client needs to talk to one merchant app (URLs may be filled in once the web server runs)."""

    app_id: str
    gateway: str
    notify_url: str
    return_url: str | None
    private_key: RSA.RsaKey
    alipay_public_key: RSA.RsaKey


def biz_json(biz: dict[str, Any]) -> str:
    """Return the compact JSON of biz_content (non-ASCII kept, as it is signed and sent)."""
    return json.dumps(biz, ensure_ascii=False, separators=(",", ":"))


class AlipayClient:
    """Build signed requests, call the gateway and verify its signed answers."""

    def __init__(self, settings: AlipaySettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self.settings = settings
        self._session = session
        self._clock = clock
        self._tz = ZoneInfo(BEIJING_TZ)

    def common_params(self, method: str, biz: dict[str, Any], return_url: str | None = None) -> dict[str, str]:
        """Return the unsigned common parameters plus biz_content for ``method``."""
        params = {
            "app_id": self.settings.app_id,
            "method": method,
            "format": FORMAT,
            "charset": CHARSET,
            "sign_type": SIGN_TYPE,
            "timestamp": self._clock.utcnow().astimezone(self._tz).strftime(TIMESTAMP_FORMAT),
            "version": VERSION,
            "notify_url": self.settings.notify_url,
            "biz_content": biz_json(biz),
        }
        if return_url:
            params["return_url"] = return_url
        return params

    def signed(self, params: dict[str, str]) -> dict[str, str]:
        """Return ``params`` with their RSA2 signature."""
        return sign_params(params, self.settings.private_key)

    def wap_pay_url(
        self, out_trade_no: str, amount_fen: int, subject: str, timeout_minutes: int, quit_url: str | None = None,
        return_url: str | None = None,
    ) -> str:
        """Return the gateway URL the phone's browser is sent to for alipay.trade.wap.pay (back to
        ``return_url`` after paying, to ``quit_url`` when the buyer gives up)."""
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "total_amount": fen_to_yuan(amount_fen),
            "subject": subject,
            "product_code": PRODUCT_WAP,
            "timeout_express": f"{timeout_minutes}m",
        }
        if quit_url:
            biz["quit_url"] = quit_url
        params = self.signed(self.common_params(METHOD_WAP_PAY, biz, return_url))
        return f"{self.settings.gateway}?{urlencode(params)}"

    async def precreate(self, out_trade_no: str, amount_fen: int, subject: str, timeout_minutes: int) -> dict[str, Any]:
        """Create a QR-code order (当面付); the answer holds ``qr_code``."""
        return await self.call(
            METHOD_PRECREATE,
            {
                "out_trade_no": out_trade_no,
                "total_amount": fen_to_yuan(amount_fen),
                "subject": subject,
                "timeout_express": f"{timeout_minutes}m",
            },
        )

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        """Ask for a trade's status (trade_status, total_amount, trade_no)."""
        return await self.call(METHOD_QUERY, {"out_trade_no": out_trade_no})

    async def refund(self, out_trade_no: str, amount_fen: int, out_request_no: str) -> dict[str, Any]:
        """Refund ``amount_fen`` of a paid trade; ``out_request_no`` makes a repeat a no-op."""
        return await self.call(
            METHOD_REFUND,
            {"out_trade_no": out_trade_no, "refund_amount": fen_to_yuan(amount_fen), "out_request_no": out_request_no},
        )

    async def close(self, out_trade_no: str) -> dict[str, Any]:
        """Close an unpaid trade."""
        return await self.call(METHOD_CLOSE, {"out_trade_no": out_trade_no})

    async def call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        """POST one server API call: common params in the query, biz_content in the form; verify the answer."""
        params = self.signed(self.common_params(method, biz))
        body = {"biz_content": params.pop("biz_content")}
        try:
            async with self._session.post(
                self.settings.gateway, params=params, data=body, timeout=REQUEST_TIMEOUT
            ) as resp:
                raw = await resp.text(encoding=CHARSET)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AlipayError(f"{method}: gateway unreachable: {err}") from err
        return self.parse_response(method, raw)

    def parse_response(self, method: str, raw: str) -> dict[str, Any]:
        """Verify the exact raw ``…_response`` substring against ``sign`` and return it parsed."""
        try:
            content, signature = extract_signed_response(raw, method)
        except (ValueError, json.JSONDecodeError) as err:
            raise AlipayError(f"{method}: unreadable answer") from err
        if content is None:
            raise AlipayError(f"{method}: answer has no response object")
        data: dict[str, Any] = json.loads(content)
        if signature is None:
            raise AlipayError(f"{method}: unsigned answer {data.get('code')} {data.get('sub_code', '')}".strip())
        if not verify(content, signature, self.settings.alipay_public_key):
            raise AlipayError(f"{method}: answer signature invalid")
        return data
