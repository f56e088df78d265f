"""One order, one credit, whatever arrives: Alipay and WeChat Pay notifications for one order at once."""

from __future__ import annotations

import asyncio

import pytest

from integrations.topup.sandbox import NotifyPolicy

from .harness import WeChatSite

pytestmark = pytest.mark.timeout(60)


async def test_alipay_notify_for_a_wechat_order_at_the_same_time_credits_once(site: WeChatSite) -> None:
    """A WeChat Pay order paid at WeChat Pay while a validly signed Alipay notification names it too: both
    arrive together; the WeChat Pay one credits it once, the Alipay one is refused as not its order."""
    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    order = await site.wechat.create_qr_order(site.accounts["A"], 5000)
    site.wechat_sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    alipay_order = await site.payments.create_qr_order(site.accounts["B"], 5000)
    alipay_trade = site.sandbox.pay(alipay_order.out_trade_no, NotifyPolicy(lose=True))
    alipay_form = site.sandbox.notify_form(alipay_trade, out_trade_no=order.out_trade_no)
    trade = site.wechat_sandbox.trades[order.out_trade_no]
    answers = await asyncio.gather(
        site.notify(alipay_form), site.post_notify(*site.wechat_sandbox.notification(trade)), site.notify(alipay_form)
    )
    assert [status for status, _ in answers] == [400, 204, 400]
    assert await site.post_notify(*site.wechat_sandbox.notification(trade)) == (204, "")  # WeChat Pay's retry
    assert answers[0][1] == "failure"
    stored = await site.wechat.store.get(order.out_trade_no)
    assert stored is not None and stored.credited and stored.provider == "wechatpay"
    assert (await site.security_kinds()).count("unknown_order") == 2
    await site.assert_credited_once(order.out_trade_no, before, meter_before, replays=1)


async def test_both_providers_settling_one_order_credit_it_once(site: WeChatSite) -> None:
    """Whichever provider settles an order (and however many at once), billing's credit key is the order's:
    the money arrives once."""
    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    order = await site.wechat.create_qr_order(site.accounts["A"], 5000)
    results = await asyncio.gather(
        site.payments.settle(order, "T1"), site.wechat.settle(order, "T1"),
        site.payments.settle(order, "T1"), site.wechat.settle(order, "T1"),
    )
    assert results == [True] * 4
    await site.assert_credited_once(order.out_trade_no, before, meter_before, replays=0)


async def test_wechat_notify_for_an_alipay_order_at_the_same_time_credits_once(site: WeChatSite) -> None:
    """The other way round: an Alipay order paid at Alipay while a genuinely signed WeChat Pay notification
    names it too, both at once: the Alipay one credits it once, the WeChat Pay one is refused."""
    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    order = await site.payments.create_qr_order(site.accounts["A"], 5000)
    alipay_trade = site.sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    wechat_order = await site.wechat.create_qr_order(site.accounts["B"], 5000)
    wechat_trade = site.wechat_sandbox.pay(wechat_order.out_trade_no, NotifyPolicy(lose=True))
    answers = await asyncio.gather(
        site.post_notify(*site.wechat_sandbox.notification(wechat_trade, out_trade_no=order.out_trade_no)),
        site.notify(site.sandbox.notify_form(alipay_trade)),
        site.post_notify(*site.wechat_sandbox.notification(wechat_trade, out_trade_no=order.out_trade_no)),
    )
    assert [status for status, _ in answers] == [400, 200, 400]
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and stored.credited and stored.provider == "alipay"
    assert (await site.security_kinds()).count("unknown_order") == 2
    await site.assert_credited_once(order.out_trade_no, before, meter_before, replays=0)
