"""Field-layer fixtures: DTSY1352 simulators on free TCP ports and cores built from a config directory."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, SimServer
from integrations.modbus.profile import get_profile
from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from tests.helpers import drop_schema, write_config

TZ = ZoneInfo("Asia/Shanghai")


def make_sim(units: int = 3, mode: str = MODE_RTU_OVER_TCP, port: int = 0, **kwargs: Any) -> SimServer:
    """Return a simulated serial server with DTSY1352 units 1..``units`` (not started)."""
    meters = {
        unit: SimMeter(unit=unit, remaining_fen=50000 + unit, last_ts=time.time())
        for unit in range(1, units + 1)
    }
    return SimServer(get_profile("dtsy1352"), meters, time.time, TZ, mode=mode, port=port, **kwargs)


def gateway(name: str, port: int, **extra: Any) -> dict[str, Any]:
    """Return a fast RTU-over-TCP gateway entry for tests."""
    return {
        "name": name,
        "type": "rtu_over_tcp",
        "host": "127.0.0.1",
        "port": port,
        "timeout": 0.15,
        "retries": 0,
        "status_interval": 0.3,
        "offline_after": 2,
        "offline_retry_sweeps": 2,
        "reconnect_max": 0.3,
        **extra,
    }


def meters(bus: str, count: int, prefix: str = "m") -> dict[str, Any]:
    """Return an acrel_dtsy1352 group of ``count`` meters on ``bus``."""
    return {"bus": bus, "meters": [{"name": f"{prefix}{u}", "address": u} for u in range(1, count + 1)]}


def attr(core: Core, entity_id: str, name: str) -> Any:
    """Return one attribute of an entity's state (None if absent)."""
    state = core.states.get(entity_id)
    return None if state is None else state.attributes.get(name)


@pytest.fixture
async def sims() -> AsyncIterator[list[SimServer]]:
    """Collect started simulators and stop them afterwards."""
    started: list[SimServer] = []
    yield started
    for sim in started:
        await sim.async_stop()


@pytest.fixture
async def start_core(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Core]]]:
    """Start cores from config dirs; stop them (and drop PostgreSQL schemas) afterwards."""
    cores: list[Core] = []
    schemas: list[dict[str, str]] = []

    async def start(
        sections: dict[str, Any], db_settings: dict[str, str] | None = None, name: str = "cfg"
    ) -> Core:
        core = await async_from_config_dir(write_config(tmp_path / name, sections, db_settings))
        cores.append(core)
        if db_settings and db_settings.get("db_schema"):
            schemas.append(db_settings)
        return core

    yield start
    for core in cores:
        await core.async_stop()
    for settings in schemas:
        await drop_schema(tmp_path, settings)
