"""WeChat Pay top-ups end to end against the sandbox: H5 on the phone page, Native QR at the kiosk."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from integrations.topup.const import STATE_PAID
from integrations.topup.provider import TopUpProvider
from tests.alipay.harness import PASSWORDS, kiosk_check_in, tenant_client
from tests.helpers import wait_for

from .harness import WeChatSite

pytestmark = pytest.mark.timeout(60)


def _client(site: WeChatSite) -> aiohttp.ClientSession:
    return tenant_client(site.base)


async def test_h5_top_up_on_the_phone_page(site: WeChatSite) -> None:
    """The phone page offers both providers; choosing WeChat Pay sends the browser to the H5 cashier; paying
    brings it back to the order page (shown by its signed reference even without the session), the
    notification credits the account once and the meter shows +50.00."""
    tenant_site = site.core.data["tenant"]
    # Alipay (loaded first) stays the default
    assert [p.name for p in tenant_site.offers("zh-CN")] == ["alipay", "wechatpay"]
    assert all(isinstance(p, TopUpProvider) for p in tenant_site.registry.list())
    before = await site.balance("A")
    meter_before = site.sim.meters[1].remaining_fen
    async with _client(site) as client:
        async with client.post(
            f"{site.base}/m/login", data={"account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}
        ) as resp:
            home = await resp.text()
        assert (
            'value="alipay"' in home
            and 'value="wechatpay"' in home
            and "微信支付" in home
            and "支付宝" in home
        )
        async with client.post(
            f"{site.base}/m/topup", data={"amount": "50.00", "provider": "wechatpay"}, allow_redirects=False
        ) as resp:
            assert resp.status == 302
            h5_url = resp.headers["Location"]
        assert h5_url.startswith(site.wechat_sandbox.base_url)
        redirect = parse_qs(urlsplit(h5_url).query)["redirect_url"][0]
        out_trade_no = parse_qs(urlsplit(redirect).query)["out_trade_no"][0]
        assert out_trade_no.startswith("TW") and urlsplit(redirect).path == "/m/topup/return"
        async with client.get(h5_url) as resp:
            page = await resp.text()
        assert "确认支付" in page and "50.00" in page
        async with client.post(h5_url.split("?")[0], data={"redirect_url": redirect}) as resp:
            assert resp.url.path == "/m/topup/return"
            assert out_trade_no in await resp.text()
        order = await site.credited(out_trade_no)
        async with client.get(f"{site.base}/m/orders/{out_trade_no}") as resp:
            shown = await resp.json()
        assert shown["provider"] == "wechatpay" and shown["credited"] is True
    async with _client(site) as other_browser:  # back without the session: the signed reference shows the result
        async with other_browser.get(redirect, allow_redirects=False) as resp:
            assert resp.status == 200 and "充值成功" in await resp.text()
    assert order.state == STATE_PAID and order.channel == "wap" and order.receipt_no
    assert site.wechat_sandbox.trades[out_trade_no].trade_type == "MWEB"
    assert [entry[1] for entry in site.wechat_sandbox.notify_log] == [204]
    assert await site.balance("A") == before + 5000
    await wait_for(lambda: site.sim.meters[1].remaining_fen == meter_before + 5000, what="meter +50.00")
    history = await site.billing.account_history(site.accounts["A"])
    credits = [t for t in history if t["reference"] == out_trade_no]
    assert len(credits) == 1 and credits[0]["method"] == "wechat"
    assert (await site.billing.trial_balance())["balanced"]


async def test_native_top_up_at_the_kiosk(site: WeChatSite) -> None:
    """The kiosk offers a WeChat Pay row; its QR encodes the Native code_url, paying it credits the shop once,
    the receipt shows and the page asks for WeChat."""
    before = await site.balance("B")
    meter_before = site.sim.meters[2].remaining_fen
    async with _client(site) as client:
        await kiosk_check_in(client, site.base, site.accounts["B"], PASSWORDS["B"])
        async with client.get(f"{site.base}/kiosk/account") as resp:
            page = await resp.text()
        assert 'id="pay-alipay"' in page and 'id="pay-wechatpay"' in page and "微信支付" in page
        async with client.post(
            f"{site.base}/kiosk/topup", data={"amount_fen": "10000", "provider": "wechatpay"}
        ) as resp:
            assert resp.url.path.startswith("/kiosk/pay/TW")
            page = await resp.text()
        out_trade_no = resp.url.path.rsplit("/", 1)[1]
        assert "请用微信扫码支付" in page and "<svg" in page
        order = await site.wechat.store.get(out_trade_no)
        assert (
            order is not None
            and order.qr_code
            and order.amount_fen == 10000
            and order.provider == "wechatpay"
        )
        assert site.wechat_sandbox.trades[out_trade_no].trade_type == "NATIVE"
        async with client.get(order.qr_code) as resp:  # a phone scans the code
            assert "确认支付" in await resp.text()
        site.wechat_sandbox.pay(out_trade_no)
        await site.credited(out_trade_no)
        async with client.get(f"{site.base}/kiosk/orders/{out_trade_no}") as resp:
            assert await resp.json() == {"state": "PAID", "credited": True}
        async with client.get(f"{site.base}/kiosk/receipt/{out_trade_no}") as resp:
            receipt = await resp.text()
        assert "100.00" in receipt
        async with client.post(
            f"{site.base}/kiosk/topup", data={"amount_fen": "10000", "provider": "unionpay"}
        ) as resp:
            assert resp.status == 400
    assert await site.balance("B") == before + 10000
    await wait_for(lambda: site.sim.meters[2].remaining_fen == meter_before + 10000, what="meter +100.00")
