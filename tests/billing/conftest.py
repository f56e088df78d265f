"""Billing fixtures: a core with the DTSY1352 simulator over TCP, billing with its API, and an HTTP client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_TCP, SimServer
from integrations.modbus.profile import get_profile
from scada_core.billing.service import BillingService
from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from tests.helpers import drop_schema, wait_for, write_config

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = {"id": "admin1", "role": "admin"}
CASHIER = {"id": "cashier1", "role": "cashier"}
FLAT = {"kind": "flat", "price": "1.00"}


def sim_server(units: int, remaining_fen: int = 0, port: int = 0) -> SimServer:
    """Return a Modbus TCP serial server with idle DTSY1352 units 1..units (no load: money moves only by us)."""
    meters = {
        unit: SimMeter(
            unit=unit, remaining_fen=remaining_fen, base_power_w=0.0, overdraft_fen=0, last_ts=time.time()
        )
        for unit in range(1, units + 1)
    }
    return SimServer(get_profile("dtsy1352"), meters, time.time, TZ, mode=MODE_TCP, port=port)


def field_sections(port: int, units: int, plain: bool = False, **gateway: Any) -> dict[str, Any]:
    """Return modbus + acrel_dtsy1352 sections for meters m1.. on one Modbus TCP gateway (plain: modbus_meter p1..)."""
    group = {
        "bus": "gw1",
        "meters": [{"name": f"{'p' if plain else 'm'}{u}", "address": u} for u in range(1, units + 1)],
    }
    meter_section = (
        {"modbus_meter": [{**group, "profile": "dtsy1352"}]} if plain else {"acrel_dtsy1352": [group]}
    )
    return {
        "modbus": [
            {
                "name": "gw1",
                "type": "tcp",
                "host": "127.0.0.1",
                "port": port,
                "timeout": 0.5,
                "retries": 1,
                "status_interval": 0.5,
                "energy_interval": 0.3,
                "offline_after": 3,
                "reconnect_max": 0.3,
                **gateway,
            }
        ],
        **meter_section,
    }


def billing_section(**extra: Any) -> dict[str, Any]:
    """Return a billing section with one building b1 (flat 1 yuan/kWh) that trusts the body's operator."""
    return {
        "buildings": {
            "b1": {
                "name": "一号楼",
                "meters": ["*"],
                "tariff": FLAT,
                "alarm1_fen": 5000,
                "alarm2_fen": 1000,
                **extra,
            }
        },
        "reconcile_interval": 3600,
        "operator_from_body": True,
    }



@dataclass
class Site:
    """A running core with billing, its simulator and an API client."""

    core: Core
    sim: SimServer | None
    http: aiohttp.ClientSession
    base: str

    @property
    def billing(self) -> BillingService:
        """Return the billing service."""
        return self.core.data["billing"]

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        """Call the API; assert the status; return the JSON answer."""
        async with self.http.request(method, self.base + path, json=body) as response:
            data = await response.json()
            assert response.status == status, (response.status, data)
            return data

    async def balanced(self) -> None:
        """Assert the trial balance is zero."""
        trial = await self.api("GET", "/api/billing/trial_balance")
        assert trial["balanced"] and trial["total_fen"] == 0, trial


@pytest.fixture
async def start_site(
    tmp_path: Path, db_settings: dict[str, str]
) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    """Start a simulator and a core (field layer + billing) from a config dir; clean everything up."""
    sites: list[Site] = []

    async def start(
        units: int = 2,
        remaining_fen: int = 0,
        billing: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        with_sim: bool = True,
        plain: bool = False,
        gateway: dict[str, Any] | None = None,
    ) -> Site:
        sim = None
        sections: dict[str, Any] = {"billing": billing or billing_section(), **(extra or {})}
        if with_sim:
            sim = sim_server(units, remaining_fen)
            await sim.async_start()
            sections.update(field_sections(sim.port, units, plain, **(gateway or {})))
        folder = write_config(tmp_path / f"cfg{len(sites)}", {"core": {"time_zone": "Asia/Shanghai"}, **sections}, db_settings)
        core = await async_from_config_dir(folder)
        site = Site(core, sim, aiohttp.ClientSession(), f"http://127.0.0.1:{core.http.port}")
        sites.append(site)
        if with_sim:
            for unit in range(1, units + 1):
                entity = f"modbus_meter.p{unit}" if plain else f"acrel_dtsy1352.m{unit}"
                await wait_for(
                    lambda e=entity: (
                        (s := core.states.get(e)) is not None and s.attributes.get("online") is True
                    ),
                    what=f"{entity} online",
                )
        return site

    yield start
    for site in sites:
        await site.http.close()
        await site.core.async_stop()
        if site.sim is not None:
            await site.sim.async_stop()
    await drop_schema(tmp_path, db_settings)
