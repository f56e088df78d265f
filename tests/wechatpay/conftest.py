"""WeChat Pay tests run on the Alipay tests' site (simulated meters, billing, tenant pages) plus WeChat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from integrations.topup.signing import load_private_key, load_public_key
from integrations.wechatpay.client import WeChatPayClient, WeChatPaySettings
from integrations.wechatpay.const import (
    SANDBOX_APPID,
    SANDBOX_MCHID,
    SANDBOX_PUBLIC_KEY_ID,
    SANDBOX_SERIAL_NO,
)
from integrations.wechatpay.keys import ensure_keys
from integrations.wechatpay.sandbox import WeChatPaySandbox, load_sandbox
from integrations.wechatpay.verifier import WeChatPayVerifier
from scada_core.clock import Clock
from tests.alipay.conftest import keys_dir  # noqa: F401 - the site's Alipay keys


def sandbox_client(
    keys: Path,
    gateway: str,
    session: aiohttp.ClientSession,
    private: Path | None = None,
    public: str | None = "pub_key.pem",
) -> WeChatPayClient:
    """Return a client signing with ``private`` (default: the merchant key), trusting ``public`` (or none)."""
    settings = WeChatPaySettings(
        SANDBOX_MCHID,
        SANDBOX_APPID,
        SANDBOX_SERIAL_NO,
        load_private_key((private or keys / "apiclient_key.pem").read_text()),
        gateway,
        "http://127.0.0.1:1/api/wechatpay/notify",
        "http://127.0.0.1:1/m/topup/return",
    )
    trusted = {SANDBOX_PUBLIC_KEY_ID: load_public_key((keys / public).read_text())} if public else {}
    return WeChatPayClient(settings, WeChatPayVerifier(trusted, Clock()), session, Clock())


@pytest.fixture(scope="session")
def wechat_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder with the merchant and sandbox key pairs and the APIv3 key."""
    return ensure_keys(tmp_path_factory.mktemp("wechatpay_keys"))


@pytest.fixture
async def sandbox(wechat_keys_dir: Path) -> AsyncIterator[WeChatPaySandbox]:
    """Yield a sandbox (public-key mode, its platform certificate listed) on a free port."""
    running = load_sandbox(wechat_keys_dir)
    await running.start("127.0.0.1", 0)
    yield running
    await running.stop()


@pytest.fixture
async def site(  # type: ignore[no-untyped-def]
    tmp_path: Path, keys_dir: Path, wechat_keys_dir: Path, db_settings: dict[str, str]  # noqa: F811
):
    """Yield a running site with Alipay and WeChat Pay (see harness.WeChatSite)."""
    from .harness import running_wechat_site  # noqa: PLC0415 - skips cleanly while billing is missing

    async with running_wechat_site(tmp_path, keys_dir, wechat_keys_dir, db_settings) as running:
        yield running
