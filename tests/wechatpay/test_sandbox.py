"""The sandbox alone: our signed calls work, a bad request signature gets 401 SIGN_ERROR, a forged answer is
refused by our client; and `python -m scada_core simulate wechatpay`."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from integrations.wechatpay.client import WeChatPayError
from integrations.wechatpay.const import SANDBOX_MCHID
from integrations.wechatpay.sandbox import WeChatPaySandbox

from .conftest import sandbox_client

pytestmark = pytest.mark.timeout(60)

PROJECT = Path(__file__).resolve().parents[2]


async def test_signed_calls_and_refused_signatures(
    sandbox: WeChatPaySandbox, wechat_keys_dir: Path, keys_dir: Path
) -> None:
    """Native, query, close and refund errors with our key; a request signed with another key is refused with
    401 SIGN_ERROR; an answer checked against the wrong WeChat Pay key is refused by the client."""
    expire = time.time() + 900
    async with aiohttp.ClientSession() as session:
        client = sandbox_client(wechat_keys_dir, sandbox.base_url, session)
        code_url = await client.native("TWSANDBOX01", 8800, "电费充值-1", expire)
        assert code_url.endswith("/sandbox/pay/TWSANDBOX01")
        queried = await client.query("TWSANDBOX01")
        assert (queried["trade_state"], queried["amount"]["total"], queried["mchid"]) == (
            "NOTPAY",
            8800,
            SANDBOX_MCHID,
        )
        with pytest.raises(WeChatPayError) as caught:
            await client.query("TW404404")
        assert (caught.value.status, caught.value.code) == (404, "ORDER_NOT_EXIST")
        with pytest.raises(WeChatPayError) as caught:
            await client.native("TW1", 8800, "x", expire)  # out_trade_no too short
        assert caught.value.code == "PARAM_ERROR"
        with pytest.raises(WeChatPayError) as caught:
            await client.refund("TWSANDBOX01", "TWSANDBOX01R", 8800, 8800, "x")
        assert caught.value.code == "TRADE_STATE_ERROR"
        await client.close("TWSANDBOX01")
        assert (await client.query("TWSANDBOX01"))["trade_state"] == "CLOSED"

        forger = sandbox_client(
            wechat_keys_dir, sandbox.base_url, session, private=keys_dir / "app_private.pem"
        )  # a key that is not ours
        with pytest.raises(WeChatPayError) as caught:
            await forger.query("TWSANDBOX01")
        assert (caught.value.status, caught.value.code) == (401, "SIGN_ERROR")
        assert sandbox.rejected_requests == 1
        async with session.get(
            f"{sandbox.base_url}/v3/pay/transactions/out-trade-no/TWSANDBOX01?mchid={SANDBOX_MCHID}"
        ) as resp:  # no Authorization at all
            assert resp.status == 401 and (await resp.json())["code"] == "SIGN_ERROR"

        gullible = sandbox_client(wechat_keys_dir, sandbox.base_url, session, public="apiclient_public.pem")
        with pytest.raises(WeChatPayError, match="bad_signature"):
            await gullible.query("TWSANDBOX01")


async def test_simulate_wechatpay_cli(tmp_path: Path) -> None:
    """The CLI writes its keys (private ones 0600, git-ignored) and answers a client using them."""
    keys = tmp_path / "keys"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scada_core",
        "simulate",
        "wechatpay",
        "--port",
        "0",
        "--keys-dir",
        str(keys),
        cwd=PROJECT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        gateway = re.search(r"(http://127\.0\.0\.1:\d+)", line).group(1)  # type: ignore[union-attr]
        for secret in ("apiclient_key.pem", "wechatpay_private.pem", "apiv3.key"):
            assert (keys / secret).stat().st_mode & 0o777 == 0o600
        assert (keys / ".gitignore").read_text().strip().endswith("*")
        async with aiohttp.ClientSession() as session:
            client = sandbox_client(keys, gateway, session)
            h5_url = await client.h5("TWCLI0001", 1200, "电费充值-1", time.time() + 900, "10.1.2.3")
            async with session.get(h5_url) as resp:
                assert "12.00" in await resp.text()
            assert (await client.query("TWCLI0001"))["trade_type"] == "MWEB"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
