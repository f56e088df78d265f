"""Async client of the WeChat Pay API v3: signed JSON requests, every answer's signature verified."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import aiohttp
from Crypto.PublicKey import RSA

from integrations.topup.const import BEIJING_TZ
from scada_core.clock import Clock
from scada_core.exceptions import OpenPrepayError

from .const import (
    CHARSET,
    CURRENCY,
    H5_TYPE,
    PATH_BY_OUT_TRADE_NO,
    PATH_CLOSE,
    PATH_H5,
    PATH_NATIVE,
    PATH_REFUND,
)
from .signing import authorization, new_nonce
from .verifier import SignatureError, WeChatPayVerifier

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=15)
USER_AGENT = "OpenPrepay-WeChatPay/1.0"


class WeChatPayError(OpenPrepayError):
    """The gateway was unreachable, refused the call (``status``, ``code``) or signed its answer wrongly."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(slots=True)
class WeChatPaySettings:
    """What the client needs for one merchant (URLs may be filled in once the web server runs)."""

    mchid: str
    appid: str
    serial_no: str
    private_key: RSA.RsaKey
    gateway: str
    notify_url: str
    return_url: str | None


def body_json(body: dict[str, Any]) -> str:
    """Return the compact JSON that is both signed and sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def rfc3339(ts: float) -> str:
    """Return a Beijing-time RFC 3339 timestamp (``time_expire``)."""
    return datetime.fromtimestamp(ts, ZoneInfo(BEIJING_TZ)).isoformat(timespec="seconds")


class WeChatPayClient:
    """Build signed requests, call the gateway, verify its signed answers."""

    def __init__(
        self,
        settings: WeChatPaySettings,
        verifier: WeChatPayVerifier,
        session: aiohttp.ClientSession,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self._session = session
        self._clock = clock

    def _order_body(
        self, out_trade_no: str, amount_fen: int, description: str, expire_ts: float
    ) -> dict[str, Any]:
        return {
            "appid": self.settings.appid,
            "mchid": self.settings.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "time_expire": rfc3339(expire_ts),
            "notify_url": self.settings.notify_url,
            "amount": {"total": amount_fen, "currency": CURRENCY},
        }

    async def native(self, out_trade_no: str, amount_fen: int, description: str, expire_ts: float) -> str:
        """Create a Native (QR) order and return its ``code_url``."""
        answer = await self.request(
            "POST", PATH_NATIVE, body=self._order_body(out_trade_no, amount_fen, description, expire_ts)
        )
        if not answer.get("code_url"):
            raise WeChatPayError("native order: answer has no code_url")
        return str(answer["code_url"])

    async def h5(
        self, out_trade_no: str, amount_fen: int, description: str, expire_ts: float, payer_ip: str
    ) -> str:
        """Create an H5 order (a phone browser outside WeChat) and return its ``h5_url``."""
        body = self._order_body(out_trade_no, amount_fen, description, expire_ts)
        body["scene_info"] = {"payer_client_ip": payer_ip, "h5_info": {"type": H5_TYPE}}
        answer = await self.request("POST", PATH_H5, body=body)
        if not answer.get("h5_url"):
            raise WeChatPayError("h5 order: answer has no h5_url")
        return str(answer["h5_url"])

    @staticmethod
    def h5_redirect(h5_url: str, back: str | None) -> str:
        """Return ``h5_url`` with the ``redirect_url`` that brings the browser ``back`` to the order's page."""
        if not back:
            return h5_url
        sep = "&" if "?" in h5_url else "?"
        return f"{h5_url}{sep}redirect_url={quote(back, safe='')}"

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        """Return the transaction (trade_state, amount.total, transaction_id…); WeChatPayError 404 if none."""
        return await self.request(
            "GET",
            PATH_BY_OUT_TRADE_NO.format(out_trade_no=quote(out_trade_no)),
            query={"mchid": self.settings.mchid},
        )

    async def close(self, out_trade_no: str) -> None:
        """Close an unpaid order (204)."""
        await self.request(
            "POST", PATH_CLOSE.format(out_trade_no=quote(out_trade_no)), body={"mchid": self.settings.mchid}
        )

    async def refund(
        self, out_trade_no: str, out_refund_no: str, amount_fen: int, total_fen: int, reason: str
    ) -> dict[str, Any]:
        """Refund ``amount_fen`` of a paid order; ``out_refund_no`` makes a repeat a no-op."""
        return await self.request(
            "POST",
            PATH_REFUND,
            body={
                "out_trade_no": out_trade_no,
                "out_refund_no": out_refund_no,
                "reason": reason[:80],
                "amount": {"refund": amount_fen, "total": total_fen, "currency": CURRENCY},
            },
        )

    async def send(
        self, method: str, path: str, query: dict[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send one signed call; return (status, headers, raw body) unverified; WeChatPayError if down."""
        path_query = f"{path}?{urlencode(query)}" if query else path
        text = body_json(body) if body is not None else ""
        timestamp, nonce = str(int(self._clock.timestamp())), new_nonce()
        headers = {
            "Authorization": authorization(
                self.settings.mchid,
                self.settings.serial_no,
                self.settings.private_key,
                method,
                path_query,
                text,
                timestamp,
                nonce,
            ),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method,
                f"{self.settings.gateway}{path_query}",
                data=text.encode(CHARSET) if body is not None else None,
                headers=headers,
                timeout=REQUEST_TIMEOUT,
            ) as resp:
                return resp.status, resp.headers, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise WeChatPayError(f"{method} {path}: gateway unreachable: {err}") from err

    async def request(
        self, method: str, path: str, query: dict[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one signed call and return its verified JSON answer ({} for 204); WeChatPayError otherwise."""
        status, answer_headers, raw = await self.send(method, path, query, body)
        try:
            await self.verifier.async_verify(answer_headers, raw)
        except SignatureError as err:
            raise WeChatPayError(f"{method} {path}: answer refused ({err.kind}): {err}", status) from err
        return answer_data(method, path, status, raw)


def answer_data(method: str, path: str, status: int, raw: bytes) -> dict[str, Any]:
    """Return an answer's JSON object ({} when empty); WeChatPayError on an error status or non-JSON."""
    try:
        data = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise WeChatPayError(f"{method} {path}: unreadable answer", status) from err
    if not isinstance(data, dict):
        raise WeChatPayError(f"{method} {path}: answer is not a JSON object", status)
    if status >= 300:
        raise WeChatPayError(
            f"{method} {path}: {status} {data.get('code')} {data.get('message')}",
            status,
            data.get("code"),
        )
    return data
