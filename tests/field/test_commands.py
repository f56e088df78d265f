"""Persisted commands: a restart resumes them, a 'sent' one is re-verified, batches report progress."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlalchemy import select, update

from integrations.modbus.models import FieldCommandRow
from tests.helpers import free_port, wait_for

from .conftest import attr, gateway, make_sim, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"


async def rows(core) -> list[FieldCommandRow]:
    """Return every command row."""
    async with core.db.session() as session:
        return list(
            (await session.scalars(select(FieldCommandRow).order_by(FieldCommandRow.created_ts))).all()
        )


async def test_restart_resumes_a_queued_command(db_settings, sims, start_core) -> None:
    """A sale queued while the gateway is down survives a restart and is delivered by the next core."""
    port = free_port()
    config = {"modbus": [gateway("ss1", port, command_timeout=30)], DOMAIN: [meters("ss1", 1)]}
    first = await start_core(config, db_settings)
    call = asyncio.create_task(
        first.services.async_call(
            DOMAIN, "sell", {"entity_id": f"{DOMAIN}.m1", "amount_fen": 2000, "purchase_count": 2}
        )
    )
    await wait_for(lambda: attr(first, "modbus.bus_ss1", "queued_commands") == 1, what="command queued")
    [row] = await rows(first)
    assert row.state == "queued" and row.kind == "sell" and json.loads(row.payload)["amount_fen"] == 2000
    call.cancel()
    await first.async_stop()

    sim = make_sim(1, port=port)
    await sim.async_start()
    sims.append(sim)
    second = await start_core(config, db_settings)
    await wait_for(lambda: sim.meter(1).purchase_count == 2, what="sale delivered after restart")
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{second.http.port}/api/field/commands/{row.id}"
        for _ in range(100):
            async with http.get(url) as response:
                record = await response.json()
            if record["state"] == "confirmed":
                break
            await asyncio.sleep(0.05)
    assert record["state"] == "confirmed" and record["result"]["purchase_count"] == 2


async def test_sent_command_is_verified_before_any_resend(db_settings, sims, start_core) -> None:
    """After a crash a 'sent' sale is checked against the meter's purchase count: never delivered twice."""
    sim = make_sim(1)
    await sim.async_start()
    sims.append(sim)
    config = {"modbus": [gateway("ss1", sim.port, command_timeout=30)], DOMAIN: [meters("ss1", 1)]}
    first = await start_core(config, db_settings)
    meter = f"{DOMAIN}.m1"
    await wait_for(lambda: attr(first, meter, "online") is True, what="online")
    await first.services.async_call(
        DOMAIN, "sell", {"entity_id": meter, "amount_fen": 1000, "purchase_count": 2}
    )
    [landed] = await rows(first)
    # Pretend the core died after writing to the meter but before storing the confirmation, and that a
    # second sale had been marked sent but never reached the meter.
    async with first.db.session() as session:
        await session.execute(
            update(FieldCommandRow).where(FieldCommandRow.id == landed.id).values(state="sent", result=None)
        )
        session.add(
            FieldCommandRow(
                id="f" * 32,
                entity_id=meter,
                kind="sell",
                payload=json.dumps({"amount_fen": 700, "purchase_count": 3}),
                state="sent",
                attempts=1,
                max_attempts=3,
                deadline_ts=landed.deadline_ts,
                created_ts=landed.created_ts + 1,
                updated_ts=landed.created_ts + 1,
            )
        )
    await first.async_stop()
    money = sim.meter(1).remaining_fen

    second = await start_core(config, db_settings)
    await wait_for(lambda: sim.meter(1).purchase_count == 3, what="second sale delivered")
    buses = second.data["modbus"].buses.values()
    await wait_for(lambda: not any(bus.jobs for bus in buses), what="commands settled")
    first_row, second_row = await rows(second)
    assert first_row.state == "confirmed" and second_row.state == "confirmed"
    assert sim.meter(1).total_purchased_fen == 50001 + 1000 + 700 - 1  # each sale exactly once
    assert money + 700 - 50 <= sim.meter(1).remaining_fen <= money + 700


async def test_batch_reports_progress_over_http(sims, start_core) -> None:
    """POST /api/field/batch runs one service on many meters; GET shows total/pending/done/failed."""
    sim = make_sim(4)
    await sim.async_start()
    sims.append(sim)
    core = await start_core({"modbus": [gateway("ss1", sim.port)], DOMAIN: [meters("ss1", 4)]})
    await wait_for(lambda: all(attr(core, f"{DOMAIN}.m{u}", "online") for u in range(1, 5)), what="online")
    sim.set_fault(4, exception=4)
    base = f"http://127.0.0.1:{core.http.port}/api/field"
    async with aiohttp.ClientSession() as http:
        ids = [f"{DOMAIN}.m{u}" for u in range(1, 5)]
        async with http.post(
            f"{base}/batch", json={"service": f"{DOMAIN}.trip", "entity_id": ids}
        ) as response:
            assert response.status == 200
            started = await response.json()
        assert started["total"] == 4
        for _ in range(200):
            async with http.get(f"{base}/batches/{started['batch_id']}") as response:
                batch = await response.json()
            if batch["pending"] == 0:
                break
            await asyncio.sleep(0.05)
        assert (batch["total"], batch["done"], batch["failed"], batch["pending"]) == (4, 3, 1, 0)
        failed = [c for c in batch["commands"] if c["state"] == "failed"]
        assert failed[0]["entity_id"] == f"{DOMAIN}.m4" and "exception code 4" in failed[0]["error"]
        assert all(sim.meter(u).forced == "trip" for u in (1, 2, 3))

        async with http.post(
            f"{base}/batch", json={"service": f"{DOMAIN}.sell", "entity_id": ids}
        ) as response:
            assert response.status == 400
            assert "amount_fen" in (await response.json())["error"]
        async with http.get(f"{base}/batches/nope") as response:
            assert response.status == 404
        service = f"http://127.0.0.1:{core.http.port}/api/services/{DOMAIN}/sell"
        async with http.post(
            service, json={"entity_id": ids[0], "amount_fen": 100, "purchase_count": 9}
        ) as response:
            assert response.status == 400
            assert "purchase count mismatch" in (await response.json())["error"]
        async with http.post(
            service, json={"entity_id": ids[0], "amount_fen": 100, "purchase_count": 2}
        ) as response:
            assert response.status == 200
            assert (await response.json())["results"][ids[0]]["purchase_count"] == 2


async def test_batch_is_saved_before_it_is_acknowledged(db_settings, start_core) -> None:
    """The 200 of POST /api/field/batch means every meter's command is in the database; a restart resumes them."""
    port = free_port()  # the gateway is down: the commands wait on their bus
    config = {"modbus": [gateway("ss1", port, command_timeout=60)], DOMAIN: [meters("ss1", 12)]}
    first = await start_core(config, db_settings)
    ids = [f"{DOMAIN}.m{u}" for u in range(1, 13)]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"http://127.0.0.1:{first.http.port}/api/field/batch",
            json={"service": f"{DOMAIN}.trip", "entity_id": ids},
        ) as response:
            assert response.status == 200
            batch_id = (await response.json())["batch_id"]
        saved = [row for row in await rows(first) if row.batch_id == batch_id]
        assert sorted(row.entity_id for row in saved) == sorted(ids)
        assert {row.state for row in saved} == {"queued"}
    await first.async_stop()

    second = await start_core(config, db_settings, name="cfg")
    await wait_for(lambda: attr(second, "modbus.bus_ss1", "queued_commands") == 12, what="commands resumed")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{second.http.port}/api/field/batches/{batch_id}") as response:
            batch = await response.json()
    assert (batch["total"], batch["pending"], len(batch["commands"])) == (12, 12, 12)


async def test_batch_acknowledged_then_sigterm_keeps_every_command(tmp_path) -> None:
    """`run` SIGTERMed right after the batch's 200: the next start still has every command of the batch."""
    import os
    import signal
    import sys
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    http_port = free_port()
    config = {
        "http": {"port": http_port},
        "recorder": {"db_url": f"sqlite:///{tmp_path / 'run.db'}"},
        "modbus": [gateway("ss1", free_port(), command_timeout=600)],  # the gateway is down: commands wait
        DOMAIN: [meters("ss1", 24)],
    }
    (tmp_path / "configuration.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base = f"http://127.0.0.1:{http_port}/api"
    ids = [f"{DOMAIN}.m{u}" for u in range(1, 25)]

    async def start() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scada_core",
            "run",
            "-c",
            str(tmp_path),
            cwd=root,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"{base}/health") as response:
                        if response.status == 200:
                            return process
                except aiohttp.ClientError:
                    pass
                assert process.returncode is None
                await asyncio.sleep(0.05)
        raise AssertionError("run did not come up")

    process = await start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{base}/field/batch", json={"service": f"{DOMAIN}.trip", "entity_id": ids}
            ) as answer:
                assert answer.status == 200
                process.send_signal(signal.SIGTERM)
                batch_id = (await answer.json())["batch_id"]
        assert await asyncio.wait_for(process.wait(), 60) == 0
        process = await start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/field/batches/{batch_id}") as response:
                batch = await response.json()
        assert (batch["total"], batch["pending"]) == (24, 24)
        assert sorted(c["entity_id"] for c in batch["commands"]) == sorted(ids)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
