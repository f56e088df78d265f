"""The purchase count is a 16-bit register: sales and the reconciler go on across 65535 -> 0."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import until, wait_for

from .conftest import CASHIER
from .test_scenarios import sale

pytestmark = pytest.mark.timeout(120)

M1 = "acrel_dtsy1352.m1"


def tamper_alarms(site: Any) -> list[dict[str, Any]]:
    """Collect the tamper alarms fired from now on."""
    alarms: list[dict[str, Any]] = []
    site.core.bus.async_listen(
        "billing_alarm", lambda e: alarms.append(dict(e.data)) if e.data["level"] == "tamper" else None
    )
    return alarms


async def test_three_sales_across_the_wrap_reach_the_meter_once_each(start_site) -> None:
    """A meter at purchase count 65534 takes sales counted 65535, 0 and 1; each lands once; no tamper."""
    site = await start_site(units=1)
    meter = site.sim.meter(1)
    meter.purchase_count = 65534
    await wait_for(
        lambda: site.core.states.get(M1).attributes.get("purchase_count") == 65534, what="count read"
    )
    tampers = tamper_alarms(site)
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    counts = []
    for n, amount in enumerate((10000, 20000, 30000)):
        sold = await site.api("POST", "/api/billing/sales", sale(M1, amount, f"wrap-{n}"))
        assert sold["deliveries"][0]["status"] == "delivered", sold
        counts.append(sold["deliveries"][0]["purchase_count"])
    assert counts == [65535, 0, 1]
    assert meter.purchase_count == 1 and meter.remaining_fen == 60000
    await wait_for(lambda: site.core.states.get(M1).attributes.get("purchase_count") == 1, what="count read")
    status = await until(
        lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda m: m["remaining_fen"] == 60000
    )
    assert not status["blocked"] and status["status"] != "tamper", status
    await site.api("POST", "/api/billing/reconcile")
    assert tampers == [] and meter.purchase_count == 1 and meter.remaining_fen == 60000
    await site.balanced()


@pytest.mark.parametrize("landed", [True, False], ids=["write_landed", "write_lost"])
async def test_reconcile_across_the_wrap(start_site, landed: bool) -> None:
    """A sale left pending at count 65535 -> 0 (its write landed unconfirmed, or never came) settles once."""
    site = await start_site(units=1, gateway={"command_timeout": 3})
    meter = site.sim.meter(1)
    meter.purchase_count = 65535
    await wait_for(
        lambda: site.core.states.get(M1).attributes.get("purchase_count") == 65535, what="count read"
    )
    tampers = tamper_alarms(site)
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    # Landed: the meter carries the write out but answers after the master gave up; lost: it never answers.
    site.sim.set_fault(1, **({"delay": 1.0} if landed else {"silent": True}))
    sold = await site.api("POST", "/api/billing/sales", sale(M1, 2500, "pending-1"))
    delivery = sold["deliveries"][0]
    assert delivery["status"] == "pending" and delivery["purchase_count"] == 0, sold
    assert (meter.purchase_count, meter.remaining_fen) == ((0, 2500) if landed else (65535, 0))
    site.sim.set_fault(1)
    await until(lambda: site.api("POST", "/api/billing/reconcile"), lambda outcome: True)
    detail = await until(
        lambda: site.api("GET", f"/api/billing/transactions/{sold['transaction']['id']}"),
        lambda t: t["deliveries"][0]["status"] == "delivered",
    )
    assert detail["deliveries"][0]["purchase_count"] == 0
    assert (meter.purchase_count, meter.remaining_fen) == (0, 2500)
    again = await site.api("POST", "/api/billing/sales", sale(M1, 500, "after-1"))
    assert again["deliveries"][0]["status"] == "delivered" and again["deliveries"][0]["purchase_count"] == 1
    assert (meter.purchase_count, meter.remaining_fen) == (1, 3000) and tampers == []
    await site.balanced()
