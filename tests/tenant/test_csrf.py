"""Every form under /m/ and /kiosk/ needs the page's CSRF token and this site's origin; a refused POST changes
nothing; the real form flow (token taken from the page) still works."""
from __future__ import annotations

import logging
import re

import aiohttp
import pytest
from sqlalchemy import func, select

from integrations.topup.models import OrderRow
from tests.alipay.harness import PASSWORDS, PHONES, Site
from web.tenant.models import TenantCodeRow, TenantSessionRow

pytestmark = pytest.mark.timeout(90)

TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
FOREIGN = ("http://evil.example", "null")
# Every POST route the brief names (the test below also walks the router, so new ones are covered too).
NAMED = {"/m/login", "/m/logout", "/m/topup", "/m/meters/{entity_id}/close", "/kiosk/select", "/kiosk/topup"}
FORMS = {
    "/m/login": {"account_id": "{acct}", "password": PASSWORDS["A"]},
    "/m/login/code/send": {"phone": PHONES["A"]},
    "/m/login/code": {"phone": PHONES["A"], "code": "123456"},
    "/m/topup": {"amount": "50.00"},
    "/kiosk/select": {"shop": "{acct}", "by": "account"},
    "/kiosk/check": {"password": PASSWORDS["A"]},
    "/kiosk/topup": {"amount_fen": "5000"},
}


async def _token(client: aiohttp.ClientSession, url: str) -> str:
    async with client.get(url) as resp:
        match = TOKEN.search(await resp.text())
    assert match is not None, f"no CSRF field on {url}"
    return match.group(1)


async def _snapshot(site: Site) -> tuple[int, ...]:
    """Count what a tenant POST could change: sessions, codes, orders, the meter's relay and the ledger."""
    assert site.core.db is not None
    async with site.core.db.session() as session:
        counts = [int(await session.scalar(select(func.count()).select_from(row)) or 0)
                  for row in (TenantSessionRow, TenantCodeRow, OrderRow)]
    relay = site.core.states.get("acrel_dtsy1352.m1").attributes.get("relay")
    history = await site.billing.account_history(site.accounts["A"])
    return (*counts, relay == "closed", len(history))


async def _logged_in(site: Site) -> tuple[aiohttp.ClientSession, str]:
    """Log tenant A in on the phone page and at the kiosk through the real forms; return the client and token."""
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = await _token(client, f"{site.base}/m/login")
    async with client.post(f"{site.base}/m/login", allow_redirects=False, data={
            "csrf": token, "account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}) as resp:
        assert resp.status == 302 and resp.headers["Location"] == "/m/home"
    assert await _token(client, f"{site.base}/m/home") == token  # one token per browser, in every form
    async with client.post(f"{site.base}/kiosk/select", allow_redirects=False, data={
            "csrf": token, "shop": str(site.accounts["A"]), "by": "account"}) as resp:
        assert resp.headers["Location"] == "/kiosk/check"
    async with client.post(f"{site.base}/kiosk/check", allow_redirects=False, data={
            "csrf": await _token(client, f"{site.base}/kiosk/check"), "password": PASSWORDS["A"]}) as resp:
        assert resp.headers["Location"] == "/kiosk/account"
    return client, token


async def test_tenant_posts_without_token_or_from_another_origin_are_refused(site: Site) -> None:
    """Each POST route under /m/ and /kiosk/, for a logged-in tenant: no token, a wrong token, a foreign Origin or
    Referer → 403, a security event, and nothing changed; the same form with the token and our origin passes."""
    await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": "acrel_dtsy1352.m1"})
    order = await site.payments.create_qr_order(site.accounts["A"], 3000)
    status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(order.out_trade_no)))
    assert status == 200
    routes = sorted({r.resource.canonical for r in site.core.http.app.router.routes()  # type: ignore[union-attr]
                     if r.method == "POST" and r.resource is not None
                     and r.resource.canonical.startswith(("/m/", "/kiosk/"))})
    assert NAMED <= set(routes), routes
    client, token = await _logged_in(site)
    try:
        for route in routes:
            path = route.replace("{entity_id}", "acrel_dtsy1352.m1")
            form = {k: v.format(acct=site.accounts["A"]) for k, v in FORMS.get(route, {}).items()}
            attempts = [
                ({}, form),
                ({}, {**form, "csrf": "not-the-token"}),
                *(({"Origin": origin}, {**form, "csrf": token}) for origin in FOREIGN),
                ({"Referer": "http://evil.example/attack.html"}, {**form, "csrf": token}),
            ]
            for headers, data in attempts:
                before = await _snapshot(site)
                refused = (await site.security_kinds()).count("csrf_refused")
                async with client.post(f"{site.base}{path}", data=data, headers=headers,
                                       allow_redirects=False) as resp:
                    assert resp.status == 403, (route, headers, resp.status)
                    assert "表单已失效" in await resp.text()
                assert await _snapshot(site) == before, (route, headers)
                assert (await site.security_kinds()).count("csrf_refused") == refused + 1
        # still logged in everywhere: the refused logout changed nothing
        async with client.get(f"{site.base}/m/home", allow_redirects=False) as resp:
            assert resp.status == 200
        async with client.get(f"{site.base}/kiosk/account", allow_redirects=False) as resp:
            assert resp.status == 200
        # the same forms with the page's token and our own origin go through
        headers = {"Origin": site.base}
        async with client.post(f"{site.base}/m/meters/acrel_dtsy1352.m1/close", headers=headers,
                               data={"csrf": token}, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/m/home"
        async with client.post(f"{site.base}/m/topup", headers={"Referer": f"{site.base}/m/home"},
                               data={"csrf": token, "amount": "50.00"}, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith(site.sandbox.base_url)
        async with client.post(f"{site.base}/kiosk/topup", headers=headers,
                               data={"csrf": token, "amount_fen": "5000"}, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith("/kiosk/pay/TU")
        async with client.post(f"{site.base}/m/logout", headers=headers, data={"csrf": token},
                               allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/m/login"
        async with client.get(f"{site.base}/m/home", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/m/login"
    finally:
        await client.close()


async def test_a_fresh_browser_gets_its_token_with_the_first_page(site: Site) -> None:
    """A browser without the CSRF cookie cannot log in by POST alone; the login page hands it the cookie and the
    field (HttpOnly, SameSite=Lax), and the form then works."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        data = {"account_id": str(site.accounts["B"]), "password": PASSWORDS["B"]}
        async with client.post(f"{site.base}/m/login", data=data, allow_redirects=False) as resp:
            assert resp.status == 403
        async with client.get(f"{site.base}/m/login") as resp:
            cookie = resp.cookies["op_tenant_csrf"]
            token = TOKEN.search(await resp.text()).group(1)  # type: ignore[union-attr]
        assert cookie.value == token and cookie["httponly"] and cookie["samesite"] == "Lax"
        async with client.post(f"{site.base}/m/login", data={**data, "csrf": token}, allow_redirects=False) as resp:
            assert resp.status == 302


async def test_refused_posts_log_one_line(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """A refused POST to a path with an encoded newline and 5,000 characters logs one short line, not a forged one."""
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{site.base}/m/topup%0Acredited%20order%20TU1{'x' * 5000}", data={}) as resp:
            assert resp.status == 403
    lines = [r.getMessage() for r in caplog.records if "csrf_refused" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0] and len(lines[0]) < 500
