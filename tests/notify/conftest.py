"""Fixtures of the notification tests: the modem simulator on a real pty, a core built from a config directory."""
from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from integrations.sms_modem.simulator import ModemSimulator
from scada_core.bootstrap import async_setup_core
from scada_core.config import load_config
from scada_core.core import Core
from tests.helpers import drop_schema, write_config

DEMO_TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "demo" / "templates"

# Short timings so failures, retries and recoveries happen within a test.
MODEM_TEST_SETTINGS = {"command_timeout": 0.3, "network_timeout": 5.0, "health_interval": 0.1}
SMS_TEST_SETTINGS = {"retry_base": 0.05, "retry_max": 0.2, "rate_per_minute": 60000}


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[ModemSimulator]:
    """Yield a running modem simulator reached through tmp_path/modem."""
    sim = ModemSimulator(tmp_path / "modem", tmp_path / "pdus.jsonl")
    await sim.async_start()
    yield sim
    await sim.async_stop()


def notify_config(config_dir: Path, db_settings: dict[str, str], sections: dict[str, Any]) -> Path:
    """Write configuration.yaml (plus the demo templates) into ``config_dir``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO_TEMPLATES, config_dir / "templates", dirs_exist_ok=True)
    core = {"name": "测试大厦", "time_zone": "Asia/Shanghai", "language": "zh-CN"}
    return write_config(config_dir, {"core": core, "http": {"host": "127.0.0.1", "port": 0}, **sections}, db_settings)


def sms_sections(simulator: ModemSimulator, **notify: Any) -> dict[str, Any]:
    """Return sms_modem and notify sections pointing at ``simulator``."""
    return {
        "sms_modem": {"port": simulator.port, **MODEM_TEST_SETTINGS},
        "notify": {"sms": dict(SMS_TEST_SETTINGS), **notify},
    }


@pytest.fixture
async def start_core(tmp_path: Path, db_settings: dict[str, str]) -> AsyncIterator[Callable[..., Awaitable[Core]]]:
    """Yield a factory that starts a core from sections; every core is stopped and its schema dropped afterwards."""
    cores: list[Core] = []

    async def start(sections: dict[str, Any], name: str = "config") -> Core:
        core = await async_setup_core(load_config(notify_config(tmp_path / name, db_settings, sections)))
        cores.append(core)
        return core

    yield start
    for core in cores:
        await core.async_stop()
    await drop_schema(tmp_path, db_settings)
