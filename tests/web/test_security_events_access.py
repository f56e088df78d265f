"""The payment security log (forged, mismatched, replayed notifies and failed tenant logins, with addresses) is
for admins only: cashiers and viewers get 403 by token, whatever the provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.alipay.keys import ensure_keys
from web.const import ROLES

from .conftest import WebEnv

pytestmark = pytest.mark.timeout(60)


async def test_security_events_are_for_admins_only(start_web: Any, tmp_path: Path) -> None:
    keys = ensure_keys(tmp_path / "keys")
    env: WebEnv = await start_web(extra={"alipay": {"sandbox": {"port": 0, "keys_dir": str(keys)}}})
    client = env.client()
    for role in ROLES:
        headers = {"Authorization": f"Bearer {await env.token(f'sec_{role}', role)}"}
        async with client.get(env.base + "/api/alipay/security_events", headers=headers) as resp:
            assert resp.status == (200 if role == "admin" else 403), (role, resp.status, await resp.text())
