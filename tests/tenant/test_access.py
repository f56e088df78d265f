"""Tenant A's session can neither read nor pay for tenant B, on every tenant and kiosk route (one site per database)."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from tests.alipay.harness import PASSWORDS, Site, kiosk_check_in, running_site, tenant_client
from tests.conftest import DB_KINDS, POSTGRES_URL

pytestmark = [pytest.mark.timeout(90), pytest.mark.asyncio(loop_scope="module")]

# (method, path, form); {acct}, {meter}, {order}, {tx} are filled with the data of the tenant asked about.
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


@dataclass
class Shared:
    """One site per database with tenant A logged in (phone and kiosk) and a paid order for each tenant."""

    site: Site
    values: dict[str, dict[str, str]]
    tenant_a: aiohttp.ClientSession
    anonymous: aiohttp.ClientSession


@pytest.fixture(scope="module", params=DB_KINDS)
def module_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Return recorder settings for this module's site on SQLite or PostgreSQL."""
    if request.param == "postgresql":
        assert POSTGRES_URL
        return {"db_url": POSTGRES_URL, "db_schema": f"t_{uuid.uuid4().hex[:12]}"}
    return {"db_url": f"sqlite:///{tmp_path_factory.mktemp('access') / 'test.db'}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(module_db: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
                 keys_dir: Path) -> AsyncIterator[Shared]:
    """Start the site, pay one QR order per tenant, log tenant A in."""
    async with running_site(tmp_path_factory.mktemp("site"), keys_dir, module_db) as site:
        values = {}
        for tenant, unit in (("A", 1), ("B", 2)):
            order = await site.payments.create_qr_order(site.accounts[tenant], 1000)
            status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(order.out_trade_no)))
            assert status == 200
            paid = await site.payments.store.get(order.out_trade_no)
            assert paid is not None and paid.transaction_id
            values[tenant] = {"acct": str(site.accounts[tenant]), "meter": f"acrel_dtsy1352.m{unit}",
                              "order": paid.out_trade_no, "tx": str(paid.transaction_id)}
        await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": "acrel_dtsy1352.m1"})
        tenant_a = tenant_client(site.base)
        anonymous = tenant_client(site.base)
        try:
            async with tenant_a.post(f"{site.base}/m/login", allow_redirects=False, data={
                    "account_id": values["A"]["acct"], "password": PASSWORDS["A"]}) as resp:
                assert resp.status == 302
            await kiosk_check_in(tenant_a, site.base, site.accounts["A"], PASSWORDS["A"])
            yield Shared(site, values, tenant_a, anonymous)
        finally:
            await tenant_a.close()
            await anonymous.close()


def _request(route: tuple[str, str, dict[str, str] | None], values: dict[str, str]) -> tuple[str, str, dict | None]:
    method, path, form = route
    return method, path.format(**values), ({k: v.format(**values) for k, v in form.items()} if form is not None else None)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in ROUTES])
async def test_route_refuses_the_other_tenant(shared: Shared, route: tuple[str, str, dict[str, str] | None]) -> None:
    """A is refused B's data (403, nothing of B in the body, a security event); A's own works; no session: login."""
    site = shared.site
    before = (await site.security_kinds()).count("foreign_access")
    method, path, data = _request(route, shared.values["B"])
    async with shared.tenant_a.request(method, site.base + path, data=data, allow_redirects=False) as resp:
        body = await resp.text()
        assert resp.status == 403, (resp.status, body[:200])
    assert "商铺B" not in body and shared.values["B"]["order"] not in body
    assert (await site.security_kinds()).count("foreign_access") == before + 1
    method, path, data = _request(route, shared.values["A"])
    async with shared.tenant_a.request(method, site.base + path, data=data, allow_redirects=False) as resp:
        assert resp.status in (200, 302), (resp.status, (await resp.text())[:300])
        if resp.status == 302:  # a redirect onwards (to Alipay, the QR page, home), never back to a login
            assert not resp.headers["Location"].startswith(("/m/login", "/kiosk/?")), resp.headers["Location"]
            assert resp.headers["Location"] != "/kiosk/"
    async with shared.anonymous.request(method, site.base + path, data=data, allow_redirects=False) as resp:
        assert resp.status == 401 or (  # the return page sends to the login page and back (?next=)
            resp.status == 302 and resp.headers["Location"].split("?next=")[0] in ("/m/login", "/kiosk/"))
