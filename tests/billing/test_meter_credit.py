"""A meter's own credit policy (透支/囤积限值) over its account's and building's, against the DTSY1352 simulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import until, wait_for

from .conftest import ADMIN, CASHIER, billing_section
from .test_scenarios import M1, M2, sale

P1 = "modbus_meter.p1"

pytestmark = pytest.mark.timeout(90)


async def test_meter_cap_overrides_account_cap_and_falls_back(start_site) -> None:
    """A meter's cap refuses a sale its account's cap allows; without it the account's cap applies again."""
    site = await start_site(units=2, billing=billing_section(credit_cap_fen=80000))
    account = await site.api(
        "POST",
        "/api/billing/accounts",
        {"name": "A", "meters": [M1, M2], "credit_cap_fen": 50000, "operator": CASHIER},
    )
    await site.api("POST", "/api/billing/sales", sale(M1, 20000, "s-1"))
    credit = {"credit_cap_fen": 30000, "operator": CASHIER}
    refused = await site.api("PUT", f"/api/billing/meters/{M1}/credit", credit, status=403)
    assert "没有修改" in refused["error"] and "not allowed" in refused["error"]
    changed = await site.api("PUT", f"/api/billing/meters/{M1}/credit", {**credit, "operator": ADMIN})
    assert (changed["credit_cap_fen"], changed["effective_credit_cap_fen"]) == (30000, 30000)
    assert changed["overdraft_fen"] is None and changed["account_id"] == account["id"]

    refused = await site.api("POST", "/api/billing/sales", sale(M1, 15000, "s-2"), status=400)
    message = refused["error"]
    assert "表计囤积限值" in message and "meter credit cap exceeded" in message
    assert "300.00" in message and "100.00" in message  # the cap, and what can still be sold
    assert site.sim.meter(1).remaining_fen == 20000 and site.sim.meter(1).purchase_count == 2
    await site.api("POST", "/api/billing/sales", sale(M1, 10000, "s-3"))
    # the other meter keeps the account's cap
    await site.api("POST", "/api/billing/sales", sale(M2, 45000, "s-4"))

    cleared = await site.api("PUT", f"/api/billing/meters/{M1}/credit", {"operator": ADMIN})
    assert (cleared["credit_cap_fen"], cleared["effective_credit_cap_fen"]) == (None, 50000)
    await site.api("POST", "/api/billing/sales", sale(M1, 15000, "s-5"))  # 450 yuan: under the account's 500
    refused = await site.api("POST", "/api/billing/sales", sale(M1, 10000, "s-6"), status=400)
    assert "账户囤积限值" in refused["error"] and "account credit cap exceeded" in refused["error"]
    assert site.sim.meter(1).remaining_fen == 45000

    history = (await site.api("GET", f"/api/billing/meters/{M1}/credit"))["changes"]
    assert [(c["operator"]["id"], c["credit_cap_fen"]) for c in history] == [
        ("admin1", None),
        ("admin1", 30000),
    ]
    assert all(c["ts"] > 0 for c in history)
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"]["cash"] == 20000 + 10000 + 45000 + 15000
    await site.balanced()


async def test_meter_overdraft_pushed_and_used_for_status(start_site) -> None:
    """A meter's overdraft is pushed to it and sets its arrears level; cleared, the account's applies."""
    site = await start_site(units=1)
    sim = site.sim.meter(1)
    await site.api(
        "POST",
        "/api/billing/accounts",
        {"name": "A", "meters": [M1], "overdraft_fen": 200, "operator": CASHIER},
    )
    assert sim.overdraft_fen == 200
    changed = await site.api(
        "PUT", f"/api/billing/meters/{M1}/credit", {"overdraft_fen": 500, "operator": ADMIN}
    )
    assert changed["pushed"] is True and changed["effective_overdraft_fen"] == 500
    assert sim.overdraft_fen == 500 and (sim.alarm1_fen, sim.alarm2_fen) == (5000, 1000)

    sim.remaining_fen = -300  # within the meter's 5 yuan overdraft, past the account's 2 yuan
    status = await until(
        lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda meter: meter["remaining_fen"] == -300
    )
    assert status["status"] == "alarm2"
    assert site.core.states.get(M1).attributes.get("relay") == "closed"

    cleared = await site.api(
        "PUT", f"/api/billing/meters/{M1}/credit", {"overdraft_fen": None, "operator": ADMIN}
    )
    assert (cleared["overdraft_fen"], cleared["effective_overdraft_fen"]) == (None, 200)
    assert sim.overdraft_fen == 200
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "arrears"
    await wait_for(lambda: site.core.states.get(M1).attributes.get("relay") == "open", what="meter tripped")
    await site.balanced()


async def test_meter_credit_needs_an_opened_meter(start_site) -> None:
    """Setting a credit policy on a meter without an account is refused with a message."""
    site = await start_site(units=1)
    refused = await site.api(
        "PUT", f"/api/billing/meters/{M1}/credit", {"overdraft_fen": 100, "operator": ADMIN}, status=400
    )
    assert "未开户" in refused["error"] and "no open account" in refused["error"]
    spec = (await site.api("GET", "/api/openapi.json"))["paths"]["/api/billing/meters/{entity_id}/credit"]
    assert (
        "credit_cap_fen" in spec["put"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )


async def test_server_side_meter_overdraft_and_cap(start_site) -> None:
    """A plain meter's own overdraft delays its arrears trip; cleared, it trips; its own cap limits sales to it."""
    site = await start_site(units=1, remaining_fen=10_000_000, plain=True)
    sim = site.sim.meter(1)
    account = await site.api(
        "POST", "/api/billing/accounts", {"name": "仓库", "meters": [P1], "operator": CASHIER}
    )
    await site.api("POST", "/api/billing/sales", sale(P1, 1000, "w-1"))
    changed = await site.api(
        "PUT",
        f"/api/billing/meters/{P1}/credit",
        {"overdraft_fen": 2000, "credit_cap_fen": 3000, "operator": ADMIN},
    )
    assert changed["pushed"] is None and changed["effective_overdraft_fen"] == 2000

    def wallet() -> Any:
        return site.api("GET", f"/api/billing/accounts/{account['id']}")

    sim.energy_wh["flat"] += 15000  # 15 kWh at 1 yuan: the wallet goes to -5 yuan, within the meter's 20
    await until(wallet, lambda account: account["wallet_fen"] == -500)
    status = await site.api("GET", f"/api/billing/meters/{P1}")
    assert status["status"] == "alarm2" and not status["tripped"]
    refused = await site.api("POST", "/api/billing/sales", sale(P1, 4000, "w-2"), status=400)
    assert "表计囤积限值" in refused["error"] and "meter credit cap" in refused["error"]

    await site.api("PUT", f"/api/billing/meters/{P1}/credit", {"operator": ADMIN})
    await wait_for(lambda: site.core.states.get(P1).attributes.get("relay") == "open", what="relay tripped")
    status = await site.api("GET", f"/api/billing/meters/{P1}")
    assert status["status"] == "arrears" and status["tripped"]
    await site.api("POST", "/api/billing/sales", sale(P1, 4000, "w-3"))  # no cap left: pays the debt and more
    await wait_for(lambda: site.core.states.get(P1).attributes.get("relay") == "closed", what="relay closed")
    await site.balanced()


async def test_account_credit_changes_after_opening(start_site) -> None:
    """An admin changes an account's overdraft and cap; meters without their own follow at once, others keep theirs."""
    site = await start_site(units=2)
    account = await site.api(
        "POST",
        "/api/billing/accounts",
        {"name": "A", "meters": [M1, M2], "overdraft_fen": 0, "operator": CASHIER},
    )
    path = f"/api/billing/accounts/{account['id']}/credit"
    await site.api("PUT", f"/api/billing/meters/{M2}/credit", {"overdraft_fen": 100, "operator": ADMIN})
    refused = await site.api("PUT", path, {"overdraft_fen": 800, "operator": CASHIER}, status=403)
    assert "没有修改" in refused["error"]
    await site.api("PUT", path, {"overdraft_fen": -1, "operator": ADMIN}, status=400)

    changed = await site.api("PUT", path, {"overdraft_fen": 800, "credit_cap_fen": 30000, "operator": ADMIN})
    assert (changed["overdraft_fen"], changed["effective_overdraft_fen"]) == (800, 800)
    assert changed["effective_credit_cap_fen"] == 30000
    assert changed["pushed"] == {M1: True}, "M2 has its own overdraft and keeps it"
    assert site.sim.meter(1).overdraft_fen == 800 and site.sim.meter(2).overdraft_fen == 100
    assert (await site.api("GET", f"/api/billing/meters/{M1}/credit"))["effective_overdraft_fen"] == 800

    site.sim.meter(1).remaining_fen = -500  # inside the new 8 yuan overdraft: alarm 2, not arrears
    status = await until(
        lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda meter: meter["remaining_fen"] == -500
    )
    assert status["status"] == "alarm2"
    refused = await site.api("POST", "/api/billing/sales", sale(M1, 40000, "a-1"), status=400)
    assert "账户囤积限值" in refused["error"]

    cleared = await site.api("PUT", path, {"operator": ADMIN})
    assert (cleared["overdraft_fen"], cleared["credit_cap_fen"]) == (0, None), "null takes the building's"
    assert cleared["effective_overdraft_fen"] == 0
    assert site.sim.meter(1).overdraft_fen == 0
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "arrears"
    assert [(c["operator"]["id"], c["overdraft_fen"]) for c in (await site.api("GET", path))["changes"]] == [
        ("admin1", 0),
        ("admin1", 800),
    ]
    await site.balanced()
