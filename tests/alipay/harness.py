"""A running site for the Alipay and tenant tests: DTSY1352 simulator over TCP, field layer, billing, alipay + sandbox."""
from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select
from yarl import URL

pytest.importorskip("scada_core.billing.service", reason="billing has not landed")

from integrations.acrel_dtsy1352.sim_meter import SimMeter  # noqa: E402
from integrations.acrel_dtsy1352.sim_server import MODE_TCP, SimServer  # noqa: E402
from integrations.topup.models import SecurityEventRow  # noqa: E402
from integrations.alipay.payments import AlipayPayments  # noqa: E402
from integrations.alipay.sandbox import AlipaySandbox  # noqa: E402
from integrations.modbus.profile import get_profile  # noqa: E402
from scada_core.bootstrap import async_from_config_dir  # noqa: E402
from scada_core.core import Core  # noqa: E402
from tests.helpers import drop_schema, wait_for, write_config  # noqa: E402
from web.const import CSRF_HEADER  # noqa: E402
from web.tenant.const import COOKIE_CSRF  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = {"id": "admin1", "role": "admin"}
PASSWORDS = {"A": "pass-A-1234", "B": "pass-B-5678"}
PHONES = {"A": "13800000001", "B": "13800000002"}


def tenant_client(base: str) -> aiohttp.ClientSession:
    """Return a client with a cookie jar that holds the tenant pages' CSRF cookie and sends its token with every
    request, as a browser's forms do (the CSRF tests themselves take the token from a page)."""
    token = secrets.token_urlsafe(24)
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={CSRF_HEADER: token})
    client.cookie_jar.update_cookies({COOKIE_CSRF: token}, URL(base))
    return client


async def kiosk_check_in(client: aiohttp.ClientSession, base: str, account_id: int, password: str) -> None:
    """At the kiosk: find the shop by its account number and prove it with its password."""
    async with client.post(f"{base}/kiosk/select", data={"shop": str(account_id), "by": "account"},
                           allow_redirects=False) as resp:
        assert resp.headers["Location"] == "/kiosk/check"
    async with client.post(f"{base}/kiosk/check", data={"password": password}, allow_redirects=False) as resp:
        assert resp.headers["Location"] == "/kiosk/account"


@dataclass
class Site:
    """A running core with meters, billing, alipay and its sandbox; tenants A (meter m1) and B (meter m2)."""

    core: Core
    sim: SimServer
    http: aiohttp.ClientSession
    base: str
    accounts: dict[str, int]

    @property
    def payments(self) -> AlipayPayments:
        """Return the alipay integration's service object."""
        return self.core.data["alipay"]

    @property
    def sandbox(self) -> AlipaySandbox:
        """Return the in-process sandbox gateway."""
        return self.payments.sandbox

    @property
    def billing(self) -> Any:
        """Return billing's service object."""
        return self.core.data["billing"]

    async def balance(self, tenant: str) -> int:
        """Return a tenant's money: wallet plus what billing holds for its meters."""
        account = await self.billing.account(self.accounts[tenant])
        return int(account["wallet_fen"]) + sum(int(m.get("remaining_fen") or 0) for m in account["meters"])

    async def security_kinds(self) -> list[str]:
        """Return the kinds of every security event so far."""
        assert self.core.db is not None
        async with self.core.db.session() as session:
            return list(await session.scalars(select(SecurityEventRow.kind).order_by(SecurityEventRow.id)))

    async def assert_credited_once(self, out_trade_no: str, before: int, meter_before: int, replays: int) -> None:
        """Assert tenant A got 50.00 once for ``out_trade_no``, on the meter too, with ``replays`` logged."""
        assert await self.balance("A") == before + 5000
        await wait_for(lambda: self.sim.meters[1].remaining_fen == meter_before + 5000, what="meter +50.00")
        history = await self.billing.account_history(self.accounts["A"])
        assert [t["reference"] for t in history].count(out_trade_no) == 1
        assert (await self.security_kinds()).count("replayed") == replays
        assert (await self.billing.trial_balance())["balanced"]

    async def notify(self, form: dict[str, str]) -> tuple[int, str]:
        """POST a form to our notify endpoint as the sandbox would."""
        return await self.sandbox.post_notify(f"{self.base}/api/alipay/notify", form)


def _config(folder: Path, port: int, keys_dir: Path, db_settings: dict[str, str], extra: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(keys_dir, folder / "keys")
    sections = {
        "core": {"time_zone": "Asia/Shanghai", "language": "zh-CN"},
        "modbus": [{"name": "gw1", "type": "tcp", "host": "127.0.0.1", "port": port, "timeout": 0.5, "retries": 1,
                    "status_interval": 0.5, "offline_after": 3, "reconnect_max": 0.3}],
        "acrel_dtsy1352": [{"bus": "gw1", "meters": [{"name": "m1", "address": 1}, {"name": "m2", "address": 2}]}],
        "billing": {"buildings": {"b1": {"name": "一号楼", "meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}},
                    "reconcile_interval": 3600},
        "alipay": {"sandbox": {"port": 0, "keys_dir": "keys"}, "query_interval": 3600, "query_after": 0,
                   "kiosk_idle": 30},
        **extra,
    }
    kept = {key: section for key, section in sections.items() if section is not None}  # extra's None drops one
    return write_config(folder, kept, db_settings)


@asynccontextmanager
async def running_site(
    tmp_path: Path, keys_dir: Path, db_settings: dict[str, str], extra: dict[str, Any] | None = None,
    units: tuple[int, ...] = (1, 2),
) -> AsyncIterator[Site]:
    """Start simulator (meters m<unit>; ``extra`` names the ones beyond m1 and m2) and core, open accounts A (m1)
    and B (m2) with logins; stop and clean up afterwards."""
    meters = {u: SimMeter(unit=u, remaining_fen=0, purchase_count=0, total_purchased_fen=0, base_power_w=0.0,
                          overdraft_fen=0, last_ts=time.time()) for u in units}
    sim = SimServer(get_profile("dtsy1352"), meters, time.time, TZ, mode=MODE_TCP, port=0)
    await sim.async_start()
    core = await async_from_config_dir(_config(tmp_path / "cfg", sim.port, keys_dir, db_settings, extra or {}))
    http = aiohttp.ClientSession()
    try:
        for unit in units:
            entity = f"acrel_dtsy1352.m{unit}"
            await wait_for(lambda e=entity: (s := core.states.get(e)) is not None and s.attributes.get("online") is True,
                           what=f"{entity} online")
        accounts = {}
        for tenant, unit in (("A", 1), ("B", 2)):
            opened = await core.data["billing"].open_account(f"商铺{tenant}", [f"acrel_dtsy1352.m{unit}"], ADMIN,
                                                             building="b1", phone=PHONES[tenant])
            accounts[tenant] = int(opened["id"])
        await asyncio.gather(*(
            core.data["tenant"].auth.set_credentials(accounts[t], password=PASSWORDS[t], phone=PHONES[t],
                                                     tenant_control=True)
            for t in accounts
        ))
        yield Site(core, sim, http, f"http://127.0.0.1:{core.http.port}", accounts)
    finally:
        await http.close()
        await core.async_stop()
        await sim.async_stop()
        await drop_schema(tmp_path, db_settings)
