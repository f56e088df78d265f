"""Billing scenarios through the API against the DTSY1352 simulator over Modbus TCP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.helpers import until, wait_for

from .conftest import ADMIN, CASHIER

pytestmark = pytest.mark.timeout(90)

M1, M2, M3 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2", "acrel_dtsy1352.m3"


def sale(
    meter: str, amount: int, key: str, operator: dict[str, str] = CASHIER, **extra: Any
) -> dict[str, Any]:
    """Return a sale request body."""
    return {
        "meter_entity_id": meter,
        "amount_fen": amount,
        "method": "cash",
        "idempotency_key": key,
        "operator": operator,
        **extra,
    }


async def test_open_sell_consume_alarms_arrears_trip_sell_close(start_site) -> None:
    """The life of a meter-side account: every crossing fires once, the meter trips at zero, closing refunds."""
    site = await start_site(units=1)
    sim = site.sim.meter(1)
    alarms: list[tuple[str, str]] = []
    site.core.bus.async_listen("billing_alarm", lambda e: alarms.append((e.data["level"], e.data["phase"])))

    account = await site.api(
        "POST", "/api/billing/accounts", {"name": "301 咖啡店", "meters": [M1], "operator": CASHIER}
    )
    assert (sim.alarm1_fen, sim.alarm2_fen, sim.overdraft_fen) == (
        5000,
        1000,
        0,
    )  # the meter warns as billing does
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "arrears"  # no money yet
    await site.balanced()

    sold = await site.api("POST", "/api/billing/sales", sale(M1, 10000, "pos-1"))
    assert sold["deliveries"][0]["status"] == "delivered"
    assert sold["transaction"]["receipt_no"] == "b1-00000001"
    assert sim.remaining_fen == 10000 and sim.purchase_count == 2
    again = await site.api("POST", "/api/billing/sales", sale(M1, 10000, "pos-1"))
    assert again["repeated"] and again["transaction"]["id"] == sold["transaction"]["id"]
    assert sim.remaining_fen == 10000 and sim.purchase_count == 2
    await site.balanced()

    async def level_becomes(remaining: int, status: str) -> None:
        sim.remaining_fen = remaining
        await until(
            lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda meter: meter["status"] == status
        )

    await level_becomes(4000, "alarm1")
    await level_becomes(3000, "alarm1")  # still alarm 1: no new event
    await level_becomes(800, "alarm2")
    await level_becomes(0, "arrears")
    await wait_for(lambda: site.core.states.get(M1).attributes.get("relay") == "open", what="meter tripped")
    await site.balanced()
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"]["revenue:energy"] == -10000 and trial["accounts"]["cash"] == 10000

    sold = await site.api("POST", "/api/billing/sales", sale(M1, 20000, "pos-2"))
    assert (
        sold["deliveries"][0]["status"] == "delivered" and sold["transaction"]["receipt_no"] == "b1-00000002"
    )
    assert sim.remaining_fen == 20000 and sim.purchase_count == 3
    await wait_for(
        lambda: site.core.states.get(M1).attributes.get("relay") == "closed", what="meter closed again"
    )
    await wait_for(lambda: ("arrears", "leave") in alarms, what="arrears left")

    closed = await site.api(
        "POST",
        f"/api/billing/accounts/{account['id']}/close",
        {"idempotency_key": "close-1", "operator": CASHIER},
    )
    assert closed["status"] == "closed" and closed["refunded_fen"] == 20000
    assert sim.remaining_fen == 0 and sim.purchase_count == 4
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "not_opened"
    await site.balanced()
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"]["cash"] == 10000  # 300 in, 200 refunded: what was used stays as revenue
    assert alarms[:3] == [("arrears", "enter"), ("arrears", "leave"), ("alarm1", "enter")]
    assert alarms.count(("alarm1", "enter")) == 1 and alarms.count(("alarm2", "enter")) == 1
    assert alarms.count(("arrears", "enter")) == 2
    history = await site.api("GET", f"/api/billing/alarms?meter_entity_id={M1}")
    assert len(history) == len([a for a in alarms])


async def test_concurrent_sales_to_one_meter(start_site) -> None:
    """50 sales at once to one meter give 50 purchase counts and exactly their sum on the meter."""
    site = await start_site(units=2)
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    await site.api("POST", "/api/billing/accounts", {"name": "B", "meters": [M2], "operator": CASHIER})
    results = await asyncio.gather(
        *(site.api("POST", "/api/billing/sales", sale(M1, 100 + i, f"c-{i}")) for i in range(50)),
        *(site.api("POST", "/api/billing/sales", sale(M2, 100, f"d-{i}")) for i in range(5)),
    )
    assert all(r["deliveries"][0]["status"] == "delivered" for r in results)
    assert site.sim.meter(1).purchase_count == 51
    assert site.sim.meter(1).remaining_fen == sum(100 + i for i in range(50))
    assert site.sim.meter(2).remaining_fen == 500 and site.sim.meter(2).purchase_count == 6
    assert sorted(r["deliveries"][0]["purchase_count"] for r in results[:50]) == list(range(2, 52))
    receipts = sorted(r["transaction"]["receipt_no"] for r in results)
    assert receipts == [f"b1-{n:08d}" for n in range(1, 56)]
    await site.balanced()


async def test_one_account_many_meters_and_wallet(start_site) -> None:
    """一户多表: one account on two meters; a payment without a meter goes to the meter holding the least money
    (the account's default rule; the first by entity id on a tie), never to the wallet; sales go to each."""
    site = await start_site(units=2)
    body = {
        "name": "超市",
        "meters": [M1, M2],
        "phone": "13800000000",
        "idempotency_key": "open-1",
        "operator": CASHIER,
    }
    account = await site.api("POST", "/api/billing/accounts", body)
    assert [m["entity_id"] for m in account["meters"]] == [M1, M2] and not account["repeated"]
    again = await site.api("POST", "/api/billing/accounts", body)  # a double submit opens nothing more
    assert again["repeated"] and again["id"] == account["id"] and again["phone"] == "13800000000"
    assert len(await site.api("GET", "/api/billing/accounts")) == 1
    paid = await site.api(
        "POST",
        f"/api/billing/accounts/{account['id']}/payments",
        {
            "amount_fen": 30000,
            "method": "alipay",
            "idempotency_key": "ali-1",
            "reference": "T1",
            "operator": {"id": "alipay", "role": "system"},
        },
    )
    assert [(d["meter_entity_id"], d["amount_fen"]) for d in paid["deliveries"]] == [(M1, 30000)]
    await site.api("POST", "/api/billing/sales", sale(M2, 5000, "c-2"))
    assert site.sim.meter(1).remaining_fen == 30000 and site.sim.meter(2).remaining_fen == 5000
    detail = await site.api("GET", f"/api/billing/accounts/{account['id']}")
    assert detail["wallet_fen"] == 0
    assert {m["entity_id"]: m["remaining_fen"] for m in detail["meters"]} == {M1: 30000, M2: 5000}
    refused = await site.api(
        "POST", "/api/billing/sales", sale(M1, 100, "w-2", method="wallet"), status=400
    )
    assert "余额不足" in refused["error"] and "insufficient" in refused["error"]
    closed = await site.api(
        "POST", f"/api/billing/accounts/{account['id']}/close", {"idempotency_key": "cl", "operator": ADMIN}
    )
    assert closed["refunded_fen"] == 35000
    assert site.sim.meter(1).remaining_fen == 0 and site.sim.meter(2).remaining_fen == 0
    await site.balanced()


async def test_replace_meter_transfers_money(start_site) -> None:
    """换表: the old meter's money is taken off it and written to the new one, with a transfer in the ledger."""
    site = await start_site(units=3)
    account = await site.api(
        "POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER}
    )
    await site.api("POST", "/api/billing/sales", sale(M1, 8000, "s-1"))
    site.sim.meter(1).remaining_fen = 6500  # used 15 yuan
    replaced = await site.api(
        "POST",
        f"/api/billing/meters/{M1}/replace",
        {"new_entity_id": M2, "idempotency_key": "rep-1", "operator": CASHIER},
    )
    assert replaced["transaction"]["kind"] == "transfer" and replaced["transaction"]["amount_fen"] == 6500
    assert [d["status"] for d in replaced["deliveries"]] == ["delivered", "delivered"]
    assert site.sim.meter(1).remaining_fen == 0 and site.sim.meter(2).remaining_fen == 6500
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "not_opened"
    status = await site.api("GET", f"/api/billing/meters/{M2}")
    assert status["account_id"] == account["id"] and status["remaining_fen"] == 6500
    # A dead meter: the operator enters what it showed; nothing is written to it.
    site.sim.meter(2).remaining_fen = 6000
    dead = await site.api(
        "POST",
        f"/api/billing/meters/{M2}/replace",
        {"new_entity_id": M3, "idempotency_key": "rep-2", "remaining_fen": 6000, "operator": CASHIER},
    )
    assert [d["op"] for d in dead["deliveries"]] == ["sell"]
    assert site.sim.meter(3).remaining_fen == 6000 and site.sim.meter(2).remaining_fen == 6000
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"]["revenue:energy"] == -2000
    await site.balanced()


async def test_refund_and_reversal_permissions(start_site) -> None:
    """Cashiers reverse only their own sale of today; admins any; a viewer moves no money; twice is refused."""
    site = await start_site(units=1)
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    first = await site.api("POST", "/api/billing/sales", sale(M1, 5000, "s-1"))
    second = await site.api("POST", "/api/billing/sales", sale(M1, 3000, "s-2"))
    other = {"id": "cashier2", "role": "cashier"}
    viewer = {"id": "v", "role": "viewer"}
    denied = await site.api("POST", "/api/billing/sales", sale(M1, 100, "s-3", operator=viewer), status=403)
    assert "viewer" in denied["error"]
    tx = first["transaction"]["id"]
    denied = await site.api(
        "POST",
        f"/api/billing/transactions/{tx}/reverse",
        {"reason": "错收", "idempotency_key": "r-1", "operator": other},
        status=403,
    )
    assert "only their own sale of today" in denied["error"]
    reversed_ = await site.api(
        "POST",
        f"/api/billing/transactions/{tx}/reverse",
        {"reason": "错收", "idempotency_key": "r-1", "operator": CASHIER},
    )
    assert (
        reversed_["transaction"]["kind"] == "reversal" and reversed_["deliveries"][0]["status"] == "delivered"
    )
    assert site.sim.meter(1).remaining_fen == 3000
    again = await site.api(
        "POST",
        f"/api/billing/transactions/{tx}/reverse",
        {"reason": "错收", "idempotency_key": "r-2", "operator": ADMIN},
        status=400,
    )
    assert "already reversed" in again["error"]
    # Yesterday's sale: the cashier may no longer reverse it, the admin may.
    site.billing.core.clock.offset += __import__("datetime").timedelta(days=1)
    tx2 = second["transaction"]["id"]
    await site.api(
        "POST",
        f"/api/billing/transactions/{tx2}/reverse",
        {"reason": "x", "idempotency_key": "r-3", "operator": CASHIER},
        status=403,
    )
    await site.api(
        "POST",
        f"/api/billing/transactions/{tx2}/reverse",
        {"reason": "x", "idempotency_key": "r-3", "operator": ADMIN},
    )
    assert site.sim.meter(1).remaining_fen == 0
    refund = await site.api(
        "POST",
        "/api/billing/refunds",
        {"meter_entity_id": M1, "amount_fen": 1, "idempotency_key": "rf-1", "operator": CASHIER},
        status=400,
    )
    assert "余额不足" in refund["error"]
    await site.api("POST", "/api/billing/sales", sale(M1, 2000, "s-4"))
    refund = await site.api(
        "POST",
        "/api/billing/refunds",
        {"meter_entity_id": M1, "amount_fen": 500, "idempotency_key": "rf-2", "operator": CASHIER},
    )
    assert refund["transaction"]["kind"] == "refund" and site.sim.meter(1).remaining_fen == 1500
    await site.balanced()


async def test_credit_cap_and_tamper_block(start_site) -> None:
    """A sale over the credit cap is refused; a purchase count moved behind our back blocks sales until resolved."""
    from .conftest import billing_section

    site = await start_site(units=1, billing=billing_section(credit_cap_fen=50000))
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    await site.api("POST", "/api/billing/sales", sale(M1, 40000, "s-1"))
    refused = await site.api("POST", "/api/billing/sales", sale(M1, 20000, "s-2"), status=400)
    assert (
        "囤积限值" in refused["error"] and "credit cap" in refused["error"] and "100.00" in refused["error"]
    )
    tampers: list[dict[str, Any]] = []
    site.core.bus.async_listen(
        "billing_alarm", lambda e: tampers.append(dict(e.data)) if e.data["level"] == "tamper" else None
    )
    meter = site.sim.meter(1)
    meter.purchase_count += 1  # someone sold with a card behind our back
    meter.remaining_fen += 5000
    await wait_for(lambda: len(tampers) == 1, what="tamper alarm")
    blocked = await site.api("POST", "/api/billing/sales", sale(M1, 100, "s-3"), status=400)
    assert "blocked" in blocked["error"]
    await site.api("POST", f"/api/billing/meters/{M1}/resolve_tamper", {"operator": CASHIER}, status=403)
    resolved = await site.api(
        "POST", f"/api/billing/meters/{M1}/resolve_tamper", {"operator": ADMIN, "reason": "IC card"}
    )
    assert resolved["adjusted_fen"] == 5000
    await site.api("POST", "/api/billing/sales", sale(M1, 100, "s-3"))
    assert meter.remaining_fen == 45100 and meter.purchase_count == 4
    await site.balanced()


async def test_tariff_versions_and_push(start_site) -> None:
    """A new version starts at its moment (older readings keep the old price) and is pushed to the meter then."""
    site = await start_site(units=1)
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    now = site.billing.now()
    await site.api(
        "POST",
        "/api/billing/tariffs",
        {
            "scope": f"meter:{M1}",
            "spec": {"kind": "flat", "price": "0.8"},
            "effective_ts": now + 3600,
            "operator": ADMIN,
        },
    )
    assert (await site.billing.tariff_for(M1))["price"] == "1.00"
    assert (await site.billing.tariff_for(M1, now + 3601))["price"] == "0.8"
    await site.api(
        "POST",
        "/api/billing/tariffs",
        {"scope": f"meter:{M1}", "spec": {"kind": "flat", "price": "0.9"}, "operator": CASHIER},
        status=403,
    )
    pushed = await site.api(
        "POST",
        "/api/billing/tariffs",
        {"scope": f"meter:{M1}", "spec": {"kind": "flat", "price": "0.9"}, "operator": ADMIN},
    )
    assert pushed["spec"]["price"] == "0.9"
    assert set(site.sim.meter(1).prices.values()) == {9000}  # 0.9000 yuan/kWh in the meter's 0.0001 steps
    await site.api(
        "POST",
        "/api/billing/tariffs",
        {
            "scope": f"meter:{M1}",
            "spec": {"kind": "flat", "price": "0.7"},
            "effective_ts": site.billing.now() + 0.5,
            "operator": ADMIN,
        },
    )
    assert set(site.sim.meter(1).prices.values()) == {9000}  # not yet
    await wait_for(
        lambda: set(site.sim.meter(1).prices.values()) == {7000}, what="pushed when it took effect"
    )
    versions = await site.api("GET", f"/api/billing/tariffs?scope=meter:{M1}")
    assert [v["spec"]["price"] for v in versions] == ["0.8", "0.7", "0.9"]
    assert (await site.billing.tariff_for(M1, now - 1))["price"] == "1.00"
    await site.balanced()
    openapi = await site.api("GET", "/api/openapi.json")
    assert "/api/billing/sales" in openapi["paths"] and "idempotency_key" in str(
        openapi["paths"]["/api/billing/sales"]
    )


async def test_move_meter_between_accounts(start_site) -> None:
    """A meter moved to another account takes its money along; closing that account refunds it."""
    site = await start_site(units=3)
    first = await site.api(
        "POST", "/api/billing/accounts", {"name": "A", "meters": [M1, M2], "operator": CASHIER}
    )
    second = await site.api(
        "POST", "/api/billing/accounts", {"name": "B", "meters": [M3], "operator": CASHIER}
    )
    await site.api("POST", "/api/billing/sales", sale(M2, 2000, "s-1"))
    moved = await site.api(
        "POST", f"/api/billing/meters/{M2}/move", {"account_id": second["id"], "operator": CASHIER}
    )
    assert moved == {"entity_id": M2, "from_account_id": first["id"], "account_id": second["id"]}
    assert [
        m["entity_id"] for m in (await site.api("GET", f"/api/billing/accounts/{first['id']}"))["meters"]
    ] == [M1]
    b = await site.api("GET", f"/api/billing/accounts/{second['id']}")
    assert {m["entity_id"]: m["remaining_fen"] for m in b["meters"]} == {M2: 2000, M3: 0}
    closed = await site.api(
        "POST", f"/api/billing/accounts/{second['id']}/close", {"idempotency_key": "c", "operator": CASHIER}
    )
    assert closed["refunded_fen"] == 2000 and site.sim.meter(2).remaining_fen == 0
    await site.balanced()


async def test_dead_meter_with_unconfirmed_sale_is_replaced(start_site) -> None:
    """A sale to a meter that stopped answering stays pending and blocks further sales; replacing the dead meter
    from its display moves the money, the unconfirmed sale included, to the new meter."""
    site = await start_site(units=2, gateway={"command_timeout": 1.0})  # the field layer gives up after 1 s
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    await site.api("POST", "/api/billing/sales", sale(M1, 3000, "s-1"))
    site.sim.set_fault(1, silent=True)
    stuck = await site.api("POST", "/api/billing/sales", sale(M1, 2000, "s-2"))
    assert stuck["deliveries"][0]["status"] == "pending" and stuck["deliveries"][0]["error"]
    refused = await site.api("POST", "/api/billing/sales", sale(M1, 100, "s-3"), status=400)
    assert "not yet confirmed" in refused["error"]
    replaced = await site.api(
        "POST",
        f"/api/billing/meters/{M1}/replace",
        {"new_entity_id": M2, "idempotency_key": "rep", "remaining_fen": 2500, "operator": CASHIER},
    )
    assert (
        replaced["transaction"]["amount_fen"] == 4500
    )  # 25 yuan on the display + the 20 that never got there
    assert site.sim.meter(2).remaining_fen == 4500
    assert (await site.api("GET", f"/api/billing/transactions/{stuck['transaction']['id']}"))["deliveries"][
        0
    ]["status"] == "cancelled"
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"]["revenue:energy"] == -500 and trial["accounts"]["cash"] == 5000
    await site.balanced()
