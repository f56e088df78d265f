"""UnionPay sandbox: the ACP 5.1.0 front, back and query gateways for one merchant, a cashier page, and back
notifications signed with its signing certificate (issued root -> middle -> signing, made at run time)."""
from __future__ import annotations

import argparse
import asyncio
import html
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from integrations.topup.const import BEIJING_TZ
from integrations.topup.money import fen_to_yuan
from integrations.topup.sandbox import (
    NotifyPolicy,
    SandboxServer,
    add_sandbox_arguments,
    policy_from_arguments,
    run_cli,
    serve_forever,
)

from .certs import cert_id, pem
from .client import format_answer
from .const import (
    ACCESS_MERCHANT,
    BACK_TRANS_PATH,
    CURRENCY_CNY,
    DEFAULT_KEYS_DIR,
    DEFAULT_SANDBOX_PORT,
    ENCODING,
    FIELD_CERT,
    FRONT_TRANS_PATH,
    NOTIFY_OK,
    ORDER_ID_PATTERN,
    QUERY_TRANS_PATH,
    RESP_NOT_FOUND,
    RESP_SUCCESS,
    SANDBOX_MER_ID,
    SIGN_METHOD_RSA,
    SUB_QR_APPLY,
    TIME_FORMAT,
    TXN_CONSUME,
    TXN_QUERY,
    TXN_REFUND,
    VERSION,
)
from .keys import SandboxCerts, ensure_certs, read_certs
from .payments import amount_fen
from .signing import sign_params, verify_params

RESP_BAD_SIGNATURE = "11"  # 验证签名失败
RESP_BAD_FIELD = "12"  # 报文格式错误 (a field out of its format)
RESP_DUPLICATE = "12"  # 重复交易
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>银联沙箱收银台</title></head>
<body><h1>银联在线支付（沙箱）</h1>{body}</body></html>"""
PAY_FORM = """<p>订单 {no}</p><p>金额 <b id="amount">{amount}</b> 元</p>
<form method="post" action="/sandbox/pay/{no}"><button type="submit" id="pay">确认付款</button></form>"""
BACK_FORM = """<p id="done">支付成功</p><form method="post" action="{url}" id="back">{fields}
<button type="submit">返回商户</button></form><script>document.getElementById("back").submit()</script>"""


@dataclass
class SandboxTrade:
    """One consume as the sandbox keeps it."""

    order_id: str
    txn_time: str
    txn_amt: str
    biz_type: str
    back_url: str | None
    front_url: str | None
    query_id: str
    paid: bool = False
    refunds: dict[str, str] = field(default_factory=dict)  # refund orderId -> txnAmt


class UnionPaySandbox(SandboxServer):
    """An in-memory ACP gateway for one merchant."""

    label = "UnionPay sandbox gateway"

    def __init__(self, certs: SandboxCerts, mer_id: str = SANDBOX_MER_ID, policy: NotifyPolicy | None = None) -> None:
        super().__init__(policy)
        self.certs = certs
        self.mer_id = mer_id
        self.trades: dict[str, SandboxTrade] = {}
        self._tz = ZoneInfo(BEIJING_TZ)
        self.app.router.add_post(FRONT_TRANS_PATH, self.handle_front)
        self.app.router.add_post(BACK_TRANS_PATH, self.handle_back)
        self.app.router.add_post(QUERY_TRANS_PATH, self.handle_query)
        self.app.router.add_get("/sandbox/qr/{no}", self.handle_cashier)
        self.app.router.add_post("/sandbox/pay/{no}", self.handle_pay)

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_SANDBOX_PORT) -> str:
        """Serve on host:port (0 = any free port) and return the gateway's base URL."""
        return await self.serve(host, port)

    def _now(self) -> str:
        return datetime.now(self._tz).strftime(TIME_FORMAT)

    def signed(self, params: dict[str, str]) -> dict[str, str]:
        """Sign a message as UnionPay does: its signing certificate in signPubKeyCert, then the signature."""
        params = {**params, "version": VERSION, "encoding": ENCODING, "signMethod": SIGN_METHOD_RSA,
                  FIELD_CERT: pem(self.certs.signer)}
        return sign_params(params, self.certs.signer_key)

    def _answer(self, request: dict[str, str], resp_code: str, resp_msg: str, **extra: str) -> web.Response:
        echoed = {k: request[k] for k in ("txnType", "txnSubType", "bizType", "accessType", "merId", "orderId",
                                          "txnTime") if k in request}
        body = self.signed({**echoed, "respCode": resp_code, "respMsg": resp_msg, **extra})
        return web.Response(text=format_answer(body), content_type="text/plain", charset=ENCODING)

    async def _request(self, request: web.Request) -> dict[str, str] | None:
        """Return the merchant's form when its certId, signature and merId are right; None otherwise."""
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        merchant = self.certs.merchant
        if (form.get("certId") != cert_id(merchant) or form.get("merId") != self.mer_id
                or form.get("version") != VERSION or form.get("signMethod") != SIGN_METHOD_RSA
                or form.get("accessType") != ACCESS_MERCHANT or not verify_params(form, merchant)):
            self.rejected_requests += 1
            return None
        return form

    def _create(self, form: dict[str, str]) -> SandboxTrade | None:
        """Record a consume (the same orderId and txnTime again returns it); None when a field is malformed."""
        no = form.get("orderId", "")
        if not re.fullmatch(ORDER_ID_PATTERN, no) or amount_fen(form.get("txnAmt")) < 1 \
                or form.get("currencyCode") != CURRENCY_CNY:
            return None
        existing = self.trades.get(no)
        if existing is not None:
            return existing if existing.txn_time == form.get("txnTime") else None
        trade = SandboxTrade(no, form.get("txnTime", ""), form["txnAmt"], form.get("bizType", ""),
                             form.get("backUrl"), form.get("frontUrl"), self._now() + secrets.token_hex(4)[:7])
        self.trades[no] = trade
        return trade

    async def handle_front(self, request: web.Request) -> web.Response:
        """frontTransReq.do: the browser posts the merchant's signed form; show the cashier."""
        form = await self._request(request)
        if form is None:
            return web.Response(text=PAGE.format(body="<p id='error'>验证签名失败</p>"), status=400,
                                content_type="text/html")
        trade = self._create(form) if form.get("txnType") == TXN_CONSUME else None
        if trade is None:
            return web.Response(text=PAGE.format(body="<p id='error'>报文格式错误</p>"), status=400,
                                content_type="text/html")
        return self._cashier(trade)

    async def handle_back(self, request: web.Request) -> web.Response:
        """backTransReq.do: apply for a consume's QR code (txnSubType 07) or refund one (txnType 04)."""
        form = await self._request(request)
        if form is None:
            return web.Response(text=format_answer({"respCode": RESP_BAD_SIGNATURE, "respMsg": "验证签名失败"}),
                                content_type="text/plain")
        if form.get("txnType") == TXN_CONSUME and form.get("txnSubType") == SUB_QR_APPLY:
            trade = self._create(form)
            if trade is None:
                return self._answer(form, RESP_BAD_FIELD, "报文格式错误")
            return self._answer(form, RESP_SUCCESS, "成功[0000000]", qrCode=f"{self.base_url}/sandbox/qr/{trade.order_id}")
        if form.get("txnType") == TXN_REFUND:
            return self._refund(form)
        return self._answer(form, RESP_BAD_FIELD, "交易类型不支持")

    def _refund(self, form: dict[str, str]) -> web.Response:
        trade = next((t for t in self.trades.values() if t.query_id == form.get("origQryId")), None)
        if trade is None or not trade.paid:
            return self._answer(form, "35", "原交易不存在或状态不正确")
        refund_no = form.get("orderId", "")
        if refund_no in trade.refunds:
            return self._answer(form, RESP_DUPLICATE, "重复交易")
        refunded = sum(int(a) for a in trade.refunds.values()) + max(amount_fen(form.get("txnAmt")), 0)
        if amount_fen(form.get("txnAmt")) < 1 or refunded > int(trade.txn_amt):
            return self._answer(form, "30", "退货金额超限")
        trade.refunds[refund_no] = form["txnAmt"]
        return self._answer(form, RESP_SUCCESS, "成功[0000000]", queryId=self._now() + secrets.token_hex(4)[:7],
                            origQryId=trade.query_id, txnAmt=form["txnAmt"])

    async def handle_query(self, request: web.Request) -> web.Response:
        """queryTrans.do: a consume's state by orderId and txnTime (unpaid ones are not found)."""
        form = await self._request(request)
        if form is None or form.get("txnType") != TXN_QUERY:
            return web.Response(text=format_answer({"respCode": RESP_BAD_SIGNATURE, "respMsg": "验证签名失败"}),
                                content_type="text/plain")
        trade = self.trades.get(form.get("orderId", ""))
        if trade is None or not trade.paid or trade.txn_time != form.get("txnTime"):
            return self._answer(form, RESP_NOT_FOUND, "查无此交易")
        return self._answer(form, RESP_SUCCESS, "成功[0000000]", origRespCode=RESP_SUCCESS,
                            origRespMsg="成功[0000000]", txnAmt=trade.txn_amt, queryId=trade.query_id,
                            currencyCode=CURRENCY_CNY)

    def _cashier(self, trade: SandboxTrade) -> web.Response:
        body = "<p id='done'>该订单已支付</p>" if trade.paid else PAY_FORM.format(
            no=html.escape(trade.order_id), amount=fen_to_yuan(int(trade.txn_amt)))
        return web.Response(text=PAGE.format(body=body), content_type="text/html")

    async def handle_cashier(self, request: web.Request) -> web.Response:
        """The page a phone opens on scanning the kiosk's QR code."""
        trade = self.trades.get(request.match_info["no"])
        if trade is None:
            raise web.HTTPNotFound(text="查无此交易")
        return self._cashier(trade)

    async def handle_pay(self, request: web.Request) -> web.Response:
        """The buyer pressed 确认付款: paid, notified, and sent back to frontUrl with a signed front form."""
        trade = self.pay(request.match_info["no"])
        if not trade.front_url:
            return self._cashier(trade)
        form = self.notify_form(trade)
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in form.items())
        return web.Response(text=PAGE.format(body=BACK_FORM.format(url=html.escape(trade.front_url), fields=fields)),
                            content_type="text/html")

    def pay(self, order_id: str, policy: NotifyPolicy | None = None) -> SandboxTrade:
        """Pay a consume as the buyer would and schedule its back notifications."""
        trade = self.trades.get(order_id)
        if trade is None:
            raise web.HTTPNotFound(text="查无此交易")
        if not trade.paid:
            trade.paid = True
            if trade.back_url:
                form, url = self.notify_form(trade), trade.back_url

                async def attempt() -> bool:
                    return (await self.post_notify(url, form))[0] == 200  # noqa: PLR2004 - HTTP 200 is taken

                self.schedule_delivery(policy or self.policy, attempt)
        return trade

    def notify_form(self, trade: SandboxTrade, **override: str) -> dict[str, str]:
        """Return a signed back notification of ``trade`` (``override`` changes fields before signing)."""
        form = {
            "txnType": TXN_CONSUME, "txnSubType": "01", "bizType": trade.biz_type, "accessType": ACCESS_MERCHANT,
            "merId": self.mer_id, "orderId": trade.order_id, "txnTime": trade.txn_time, "txnAmt": trade.txn_amt,
            "currencyCode": CURRENCY_CNY, "queryId": trade.query_id, "traceNo": trade.query_id[-6:],
            "traceTime": trade.txn_time[4:], "settleDate": trade.txn_time[4:8], "settleAmt": trade.txn_amt,
            "settleCurrencyCode": CURRENCY_CNY, "respCode": RESP_SUCCESS, "respMsg": "成功[0000000]",
            "accNo": "6216***********0018", "payType": "0001", "payCardType": "01",
        }
        form.update(override)
        return self.signed(form)

    async def post_notify(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        """POST one form-encoded back notification; return (status, body)."""
        return await self.send(url, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"},
                               form.get("orderId", ""))


def load_sandbox(keys_dir: Path, **kwargs: Any) -> UnionPaySandbox:
    """Build a sandbox from the certificates in ``keys_dir`` (made when missing; blocking)."""
    return UnionPaySandbox(read_certs(ensure_certs(keys_dir)), **kwargs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Command-line options of `simulate unionpay`."""
    add_sandbox_arguments(parser, DEFAULT_SANDBOX_PORT, DEFAULT_KEYS_DIR)
    parser.add_argument("--mer-id", default=SANDBOX_MER_ID)


async def async_main(args: argparse.Namespace) -> None:
    """Run the sandbox until interrupted."""
    sandbox = await asyncio.get_running_loop().run_in_executor(
        None, lambda: load_sandbox(args.keys_dir, mer_id=args.mer_id, policy=policy_from_arguments(args)))
    await serve_forever(sandbox, args.host, args.port,
                        lambda url: f"UnionPay sandbox gateway {url}; certificates in {args.keys_dir.resolve()}")


if __name__ == "__main__":
    run_cli("python -m integrations.unionpay.sandbox", __doc__, add_arguments, async_main)
