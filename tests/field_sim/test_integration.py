"""The dtsy1352_simulator integration: configured servers start with the core and save state when it stops."""
from __future__ import annotations

from pathlib import Path

import pytest

from integrations.dtsy1352_simulator import CONFIG_SCHEMA, DOMAIN, async_setup
from scada_core.config import load_config
from scada_core.core import Core
from scada_core.exceptions import ConfigError

pytestmark = pytest.mark.timeout(30)


async def test_servers_start_and_stop_with_the_core(tmp_path: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    """Two RTU-over-TCP servers of 36 meters each answer; stopping the core writes the state file."""
    core = Core(tmp_path)
    config = CONFIG_SCHEMA({DOMAIN: {"state_file": "sim.json", "servers": [
        {"name": "ss1", "port": 0, "units": "1-36", "baud": 9600, "turnaround_ms": 1},
        {"name": "ss2", "port": 0, "units": [1, 2]},
    ]}})[DOMAIN]
    assert await async_setup(core, config)
    sim = core.data[DOMAIN]
    assert [len(s.meters) for s in sim.servers] == [36, 2]
    client = await make_client(sim.servers[0].port, rtu=True)
    assert not (await client.read_holding_registers(0x0200, count=48, device_id=36)).isError()
    await core.async_stop()
    assert (tmp_path / "sim.json").is_file()


def test_config_mistake_names_file_and_line(tmp_path: Path) -> None:
    """A bad unit list in the YAML is reported with its file and line."""
    (tmp_path / "configuration.yaml").write_text(
        "dtsy1352_simulator:\n  servers:\n    - port: 5021\n      units: 1-x\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "configuration.yaml:4" in str(err.value) and "bad unit list" in str(err.value)
