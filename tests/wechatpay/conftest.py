"""WeChat Pay tests run on the Alipay tests' site (simulated meters, billing, tenant pages) plus WeChat."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.wechatpay.keys import ensure_keys
from tests.alipay.conftest import keys_dir  # noqa: F401 - the site's Alipay keys


@pytest.fixture(scope="session")
def wechat_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder with the merchant and sandbox key pairs and the APIv3 key."""
    return ensure_keys(tmp_path_factory.mktemp("wechatpay_keys"))


@pytest.fixture
async def site(  # type: ignore[no-untyped-def]
    tmp_path: Path, keys_dir: Path, wechat_keys_dir: Path, db_settings: dict[str, str]  # noqa: F811
):
    """Yield a running site with Alipay and WeChat Pay (see harness.WeChatSite)."""
    from .harness import running_wechat_site  # noqa: PLC0415 - skips cleanly while billing is missing

    async with running_wechat_site(tmp_path, keys_dir, wechat_keys_dir, db_settings) as running:
        yield running
