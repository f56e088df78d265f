"""The UnionPay sandbox's certificates, made once per session, and a running site with Alipay and UnionPay."""
from __future__ import annotations

from pathlib import Path

import pytest

from integrations.alipay.keys import ensure_keys
from integrations.unionpay.keys import ensure_certs


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder of Alipay key files (the site runs both providers)."""
    return ensure_keys(tmp_path_factory.mktemp("alipay_keys"))


@pytest.fixture(scope="session")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding the sandbox's root, middle, signing and merchant certificates."""
    return ensure_certs(tmp_path_factory.mktemp("unionpay_certs"))


@pytest.fixture
async def site(tmp_path: Path, keys_dir: Path, certs_dir: Path, db_settings: dict[str, str]):  # type: ignore[no-untyped-def]
    """Yield a running site (tests.alipay.harness.Site) whose core runs UnionPay beside Alipay."""
    from tests.alipay.harness import running_site  # noqa: PLC0415 - skips cleanly while billing is missing

    extra = {"unionpay": {"sandbox": {"port": 0, "keys_dir": str(certs_dir)}, "query_interval": 3600,
                          "query_after": 0}}
    async with running_site(tmp_path, keys_dir, db_settings, extra) as running:
        yield running
