"""The Alipay tests' running site plus WeChat Pay and its sandbox (tests/alipay/harness.py does the rest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrations.topup.orders import Order
from integrations.wechatpay.payments import WeChatPayments
from integrations.wechatpay.sandbox import WeChatPaySandbox
from tests.alipay.harness import Site, running_site

NOTIFY_PATH = "/api/wechatpay/notify"


def wechat_section(keys_dir: Path, **options: Any) -> dict[str, Any]:
    """Return the `wechatpay:` section: sandbox on a free port, sweeps left to the tests, plus ``options``."""
    return {
        "wechatpay": {
            "sandbox": {"port": 0, "keys_dir": str(keys_dir)},
            "query_interval": 3600,
            "query_after": 0,
            **options,
        }
    }


@dataclass
class WeChatSite:
    """A running site (``site``) with WeChat Pay beside Alipay."""

    site: Site

    def __getattr__(self, name: str) -> Any:
        return getattr(self.site, name)

    @property
    def wechat(self) -> WeChatPayments:
        """Return the wechatpay integration's service object."""
        return self.site.core.data["wechatpay"]

    @property
    def wechat_sandbox(self) -> WeChatPaySandbox:
        """Return the in-process WeChat Pay sandbox."""
        return self.wechat.sandbox

    async def post_notify(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """POST a notification to our endpoint as the sandbox would."""
        return await self.wechat_sandbox.post_notify(f"{self.site.base}{NOTIFY_PATH}", headers, body)

    async def credited(self, out_trade_no: str, timeout: float = 15.0) -> Order:
        """Wait until an order is credited and return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not ((order := await self.wechat.store.get(out_trade_no)) and order.credited):
            assert asyncio.get_running_loop().time() < deadline, f"order {out_trade_no} not credited"
            await asyncio.sleep(0.02)
        return order


@asynccontextmanager
async def running_wechat_site(
    tmp_path: Path,
    keys_dir: Path,
    wechat_keys_dir: Path,
    db_settings: dict[str, str],
    alipay: bool = True,
    **options: Any,
) -> AsyncIterator[WeChatSite]:
    """Start the Alipay tests' site plus WeChat Pay (``options`` in its section; Alipay if ``alipay``)."""
    sections = {**wechat_section(wechat_keys_dir, **options), **({} if alipay else {"alipay": None})}
    async with running_site(tmp_path, keys_dir, db_settings, sections) as site:
        yield WeChatSite(site)
