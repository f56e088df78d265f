"""`python -m scada_core simulate alipay`: a stand-alone sandbox that makes its keys and answers signed calls."""
from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from integrations.alipay.client import AlipayClient, AlipaySettings
from integrations.alipay.const import SANDBOX_APP_ID
from integrations.topup.signing import load_private_key, load_public_key
from scada_core.clock import Clock

pytestmark = pytest.mark.timeout(60)

PROJECT = Path(__file__).resolve().parents[2]


async def test_simulate_alipay_cli(tmp_path: Path) -> None:
    """The CLI writes both key pairs (private ones 0600, git-ignored) and speaks RSA2 with a client using them."""
    keys = tmp_path / "keys"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scada_core", "simulate", "alipay", "--port", "0", "--keys-dir", str(keys),
        cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        gateway = re.search(r"(http://\S+/gateway\.do)", line).group(1)  # type: ignore[union-attr]
        assert (keys / "app_private.pem").stat().st_mode & 0o777 == 0o600
        assert (keys / ".gitignore").read_text().strip().endswith("*")
        settings = AlipaySettings(
            SANDBOX_APP_ID, gateway, "http://127.0.0.1:1/api/alipay/notify", None,
            load_private_key((keys / "app_private.pem").read_text()),
            load_public_key((keys / "alipay_public.pem").read_text()),
        )
        async with aiohttp.ClientSession() as session:
            client = AlipayClient(settings, session, Clock())
            missing = await client.query("TU404")
            assert (missing["code"], missing["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
            created = await client.precreate("TUCLI1", 8800, "电费充值-1", 15)
            assert created["code"] == "10000" and created["qr_code"].endswith("/sandbox/qr/TUCLI1")
            assert (await client.query("TUCLI1"))["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # not scanned yet
            async with session.get(created["qr_code"]) as resp:
                assert "88.00" in await resp.text()
            scanned = await client.query("TUCLI1")
            assert (scanned["trade_status"], scanned["total_amount"]) == ("WAIT_BUYER_PAY", "88.00")
            closed = await client.close("TUCLI1")
            assert closed["code"] == "10000"
            assert (await client.close("TUCLI1"))["sub_code"] == "ACQ.TRADE_HAS_CLOSE"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
