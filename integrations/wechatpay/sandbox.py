"""WeChat Pay API v3 sandbox: signed JSON API (order, query, close, refund), pay page, encrypted notifies."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from Crypto.PublicKey import RSA

from integrations.topup.const import BEIJING_TZ
from integrations.topup.money import fen_to_yuan
from integrations.topup.sandbox import (
    NotifyPolicy,
    SandboxServer,
    add_sandbox_arguments,
    policy_from_arguments,
    serve_forever,
)
from integrations.topup.signing import load_private_key, load_public_key, sign

from .aead import encrypt
from .const import (
    ALGORITHM_AES_GCM,
    APIV3_KEY_FILE,
    CERT_ASSOCIATED_DATA,
    CERT_DAYS,
    CHARSET,
    CODE_ORDER_NOT_EXIST,
    CODE_ORDER_PAID,
    CODE_PARAM_ERROR,
    CODE_RESOURCE_NOT_EXISTS,
    CODE_SIGN_ERROR,
    CURRENCY,
    DEFAULT_KEYS_DIR,
    DEFAULT_SANDBOX_PORT,
    EVENT_TRANSACTION_SUCCESS,
    HEADER_NONCE,
    HEADER_SERIAL,
    HEADER_SIGNATURE,
    HEADER_SIGNATURE_TYPE,
    HEADER_TIMESTAMP,
    MAX_CLOCK_SKEW,
    MERCHANT_PUBLIC_PEM,
    ORIGINAL_TYPE,
    PATH_CERTIFICATES,
    PATH_H5,
    PATH_NATIVE,
    PATH_REFUND,
    RESOURCE_TYPE,
    SANDBOX_APPID,
    SANDBOX_MCHID,
    SANDBOX_PUBLIC_KEY_ID,
    SANDBOX_SERIAL_NO,
    SIGNATURE_TYPE,
    TRADE_CLOSED,
    TRADE_NOTPAY,
    TRADE_REFUND,
    TRADE_SUCCESS,
    WECHATPAY_PRIVATE_PEM,
)
from .keys import (
    PlatformCertificate,
    ensure_keys,
    load_platform_certificate,
    new_platform_certificate,
    read_text,
)
from .signing import answer_message, new_nonce, parse_authorization, verify_request
from .verifier import TIMESTAMP

OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
TRADE_TYPES = {PATH_NATIVE: "NATIVE", PATH_H5: "MWEB"}
PAY_PATH = "/sandbox/pay/{no}"

PAY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>微信支付沙箱</title>
<style>body{{font-family:sans-serif;max-width:420px;margin:2em auto;text-align:center}}
.amt{{font-size:2.4em;margin:.5em}}
button{{font-size:1.3em;padding:.6em 2em;background:#07c160;color:#fff;border:0;border-radius:6px}}</style>
</head><body><h2>微信支付沙箱</h2><p>{description}</p><p class="amt">¥ {amount}</p>
<form method="post" action="{action}"><input type="hidden" name="redirect_url" value="{redirect}">
<button type="submit" id="pay">确认支付</button></form><p><small>商户订单号 {no}</small></p></body></html>"""

DONE_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>支付成功</title></head>
<body><h2>支付成功</h2><p>¥ {amount}</p></body></html>"""

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[tuple[int, dict[str, Any] | None]]]
Signer = tuple[str, RSA.RsaKey]  # (the Wechatpay-Serial announced, the private key that signs under it)
TAMPER_SIGNATURE = "signature"
TAMPER_CIPHERTEXT = "ciphertext"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _flip(ciphertext: str) -> str:
    """Return ``ciphertext`` with its first character changed: the GCM tag must catch it."""
    return ("B" if ciphertext[0] == "A" else "A") + ciphertext[1:]


@dataclass
class SandboxTrade:
    """One order as the sandbox sees it (amounts in fen)."""

    out_trade_no: str
    appid: str
    mchid: str
    description: str
    total: int
    notify_url: str
    trade_type: str
    transaction_id: str
    trade_state: str = TRADE_NOTPAY
    success_time: str | None = None
    refunds: dict[str, int] = field(default_factory=dict)


class WeChatPaySandbox(SandboxServer):
    """An in-memory WeChat Pay API v3 for one merchant, in public-key or platform-certificate mode."""

    # ``certificates`` (oldest first) are served by GET /v3/certificates. In certificate mode answers and
    # notifications are signed under the newest, the certificate list itself under the oldest (the one every
    # merchant already trusts while a rotation overlaps). ``tamper_certificates`` spoils that list for tests.

    label = "WeChat Pay sandbox API"

    def __init__(
        self,
        merchant_public_key: RSA.RsaKey,
        wechatpay_private_key: RSA.RsaKey,
        apiv3_key: bytes,
        mchid: str = SANDBOX_MCHID,
        appid: str = SANDBOX_APPID,
        serial_no: str = SANDBOX_SERIAL_NO,
        public_key_id: str = SANDBOX_PUBLIC_KEY_ID,
        policy: NotifyPolicy | None = None,
        certificate: PlatformCertificate | None = None,
        certificate_mode: bool = False,
    ) -> None:
        super().__init__(policy)
        self.merchant_public_key = merchant_public_key
        self.wechatpay_private_key = wechatpay_private_key
        self.apiv3_key = apiv3_key
        self.mchid = mchid
        self.appid = appid
        self.serial_no = serial_no
        self.public_key_id = public_key_id
        self.trades: dict[str, SandboxTrade] = {}
        self.certificates: list[PlatformCertificate] = [certificate] if certificate is not None else []
        self.certificate_mode = certificate_mode
        self.tamper_certificates: str | None = None  # TAMPER_SIGNATURE or TAMPER_CIPHERTEXT
        self.certificate_downloads = 0
        for path in (PATH_NATIVE, PATH_H5):
            self.app.router.add_post(path, self._api(self._create))
        self.app.router.add_get("/v3/pay/transactions/out-trade-no/{no}", self._api(self._query))
        self.app.router.add_post("/v3/pay/transactions/out-trade-no/{no}/close", self._api(self._close))
        self.app.router.add_post(PATH_REFUND, self._api(self._refund))
        self.app.router.add_get(PATH_CERTIFICATES, self._api(self._certificates, self._list_signer))
        self.app.router.add_get(PAY_PATH, self.handle_pay_page)
        self.app.router.add_post(PAY_PATH, self.handle_pay)
        self._tz = ZoneInfo(BEIJING_TZ)

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_SANDBOX_PORT) -> str:
        """Serve on host:port (0 = any free port) and return the API base URL."""
        return await self.serve(host, port)

    def _rfc3339(self, moment: datetime) -> str:
        return moment.astimezone(self._tz).isoformat(timespec="seconds")

    def _now(self) -> str:
        return self._rfc3339(datetime.now(self._tz))

    def signer(self) -> Signer:
        """Return the serial and key answers and notifications are signed under now."""
        if self.certificate_mode and self.certificates:
            return self.certificates[-1].serial, self.certificates[-1].private_key
        return self.public_key_id, self.wechatpay_private_key

    def _list_signer(self) -> Signer:
        """Return the serial and key of the certificate list's signature: the oldest certificate."""
        if self.certificates:
            return self.certificates[0].serial, self.certificates[0].private_key
        return self.signer()

    def signed_headers(
        self,
        body: str,
        timestamp: str | None = None,
        signature: str | None = None,
        signer: Signer | None = None,
    ) -> dict[str, str]:
        """Return the Wechatpay-* headers signing ``body`` (tests override ``timestamp``/``signature``)."""
        timestamp = timestamp or str(int(time.time()))
        nonce = new_nonce()
        serial, key = signer or self.signer()
        return {
            HEADER_TIMESTAMP: timestamp,
            HEADER_NONCE: nonce,
            HEADER_SERIAL: serial,
            HEADER_SIGNATURE_TYPE: SIGNATURE_TYPE,
            HEADER_SIGNATURE: signature or sign(answer_message(timestamp, nonce, body), key),
        }

    def _answer(self, status: int, data: dict[str, Any] | None, signer: Signer | None = None) -> web.Response:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")) if data is not None else ""
        # only the certificate list names its signer: a tampered one is signed over another body
        forged = signer is not None and self.tamper_certificates == TAMPER_SIGNATURE
        headers = self.signed_headers(body + " " if forged else body, signer=signer)
        return web.Response(
            status=status,
            body=body.encode(CHARSET),
            headers=headers,
            content_type="application/json" if data is not None else None,
        )

    def _authorized(self, request: web.Request, body: str) -> str | None:
        """Return why our caller's Authorization is refused, or None when it verifies."""
        params = parse_authorization(request.headers.get("Authorization", ""))
        if params is None:
            return "Authorization 缺失或格式错误"
        if params.get("mchid") != self.mchid or params.get("serial_no") != self.serial_no:
            return "商户号或证书序列号不匹配"
        timestamp = params.get("timestamp", "")
        if not TIMESTAMP.fullmatch(timestamp) or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
            return "时间戳过期"
        if not verify_request(params, self.merchant_public_key, request.method, request.raw_path, body):
            return "签名错误"
        return None

    def _api(
        self, handler: Handler, signer: Callable[[], Signer] | None = None
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Wrap an API handler: check our signature (401 SIGN_ERROR), parse JSON, sign the answer."""

        async def wrapped(request: web.Request) -> web.Response:
            raw = await request.read()
            try:
                body = raw.decode(CHARSET)
            except UnicodeDecodeError:
                return self._answer(400, _error(CODE_PARAM_ERROR, "body is not UTF-8"))
            refused = self._authorized(request, body)
            if refused is not None:
                self.rejected_requests += 1
                return self._answer(401, _error(CODE_SIGN_ERROR, refused))
            try:
                data = json.loads(body) if body else {}
            except json.JSONDecodeError:
                return self._answer(400, _error(CODE_PARAM_ERROR, "body is not JSON"))
            if not isinstance(data, dict):
                return self._answer(400, _error(CODE_PARAM_ERROR, "body is not an object"))
            status, answer = await handler(request, data)
            return self._answer(status, answer, signer() if signer is not None else None)

        return wrapped

    def _order_problem(self, data: dict[str, Any], trade_type: str) -> str | None:
        """Return what is wrong with an order body, or None."""
        amount = data.get("amount")
        total = amount.get("total") if isinstance(amount, dict) else None
        if data.get("mchid") != self.mchid or data.get("appid") != self.appid:
            return "appid和mch_id不匹配"
        if not isinstance(data.get("out_trade_no"), str) or not OUT_TRADE_NO.match(data["out_trade_no"]):
            return "out_trade_no 格式错误"
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            return "amount.total 须为正整数（分）"
        if amount.get("currency", CURRENCY) != CURRENCY:  # type: ignore[union-attr]
            return "currency 须为 CNY"
        if not str(data.get("notify_url", "")).startswith(("http://", "https://")):
            return "notify_url 格式错误"
        if not data.get("description"):
            return "description 不能为空"
        scene = data.get("scene_info")
        if trade_type == "MWEB" and not (isinstance(scene, dict) and scene.get("payer_client_ip")):
            return "scene_info.payer_client_ip 缺失"
        return None

    async def _create(self, request: web.Request, data: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        trade_type = TRADE_TYPES[request.path]
        problem = self._order_problem(data, trade_type)
        if problem is not None:
            return 400, _error(CODE_PARAM_ERROR, problem)
        no = data["out_trade_no"]
        trade = self.trades.get(no)
        if trade is None:
            trade = SandboxTrade(
                out_trade_no=no,
                appid=data["appid"],
                mchid=data["mchid"],
                description=str(data["description"]),
                total=data["amount"]["total"],
                notify_url=data["notify_url"],
                trade_type=trade_type,
                transaction_id=datetime.now(self._tz).strftime("4200%Y%m%d") + secrets.token_hex(8),
            )
            self.trades[no] = trade
        elif trade.total != data["amount"]["total"]:
            return 400, _error("OUT_TRADE_NO_USED", "商户订单号重复")
        pay_url = f"{self.base_url}{PAY_PATH.format(no=no)}"
        if trade_type == "MWEB":
            return 200, {"h5_url": f"{pay_url}?prepay_id=wx{secrets.token_hex(12)}"}
        return 200, {"code_url": pay_url}

    async def _certificates(
        self, request: web.Request, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        self.certificate_downloads += 1
        if not self.certificates:  # like a merchant opened since 2024-09 (public-key mode only)
            return 404, _error(CODE_RESOURCE_NOT_EXISTS, "无可用的平台证书")
        items = []
        for certificate in self.certificates:
            nonce = secrets.token_hex(6)
            ciphertext = encrypt(self.apiv3_key, nonce, CERT_ASSOCIATED_DATA, certificate.pem.encode(CHARSET))
            if self.tamper_certificates == TAMPER_CIPHERTEXT:
                ciphertext = _flip(ciphertext)
            items.append(
                {
                    "serial_no": certificate.serial,
                    "effective_time": self._rfc3339(certificate.effective),
                    "expire_time": self._rfc3339(certificate.expire),
                    "encrypt_certificate": {
                        "algorithm": ALGORITHM_AES_GCM,
                        "nonce": nonce,
                        "associated_data": CERT_ASSOCIATED_DATA,
                        "ciphertext": ciphertext,
                    },
                }
            )
        return 200, {"data": items}

    async def rotate_certificate(self, days: int = CERT_DAYS) -> PlatformCertificate:
        """Issue a certificate (new key and serial) and sign under it from now on; the old stays listed."""
        certificate = await asyncio.get_running_loop().run_in_executor(None, new_platform_certificate, days)
        self.certificates.append(certificate)
        return certificate

    def transaction(self, trade: SandboxTrade) -> dict[str, Any]:
        """Return the transaction object of queries and notifications."""
        answer: dict[str, Any] = {
            "appid": trade.appid,
            "mchid": trade.mchid,
            "out_trade_no": trade.out_trade_no,
            "trade_type": trade.trade_type,
            "trade_state": trade.trade_state,
            "trade_state_desc": "支付成功" if trade.trade_state == TRADE_SUCCESS else trade.trade_state,
            "attach": "",
            "amount": {"total": trade.total, "currency": CURRENCY},
        }
        if trade.success_time is not None:
            answer.update(
                transaction_id=trade.transaction_id,
                bank_type="OTHERS",
                success_time=trade.success_time,
                payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            )
            answer["amount"].update(payer_total=trade.total, payer_currency=CURRENCY)
        return answer

    def _trade(self, request: web.Request) -> SandboxTrade | None:
        return self.trades.get(request.match_info["no"])

    async def _query(self, request: web.Request, data: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if request.query.get("mchid") != self.mchid:
            return 400, _error(CODE_PARAM_ERROR, "mchid 不匹配")
        trade = self._trade(request)
        if trade is None:
            return 404, _error(CODE_ORDER_NOT_EXIST, "订单不存在")
        return 200, self.transaction(trade)

    async def _close(self, request: web.Request, data: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if data.get("mchid") != self.mchid:
            return 400, _error(CODE_PARAM_ERROR, "mchid 不匹配")
        trade = self._trade(request)
        if trade is None:
            return 404, _error(CODE_ORDER_NOT_EXIST, "订单不存在")
        if trade.trade_state in (TRADE_SUCCESS, TRADE_REFUND):
            return 400, _error(CODE_ORDER_PAID, "订单已支付")
        trade.trade_state = TRADE_CLOSED
        return 204, None

    async def _refund(self, request: web.Request, data: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        trade = self.trades.get(str(data.get("out_trade_no")))
        raw_amount = data.get("amount")
        amount: dict[str, Any] = raw_amount if isinstance(raw_amount, dict) else {}
        refund, out_refund_no = amount.get("refund"), str(data.get("out_refund_no") or "")
        if trade is None:
            return 404, _error("RESOURCE_NOT_EXISTS", "订单不存在")
        if trade.trade_state not in (TRADE_SUCCESS, TRADE_REFUND):
            return 400, _error("TRADE_STATE_ERROR", "订单未支付")
        if (
            not isinstance(refund, int)
            or refund <= 0
            or amount.get("total") != trade.total
            or not out_refund_no
        ):
            return 400, _error(CODE_PARAM_ERROR, "amount.refund / amount.total / out_refund_no 错误")
        if out_refund_no not in trade.refunds:
            if sum(trade.refunds.values()) + refund > trade.total:
                return 400, _error("NOT_ENOUGH", "退款金额超过可退金额")
            trade.refunds[out_refund_no] = refund
            if sum(trade.refunds.values()) == trade.total:
                trade.trade_state = TRADE_REFUND
        return 200, {
            "refund_id": f"5030{secrets.token_hex(8)}",
            "out_refund_no": out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "status": "SUCCESS",
            "create_time": self._now(),
            "amount": {"total": trade.total, "refund": trade.refunds[out_refund_no], "currency": CURRENCY},
        }

    async def handle_pay_page(self, request: web.Request) -> web.Response:
        """Show the cashier page (the buyer scanned the code_url or followed the h5_url)."""
        trade = self._trade(request)
        if trade is None:
            raise web.HTTPNotFound(text="订单不存在")
        if trade.trade_state != TRADE_NOTPAY:
            return web.Response(
                text=DONE_PAGE.format(amount=fen_to_yuan(trade.total)), content_type="text/html"
            )
        page = PAY_PAGE.format(
            description=html.escape(trade.description),
            amount=fen_to_yuan(trade.total),
            no=html.escape(trade.out_trade_no),
            action=html.escape(request.path),
            redirect=html.escape(request.query.get("redirect_url", "")),
        )
        return web.Response(text=page, content_type="text/html")

    async def handle_pay(self, request: web.Request) -> web.StreamResponse:
        """The buyer pressed 确认支付: mark paid, send notifications, send the browser to redirect_url."""
        trade = self.pay(request.match_info["no"])
        redirect = str((await request.post()).get("redirect_url", ""))
        if redirect.startswith(("http://", "https://")):
            raise web.HTTPFound(redirect)
        return web.Response(text=DONE_PAGE.format(amount=fen_to_yuan(trade.total)), content_type="text/html")

    def pay(self, out_trade_no: str, policy: NotifyPolicy | None = None) -> SandboxTrade:
        """Pay an unpaid order as the buyer would and schedule its notifications."""
        trade = self.trades.get(out_trade_no)
        if trade is None:
            raise web.HTTPNotFound(text="订单不存在")
        if trade.trade_state == TRADE_NOTPAY:
            trade.trade_state = TRADE_SUCCESS
            trade.success_time = self._now()

            async def attempt() -> bool:  # each copy and retry is signed afresh
                headers, body = self.notification(trade)
                status, _ = await self.post_notify(trade.notify_url, headers, body, trade.out_trade_no)
                return status in (200, 204)

            self.schedule_delivery(policy or self.policy, attempt)
        return trade

    def notification(
        self,
        trade: SandboxTrade,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        tamper: bool = False,
        **override: Any,
    ) -> tuple[dict[str, str], bytes]:
        """Return (headers, body) of a signed, encrypted notification; ``override`` edits its transaction."""
        plaintext = json.dumps({**self.transaction(trade), **override}, ensure_ascii=False).encode(CHARSET)
        nonce = secrets.token_hex(6)
        ciphertext = encrypt(self.apiv3_key, nonce, ORIGINAL_TYPE, plaintext)
        if tamper:
            ciphertext = _flip(ciphertext)
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": self._now(),
                "resource_type": RESOURCE_TYPE,
                "event_type": EVENT_TRANSACTION_SUCCESS,
                "summary": "支付成功",
                "resource": {
                    "original_type": ORIGINAL_TYPE,
                    "algorithm": ALGORITHM_AES_GCM,
                    "ciphertext": ciphertext,
                    "associated_data": ORIGINAL_TYPE,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        headers = self.signed_headers(body, timestamp, signature)
        headers["Content-Type"] = "application/json"
        return headers, body.encode(CHARSET)

    async def post_notify(
        self, url: str, headers: dict[str, str], body: bytes, reference: str = ""
    ) -> tuple[int, str]:
        """POST one notification; return (status, body)."""
        return await self.send(url, body, headers, reference)


def load_sandbox(keys_dir: Path, **kwargs: Any) -> WeChatPaySandbox:
    """Build a sandbox from the key files in ``keys_dir`` (created when missing; blocking)."""
    ensure_keys(keys_dir)
    return WeChatPaySandbox(
        load_public_key(read_text(keys_dir, MERCHANT_PUBLIC_PEM)),
        load_private_key(read_text(keys_dir, WECHATPAY_PRIVATE_PEM)),
        read_text(keys_dir, APIV3_KEY_FILE).encode(CHARSET),
        certificate=load_platform_certificate(keys_dir),
        **kwargs,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of `simulate wechatpay`."""
    add_sandbox_arguments(parser, DEFAULT_SANDBOX_PORT, DEFAULT_KEYS_DIR)
    parser.add_argument("--mchid", default=SANDBOX_MCHID)
    parser.add_argument("--appid", default=SANDBOX_APPID)


async def async_main(args: argparse.Namespace) -> None:
    """Run the sandbox until interrupted."""
    sandbox = await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: load_sandbox(
            args.keys_dir, mchid=args.mchid, appid=args.appid, policy=policy_from_arguments(args)
        ),
    )
    await serve_forever(
        sandbox,
        args.host,
        args.port,
        lambda url: (
            f"WeChat Pay sandbox API {url}; public key id {sandbox.public_key_id}; "
            f"keys in {args.keys_dir.resolve()}"
        ),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    _parser = argparse.ArgumentParser(prog="python -m integrations.wechatpay.sandbox", description=__doc__)
    add_arguments(_parser)
    try:
        asyncio.run(async_main(_parser.parse_args()))
    except KeyboardInterrupt:
        pass
