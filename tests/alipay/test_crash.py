"""A crash (SIGKILL) between recording an Alipay payment and delivering it to the meter is reconciled after restart."""
from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_TCP, SimServer
from integrations.alipay.sandbox import load_sandbox
from integrations.modbus.profile import get_profile
from integrations.topup.sandbox import NotifyPolicy
from tests.helpers import drop_schema, free_port, wait_for, write_config

from .harness import TZ, tenant_client

pytestmark = pytest.mark.timeout(90)

PROJECT = Path(__file__).resolve().parents[2]
PASSWORD = "crash-test-1"


def _config(folder: Path, sim_port: int, http_port: int, gateway: str, keys: Path, db: dict[str, str]) -> Path:
    sections = {
        "core": {"time_zone": "Asia/Shanghai"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "modbus": [{"name": "gw1", "type": "tcp", "host": "127.0.0.1", "port": sim_port, "timeout": 0.5,
                    "retries": 1, "status_interval": 0.5, "offline_after": 3, "reconnect_max": 0.3}],
        "acrel_dtsy1352": [{"bus": "gw1", "meters": [{"name": "m1", "address": 1}]}],
        "billing": {"buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}},
                    "reconcile_interval": 1},
        "alipay": {
            "gateway": gateway, "private_key_file": str(keys / "app_private.pem"),
            "alipay_public_key_file": str(keys / "alipay_public.pem"), "app_id": "2021000000000000",
            "seller_id": "2088000000000000", "query_interval": 3600,
            "tenants": [{"meter": "acrel_dtsy1352.m1", "name": "商铺C", "password": PASSWORD}],
        },
    }
    return write_config(folder, sections, db)


async def _start(config_dir: Path, crash_at: str | None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k != "OPENPREPAY_CRASH_AT"}
    if crash_at:
        env["OPENPREPAY_CRASH_AT"] = crash_at
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scada_core", "run", "-c", str(config_dir), cwd=PROJECT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )


async def _login(client: aiohttp.ClientSession, base: str) -> None:
    """Wait until the service answers and the provisioned tenant can log in."""
    deadline = time.monotonic() + 40
    while True:
        try:
            async with client.post(f"{base}/m/login", data={"account_id": "1", "password": PASSWORD},
                                   allow_redirects=False) as resp:
                if resp.status == 302:
                    return
        except aiohttp.ClientError:
            pass
        assert time.monotonic() < deadline, "service did not come up with its tenant"
        await asyncio.sleep(0.2)


async def test_crash_after_pending_commit_is_reconciled(tmp_path: Path, keys_dir: Path,
                                                        db_settings: dict[str, str]) -> None:
    """SIGKILL right after billing committed the pending sale: after restart the meter gets 50.00 exactly once."""
    meter = SimMeter(unit=1, remaining_fen=0, purchase_count=0, total_purchased_fen=0, base_power_w=0.0,
                     overdraft_fen=0, last_ts=time.time())
    sim = SimServer(get_profile("dtsy1352"), {1: meter}, time.time, TZ, mode=MODE_TCP, port=0)
    await sim.async_start()
    sandbox = load_sandbox(keys_dir, policy=NotifyPolicy(retry_delays=(0.5,) * 60))
    gateway = await sandbox.start(port=0)
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    config_dir = _config(tmp_path / "cfg", sim.port, http_port, gateway, keys_dir, db_settings)
    process = await _start(config_dir, "after_pending_commit")
    client = tenant_client(base)
    try:
        await _login(client, base)
        async with client.post(f"{base}/api/services/alipay/create_order",
                               json={"account_id": 1, "amount_fen": 5000}) as resp:
            created = await resp.json()
        out_trade_no = created["order"]["out_trade_no"]
        async with client.get(created["pay_url"]) as resp:
            assert resp.status == 200
        sandbox.pay(out_trade_no)
        assert await asyncio.wait_for(process.wait(), 30) == -9  # killed itself at the crash point
        assert meter.remaining_fen == 0 and meter.purchase_count == 0
        process = await _start(config_dir, None)
        await _login(client, base)
        await wait_for(lambda: meter.purchase_count == 1, timeout=30, what="the reconciler's delivery")

        async def credited() -> bool:
            async with client.get(f"{base}/m/orders/{out_trade_no}") as resp:
                order = await resp.json()
            return bool(order["credited"]) and order["state"] == "PAID"

        deadline = time.monotonic() + 30
        while not await credited():
            assert time.monotonic() < deadline, "order never marked credited"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a further reconciler round and notify retries must change nothing
        assert (meter.remaining_fen, meter.purchase_count) == (5000, 1)
        async with client.get(f"{base}/api/billing/trial_balance") as resp:
            trial = await resp.json()
        assert trial["balanced"], trial
        assert sandbox.notify_log[-1][1:] == (200, "success")
    finally:
        await client.close()
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
        await sandbox.stop()
        await sim.async_stop()
        await drop_schema(tmp_path, db_settings)
