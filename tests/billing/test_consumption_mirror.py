"""A meter-side meter's running consumption reaches the ledger at an interval; levels and sales at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.helpers import until, wait_for

from .conftest import CASHIER, billing_section

pytestmark = pytest.mark.timeout(90)

M1 = "acrel_dtsy1352.m1"


async def test_consumption_is_mirrored_at_the_interval_and_levels_at_once(start_site) -> None:
    """Spending within a level waits for consumption_interval; a new level or a sale brings the ledger up at once."""
    site = await start_site(units=1, billing={**billing_section(), "consumption_interval": 600})
    sim = site.sim.meter(1)
    alarms: list[tuple[str, str]] = []
    site.core.bus.async_listen("billing_alarm", lambda e: alarms.append((e.data["level"], e.data["phase"])))
    await site.api("POST", "/api/billing/accounts", {"name": "302 书店", "meters": [M1], "operator": CASHIER})
    body = {"meter_entity_id": M1, "amount_fen": 20000, "method": "cash", "operator": CASHIER}
    await site.api("POST", "/api/billing/sales", {**body, "idempotency_key": "mirror-1"})

    async def energy_revenue() -> int:
        return int((await site.api("GET", "/api/billing/trial_balance"))["accounts"].get("revenue:energy", 0))

    def meter_shows(fen: int) -> None:
        sim.remaining_fen = fen

    async def read_back(fen: int) -> None:
        meter_shows(fen)
        await wait_for(lambda: site.core.states.get(M1).attributes.get("remaining_fen") == fen, what=f"{fen} read")

    # 10 yuan spent, still above alarm 1 (50 yuan): read several times, not yet in the ledger.
    await read_back(19000)
    sweeps = site.core.states.get("modbus.bus_gw1").attributes["sweeps"]
    await wait_for(lambda: site.core.states.get("modbus.bus_gw1").attributes["sweeps"] >= sweeps + 3, what="sweeps")
    assert await energy_revenue() == 0
    status = await site.api("GET", f"/api/billing/meters/{M1}")
    assert status["remaining_fen"] == 19000, "screens show the meter's own money, not the lagging mirror"

    # Once the interval has passed, the next read posts the consumption.
    site.core.clock.set_now(site.core.clock.utcnow() + timedelta(seconds=601))
    assert await until(energy_revenue, lambda fen: fen == -1000) == -1000

    # Crossing alarm 1 is mirrored at once, with its alarm.
    await read_back(4000)
    await until(energy_revenue, lambda fen: fen == -16000)
    assert ("alarm1", "enter") in alarms

    # Within alarm 1 nothing is posted, until a sale: the ledger catches up before the money moves.
    await read_back(3500)
    await asyncio.sleep(1.5)
    assert await energy_revenue() == -16000
    sold = await site.api("POST", "/api/billing/sales", {**body, "amount_fen": 1000, "idempotency_key": "mirror-2"})
    assert sold["deliveries"][0]["status"] == "delivered"
    assert await energy_revenue() == -16500
    assert sim.remaining_fen == 4500
    await site.balanced()


async def test_consumption_is_mirrored_after_local_midnight(start_site) -> None:
    """A day's consumption is in the ledger soon after the local midnight, whatever the interval."""
    site = await start_site(units=1, billing={**billing_section(), "consumption_interval": 86400})
    # Mid-afternoon, so that no real midnight falls inside the first part, whatever the hour the suite runs.
    site.core.clock.set_now(site.core.clock.now().replace(hour=15, minute=0, second=0, microsecond=0))
    sim = site.sim.meter(1)
    await site.api("POST", "/api/billing/accounts", {"name": "303 花店", "meters": [M1], "operator": CASHIER})
    body = {"meter_entity_id": M1, "amount_fen": 20000, "method": "cash", "operator": CASHIER}
    await site.api("POST", "/api/billing/sales", {**body, "idempotency_key": "midnight-1"})
    sim.remaining_fen = 18800
    await wait_for(lambda: site.core.states.get(M1).attributes.get("remaining_fen") == 18800, what="read")
    await asyncio.sleep(1.0)
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"].get("revenue:energy", 0) == 0

    local = site.core.clock.now()
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    site.core.clock.set_now(midnight)
    await until(
        lambda: site.api("GET", "/api/billing/trial_balance"),
        lambda trial: trial["accounts"].get("revenue:energy", 0) == -1200,
    )
