"""Server-side billing of a plain meter (modbus_meter on the simulator): tiered charges, monthly fee, trip at arrears."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import until, wait_for

from .conftest import CASHIER

pytestmark = pytest.mark.timeout(60)

P1 = "modbus_meter.p1"
TIERED = {
    "kind": "tiered",
    "period": "month",
    "bands": [{"up_to_kwh": 10, "price": "1.00"}, {"up_to_kwh": 20, "price": "2.00"}, {"price": "3.00"}],
    "monthly_fee_fen": 500,
}


async def test_tiered_charges_alarms_trip_and_close(start_site) -> None:
    """Each reading's energy is charged by cumulative tier; arrears trips the relay, a payment closes it."""
    billing = {
        "buildings": {"b1": {"meters": ["*"], "tariff": TIERED, "alarm1_fen": 1000, "alarm2_fen": 500}},
        "reconcile_interval": 3600,
        "operator_from_body": True,
    }
    site = await start_site(units=1, remaining_fen=10_000_000, billing=billing, with_sim=True, plain=True)
    sim = site.sim.meter(1)
    account = await site.api(
        "POST", "/api/billing/accounts", {"name": "仓库", "meters": [P1], "operator": CASHIER}
    )
    assert account["meters"] == [{"entity_id": P1, "mode": "server"}]
    path = f"/api/billing/accounts/{account['id']}"
    await site.api(
        "POST",
        f"{path}/payments",
        {"amount_fen": 3000, "method": "cash", "idempotency_key": "p-1", "operator": CASHIER},
    )

    async def wallet_becomes(fen: int) -> None:
        await until(lambda: site.api("GET", path), lambda account: account["wallet_fen"] == fen)

    def meter_status() -> Any:
        return site.api("GET", f"/api/billing/meters/{P1}")

    await wallet_becomes(3000 - 500)  # the month's fixed charge with the first reading
    sim.energy_wh["flat"] += 8000  # 8 kWh in band 1: 8.00
    await wallet_becomes(2500 - 800)
    sim.energy_wh["flat"] += 5000  # 2 kWh band 1 + 3 kWh band 2: 2.00 + 6.00
    await wallet_becomes(1700 - 800)
    assert (await site.api("GET", f"/api/billing/meters/{P1}"))["status"] == "alarm1"
    sim.energy_wh["flat"] += 2500  # band 2: 5.00
    await wallet_becomes(900 - 500)
    assert (await site.api("GET", f"/api/billing/meters/{P1}"))["status"] == "alarm2"
    sim.energy_wh["flat"] += 5000  # 4.5 kWh band 2 + 0.5 kWh band 3: 9.00 + 1.50
    await wallet_becomes(400 - 1050)
    await wait_for(lambda: site.core.states.get(P1).attributes.get("relay") == "open", what="relay tripped")
    status = await until(meter_status, lambda status: status["tripped"])
    assert status["status"] == "arrears"

    await site.api(
        "POST",
        f"{path}/payments",
        {"amount_fen": 1000, "method": "alipay", "idempotency_key": "p-2", "operator": CASHIER},
    )
    await wait_for(lambda: site.core.states.get(P1).attributes.get("relay") == "closed", what="relay closed")
    status = await until(meter_status, lambda status: not status["tripped"])
    assert status["status"] == "alarm2" and not status["tripped"]
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["balanced"]
    assert trial["accounts"]["revenue:energy"] == -(800 + 800 + 500 + 1050)
    assert trial["accounts"]["revenue:fee"] == -500
    refund = await site.api(
        "POST",
        "/api/billing/refunds",
        {"meter_entity_id": P1, "amount_fen": 100, "idempotency_key": "r-1", "operator": CASHIER},
    )
    assert refund["entries"] == [
        {"account": f"tenant:{account['id']}", "amount_fen": 100},
        {"account": "cash", "amount_fen": -100},
    ]
    history = await site.api("GET", f"{path}/history")
    first_payment = next(t for t in history if t["idempotency_key"] == "p-1")
    spent = await site.api(
        "POST",
        f"/api/billing/transactions/{first_payment['id']}/reverse",
        {"reason": "wrong account", "idempotency_key": "rv-1", "operator": {"id": "boss", "role": "admin"}},
        status=400,
    )
    assert "余额不足" in spent["error"]  # that money is used up: nothing to give back
    paid = await site.api(
        "POST",
        f"{path}/payments",
        {"amount_fen": 500, "method": "cash", "idempotency_key": "p-3", "operator": CASHIER},
    )
    await site.api(
        "POST",
        f"/api/billing/transactions/{paid['transaction']['id']}/reverse",
        {"reason": "typed 5 instead of 50", "idempotency_key": "rv-2", "operator": CASHIER},
    )
    assert (await site.api("GET", path))["wallet_fen"] == 350 - 100
    await site.balanced()
    levels = [(a["level"], a["phase"]) for a in reversed(await site.api("GET", "/api/billing/alarms"))]
    assert levels == [
        ("arrears", "enter"),
        ("arrears", "leave"),  # opened with an empty wallet, then paid
        ("alarm1", "enter"),
        ("alarm1", "leave"),
        ("alarm2", "enter"),
        ("alarm2", "leave"),
        ("arrears", "enter"),
        ("arrears", "leave"),
        ("alarm2", "enter"),
        ("alarm2", "leave"),
        ("alarm1", "enter"),
        ("alarm1", "leave"),
        ("alarm2", "enter"),  # paid 5, reversed
    ]

    # A TOU version from now on: the next reading is priced by its own Shanghai hour; earlier charges stay.
    readings: list[dict] = []
    site.core.bus.async_listen("meter_reading", lambda event: readings.append(dict(event.data)))
    tou = {
        "kind": "tou",
        "prices": {"valley": "0.30", "flat": "0.60", "peak": "1.00", "sharp": "1.50"},
        "periods": [
            {"start": "00:00", "rate": "valley"},
            {"start": "06:00", "rate": "flat"},
            {"start": "12:00", "rate": "peak"},
            {"start": "18:00", "rate": "sharp"},
        ],
    }
    version = await site.api(
        "POST",
        "/api/billing/tariffs",
        {"scope": f"meter:{P1}", "spec": tou, "operator": {"id": "boss", "role": "admin"}},
    )
    await wait_for(
        lambda: any(r["ts"] > version["effective_ts"] for r in readings),
        what="a reading under the new tariff",
    )
    total = readings[-1]["total_wh"]
    sim.energy_wh["flat"] += 2000
    await wait_for(lambda: any(r["total_wh"] == total + 2000 for r in readings), what="the 2 kWh reading")
    reading = next(r for r in readings if r["total_wh"] == total + 2000)
    hour = datetime.fromtimestamp(reading["ts"], ZoneInfo("Asia/Shanghai")).hour
    fen_per_kwh = 30 if hour < 6 else 60 if hour < 12 else 100 if hour < 18 else 150
    await wallet_becomes(250 - 2 * fen_per_kwh)
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"]["revenue:energy"] == -(800 + 800 + 500 + 1050 + 2 * fen_per_kwh)
    await site.balanced()


async def test_arrears_trip_waits_for_friendly_credit(start_site) -> None:
    """On a holiday a server-side meter in arrears is not cut: the trip is deferred by friendly credit."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    holiday = {"start": today.replace(day=1).isoformat(), "end": today.replace(day=28).isoformat(), "name": "test"}
    if today.day > 28:
        holiday["end"] = today.isoformat()
    billing = {
        "buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}},
        "reconcile_interval": 3600,
        "operator_from_body": True,
    }
    friendly = {"holidays": True, "calendar": {"holidays": [holiday]}}
    site = await start_site(
        units=1, remaining_fen=10_000_000, billing=billing, with_sim=True, plain=True, extra={"friendly_credit": friendly}
    )
    sim = site.sim.meter(1)
    account = await site.api("POST", "/api/billing/accounts", {"name": "花店", "meters": [P1], "operator": CASHIER})
    path = f"/api/billing/accounts/{account['id']}"
    await site.api(
        "POST", f"{path}/payments", {"amount_fen": 300, "method": "cash", "idempotency_key": "f-1", "operator": CASHIER}
    )
    await until(lambda: site.api("GET", path), lambda acc: acc["wallet_fen"] == 300)
    sim.energy_wh["flat"] += 5000  # 5 kWh at 1.00: 2.00 into arrears
    await until(lambda: site.api("GET", path), lambda acc: acc["wallet_fen"] == -200)
    status = await until(
        lambda: site.core.services.async_call("friendly_credit", "status", {"entity_id": P1}),
        lambda status: status["trip_deferred"],
    )
    assert not status["may_cut"]
    assert site.core.states.get(P1).attributes.get("relay") == "closed", "no cut on a holiday"
    assert (await site.api("GET", f"/api/billing/meters/{P1}"))["status"] == "arrears"
    await site.balanced()
