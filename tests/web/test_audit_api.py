"""API writes are audited with what they name as it was before and as it is after."""
from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import WebEnv

M1 = "acrel_dtsy1352.b1_f2_m1"


@pytest.mark.timeout(60)
async def test_api_write_keeps_the_meter_before_and_after(start_web: Any) -> None:
    """Holding a meter through the API records its mode as it was and as the meter reported it afterwards."""
    env: WebEnv = await start_web(units=1)
    token = await env.token("robot", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert env.core.states.get(M1).attributes["prepaid_mode"] == "normal"
    async with env.client().post(
        env.base + "/api/services/acrel_dtsy1352/hold", json={"entity_id": M1}, headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()
    async with env.client().post(
        env.base + "/api/billing/accounts/999/close", json={}, headers=headers
    ) as resp:
        assert resp.status >= 400
    async with env.client().post(
        env.base + "/api/services/acrel_dtsy1352/hold", json={"entity_id": 7}, headers=headers
    ) as resp:
        assert resp.status == 400, "a malformed body is the handler's 400, not an audit crash"

    hold, closing, malformed = sorted(await env.site.audit.query(action="api:"), key=lambda r: r["id"])
    assert hold["operator"] == "robot" and hold["ok"] and hold["target"].endswith("/acrel_dtsy1352/hold")
    before, after = json.loads(hold["before"]), json.loads(hold["after"])
    assert before[M1]["prepaid_mode"] == "normal" and before[M1]["online"] is True
    assert after["targets"][M1]["prepaid_mode"] == "hold" and after["status"] == 200
    assert json.loads(after["request"]) == {"entity_id": M1}
    assert not closing["ok"] and json.loads(closing["before"]) == {"account 999": None}
    assert not malformed["ok"] and malformed["before"] is None
