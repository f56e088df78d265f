"""WeChat Pay notifications: credited exactly once; forged, probe, stale, mismatched ones refused, logged."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from integrations.topup.const import STATE_CLOSED, STATE_PAID, STATE_PENDING, STATE_REFUNDED
from integrations.topup.models import OrderRow
from integrations.topup.orders import Order
from integrations.topup.sandbox import NotifyPolicy
from integrations.topup.signing import load_private_key, sign
from integrations.wechatpay.signing import answer_message
from tests.alipay.harness import ADMIN
from tests.helpers import wait_for

from .harness import WeChatSite

pytestmark = pytest.mark.timeout(60)


async def _paid_quietly(site: WeChatSite, tenant: str = "A", amount_fen: int = 5000) -> Order:
    """Create a Native order and pay it at the sandbox without any notification."""
    order = await site.wechat.create_qr_order(site.accounts[tenant], amount_fen)
    site.wechat_sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    return order


async def _state(site: WeChatSite, out_trade_no: str) -> str | None:
    """Return an order's state (None when unknown)."""
    order = await site.wechat.store.get(out_trade_no)
    return order.state if order is not None else None


async def test_notification_three_times_credits_once(site: WeChatSite) -> None:
    """Three deliveries of a payment, then three more at once: one credit; repeats answered 204 and logged."""
    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    order, _ = await site.wechat.create_wap_order(site.accounts["A"], 5000, payer_ip="10.0.0.8")
    site.wechat_sandbox.pay(order.out_trade_no, NotifyPolicy(repeat=3))
    await wait_for(lambda: len(site.wechat_sandbox.notify_log) >= 3, what="three notifications")
    assert [entry[1:] for entry in site.wechat_sandbox.notify_log] == [(204, "")] * 3
    trade = site.wechat_sandbox.trades[order.out_trade_no]
    copies = [site.wechat_sandbox.notification(trade) for _ in range(3)]
    answers = await asyncio.gather(*(site.post_notify(headers, body) for headers, body in copies))
    assert [status for status, _ in answers] == [204] * 3
    stored = await site.wechat.store.get(order.out_trade_no)
    assert (
        stored is not None
        and stored.state == STATE_PAID
        and stored.credited
        and stored.trade_no == trade.transaction_id
    )
    await site.assert_credited_once(order.out_trade_no, before, meter_before, replays=5)


def _bad_notifications(  # type: ignore[no-untyped-def]
    site: WeChatSite, trade, merchant_key, alipay_trade_no: str
):
    """Return (case, headers, body, expected status, expected security event kind) for one paid trade."""
    sandbox = site.wechat_sandbox
    cases = []
    headers, body = sandbox.notification(trade)
    forged = {
        **headers,
        "Wechatpay-Signature": sign(
            answer_message(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"], body.decode()),
            merchant_key,
        ),
    }
    cases.append(("wrong_signature", forged, body, 401, "bad_signature"))
    headers, body = sandbox.notification(trade)
    tampered_body = body.replace(b'"summary":"', b'"summary":"x')
    cases.append(("body_changed_after_signing", headers, tampered_body, 401, "bad_signature"))
    probe = "WECHATPAY/SIGNTEST/" + base64.b64encode(b"probe").decode()
    cases.append(("signtest_probe", *sandbox.notification(trade, signature=probe), 401, "signtest_probe"))
    stale = str(int(time.time()) - 301)
    cases.append(("old_timestamp", *sandbox.notification(trade, timestamp=stale), 401, "stale_timestamp"))
    headers, body = sandbox.notification(trade)
    cases.append(
        ("unknown_serial", {**headers, "Wechatpay-Serial": "PUB_KEY_ID_0000"}, body, 401, "unknown_serial")
    )
    cases.append(
        (
            "wrong_amount",
            *sandbox.notification(trade, amount={"total": 1, "currency": "CNY"}),
            400,
            "amount_mismatch",
        )
    )
    cases.append(("wrong_mchid", *sandbox.notification(trade, mchid="1900000999"), 400, "mchid_mismatch"))
    cases.append(
        ("wrong_appid", *sandbox.notification(trade, appid="wx0000000000000000"), 400, "app_id_mismatch")
    )
    cases.append(
        (
            "unknown_order",
            *sandbox.notification(trade, out_trade_no="TW20990101000000FFFFFFFF"),
            400,
            "unknown_order",
        )
    )
    cases.append(
        ("alipay_order", *sandbox.notification(trade, out_trade_no=alipay_trade_no), 400, "unknown_order")
    )
    cases.append(("not_paid", *sandbox.notification(trade, trade_state="NOTPAY"), 400, "bad_status"))
    cases.append(("tampered_ciphertext", *sandbox.notification(trade, tamper=True), 400, "bad_ciphertext"))
    garbage = b"not json"
    cases.append(("not_json", {**sandbox.signed_headers(garbage.decode())}, garbage, 400, "malformed"))
    return cases


async def test_bad_notifications_credit_nothing(site: WeChatSite, wechat_keys_dir: Path) -> None:
    """Every bad notification gets 4xx with {"code":"FAIL"}, credits nothing and leaves its security event;
    the genuine one afterwards still credits the order."""
    merchant_key = load_private_key((wechat_keys_dir / "apiclient_key.pem").read_text())
    before = await site.balance("A")
    order = await _paid_quietly(site)
    alipay_order, _ = await site.payments.create_wap_order(site.accounts["A"], 5000)
    trade = site.wechat_sandbox.trades[order.out_trade_no]
    for case, headers, body, status, kind in _bad_notifications(
        site, trade, merchant_key, alipay_order.out_trade_no
    ):
        got, text = await site.post_notify(headers, body)
        assert got == status, case
        assert json.loads(text)["code"] == "FAIL", case
        assert (await site.security_kinds())[-1] == kind, case
        stored = await site.wechat.store.get(order.out_trade_no)
        assert stored is not None and stored.state == STATE_PENDING and not stored.credited, case
    assert await site.balance("A") == before
    assert not (await site.payments.store.get(alipay_order.out_trade_no)).credited  # type: ignore[union-attr]
    assert await site.post_notify(*site.wechat_sandbox.notification(trade)) == (204, "")
    assert await site.balance("A") == before + 5000


async def test_lost_notification_is_found_by_the_query_sweep(site: WeChatSite) -> None:
    """A payment whose notification never came is credited by WeChat Pay's sweep, not Alipay's; an expired
    unpaid order is closed at the gateway; a credited order refunds off the meter and at WeChat Pay."""
    before = await site.balance("A")
    paid = await _paid_quietly(site)
    unpaid = await site.wechat.create_qr_order(site.accounts["A"], 2000)
    await site.payments.sweep(0)  # Alipay's sweep never takes WeChat Pay's orders
    assert {o.out_trade_no for o in await site.payments.store.due_for_query(time.time() + 1)}.isdisjoint(
        {paid.out_trade_no, unpaid.out_trade_no}
    )
    assert not (await site.wechat.store.get(paid.out_trade_no)).credited  # type: ignore[union-attr]
    assert site.wechat_sandbox.notify_log == []
    await site.core.services.async_call("wechatpay", "sweep", {"query_after": 0})
    credited = await site.wechat.store.get(paid.out_trade_no)
    assert credited is not None and credited.credited and credited.state == STATE_PAID
    assert await site.balance("A") == before + 5000
    assert await _state(site, unpaid.out_trade_no) == STATE_PENDING
    assert site.core.db is not None
    async with site.core.db.session() as session:  # the unpaid order's 15 minutes are over
        await session.execute(
            update(OrderRow)
            .where(OrderRow.out_trade_no == unpaid.out_trade_no)
            .values(expire_ts=time.time() - 1)
        )
    await site.wechat.sweep(0)
    assert await _state(site, unpaid.out_trade_no) == STATE_CLOSED
    assert site.wechat_sandbox.trades[unpaid.out_trade_no].trade_state == "CLOSED"
    result = await site.core.services.async_call(
        "wechatpay",
        "refund",
        {"out_trade_no": paid.out_trade_no, "operator": ADMIN, "reason": "tenant moved out"},
    )
    assert result["status"] == "SUCCESS" and result["refund_fen"] == 5000
    assert await _state(site, paid.out_trade_no) == STATE_REFUNDED
    assert site.wechat_sandbox.trades[paid.out_trade_no].trade_state == "REFUND"
    assert await site.balance("A") == before
    assert (await site.billing.trial_balance())["balanced"]
