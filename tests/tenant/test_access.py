"""Tenant A's session can neither read nor pay for tenant B, on every tenant and kiosk route."""
from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.alipay.harness import PASSWORDS, Site

pytestmark = pytest.mark.timeout(90)


async def _login(site: Site, tenant: str) -> aiohttp.ClientSession:
    """Return a client session logged in as ``tenant`` on the phone pages and picked at the kiosk."""
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with client.post(f"{site.base}/m/login", data={"account_id": str(site.accounts[tenant]),
                                                         "password": PASSWORDS[tenant]}, allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/m/home"
    async with client.post(f"{site.base}/kiosk/select", data={"account_id": str(site.accounts[tenant])},
                           allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/kiosk/account"
    return client


async def _paid_qr_order(site: Site, tenant: str) -> Any:
    """Return a paid and credited QR order of ``tenant``."""
    order = await site.payments.create_qr_order(site.accounts[tenant], 1000)
    trade = site.sandbox.pay(order.out_trade_no)
    status, _ = await site.notify(site.sandbox.notify_form(trade))
    assert status == 200
    return await site.payments.store.get(order.out_trade_no)


# (method, path template, form) — {acct}, {meter}, {order}, {tx} are filled for the tenant whose data is asked.
ROUTES = [
    ("GET", "/m/home?account_id={acct}", None),
    ("GET", "/m/api/account?account_id={acct}", None),
    ("GET", "/m/meters/{meter}/usage.svg?range=daily", None),
    ("GET", "/m/meters/{meter}/usage.svg?range=monthly", None),
    ("POST", "/m/meters/{meter}/close", {}),
    ("POST", "/m/topup", {"account_id": "{acct}", "amount": "50.00"}),
    ("GET", "/m/topup/return?out_trade_no={order}", None),
    ("GET", "/m/orders/{order}", None),
    ("GET", "/m/receipts/{tx}.pdf", None),
    ("GET", "/kiosk/account?account_id={acct}", None),
    ("POST", "/kiosk/topup", {"account_id": "{acct}", "amount_fen": "5000"}),
    ("GET", "/kiosk/pay/{order}", None),
    ("GET", "/kiosk/orders/{order}", None),
    ("GET", "/kiosk/receipt/{order}", None),
]


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format(**values)


async def test_every_route_refuses_the_other_tenant(site: Site) -> None:
    """For each route: A reaches its own data (so the check can fail) and is refused B's with 403 + event."""
    orders = {t: await _paid_qr_order(site, t) for t in ("A", "B")}
    values = {
        t: {"acct": str(site.accounts[t]), "meter": f"acrel_dtsy1352.m{1 if t == 'A' else 2}",
            "order": orders[t].out_trade_no, "tx": str(orders[t].transaction_id)}
        for t in ("A", "B")
    }
    # tenant A's meter is tripped so that its own remote close is allowed
    await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": "acrel_dtsy1352.m1"})
    client = await _login(site, "A")
    anonymous = aiohttp.ClientSession()
    try:
        for method, path, form in ROUTES:
            data = {k: _fill(v, values["B"]) for k, v in form.items()} if form is not None else None
            async with client.request(method, site.base + _fill(path, values["B"]), data=data,
                                      allow_redirects=False) as resp:
                body = await resp.text()
                assert resp.status == 403, (method, path, resp.status, body[:200])
                assert "商铺B" not in body and values["B"]["order"] not in body
            own = {k: _fill(v, values["A"]) for k, v in form.items()} if form is not None else None
            async with client.request(method, site.base + _fill(path, values["A"]), data=own,
                                      allow_redirects=False) as resp:
                assert resp.status in (200, 302), (method, path, resp.status, (await resp.text())[:300])
                if resp.status == 302:
                    assert not resp.headers["Location"].startswith(("/m/login", "/kiosk/?")), (path, resp.headers)
            async with anonymous.request(method, site.base + _fill(path, values["A"]), data=own,
                                         allow_redirects=False) as resp:
                assert resp.status in (401, 302), (method, path, resp.status)
                if resp.status == 302:
                    assert resp.headers["Location"] in ("/m/login", "/kiosk/")
    finally:
        await client.close()
        await anonymous.close()
    kinds = await site.security_kinds()
    assert kinds.count("foreign_access") == len(ROUTES)
