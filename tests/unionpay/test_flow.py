"""UnionPay end to end against its sandbox: the phone's front form, the kiosk's QR code, the back notification
credited once, the query sweep when notifications are lost, and refunds."""
from __future__ import annotations

import datetime as dt

import pytest

from integrations.topup.errors import TopUpError
from tests.alipay.harness import PASSWORDS, Site, kiosk_check_in, tenant_client

from .helpers import credited, hidden_fields, notify, payments, qr_order, sandbox

pytestmark = pytest.mark.timeout(90)


async def test_phone_pays_through_the_front_form_and_is_credited_once(site: Site) -> None:
    """The tenant picks 银联 on the phone page, is sent to our page holding the signed form, posts it to the
    gateway, pays at the cashier, is credited once by the back notification and comes back by frontUrl."""
    before, meter_before = await site.balance("A"), site.sim.meters[1].remaining_fen
    async with tenant_client(site.base) as client:
        async with client.post(f"{site.base}/m/login",
                               data={"account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}) as resp:
            home = await resp.text()
        assert 'value="unionpay"' in home and "银联" in home
        async with client.post(f"{site.base}/m/topup", data={"amount": "50.00", "provider": "unionpay"}) as resp:
            page = await resp.text()
            assert resp.status == 200 and resp.url.path.startswith("/api/unionpay/front/UP")
        fields = hidden_fields(page)
        assert fields["txnAmt"] == "5000" and fields["bizType"] == "000201" and fields["channelType"] == "08"
        assert fields["txnType"] == "01" and fields["currencyCode"] == "156" and fields["version"] == "5.1.0"
        async with client.post(f"{sandbox(site).base_url}/gateway/api/frontTransReq.do", data=fields) as resp:
            assert resp.status == 200 and "50.00" in await resp.text()
        async with client.post(f"{sandbox(site).base_url}/sandbox/pay/{fields['orderId']}") as resp:
            back = await resp.text()
        await credited(site, fields["orderId"])
        await site.assert_credited_once(fields["orderId"], before, meter_before, replays=0)
        front_url = back.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        async with client.post(front_url, data=hidden_fields(back)) as resp:
            assert resp.status == 200 and resp.url.path == "/m/topup/return"
            assert "充值成功" in await resp.text()


async def test_a_tampered_front_form_is_refused_by_the_gateway(site: Site) -> None:
    """The gateway checks our signature: a form whose amount was changed in the browser is refused."""
    order, url = await payments(site).create_wap_order(site.accounts["A"], 5000)
    async with site.http.get(url) as resp:
        fields = hidden_fields(await resp.text())
    async with site.http.post(f"{sandbox(site).base_url}/gateway/api/frontTransReq.do",
                              data={**fields, "txnAmt": "1"}) as resp:
        assert resp.status == 400 and "验证签名失败" in await resp.text()
    assert order.out_trade_no not in sandbox(site).trades and sandbox(site).rejected_requests == 1


async def test_front_page_needs_the_orders_reference(site: Site) -> None:
    """Our front-form page shows nothing for a wrong reference, another provider's order or none."""
    order, url = await payments(site).create_wap_order(site.accounts["A"], 5000)
    alipay_order = await site.payments.create_qr_order(site.accounts["A"], 5000)
    ref = url.split("ref=", 1)[1]
    for path in (f"/api/unionpay/front/{order.out_trade_no}?ref={'0' * 64}",
                 f"/api/unionpay/front/{order.out_trade_no}",
                 f"/api/unionpay/front/{alipay_order.out_trade_no}?ref={ref}",
                 f"/api/unionpay/front/%E4%BD%A0?ref={ref}"):
        async with site.http.get(f"{site.base}{path}") as resp:
            assert resp.status == 403, path


async def test_kiosk_qr_code_is_paid_and_credited(site: Site) -> None:
    """At the kiosk the shop pays by UnionPay's QR code (bizType 000000); the phone that scans it pays."""
    before, meter_before = await site.balance("A"), site.sim.meters[1].remaining_fen
    async with tenant_client(site.base) as client:
        await kiosk_check_in(client, site.base, site.accounts["A"], PASSWORDS["A"])
        async with client.get(f"{site.base}/kiosk/account") as resp:
            assert 'id="pay-unionpay"' in await resp.text()
        async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "5000", "provider": "unionpay"}) as resp:
            page = await resp.text()
            assert resp.url.path.startswith("/kiosk/pay/UP") and "请用云闪付或银行App扫码支付" in page
    no = resp.url.path.rsplit("/", 1)[1]
    order = await payments(site).store.get(no)
    assert order is not None and order.qr_code == f"{sandbox(site).base_url}/sandbox/qr/{no}"
    assert sandbox(site).trades[no].biz_type == "000000"
    async with site.http.get(order.qr_code) as resp:
        assert "确认付款" in await resp.text()
    async with site.http.post(f"{sandbox(site).base_url}/sandbox/pay/{no}") as resp:
        assert resp.status == 200
    await credited(site, no)
    await site.assert_credited_once(no, before, meter_before, replays=0)


async def test_lost_notification_is_found_by_the_query(site: Site) -> None:
    """With the notification lost, the sweep's query (txnType 00) finds the payment and credits it once."""
    order, trade = await qr_order(site)
    await payments(site).sweep(0)
    assert not (await payments(site).store.get(order.out_trade_no)).credited  # type: ignore[union-attr]
    sandbox(site).policy.lose = True
    sandbox(site).pay(order.out_trade_no)
    await payments(site).sweep(0)
    await payments(site).sweep(0)
    await credited(site, order.out_trade_no)
    assert (await site.security_kinds()).count("amount_mismatch") == 0
    history = await site.billing.account_history(site.accounts["A"])
    assert [t["reference"] for t in history].count(order.out_trade_no) == 1


async def test_refund_goes_off_the_meter_then_back_at_the_gateway_once(site: Site) -> None:
    """A credited order is refunded in full (txnType 04 naming its queryId); a second refund is refused."""
    order, trade = await qr_order(site)
    before = await site.balance("A")
    sandbox(site).pay(order.out_trade_no)
    await credited(site, order.out_trade_no)
    answer = await payments(site).refund(order.out_trade_no, {"id": "admin1", "role": "admin"}, "")
    assert answer["refund_fee"] == 5000 and trade.refunds == {f"{order.out_trade_no}R": "5000"}
    assert (await payments(site).store.get(order.out_trade_no)).state == "REFUNDED"  # type: ignore[union-attr]
    assert await site.balance("A") == before
    with pytest.raises(TopUpError):
        await payments(site).refund(order.out_trade_no, {"id": "admin1", "role": "admin"}, "")
    assert (await site.billing.trial_balance())["balanced"]


async def test_expired_order_is_refused_at_the_front_page_and_closed_by_the_sweep(site: Site) -> None:
    """Past its payTimeout an order's form is no longer served (409) and the sweep closes it here, since UnionPay
    has no close: the query answers 34 (no such paid order)."""
    order, url = await payments(site).create_wap_order(site.accounts["A"], 5000)
    site.core.clock.frozen = site.core.clock.utcnow() + dt.timedelta(minutes=16)
    try:
        async with site.http.get(url) as resp:
            assert resp.status == 409 and "过期" in await resp.text()
        await payments(site).sweep(0)
    finally:
        site.core.clock.frozen = None
    assert (await payments(site).store.get(order.out_trade_no)).state == "CLOSED"  # type: ignore[union-attr]


@pytest.mark.parametrize("amount_fen", [0, -5000, 500_001, 10**15])
async def test_amounts_out_of_range_are_refused_before_any_order(site: Site, amount_fen: int) -> None:
    """Nothing, negative, above the maximum or absurd: refused with the range in Chinese, no gateway call."""
    with pytest.raises(TopUpError, match="充值金额须在"):
        await payments(site).create_qr_order(site.accounts["A"], amount_fen)
    assert not sandbox(site).trades


async def test_another_accounts_meter_is_refused(site: Site) -> None:
    """A top-up for tenant A on tenant B's meter is refused."""
    with pytest.raises(TopUpError, match="表计不属于账户"):
        await payments(site).create_wap_order(site.accounts["A"], 5000, meter_entity_id="acrel_dtsy1352.m2")
