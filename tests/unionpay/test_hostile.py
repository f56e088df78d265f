"""Hostile back notifications: forged, from another chain, replayed, for another provider's order, wrong amount,
wrong merchant, huge, negative or non-ASCII, and concurrent copies; each credits nothing, or exactly once."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from integrations.unionpay.certs import issue, pem
from integrations.unionpay.keys import SIGNER_CN
from integrations.unionpay.signing import sign_params
from tests.alipay.harness import Site

from .helpers import credited, notify, payments, qr_order, sandbox

pytestmark = pytest.mark.timeout(90)
REFUSED = (400, "failure")


async def _nothing_credited(site: Site, out_trade_no: str, kind: str) -> None:
    order = await payments(site).store.get(out_trade_no)
    assert order is not None and not order.credited and order.state == "PENDING"
    assert await site.balance("A") == 0
    assert (await site.security_kinds())[-1] == kind


async def test_forged_signature_credits_nothing(site: Site) -> None:
    """A genuine notification whose amount was changed after signing, or with no signature, is refused."""
    order, trade = await qr_order(site)
    form = sandbox(site).notify_form(trade)
    assert await notify(site, {**form, "txnAmt": "1"}) == REFUSED
    await _nothing_credited(site, order.out_trade_no, "bad_signature")
    assert await notify(site, {k: v for k, v in form.items() if k != "signature"}) == REFUSED
    await _nothing_credited(site, order.out_trade_no, "bad_signature")


async def test_certificate_from_another_chain_credits_nothing(site: Site) -> None:
    """Signed by a certificate named like UnionPay's but issued under another root, or by the merchant's own
    certificate (same middle, not UnionPay's): refused as a bad certificate."""
    order, trade = await qr_order(site)
    now = dt.datetime.now(dt.UTC)
    fake = issue(SIGNER_CN, issue("Fake Middle", issue("Fake Root", None, True, now), True, now), False, now)
    genuine = sandbox(site).notify_form(trade)
    for key, cert in ((fake.key, fake.cert), (sandbox(site).certs.merchant_key, sandbox(site).certs.merchant)):
        forged = sign_params({**genuine, "signPubKeyCert": pem(cert)}, key)
        assert await notify(site, forged) == REFUSED
        await _nothing_credited(site, order.out_trade_no, "bad_certificate")


async def test_replayed_notification_credits_once(site: Site) -> None:
    """The same genuine notification three times: credited once, the repeats answered `ok` and logged."""
    order, trade = await qr_order(site)
    sandbox(site).policy.lose = True
    sandbox(site).pay(order.out_trade_no)
    form = sandbox(site).notify_form(trade)
    for _ in range(3):
        assert await notify(site, form) == (200, "ok")
    await site.assert_credited_once(order.out_trade_no, 0, 0, replays=2)


async def test_concurrent_duplicates_credit_once(site: Site) -> None:
    """Ten copies at once: every one answered, the order credited exactly once."""
    order, trade = await qr_order(site)
    sandbox(site).policy.lose = True
    sandbox(site).pay(order.out_trade_no)
    form = sandbox(site).notify_form(trade)
    answers = await asyncio.gather(*(notify(site, form) for _ in range(10)))
    assert all(status == 200 for status, _ in answers)
    await credited(site, order.out_trade_no)
    await site.assert_credited_once(order.out_trade_no, 0, 0, replays=(await site.security_kinds()).count("replayed"))


async def test_another_providers_order_credits_nothing(site: Site) -> None:
    """A genuine UnionPay notification naming an Alipay order (same amount) is an unknown order."""
    alipay_order = await site.payments.create_qr_order(site.accounts["A"], 5000)
    _, trade = await qr_order(site)
    assert await notify(site, sandbox(site).notify_form(trade, orderId=alipay_order.out_trade_no)) == REFUSED
    stored = await site.payments.store.get(alipay_order.out_trade_no)
    assert stored is not None and not stored.credited and await site.balance("A") == 0
    assert (await site.security_kinds())[-1] == "unknown_order"


@pytest.mark.parametrize("amount", ["4999", "5001", "-5000", "05000", "5000.00", "５０００", "1e4", "", "9" * 40])
async def test_wrong_amount_credits_nothing(site: Site, amount: str) -> None:
    """Signed by UnionPay but not the order's amount as plain fen digits: refused, logged, never a 500."""
    order, trade = await qr_order(site)
    assert await notify(site, sandbox(site).notify_form(trade, txnAmt=amount)) == REFUSED
    await _nothing_credited(site, order.out_trade_no, "amount_mismatch")


async def test_wrong_merchant_and_failed_payment_credit_nothing(site: Site) -> None:
    """Another merchant's notification, and a genuine one whose respCode is not 00, credit nothing."""
    order, trade = await qr_order(site)
    assert await notify(site, sandbox(site).notify_form(trade, merId="777290058110049")) == REFUSED
    await _nothing_credited(site, order.out_trade_no, "merchant_mismatch")
    assert await notify(site, sandbox(site).notify_form(trade, respCode="01")) == REFUSED
    await _nothing_credited(site, order.out_trade_no, "bad_status")


@pytest.mark.parametrize("order_id", ["订单号", "UP' OR 1=1--", "x" * 10_000, "", "UP\r\nX"])
async def test_hostile_order_ids_credit_nothing(site: Site, order_id: str) -> None:
    """Non-ASCII, injected, huge, empty or multi-line orderIds in a genuine notification: unknown order."""
    order, trade = await qr_order(site)
    assert await notify(site, sandbox(site).notify_form(trade, orderId=order_id)) == REFUSED
    await _nothing_credited(site, order.out_trade_no, "unknown_order")


async def test_huge_and_broken_bodies_are_refused(site: Site) -> None:
    """A body over 64 KiB, one that is not UTF-8, and one repeating a key: refused as malformed."""
    order, _ = await qr_order(site)
    url = f"{site.base}/api/unionpay/notify"
    for body in (b"orderId=" + b"9" * 70_000, b"orderId=\xff\xfe", b"txnAmt=1&txnAmt=5000"):
        async with site.http.post(url, data=body,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
            assert (resp.status, await resp.text()) == REFUSED
        await _nothing_credited(site, order.out_trade_no, "malformed")
