"""A dashboard batch is saved: its progress and every meter's outcome outlive a restart of the core."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(60)

M1 = "acrel_dtsy1352.b1_f2_m1"
GHOST = "acrel_dtsy1352.ghost"


async def _status(env: WebEnv, client: Any, batch_id: str) -> dict[str, Any]:
    async with client.get(env.base + f"/web/batch/{batch_id}") as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def _finished(env: WebEnv, client: Any, batch_id: str) -> dict[str, Any]:
    for _ in range(400):
        job = await _status(env, client, batch_id)
        if job["finished"]:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish: {job}")


@pytest.mark.parametrize("stop", ["mid_batch", "after"])
async def test_batch_progress_survives_a_restart(start_web: Any, stop: str) -> None:
    """Start a batch from the dashboard, stop the core (at once, or once it finished), start it again on the
    same database: the same route shows the batch finished, the meter's result and the other meter's error."""
    first: WebEnv = await start_web(units=1)
    await first.operator("boss", "admin")
    client, csrf = await first.login("boss")
    body = {"service": "hold", "entity_ids": [M1, GHOST], "data": {}}
    async with client.post(first.base + "/web/batch", data=json.dumps(body),
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}) as resp:
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
    assert answer["total"] == 2
    batch_id = answer["batch_id"]
    if stop == "after":
        before = await _finished(first, client, batch_id)
        assert before["done"] == 1 and before["failed"] == 1, before
    await first.core.async_stop()

    second: WebEnv = await start_web(units=1)  # the same database file, a fresh simulated meter
    client, _csrf = await second.login("boss")
    job = await _finished(second, client, batch_id)
    assert job["id"] == batch_id and job["service"] == "hold" and job["total"] == 2, job
    assert job["done"] == 1 and job["failed"] == 1, job
    assert job["items"][M1]["state"] == "done" and job["items"][M1]["result"]["prepaid_mode"] == "hold", job
    assert job["items"][GHOST]["state"] == "failed" and job["items"][GHOST]["error"], job
    if stop == "after":
        assert job == before


async def test_batch_history_names_who_when_what_and_each_meter_after_a_restart(start_web: Any) -> None:
    """The batch history lists every batch (who by name, when, what in words, counts) and each meter's outcome by
    the meter's name; a restart of the core loses none of it."""
    first: WebEnv = await start_web(units=1)
    await first.site.auth.create_operator("boss", "王经理", "admin", "pass-phrase-123", must_change=False)
    client, csrf = await first.login("boss", "pass-phrase-123")
    async with client.get(first.base + "/batches") as resp:
        assert resp.status == 200 and "还没有批量操作" in await resp.text()
    body = {"service": "trip", "entity_ids": [M1, GHOST], "data": {}}
    async with client.post(first.base + "/web/batch", data=json.dumps(body),
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}) as resp:
        batch_id = (await resp.json())["batch_id"]
    await _finished(first, client, batch_id)
    await first.core.async_stop()

    second: WebEnv = await start_web(units=1)
    client, _csrf = await second.login("boss", "pass-phrase-123")
    async with client.get(second.base + "/batches") as resp:
        page = await resp.text()
    row = page.split(f'data-batch="{batch_id}"')[1].split("</tr>")[0]
    assert resp.status == 200 and "王经理" in row and "拉闸" in row and "trip" not in row
    assert [cell.split(">")[-1] for cell in row.split("</td>")[3:7]] == ["2", "1", "1", "0"]  # meters, done, failed, pending
    async with client.get(second.base + f"/batches/{batch_id}") as resp:
        page = await resp.text()
    assert resp.status == 200 and "<title>拉闸 " in page and "王经理" in page
    meter_row = page.split(f'data-id="{M1}"')[1].split("</tr>")[0]
    assert second.site.directory.display_name(M1) in meter_row and "成功" in meter_row
    assert "失败" in page.split(f'data-id="{GHOST}"')[1].split("</tr>")[0]
    async with client.get(second.base + "/batches/nonesuch") as resp:
        assert resp.status == 404
