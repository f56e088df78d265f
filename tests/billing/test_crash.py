"""Crash test: SIGKILL the running service at each step of a sale's delivery, restart it, let the reconciler run.

The service runs as `python -m scada_core run -c <dir>` and the DTSY1352 simulator as
`python -m scada_core simulate dtsy1352` in its own process, so the meters keep their state across the crash.
OPENPREPAY_CRASH_AT=<step>:<entity_id> makes the service kill itself with SIGKILL at that step of a delivery to
that meter; the next run's start-up reconciler settles it while that run waits to crash on the next meter.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scada_core.billing.const import CRASH_POINTS, ENV_CRASH_AT
from tests.helpers import drop_schema, free_port, write_config

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
CASHIER = {"id": "cashier1", "role": "cashier"}


class Service:
    """The service in a subprocess, started and killed by this test only."""

    def __init__(self, config_dir: Path, port: int, log: Path) -> None:
        self.config_dir = config_dir
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))

    async def start(self, crash_at: str | None = None) -> None:
        """Start the service (optionally with a crash point) and wait until its meters are online."""
        env = {k: v for k, v in os.environ.items() if k not in (ENV_CRASH_AT, "DATABASE_URL")}
        if crash_at:
            env[ENV_CRASH_AT] = crash_at
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scada_core",
                "run",
                "-c",
                str(self.config_dir),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
        for _ in range(400):
            try:
                states = await self.get("/api/states?domain=acrel_dtsy1352")
                if (
                    states
                    and all(s["attributes"].get("online") for s in states)
                    and "billing" in (await self.get("/api/health"))["components"]
                ):
                    return
            except aiohttp.ClientError:
                pass
            assert self.process.returncode is None, self.log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        raise AssertionError("service did not come up:\n" + self.log.read_text()[-3000:])

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.http.post(self.base + path, json=body) as response:
            data = await response.json()
            assert response.status == 200, data
            return data

    async def read_prepaid(self, entity_id: str) -> dict[str, Any]:
        """Read the meter itself through the field layer."""
        result = await self.post("/api/services/acrel_dtsy1352/read_prepaid", {"entity_id": entity_id})
        return result["results"][entity_id]

    async def wait_killed(self) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), 20)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def close(self) -> None:
        await self.stop()
        await self.http.close()


async def check_settled(
    service: Service, step: str, meter: str, amount: int, before: dict[str, Any], sale: dict[str, Any]
) -> None:
    """After the restart: the sale is delivered exactly once, a retry changes nothing, the books balance."""
    history = await service.get(f"/api/billing/accounts/{sale['account_id']}/history")
    sales = [t for t in history if t["kind"] == "sale"]
    assert len(sales) == 1, (step, history)
    for _ in range(300):
        detail = await service.get(f"/api/billing/transactions/{sales[0]['id']}")
        if detail["deliveries"][0]["status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert detail["deliveries"][0]["status"] == "delivered", (step, detail)
    after = await service.read_prepaid(meter)
    assert after["purchase_count"] == before["purchase_count"] + 1, step
    assert after["remaining_fen"] == before["remaining_fen"] + amount, step
    body = {k: v for k, v in sale.items() if k != "account_id"}
    repeat = await service.post("/api/billing/sales", body)  # the cashier retries: nothing more happens
    assert repeat["repeated"] and repeat["transaction"]["id"] == sales[0]["id"]
    assert (await service.read_prepaid(meter))["purchase_count"] == before["purchase_count"] + 1
    status = await service.get(f"/api/billing/meters/{meter}")
    assert status["remaining_fen"] == after["remaining_fen"] and not status["blocked"], step
    trial = await service.get("/api/billing/trial_balance")
    assert trial["balanced"], (step, trial)


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[int]:
    """Run the DTSY1352 simulator (idle meters) in its own process; yield its Modbus TCP port."""
    port = free_port()
    log = (tmp_path / "sim.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scada_core",
        "simulate",
        "dtsy1352",
        "--tcp",
        f"127.0.0.1:{port}",
        "--units",
        "1-4",
        "--power",
        "0",
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    yield port
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()
    log.close()


async def test_sale_survives_sigkill_at_every_delivery_step(
    tmp_path: Path, db_settings: dict[str, str], simulator: int
) -> None:
    """After a SIGKILL at each step and a restart, each sale is on its meter exactly once and the books balance."""
    http_port = free_port()
    sections = {
        "core": {"time_zone": "Asia/Shanghai"},
        "http": {"port": http_port},
        "modbus": [
            {
                "name": "gw1",
                "type": "tcp",
                "host": "127.0.0.1",
                "port": simulator,
                "timeout": 0.5,
                "status_interval": 0.3,
            }
        ],
        "acrel_dtsy1352": [{"bus": "gw1", "meters": [{"name": f"m{u}", "address": u} for u in range(1, 5)]}],
        "billing": {
            "buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1"}}},
            "reconcile_interval": 3600,
            "operator_from_body": True,
        },
    }
    config_dir = write_config(tmp_path / "cfg", sections, db_settings)
    service = Service(config_dir, http_port, tmp_path / "service.log")
    done: list[tuple[str, str, int, dict[str, Any], dict[str, Any]]] = []  # step, meter, amount, before, sale
    try:
        # Run k crashes at step k on meter k; its start-up reconciles meter k-1, which the test then checks.
        for index, step in enumerate([*CRASH_POINTS, None]):
            meter = f"acrel_dtsy1352.m{index + 1}"
            await service.start(crash_at=f"{step}:{meter}" if step else None)
            if done:
                await check_settled(service, *done[-1])
            if step is None:
                break
            account = await service.post(
                "/api/billing/accounts", {"name": f"A{index}", "meters": [meter], "operator": CASHIER}
            )
            before = await service.read_prepaid(meter)
            amount = 1000 * (index + 1)
            sale = {
                "meter_entity_id": meter,
                "amount_fen": amount,
                "idempotency_key": f"crash-{step}",
                "operator": CASHIER,
                "account_id": account["id"],
            }
            with pytest.raises(aiohttp.ClientError):
                await service.post("/api/billing/sales", {k: v for k, v in sale.items() if k != "account_id"})
            assert await service.wait_killed() == -signal.SIGKILL, step
            assert f"Crash point {step} reached on {meter}" in service.log.read_text(
                encoding="utf-8", errors="replace"
            )
            done.append((step, meter, amount, before, sale))
        assert len(done) == len(CRASH_POINTS)
    finally:
        await service.close()
        await drop_schema(tmp_path, db_settings)
