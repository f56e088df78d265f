"""Alipay sandbox simulator: gateway.do with RSA2 both ways, a pay page, and signed async notifications."""
from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from Crypto.PublicKey import RSA

from integrations.topup.const import BEIJING_TZ, CHARSET
from integrations.topup.money import fen_to_yuan, yuan_to_fen
from integrations.topup.sandbox import (
    NotifyPolicy,
    SandboxServer,
    add_sandbox_arguments,
    policy_from_arguments,
    serve_forever,
)
from integrations.topup.signing import load_private_key, load_public_key, sign

from .const import (
    ALIPAY_PRIVATE_PEM,
    APP_PUBLIC_PEM,
    CODE_SUCCESS,
    DEFAULT_KEYS_DIR,
    DEFAULT_SANDBOX_PORT,
    GATEWAY_PATH,
    METHOD_CLOSE,
    METHOD_PRECREATE,
    METHOD_QUERY,
    METHOD_REFUND,
    METHOD_WAP_PAY,
    NOTIFY_SUCCESS,
    SANDBOX_APP_ID,
    SANDBOX_SELLER_ID,
    SIGN_TYPE,
    SUB_TRADE_HAS_CLOSE,
    SUB_TRADE_NOT_EXIST,
    TIMESTAMP_FORMAT,
    TRADE_CLOSED,
    TRADE_SUCCESS,
    TRADE_WAIT,
    VERSION,
)
from .keys import ensure_keys, read_key
from .signing import build_signed_response, canonical_string, verify_params

PAY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>支付宝沙箱收银台</title>
<style>body{{font-family:sans-serif;max-width:420px;margin:2em auto;text-align:center}}
.amt{{font-size:2.4em;margin:.5em}}button{{font-size:1.3em;padding:.6em 2em;background:#1677ff;color:#fff;border:0;border-radius:6px}}</style>
</head><body><h2>支付宝沙箱 · 收银台</h2><p>{subject}</p><p class="amt">¥ {amount}</p>
<form method="post" action="/sandbox/pay/{no}"><button type="submit" id="pay">确认付款</button></form>
<p><small>订单号 {no}</small></p></body></html>"""

DONE_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>支付成功</title></head>
<body><h2>支付成功</h2><p>¥ {amount}</p></body></html>"""


@dataclass
class SandboxTrade:
    """One trade as the sandbox sees it."""

    out_trade_no: str
    total_amount: str
    subject: str
    notify_url: str | None
    return_url: str | None
    status: str
    trade_no: str
    created: str
    scanned: bool = True
    paid: str | None = None
    refunds: dict[str, str] = field(default_factory=dict)


class AlipaySandbox(SandboxServer):
    """An in-memory Alipay gateway for one merchant app."""

    label = "Alipay sandbox gateway"
    entry_path = GATEWAY_PATH

    def __init__(
        self,
        app_public_key: RSA.RsaKey,
        alipay_private_key: RSA.RsaKey,
        app_id: str = SANDBOX_APP_ID,
        seller_id: str = SANDBOX_SELLER_ID,
        policy: NotifyPolicy | None = None,
    ) -> None:
        super().__init__(policy)
        self.app_public_key = app_public_key
        self.alipay_private_key = alipay_private_key
        self.app_id = app_id
        self.seller_id = seller_id
        self.trades: dict[str, SandboxTrade] = {}
        self.app.router.add_route("*", GATEWAY_PATH, self.handle_gateway)
        self.app.router.add_get("/sandbox/qr/{no}", self.handle_pay_page)
        self.app.router.add_post("/sandbox/pay/{no}", self.handle_pay)
        self._tz = ZoneInfo(BEIJING_TZ)

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_SANDBOX_PORT) -> str:
        """Serve on host:port (0 = any free port) and return the gateway URL."""
        return f"{await self.serve(host, port)}{GATEWAY_PATH}"

    def _now(self) -> str:
        return datetime.now(self._tz).strftime(TIMESTAMP_FORMAT)

    def _answer(self, method: str, body: dict[str, Any]) -> web.Response:
        text = build_signed_response(method, body, self.alipay_private_key)
        return web.Response(text=text, content_type="application/json", charset=CHARSET)

    @staticmethod
    def _error(sub_code: str, sub_msg: str, code: str = "40004") -> dict[str, Any]:
        return {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}

    async def handle_gateway(self, request: web.Request) -> web.StreamResponse:
        """Answer one gateway.do call after checking our RSA2 signature."""
        params = {k: v for k, v in request.query.items()}
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        method = params.get("method", "")
        if params.get("app_id") != self.app_id or params.get("sign_type") != SIGN_TYPE or not verify_params(
            params, self.app_public_key, ("sign",)
        ):
            self.rejected_requests += 1
            body = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错"}
            return web.Response(text=json.dumps({"error_response": body}, ensure_ascii=False),
                                content_type="application/json", status=200)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except json.JSONDecodeError:
            return self._answer(method, self._error("isv.invalid-parameter", "biz_content", "40002"))
        if method == METHOD_WAP_PAY:
            trade = self._create(biz, params, scanned=True)
            raise web.HTTPFound(f"/sandbox/qr/{trade.out_trade_no}")
        handler = {
            METHOD_PRECREATE: self._precreate,
            METHOD_QUERY: self._query,
            METHOD_REFUND: self._refund,
            METHOD_CLOSE: self._close,
        }.get(method)
        if handler is None:
            return self._answer(method, self._error("isv.invalid-method", method, "40002"))
        return self._answer(method, handler(biz, params))

    def _create(self, biz: dict[str, Any], params: dict[str, str], scanned: bool) -> SandboxTrade:
        no = str(biz["out_trade_no"])
        existing = self.trades.get(no)
        if existing is not None:
            return existing
        trade = SandboxTrade(
            out_trade_no=no, total_amount=str(biz["total_amount"]), subject=str(biz.get("subject", "")),
            notify_url=params.get("notify_url"), return_url=params.get("return_url"), status=TRADE_WAIT,
            trade_no=datetime.now(self._tz).strftime("%Y%m%d") + secrets.token_hex(10), created=self._now(),
            scanned=scanned,
        )
        self.trades[no] = trade
        return trade

    def _precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._create(biz, params, scanned=False)
        return {"code": CODE_SUCCESS, "msg": "Success", "out_trade_no": trade.out_trade_no,
                "qr_code": f"{self.base_url}/sandbox/qr/{trade.out_trade_no}"}

    def _visible(self, biz: dict[str, Any]) -> SandboxTrade | None:
        trade = self.trades.get(str(biz.get("out_trade_no")))
        return trade if trade is not None and trade.scanned else None

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._visible(biz)
        if trade is None:
            return self._error(SUB_TRADE_NOT_EXIST, "交易不存在")
        return {"code": CODE_SUCCESS, "msg": "Success", "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no, "trade_status": trade.status, "total_amount": trade.total_amount,
                "buyer_logon_id": "san***@sandbox.com"}

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._visible(biz)
        if trade is None:
            return self._error(SUB_TRADE_NOT_EXIST, "交易不存在")
        if trade.status != TRADE_SUCCESS:
            return self._error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        amount = str(biz.get("refund_amount"))
        fund_change = "N" if request_no in trade.refunds else "Y"
        if fund_change == "Y":
            refunded = sum(yuan_to_fen(a) for a in trade.refunds.values()) + yuan_to_fen(amount)
            if refunded > yuan_to_fen(trade.total_amount):
                return self._error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade.refunds[request_no] = amount
            if refunded == yuan_to_fen(trade.total_amount):
                trade.status = TRADE_CLOSED
        total = sum(yuan_to_fen(a) for a in trade.refunds.values())
        return {"code": CODE_SUCCESS, "msg": "Success", "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no, "fund_change": fund_change, "refund_fee": fen_to_yuan(total)}

    def _close(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._visible(biz)
        if trade is None:
            return self._error(SUB_TRADE_NOT_EXIST, "交易不存在")
        if trade.status == TRADE_CLOSED:
            return self._error(SUB_TRADE_HAS_CLOSE, "交易已关闭")
        if trade.status != TRADE_WAIT:
            return self._error("ACQ.TRADE_STATUS_ERROR", "交易已支付")
        trade.status = TRADE_CLOSED
        return {"code": CODE_SUCCESS, "msg": "Success", "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no}

    async def handle_pay_page(self, request: web.Request) -> web.Response:
        """Show the cashier page (the buyer 'scanned' the QR or followed wap.pay)."""
        trade = self.trades.get(request.match_info["no"])
        if trade is None:
            raise web.HTTPNotFound(text="交易不存在")
        trade.scanned = True
        if trade.status != TRADE_WAIT:
            return web.Response(text=DONE_PAGE.format(amount=trade.total_amount), content_type="text/html")
        page = PAY_PAGE.format(subject=html.escape(trade.subject), amount=trade.total_amount,
                               no=html.escape(trade.out_trade_no))
        return web.Response(text=page, content_type="text/html")

    async def handle_pay(self, request: web.Request) -> web.StreamResponse:
        """The buyer pressed 确认付款: mark paid, send notifications, send the browser back."""
        trade = self.pay(request.match_info["no"])
        if trade.return_url:
            back = {"out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
                    "total_amount": trade.total_amount, "seller_id": self.seller_id, "app_id": self.app_id,
                    "method": f"{METHOD_WAP_PAY}.return", "charset": CHARSET, "sign_type": SIGN_TYPE,
                    "timestamp": self._now(), "version": VERSION}
            back["sign"] = sign(canonical_string(back, ("sign", "sign_type")), self.alipay_private_key)
            sep = "&" if "?" in trade.return_url else "?"
            raise web.HTTPFound(f"{trade.return_url}{sep}{urlencode(back)}")
        return web.Response(text=DONE_PAGE.format(amount=trade.total_amount), content_type="text/html")

    def pay(self, out_trade_no: str, policy: NotifyPolicy | None = None) -> SandboxTrade:
        """Pay a waiting trade as the buyer would and schedule its notifications."""
        trade = self.trades.get(out_trade_no)
        if trade is None:
            raise web.HTTPNotFound(text="交易不存在")
        trade.scanned = True
        if trade.status == TRADE_WAIT:
            trade.status = TRADE_SUCCESS
            trade.paid = self._now()
            if trade.notify_url:
                form = self.notify_form(trade)
                notify_url = trade.notify_url

                async def attempt() -> bool:
                    return (await self.post_notify(notify_url, form))[1] == NOTIFY_SUCCESS

                self.schedule_delivery(policy or self.policy, attempt)
        return trade

    def notify_form(self, trade: SandboxTrade, **override: str) -> dict[str, str]:
        """Return a signed notification form for ``trade`` (``override`` changes fields before signing)."""
        form = {
            "notify_time": self._now(), "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
            "app_id": self.app_id, "charset": CHARSET, "version": VERSION, "sign_type": SIGN_TYPE,
            "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_id": "2088102177846880",
            "seller_id": self.seller_id, "trade_status": trade.status, "total_amount": trade.total_amount,
            "receipt_amount": trade.total_amount, "buyer_pay_amount": trade.total_amount,
            "subject": trade.subject, "gmt_create": trade.created, "gmt_payment": trade.paid or self._now(),
            "fund_bill_list": json.dumps([{"amount": trade.total_amount, "fundChannel": "ALIPAYACCOUNT"}]),
        }
        form.update(override)
        form["sign"] = sign(canonical_string(form, ("sign", "sign_type")), self.alipay_private_key)
        return form

    async def post_notify(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        """POST one form-encoded notification; return (status, body)."""
        return await self.send(url, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"},
                               form.get("out_trade_no", ""))

def load_sandbox(keys_dir: Path, **kwargs: Any) -> AlipaySandbox:
    """Build a sandbox from the key files in ``keys_dir`` (created when missing)."""
    ensure_keys(keys_dir)
    return AlipaySandbox(
        load_public_key(read_key(keys_dir, APP_PUBLIC_PEM)),
        load_private_key(read_key(keys_dir, ALIPAY_PRIVATE_PEM)),
        **kwargs,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of `simulate alipay`."""
    add_sandbox_arguments(parser, DEFAULT_SANDBOX_PORT, DEFAULT_KEYS_DIR)
    parser.add_argument("--app-id", default=SANDBOX_APP_ID)
    parser.add_argument("--seller-id", default=SANDBOX_SELLER_ID)


async def async_main(args: argparse.Namespace) -> None:
    """Run the sandbox until interrupted."""
    keys_dir = await asyncio.get_running_loop().run_in_executor(None, ensure_keys, args.keys_dir)
    sandbox = load_sandbox(keys_dir, app_id=args.app_id, seller_id=args.seller_id, policy=policy_from_arguments(args))
    await serve_forever(sandbox, args.host, args.port,
                        lambda url: f"Alipay sandbox gateway {url}{GATEWAY_PATH}; keys in {keys_dir.resolve()}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    _parser = argparse.ArgumentParser(prog="python -m integrations.alipay.sandbox", description=__doc__)
    add_arguments(_parser)
    try:
        asyncio.run(async_main(_parser.parse_args()))
    except KeyboardInterrupt:
        pass
