"""Alipay notifications against the sandbox: credited exactly once, forged/mismatched ones refused and logged."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from integrations.alipay.client import AlipayError
from integrations.alipay.signing import canonical_string
from integrations.topup.const import STATE_CLOSED, STATE_PAID, STATE_PENDING, STATE_REFUNDED
from integrations.topup.errors import TopUpError
from integrations.topup.orders import Order
from integrations.topup.sandbox import NotifyPolicy
from integrations.topup.signing import generate_keypair, load_private_key, sign
from tests.helpers import wait_for

from .harness import ADMIN, Site

pytestmark = pytest.mark.timeout(60)


async def _wap_order(site: Site, tenant: str = "A", amount_fen: int = 5000) -> Order:
    """Create a wap order and open its pay URL (the sandbox now knows the trade, unpaid)."""
    order, url = await site.payments.create_wap_order(site.accounts[tenant], amount_fen)
    async with site.http.get(url) as resp:
        assert resp.status == 200
        assert "确认付款" in await resp.text()
    return order


async def _credited(site: Site, out_trade_no: str) -> None:
    """Wait until an order is credited."""
    deadline = asyncio.get_running_loop().time() + 15
    while not ((order := await site.payments.store.get(out_trade_no)) and order.credited):
        assert asyncio.get_running_loop().time() < deadline, f"order {out_trade_no} not credited"
        await asyncio.sleep(0.02)


async def test_notify_three_times_credits_once(site: Site) -> None:
    """Three copies of the notification (one after the other, then three at once): one credit, meter +50.00."""
    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    order = await _wap_order(site)
    site.sandbox.pay(order.out_trade_no, NotifyPolicy(repeat=3))
    await wait_for(lambda: len(site.sandbox.notify_log) >= 3, what="three notifications")
    assert [entry[1:] for entry in site.sandbox.notify_log] == [(200, "success")] * 3
    form = site.sandbox.notify_form(site.sandbox.trades[order.out_trade_no])
    answers = await asyncio.gather(*(site.notify(form) for _ in range(3)))
    assert answers == [(200, "success")] * 3
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and stored.state == STATE_PAID and stored.credited and stored.receipt_no
    await site.assert_credited_once(order.out_trade_no, before, meter_before, replays=5)


def _resigned(site: Site, form: dict[str, str], **changes: str) -> dict[str, str]:
    """Change fields and sign again with the sandbox's (Alipay's) key: a valid signature over wrong data."""
    new = {**form, **changes}
    new["sign"] = sign(canonical_string(new, ("sign", "sign_type")), site.sandbox.alipay_private_key)
    return new


BAD_NOTIFIES = [
    ("wrong_signature", "bad_signature"),
    ("tampered_after_signing", "bad_signature"),
    ("wrong_amount", "amount_mismatch"),
    ("wrong_app_id", "app_id_mismatch"),
    ("wrong_seller", "seller_mismatch"),
    ("unknown_order", "unknown_order"),
]


async def test_forged_or_mismatched_notify_credits_nothing(site: Site, keys_dir: Path) -> None:
    """Each bad notification (one site, one fresh order per case) is answered `failure` with 4xx,
    credits nothing and leaves its security event."""
    app_key = load_private_key((keys_dir / "app_private.pem").read_text())
    for case, kind in BAD_NOTIFIES:
        before = await site.balance("A")
        order = await _wap_order(site)
        trade = site.sandbox.trades[order.out_trade_no]
        trade.status = "TRADE_SUCCESS"
        form = site.sandbox.notify_form(trade)
        if case == "wrong_signature":
            form["sign"] = sign(canonical_string(form, ("sign", "sign_type")), app_key)
        elif case == "tampered_after_signing":
            form["total_amount"] = "5000.00"
        elif case == "wrong_amount":
            form = _resigned(site, form, total_amount="0.50", receipt_amount="0.50", buyer_pay_amount="0.50")
        elif case == "wrong_app_id":
            form = _resigned(site, form, app_id="2021999999999999")
        elif case == "wrong_seller":
            form = _resigned(site, form, seller_id="2088999999999999")
        else:
            form = _resigned(site, form, out_trade_no="TU00000000000000DEADBEEF")
        assert await site.notify(form) == (400, "failure"), case
        assert (await site.security_kinds())[-1] == kind, case
        stored = await site.payments.store.get(order.out_trade_no)
        assert stored is not None and stored.state == STATE_PENDING and not stored.credited, case
        assert await site.balance("A") == before, case
    async with site.http.get(f"{site.base}/api/alipay/security_events?limit=6") as resp:
        events = await resp.json()
    assert [e["kind"] for e in reversed(events)] == [kind for _, kind in BAD_NOTIFIES]
    async with site.http.get(f"{site.base}/api/alipay/orders?account_id={site.accounts['A']}") as resp:
        orders = await resp.json()
    assert len(orders) == len(BAD_NOTIFIES) and {o["state"] for o in orders} == {STATE_PENDING}
    async with site.http.get(f"{site.base}/api/openapi.json") as resp:
        paths = (await resp.json())["paths"]
    assert {"/api/alipay/notify", "/api/alipay/orders", "/api/alipay/security_events"} <= set(paths)
    for name in ("orders", "security_events"):  # every provider's, at topup's address
        assert paths[f"/api/alipay/{name}"]["get"]["deprecated"] and "deprecated" not in paths[f"/api/topup/{name}"]["get"]
    async with site.http.get(f"{site.base}/api/topup/orders?account_id={site.accounts['A']}") as resp:
        assert await resp.json() == orders
    async with site.http.get(f"{site.base}/api/topup/security_events?limit=6") as resp:
        assert await resp.json() == events


async def test_lost_notification_found_by_query(site: Site) -> None:
    """No notification comes in time: the query job finds the payment and credits it; a late one changes nothing."""
    before = await site.balance("A")
    order = await _wap_order(site, amount_fen=1234)
    site.sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    await site.core.services.async_call("alipay", "sweep", {"query_after": 0})
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and stored.state == STATE_PAID and stored.credited
    await site.core.services.async_call("alipay", "sweep", {"query_after": 0})
    assert await site.balance("A") == before + 1234
    assert site.sandbox.notify_log == []
    late = await site.notify(site.sandbox.notify_form(site.sandbox.trades[order.out_trade_no]))
    assert late == (200, "success")  # the late notification is a repeat: no second credit
    assert await site.balance("A") == before + 1234


async def test_paid_but_not_credited_is_credited_by_the_sweep(site: Site) -> None:
    """A crash after the payment was recorded and before billing took it: the next sweep credits it once."""
    before = await site.balance("A")
    order = await _wap_order(site, amount_fen=900)
    site.sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    assert await site.payments.store.record_paid(order.out_trade_no, site.sandbox.trades[order.out_trade_no].trade_no)
    await site.core.services.async_call("alipay", "sweep", {"query_after": 3600})
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and stored.credited
    assert await site.balance("A") == before + 900


async def test_expired_orders_are_closed(site: Site) -> None:
    """Unpaid orders past their timeout are closed at the gateway and here (QR ones never scanned too)."""
    wap = await _wap_order(site, amount_fen=500)
    qr = await site.payments.create_qr_order(site.accounts["A"], 500)
    assert qr.qr_code and qr.qr_code.endswith(qr.out_trade_no)
    site.core.clock.offset = timedelta(minutes=20)
    try:
        await site.core.services.async_call("alipay", "sweep", {"query_after": 0})
    finally:
        site.core.clock.offset = timedelta(0)
    for order in (wap, qr):
        stored = await site.payments.store.get(order.out_trade_no)
        assert stored is not None and stored.state == STATE_CLOSED
    assert site.sandbox.trades[wap.out_trade_no].status == "TRADE_CLOSED"


async def test_qr_order_paid_and_refunded(site: Site) -> None:
    """Kiosk QR: precreate, scan and pay, credited; a refund takes it off the meter and goes through the gateway."""
    before = await site.balance("B")
    order = await site.payments.create_qr_order(site.accounts["B"], 2000)
    async with site.http.get(order.qr_code) as resp:  # the buyer scans
        assert "确认付款" in await resp.text()
    site.sandbox.pay(order.out_trade_no)
    await _credited(site, order.out_trade_no)
    assert await site.balance("B") == before + 2000
    meter_before = site.sim.meters[2].remaining_fen
    refund = {"out_trade_no": order.out_trade_no, "operator": ADMIN, "reason": "tenant asked"}
    result = await site.core.services.async_call("alipay", "refund", refund)
    assert result == {"out_trade_no": order.out_trade_no, "refund_fee": "20.00", "fund_change": "Y"}
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and stored.state == STATE_REFUNDED
    assert await site.balance("B") == before
    assert site.sim.meters[2].remaining_fen == meter_before - 2000
    with pytest.raises(TopUpError):  # a second refund of the same order is refused
        await site.core.services.async_call("alipay", "refund", refund)
    assert (await site.billing.trial_balance())["balanced"]


async def test_gateway_refuses_requests_signed_with_another_key(site: Site) -> None:
    """The sandbox verifies our RSA2 request signature: a wrong key is refused (and we notice)."""
    good = site.payments.client.settings.private_key
    site.payments.client.settings.private_key = load_private_key(generate_keypair()[0])
    try:
        with pytest.raises(AlipayError, match="unsigned"):
            await site.payments.client.query("TU1")
    finally:
        site.payments.client.settings.private_key = good
    assert site.sandbox.rejected_requests == 1


async def test_orders_only_for_open_accounts_and_allowed_amounts(site: Site) -> None:
    """Unknown accounts and amounts outside min/max get a clear 400 through the service API; no order is stored."""
    for data, message in (({"account_id": 999, "amount_fen": 5000}, "999"),
                          ({"account_id": site.accounts["A"], "amount_fen": 50}, "充值金额"),
                          ({"account_id": site.accounts["A"], "amount_fen": 500001}, "充值金额")):
        async with site.http.post(f"{site.base}/api/services/alipay/create_order", json=data) as resp:
            assert resp.status == 400 and message in (await resp.json())["error"], data
    assert await site.payments.store.for_account(site.accounts["A"]) == []
