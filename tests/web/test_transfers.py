"""Wallet money moved to a meter from the staff sell form is a transfer (issue 12, item 4): it reaches the meter
exactly once and is never revenue: 330.00 received reports 330.00 sold, on screen and in the Excel export."""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from scada_core.billing.const import KIND_SALE
from scada_core.billing.ledger import Operator

from .conftest import WebEnv
from .test_sales import M1, M2, open_account

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("role", ["cashier", "admin"])
async def test_wallet_to_meter_transfer_is_not_revenue(start_web: Any, role: str) -> None:
    """The wallet holds 300.00 paid online before this version (it credited multi-meter accounts' wallets);
    30.00 cash is sold to m1; the staff move 10.00 from the wallet to m2 on the sell form: m2's meter gets
    10.00 once, the account history shows a transfer, and the sales report and its export show 330.00 sold,
    as received."""
    env: WebEnv = await start_web(units=2)
    await env.operator("staff", role)
    client, csrf = await env.login("staff")
    account_id = await open_account(env, client, csrf, f"{M1},{M2}")
    billing = env.site.billing
    system = Operator("alipay", "system")
    await billing.sales.wallet_movement(account_id, KIND_SALE, 30000, "alipay", "old-online-1", system, "",
                                        "TU1")
    await billing.sell(M1, 3000, "cash", "cash-1", {"id": "staff", "role": role})
    assert env.sim is not None
    m2_before = (env.sim.meters[2].remaining_fen, env.sim.meters[2].purchase_count)

    async with client.get(f"{env.base}/accounts/{account_id}") as resp:
        page = await resp.text()
    assert f"/sell?meter={M2}&kind=sale&method=wallet" in page
    async with client.get(f"{env.base}/sell", params={"meter": M2, "kind": "sale", "method": "wallet"}) as resp:
        assert 'value="wallet" selected' in await resp.text()
    form = {"csrf": csrf, "meter": M2, "kind": "sale", "amount": "10.00", "method": "wallet", "key": "t-1"}
    async with client.post(f"{env.base}/sell", data=form) as resp:
        assert resp.status == 200 and 'name="confirmed"' in await resp.text()
    for _ in range(2):  # a double submit moves the money once
        async with client.post(f"{env.base}/sell", data={**form, "confirmed": "1"}) as resp:
            assert resp.status == 200 and "/transactions/" in str(resp.url)
    assert (env.sim.meters[2].remaining_fen, env.sim.meters[2].purchase_count) == (m2_before[0] + 1000,
                                                                                     m2_before[1] + 1)
    summary = await billing.account_summary(account_id)
    assert summary["wallet_fen"] == 29000
    history = await billing.account_history(account_id)
    transfers = [h for h in history if h["kind"] == "transfer"]
    assert len(transfers) == 1 and transfers[0]["meter_entity_id"] == M2 and transfers[0]["receipt_no"] is None
    assert [a["action"] for a in await env.site.audit.query(action="transfer")] == ["transfer"]

    trial = await billing.trial_balance()
    received = trial["accounts"].get("cash", 0) + trial["accounts"].get("alipay", 0)
    assert received == 33000 and trial["balanced"]
    today = env.core.clock.now().date().isoformat()
    query = f"kind=sales&group=method&period=day&start={today}&end={today}"
    async with client.get(f"{env.base}/reports?{query}") as resp:
        page = await resp.text()
    assert resp.status == 200 and "330.00" in page and "340.00" not in page
    if role == "admin":  # exports are the admin's
        async with client.get(f"{env.base}/reports?{query}&format=xlsx") as resp:
            sheet = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
        totals = sheet[-1]
        assert totals[0] == "合计" and Decimal(str(totals[3])) == Decimal("330.00") == Decimal(str(totals[-1]))
        assert all("钱包" not in str(row[1]) for row in sheet[1:-1])


async def test_rest_wallet_sale_is_a_transfer_in_the_report(start_web: Any) -> None:
    """The same move through the REST API's sale with method "wallet" (how it was done before): 330.00
    received still reports 330.00 sold, 0.00 refunded (also the move back to the wallet)."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    account_id = await open_account(env, client, csrf, f"{M1},{M2}")
    billing = env.site.billing
    boss = {"id": "boss", "role": "admin"}
    await billing.sales.wallet_movement(account_id, KIND_SALE, 30000, "alipay", "old-online-1",
                                        Operator("alipay", "system"), "", "TU1")
    await billing.sell(M1, 3000, "cash", "cash-1", boss)
    moved = await billing.sell(M2, 1000, "wallet", "wallet-1", boss)
    back = await billing.refund(M2, 400, "wallet", "wallet-2", boss)
    assert moved["transaction"]["kind"] == back["transaction"]["kind"] == "transfer"
    assert env.sim is not None and env.sim.meters[2].remaining_fen == 600
    today = env.core.clock.now().date().isoformat()
    async with client.get(f"{env.base}/reports?kind=sales&group=method&start={today}&end={today}&format=xlsx") as resp:
        totals = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))[-1]
    assert [Decimal(str(v)) for v in totals[3:]] == [Decimal("330.00"), 0, 0, 0, Decimal("330.00")]


async def test_staff_set_the_top_up_rule_on_the_account_page(start_web: Any) -> None:
    """A cashier sets shares 70/30 on the account page (audited before/after); shares not summing to 100 are
    refused with the reason on the page; a viewer may not set it."""
    env: WebEnv = await start_web(units=2)
    await env.operator("clerk", "cashier")
    await env.operator("looker", "viewer")
    client, csrf = await env.login("clerk")
    account_id = await open_account(env, client, csrf, f"{M1},{M2}")
    async with client.get(f"{env.base}/accounts/{account_id}") as resp:
        assert 'id="topup-rule"' in await resp.text()
    url = f"{env.base}/accounts/{account_id}/topup_rule"
    form = {"csrf": csrf, "rule": "shares", f"share:{M1}": "70", f"share:{M2}": "30"}
    async with client.post(url, data=form) as resp:
        assert resp.status == 200 and "error" not in str(resp.url)
    assert await env.site.billing.topup_rule(account_id) == {"account_id": account_id, "rule": "shares",
                                                            "shares": {M1: 70, M2: 30}}
    async with client.post(url, data={**form, f"share:{M2}": "20"}) as resp:
        assert "error=" in str(resp.url) and "100" in await resp.text()
    async with client.post(url, data={**form, f"share:{M2}": "３0"}) as resp:  # full-width digit
        assert "error=" in str(resp.url)
    assert (await env.site.billing.topup_rule(account_id))["shares"] == {M1: 70, M2: 30}
    audits = await env.site.audit.query(action="topup_rule")
    assert sorted(a["ok"] for a in audits) == [False, True]
    viewer, viewer_csrf = await env.login("looker")
    async with viewer.post(url, data={**form, "csrf": viewer_csrf, "rule": "lowest"}, allow_redirects=False) as resp:
        assert resp.status == 403
    assert (await env.site.billing.topup_rule(account_id))["rule"] == "shares"
