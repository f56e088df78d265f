"""Meter replacement, offline devices, branding and cookies behind TLS."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for

from .conftest import WebEnv

M1, M2 = "acrel_dtsy1352.b1_f2_m1", "acrel_dtsy1352.b1_f2_m2"


@pytest.mark.timeout(90)
async def test_meter_replacement_moves_the_money_then_offline_report(start_web: Any) -> None:
    """换表 moves the old meter's money to the new one; a dead serial server shows in the offline report."""
    env: WebEnv = await start_web(units=2)
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    opened = await env.site.billing.open_account("王五", [M1], {"id": "boss", "role": "admin"})
    await env.site.billing.sell(M1, 5000, "cash", "s-1", {"id": "boss", "role": "admin"})
    assert env.sim is not None and env.sim.meters[1].remaining_fen == 5000
    async with client.post(env.base + f"/accounts/{opened['id']}/replace",
                           data={"csrf": csrf, "key": "rep-1", "old": M1, "new": M2, "remaining": ""}) as resp:
        assert resp.status == 200 and "error" not in str(resp.url), str(resp.url)
    account = await env.site.billing.account(opened["id"])
    assert [m["entity_id"] for m in account["meters"]] == [M2]
    assert env.sim.meters[2].remaining_fen == 5000
    audit = await env.site.audit.query(action="account_replace")
    assert audit[0]["operator"] == "boss" and audit[0]["ok"]

    await env.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": M2})
    env.site.grid.invalidate()
    async with client.get(env.base + "/reports?kind=alarms_now") as resp:
        page = await resp.text()
    assert M2 in page and "已拉闸" in page

    await env.sim.async_stop()
    env.sim = None
    await wait_for(lambda: all(env.core.states.get(m).state == "unavailable" for m in (M1, M2)), timeout=20,
                   what="meters offline")
    async with client.get(env.base + "/reports?kind=offline") as resp:
        page = await resp.text()
    assert M1 in page and M2 in page
    for _ in range(50):  # the grid JSON is rebuilt at most once a second
        async with client.get(env.base + "/web/grid.json") as resp:
            rows = {r[0]: r for r in (await resp.json())["rows"]}
        if rows[M2][6] == "offline":
            break
        await asyncio.sleep(0.1)
    assert rows[M2][6] == "offline" and rows[M1][6] == "not_opened"  # billing's order: 未开户 before 失联


@pytest.mark.timeout(60)
async def test_branding_and_secure_cookie_behind_tls(start_web: Any, tmp_path: Path) -> None:
    """The login page shows the configured title, logo and background; behind a trusted TLS proxy the cookie is
    Secure."""
    (tmp_path / "cfg0").mkdir()
    (tmp_path / "cfg0" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    env: WebEnv = await start_web(web={"branding": {"title": "金融中心", "logo": "logo.svg"}},  # no background
                                  http={"trusted_proxies": ["127.0.0.1"]})
    client = env.client()
    async with client.get(env.base + "/login") as resp:
        page = await resp.text()
    assert "金融中心" in page and "/branding/logo" in page
    async with client.get(env.base + "/branding/logo") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/svg+xml"
    async with client.get(env.base + "/branding/background") as resp:
        assert resp.status == 404
    await env.operator("clerk", "cashier")
    _status, _page, cookies = await env.submit_login(client, "clerk", headers={"X-Forwarded-Proto": "https"},
                                                     allow_redirects=False)
    cookie = cookies["op_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
