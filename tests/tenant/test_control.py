"""Remote close (远程合闸) on the phone obeys control precedence: a tenant never undoes staff, and restores a prepaid
trip only once the money is above zero. The meter's forced state and relay are read from the simulator."""
from __future__ import annotations

import time

import aiohttp
import pytest

from scada_core.const import ACTOR_STAFF
from scada_core.core import Context
from tests.alipay.harness import PASSWORDS, Site, tenant_client
from tests.helpers import wait_for

pytestmark = pytest.mark.timeout(60)

M1 = "acrel_dtsy1352.m1"
CLOSE = f"/m/meters/{M1}/close"


async def _logged_in(site: Site) -> aiohttp.ClientSession:
    client = tenant_client(site.base)
    async with client.post(f"{site.base}/m/login", allow_redirects=False,
                           data={"account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}) as resp:
        assert resp.status == 302
    return client


async def _top_up(site: Site, fen: int) -> None:
    order = await site.payments.create_qr_order(site.accounts["A"], fen)
    status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(order.out_trade_no)))
    assert status == 200
    await wait_for(lambda: site.sim.meter(1).remaining_fen >= fen, what="the sale on the meter")


async def test_tenant_cannot_undo_staff_forced_trip(site: Site) -> None:
    """Staff 拉闸 on a meter with money: the phone shows why it cannot switch on, and its close is refused (409)
    with the reason; the meter stays forced off. Staff close it again."""
    sim = site.sim.meter(1)
    await _top_up(site, 3000)
    staff = Context(user_id="admin1", actor=ACTOR_STAFF)
    await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": M1}, staff)
    assert sim.forced == "trip" and not sim.relay_closed(time.time())
    async with await _logged_in(site) as client:
        async with client.post(f"{site.base}{CLOSE}", allow_redirects=False) as resp:
            assert resp.status == 409
            assert "只有物业人员可以解除" in await resp.text()
        assert sim.forced == "trip" and not sim.relay_closed(time.time())
        async with client.get(f"{site.base}/m/home") as resp:
            page = await resp.text()
        assert "物业已强制控制此表" in page and f'action="{CLOSE}"' not in page  # a reason, no button
        await site.core.services.async_call("acrel_dtsy1352", "close", {"entity_id": M1}, staff)
        assert sim.forced is None and sim.relay_closed(time.time())
        async with client.get(f"{site.base}/m/home") as resp:
            assert "物业已强制控制此表" not in await resp.text()


async def test_tenant_restores_prepaid_trip_only_above_zero(site: Site) -> None:
    """Prepaid control trips a meter at zero: the tenant's close is refused until a top-up brings the money above
    zero, then it closes the relay."""
    sim = site.sim.meter(1)
    await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": M1})  # the arrears rule's trip
    assert sim.remaining_fen == 0 and sim.forced == "trip"
    async with await _logged_in(site) as client:
        async with client.post(f"{site.base}{CLOSE}", allow_redirects=False) as resp:
            assert resp.status == 409
            assert "余额须大于零" in await resp.text()
        assert sim.forced == "trip" and not sim.relay_closed(time.time())
        await _top_up(site, 3000)
        async with client.get(f"{site.base}/m/home") as resp:
            assert f'action="{CLOSE}"' in await resp.text()
        async with client.post(f"{site.base}{CLOSE}", allow_redirects=False) as resp:
            assert resp.status == 302
        assert sim.forced is None and sim.relay_closed(time.time())
