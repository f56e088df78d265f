"""Staff control from the dashboard and an admin's API token: staff trip and close anything; the meter page shows
who holds the relay. The meter's forced state is read from the simulator."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(60)

M1 = "acrel_dtsy1352.b1_f2_m1"


async def _batch(env: WebEnv, client: Any, csrf: str, service: str) -> dict[str, Any]:
    body = {"service": service, "entity_ids": [M1], "data": {}}
    async with client.post(env.base + "/web/batch", data=json.dumps(body),
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}) as resp:
        assert resp.status == 200
        batch_id = (await resp.json())["batch_id"]
    for _ in range(200):
        async with client.get(env.base + f"/web/batch/{batch_id}") as resp:
            job = await resp.json()
        if job["finished"]:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch {service} did not finish: {job}")


async def test_staff_trip_and_close_from_dashboard_and_api(start_web: Any) -> None:
    """拉闸 from the dashboard holds the meter for staff (shown on its page with the operator); an admin's API
    token closes it (staff too), through the service call and through a field batch."""
    env: WebEnv = await start_web(units=1)
    assert env.sim is not None
    sim = env.sim.meters[1]
    sim.remaining_fen = 5000
    await env.operator("boss", "admin")
    client, csrf = await env.login("boss")
    job = await _batch(env, client, csrf, "trip")
    assert job["done"] == 1, job
    assert sim.forced == "trip"
    async with client.get(env.base + f"/meters/{M1}") as resp:
        page = await resp.text()
    assert "控制方: 物业人员 · boss · trip" in page
    job = await _batch(env, client, csrf, "close")
    assert job["done"] == 1 and sim.forced is None, job

    await _batch(env, client, csrf, "hold")
    assert sim.forced == "hold"
    token = await env.token("api-admin", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    async with client.post(env.base + "/api/services/acrel_dtsy1352/restore_prepaid", json={"entity_id": M1},
                           headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    assert sim.forced is None
    async with client.post(env.base + "/api/field/batch", headers=headers,
                           json={"service": "acrel_dtsy1352.trip", "entity_id": [M1]}) as resp:
        assert resp.status == 200, await resp.text()
    await _wait(lambda: sim.forced == "trip")
    # The meter trips as the command runs; the holder is recorded once its read-back confirmed it, a moment later.
    for _ in range(200):
        async with client.get(env.base + f"/meters/{M1}") as resp:
            if "控制方: 物业人员 · api-admin · trip" in await resp.text():
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the meter page never named api-admin's trip")


async def _wait(predicate: Any) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")
