"""The tenant tests run on the same site as the Alipay tests (simulator, billing, alipay sandbox)."""
from __future__ import annotations

from tests.alipay.conftest import keys_dir, site  # noqa: F401 - fixtures shared with tests/alipay
