"""The lobby kiosk: pick a shop, top up by the on-screen QR (paid at the sandbox), show the receipt."""
from __future__ import annotations

import aiohttp
import pytest

from tests.alipay.harness import Site

pytestmark = pytest.mark.timeout(60)


async def test_kiosk_qr_top_up(site: Site) -> None:
    """The QR on screen encodes the gateway's qr_code; paying it credits the shop and the receipt shows;
    unknown shops and amounts out of range are refused."""
    before = await site.balance("B")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(f"{site.base}/kiosk/") as resp:
            page = await resp.text()
        assert "商铺A" in page and "商铺B" in page
        async with client.post(f"{site.base}/kiosk/select", data={"account_id": str(site.accounts["B"])}) as resp:
            assert "商铺B" in await resp.text()
        async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "10000"}) as resp:
            assert resp.url.path.startswith("/kiosk/pay/TU")
            page = await resp.text()
        out_trade_no = resp.url.path.rsplit("/", 1)[1]
        assert "<svg" in page and "qrline" in page
        order = await site.payments.store.get(out_trade_no)
        assert order is not None and order.qr_code and order.amount_fen == 10000
        async with client.get(order.qr_code) as resp:  # a phone scans the code
            assert "确认付款" in await resp.text()
        status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(out_trade_no)))
        assert status == 200
        async with client.get(f"{site.base}/kiosk/orders/{out_trade_no}") as resp:
            assert await resp.json() == {"state": "PAID", "credited": True}
        async with client.get(f"{site.base}/kiosk/receipt/{out_trade_no}") as resp:
            receipt = await resp.text()
        paid = await site.payments.store.get(out_trade_no)
        assert paid is not None and paid.receipt_no and paid.receipt_no in receipt and "100.00" in receipt
        async with client.get(f"{site.base}/kiosk/logout", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/"
        async with client.get(f"{site.base}/kiosk/account", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/"
    assert await site.balance("B") == before + 10000
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.post(f"{site.base}/kiosk/select", data={"account_id": "99999"},
                               allow_redirects=False) as resp:  # an unknown shop code goes back to the list
            assert resp.headers["Location"] == "/kiosk/?error=1"
        await client.post(f"{site.base}/kiosk/select", data={"account_id": str(site.accounts["A"])})
        async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "99"}) as resp:
            assert resp.status == 400 and "充值金额" in await resp.text()  # below the minimum

