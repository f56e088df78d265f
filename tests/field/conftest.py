"""Field-layer fixtures: DTSY1352 simulators on free TCP ports and cores built from a config directory."""
from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import text

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, SimServer
from integrations.modbus_meter.profile import get_profile
from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from scada_core.storage.database import Database, resolve_url

TZ = ZoneInfo("Asia/Shanghai")


def free_port() -> int:
    """Return a TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def write_config(folder: Path, sections: dict[str, Any], db_settings: dict[str, str] | None = None) -> Path:
    """Write configuration.yaml with ``sections`` (plus http on a free port and the recorder).

    Without ``db_settings`` the recorder gets a SQLite file of its own (never DATABASE_URL's shared schema).
    """
    folder.mkdir(parents=True, exist_ok=True)
    database = db_settings or {"db_url": f"sqlite:///{folder / 'test.db'}"}
    config = {"http": {"port": 0}, "recorder": {"commit_interval": 0.05, **database}, **sections}
    (folder / "configuration.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return folder


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


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
        db = Database(resolve_url(tmp_path, settings["db_url"]), settings["db_schema"])
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings["db_schema"]}" CASCADE'))
        await db.async_close()
