"""Money found on a meter at opening (开户余额): kept for the new tenant, cleared off the meter, or moved to
another account's wallet, each exactly once, against the DTSY1352 simulator on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import CASHIER

pytestmark = pytest.mark.timeout(90)

M1, M2 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2"


def opening(meter: str, key: str, **extra: Any) -> dict[str, Any]:
    """Return an account-opening request body."""
    return {"name": "新租户", "meters": [meter], "operator": CASHIER, "idempotency_key": key, **extra}


async def test_leftover_kept_by_default(start_site) -> None:
    """Without a choice the money stays on the meter for the new tenant, booked as found (as before)."""
    site = await start_site(units=1, remaining_fen=4000)
    account = await site.api("POST", "/api/billing/accounts", opening(M1, "o-keep"))
    assert account["leftover"] == []
    assert site.sim.meter(1).remaining_fen == 4000
    status = await site.api("GET", f"/api/billing/meters/{M1}")
    assert status["account_id"] == account["id"] and status["remaining_fen"] == 4000
    await site.balanced()


async def test_leftover_cleared_off_the_meter_once(start_site) -> None:
    """清零: the meter is written down to zero and the money found goes back where it came from; a repeat of the
    opening clears nothing twice."""
    site = await start_site(units=1, remaining_fen=4000)
    body = opening(M1, "o-clear", leftover="clear")
    account = await site.api("POST", "/api/billing/accounts", body)
    [cleared] = account["leftover"]
    assert cleared["meter_entity_id"] == M1 and cleared["amount_fen"] == 4000 and cleared["choice"] == "clear"
    assert cleared["transaction"]["kind"] == "adjustment"
    assert [d["status"] for d in cleared["deliveries"]] == ["delivered"]
    assert site.sim.meter(1).remaining_fen == 0
    again = await site.api("POST", "/api/billing/accounts", body)
    assert again["repeated"] and again["id"] == account["id"]
    assert again["leftover"][0]["transaction"]["id"] == cleared["transaction"]["id"]
    assert site.sim.meter(1).remaining_fen == 0
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"].get("equity:opening", 0) == 0
    assert trial["accounts"].get(f"meter:{M1}", 0) == 0
    await site.balanced()


async def test_leftover_transferred_to_another_accounts_wallet(start_site) -> None:
    """转移: the money leaves the meter for the named account's wallet, which can then buy with it."""
    site = await start_site(units=2, remaining_fen=0)
    earlier = await site.api("POST", "/api/billing/accounts", opening(M2, "o-old"))
    site.sim.meter(1).remaining_fen = 2500
    account = await site.api(
        "POST", "/api/billing/accounts", opening(M1, "o-move", leftover="transfer", leftover_account_id=earlier["id"])
    )
    [moved] = account["leftover"]
    assert moved["transaction"]["kind"] == "transfer" and moved["amount_fen"] == 2500
    assert site.sim.meter(1).remaining_fen == 0
    trial = await site.api("GET", "/api/billing/trial_balance")
    assert trial["accounts"][f"tenant:{earlier['id']}"] == -2500  # owed to the tenant: a credit
    received = await site.api("GET", f"/api/billing/accounts/{earlier['id']}/history")
    assert [(t["kind"], t["from"], t["to"]) for t in received] == [("transfer", M1, "wallet")]
    spent = await site.api(
        "POST",
        "/api/billing/sales",
        {"meter_entity_id": M2, "amount_fen": 2500, "method": "wallet", "idempotency_key": "w-1",
         "operator": CASHIER},
    )
    assert spent["deliveries"][0]["status"] == "delivered" and site.sim.meter(2).remaining_fen == 2500
    await site.balanced()


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"leftover": "transfer"}, "leftover_account_id"),
        ({"leftover": "transfer", "leftover_account_id": 999999}, "999999"),
        ({"leftover": "burn"}, "leftover"),
        ({"leftover": "transfer", "leftover_account_id": -1}, "leftover_account_id"),
        ({"leftover": "转移"}, "leftover"),
    ],
)
async def test_leftover_choice_refused_before_anything_opens(start_site, extra, error) -> None:
    """A transfer without an open target account, or an unknown choice, is refused and opens nothing."""
    site = await start_site(units=1, remaining_fen=4000)
    refused = await site.api("POST", "/api/billing/accounts", opening(M1, "o-bad", **extra), status=400)
    assert error in str(refused)
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "not_opened"
    assert site.sim.meter(1).remaining_fen == 4000


async def test_leftover_transfer_to_a_closed_account_refused(start_site) -> None:
    """Money is never moved into a closed account's wallet."""
    site = await start_site(units=2, remaining_fen=0)
    earlier = await site.api("POST", "/api/billing/accounts", opening(M2, "o-old"))
    await site.api("POST", f"/api/billing/accounts/{earlier['id']}/close", {"idempotency_key": "c-1",
                                                                            "operator": CASHIER})
    site.sim.meter(1).remaining_fen = 2500
    await site.api(
        "POST", "/api/billing/accounts",
        opening(M1, "o-move", leftover="transfer", leftover_account_id=earlier["id"]), status=400,
    )
    assert site.sim.meter(1).remaining_fen == 2500
