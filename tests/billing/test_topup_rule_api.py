"""The account's top-up rule over the REST API: integrators set where payments without a chosen meter go."""

from __future__ import annotations

import pytest

from .conftest import ADMIN, CASHIER
from .test_scenarios import M1, M2

pytestmark = pytest.mark.timeout(60)


async def test_rest_sets_the_shares_and_a_payment_splits_by_them(start_site) -> None:
    """PUT shares 70/30 as a cashier; a 10.01 payment lands 7.01 on m1 and 3.00 on m2 (read from the meters)."""
    site = await start_site(units=2)
    opening = {"name": "两表商户", "meters": [M1, M2], "operator": CASHIER}
    account = await site.api("POST", "/api/billing/accounts", opening)
    rule_url = f"/api/billing/accounts/{account['id']}/topup_rule"
    assert (await site.api("GET", rule_url))["rule"] == "lowest"
    shares = {"rule": "shares", "shares": {M1: 70, M2: 30}}
    for wrong in ({M1: 70, M2: 40}, {"acrel_dtsy1352.m9": 100}, {M1: 130, M2: -30}, {M1: "70", M2: 30}):
        await site.api("PUT", rule_url, {**shares, "shares": wrong, "operator": CASHIER}, status=400)
    await site.api("PUT", rule_url, {"rule": "cheapest", "operator": CASHIER}, status=400)
    viewer = {"id": "v", "role": "viewer"}
    assert "viewer" in (await site.api("PUT", rule_url, {**shares, "operator": viewer}, status=403))["error"]
    assert (await site.api("GET", rule_url))["rule"] == "lowest", "nothing refused was stored"
    rule = await site.api("PUT", rule_url, {**shares, "operator": CASHIER})
    assert rule == {"account_id": account["id"], "rule": "shares", "shares": {M1: 70, M2: 30}}
    assert await site.api("GET", rule_url) == rule

    body = {"amount_fen": 1001, "method": "bank", "idempotency_key": "bank-1", "operator": ADMIN}
    paid = await site.api("POST", f"/api/billing/accounts/{account['id']}/payments", body)
    assert sorted((d["meter_entity_id"], d["amount_fen"]) for d in paid["deliveries"]) == [(M1, 701), (M2, 300)]
    assert (site.sim.meter(1).remaining_fen, site.sim.meter(2).remaining_fen) == (701, 300)
    await site.balanced()
