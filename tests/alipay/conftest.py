"""Key pairs for the Alipay tests, generated once per session (the app's and the sandbox's)."""
from __future__ import annotations

from pathlib import Path

import pytest

from integrations.alipay.keys import ensure_keys


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding app_private/app_public/alipay_private/alipay_public PEM files."""
    return ensure_keys(tmp_path_factory.mktemp("alipay_keys"))


@pytest.fixture
async def site(tmp_path: Path, keys_dir: Path, db_settings: dict[str, str]):  # type: ignore[no-untyped-def]
    """Yield a running site (see harness.Site)."""
    from .harness import running_site  # noqa: PLC0415 - skips cleanly while billing is missing

    async with running_site(tmp_path, keys_dir, db_settings) as running:
        yield running
