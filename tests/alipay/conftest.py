"""Key pairs for the Alipay tests, generated once per session (the app's and the sandbox's)."""
from __future__ import annotations

from pathlib import Path

import pytest

from integrations.alipay.keys import ensure_keys


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding app_private/app_public/alipay_private/alipay_public PEM files."""
    return ensure_keys(tmp_path_factory.mktemp("alipay_keys"))
