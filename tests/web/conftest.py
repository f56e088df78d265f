"""Web fixtures: a core with billing and the dashboard (optionally DTSY1352 meters on the simulator) and a client."""
from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_TCP, SimServer
from integrations.modbus.profile import get_profile
from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from tests.helpers import drop_schema, wait_for, write_config
from web.site import WebSite

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "secret-pass-1"
# The cheapest argon2id cost the configuration accepts (OWASP's least): a test hashes many passwords.
TEST_HASHING = {"memory_kib": 19456, "time_cost": 2, "parallelism": 1}
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class WebEnv:
    """A running core with billing and the dashboard."""

    core: Core
    base: str
    sim: SimServer | None
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def site(self) -> WebSite:
        """Return the dashboard's shared object."""
        return self.core.data["web"]

    async def operator(self, username: str, role: str) -> dict[str, Any]:
        """Create an operator with PASSWORD (no forced change)."""
        return await self.site.auth.create_operator(username, username, role, PASSWORD, must_change=False)

    async def token(self, username: str, role: str) -> str:
        """Create an operator and return a bearer token of theirs."""
        created = await self.operator(username, role)
        return (await self.site.auth.create_token(created["id"], "test"))[1]

    def client(self) -> aiohttp.ClientSession:
        """Return a new client session with its own cookie jar."""
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(session)
        return session

    async def submit_login(self, client: aiohttp.ClientSession, username: str, password: str = PASSWORD,
                           **kwargs: Any) -> tuple[int, str, Any]:
        """Load the login page (its CSRF pair) and post the form; return status, page and cookies set."""
        async with client.get(f"{self.base}/login") as resp:
            match = CSRF_RE.search(await resp.text())
            assert match
        form = {"username": username, "password": password, "csrf": match.group(1)}
        async with client.post(f"{self.base}/login", data=form, **kwargs) as resp:
            return resp.status, await resp.text(), resp.cookies

    async def login(self, username: str, password: str = PASSWORD) -> tuple[aiohttp.ClientSession, str]:
        """Log in through the form; return the client and the session's CSRF token."""
        client = self.client()
        status, page, _cookies = await self.submit_login(client, username, password)
        assert status == 200, status
        match = CSRF_RE.search(page)
        assert match, page[:500]
        return client, match.group(1)


def meter_sections(port: int, units: int, **gateway: Any) -> dict[str, Any]:
    """Return modbus + acrel_dtsy1352 sections for ``units`` meters m1.. on one Modbus TCP gateway (``gateway``
    overrides its settings)."""
    return {
        "modbus": [{"name": "gw1", "type": "tcp", "host": "127.0.0.1", "port": port, "timeout": 0.5, "retries": 1,
                    "status_interval": 0.5, "offline_after": 3, "reconnect_max": 0.3, **gateway}],
        "acrel_dtsy1352": [{"bus": "gw1", "meters": [{"name": f"b1_f{2 + u // 3}_m{u}", "address": u}
                                                    for u in range(1, units + 1)]}],
    }


@pytest.fixture
async def start_web(tmp_path: Path, db_settings: dict[str, str]) -> AsyncIterator[Callable[..., Awaitable[WebEnv]]]:
    """Start a core (billing + web, optionally simulated meters) from a config dir; clean up afterwards."""
    envs: list[WebEnv] = []

    async def start(
        units: int = 0, web: dict[str, Any] | None = None, http: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None, gateway: dict[str, Any] | None = None,
    ) -> WebEnv:
        sim = None
        sections: dict[str, Any] = {
            "billing": {"buildings": {"b1": {"name": "一号楼", "meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}},
                        "reconcile_interval": 3600},
            "web": {
                "admin": {"username": "admin", "password": "admin123"},
                "password_hash": TEST_HASHING,
                **(web or {}),
            },
        }
        if units:
            meters = {u: SimMeter(unit=u, remaining_fen=0, base_power_w=0.0, overdraft_fen=0, last_ts=time.time())
                      for u in range(1, units + 1)}
            sim = SimServer(get_profile("dtsy1352"), meters, time.time, TZ, mode=MODE_TCP, port=0)
            await sim.async_start()
            sections.update(meter_sections(sim.port, units, **(gateway or {})))
        sections.update(extra or {})
        folder = write_config(tmp_path / f"cfg{len(envs)}", {
            "core": {"time_zone": "Asia/Shanghai", "name": "测试大厦"}, "http": {"port": 0, **(http or {})}, **sections,
        }, db_settings)
        core = await async_from_config_dir(folder)
        env = WebEnv(core, f"http://127.0.0.1:{core.http.port}", sim)
        envs.append(env)
        assert "web" in core.config.components
        for unit in range(1, units + 1):
            entity = f"acrel_dtsy1352.b1_f{2 + unit // 3}_m{unit}"
            await wait_for(lambda e=entity: (s := core.states.get(e)) is not None and s.attributes.get("online") is True,
                           what=f"{entity} online")
        return env

    yield start
    for env in envs:
        for session in env.sessions:
            await session.close()
        await env.core.async_stop()
        if env.sim is not None:
            await env.sim.async_stop()
    await drop_schema(tmp_path, db_settings)


def pytest_configure(config: pytest.Config) -> None:
    """Register the browser mark."""
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")
