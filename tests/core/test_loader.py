"""Integration discovery, dependency order and dependency errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from scada_core.config import load_config
from scada_core.exceptions import ConfigError, DependencyError
from scada_core.loader import discover, resolve_order

INTEGRATION = '''
"""Integration {name} for loader tests."""
DOMAIN = "{name}"
ORDER = []


async def async_setup(core, config):
    core.data.setdefault("setup_order", []).append(DOMAIN)
    return {result}
'''


def make(config_dir: Path, name: str, deps: list[str], result: str = "True") -> None:
    folder = config_dir / "custom_integrations" / name
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        f"domain: {name}\nname: {name}\nversion: '1'\ndependencies: {deps}\n", encoding="utf-8"
    )
    (folder / "__init__.py").write_text(INTEGRATION.format(name=name, result=result), encoding="utf-8")


def test_dependencies_come_first(tmp_path: Path) -> None:
    make(tmp_path, "alpha_dep", [])
    make(tmp_path, "beta_mid", ["alpha_dep"])
    make(tmp_path, "gamma_top", ["beta_mid", "alpha_dep"])
    available = discover(tmp_path)
    assert resolve_order(["gamma_top"], available) == ["alpha_dep", "beta_mid", "gamma_top"]


def test_cycle_and_missing_dependency(tmp_path: Path) -> None:
    make(tmp_path, "cyc_a", ["cyc_b"])
    make(tmp_path, "cyc_b", ["cyc_a"])
    make(tmp_path, "needs_ghost", ["ghost"])
    available = discover(tmp_path)
    with pytest.raises(DependencyError, match="cycle: cyc_a -> cyc_b -> cyc_a"):
        resolve_order(["cyc_a"], available)
    with pytest.raises(DependencyError, match="'needs_ghost' depends on 'ghost'"):
        resolve_order(["needs_ghost"], available)
    (tmp_path / "configuration.yaml").write_text("needs_ghost: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="depends on 'ghost', which does not exist"):
        load_config(tmp_path)


async def test_setup_in_order_and_failed_dependency_skips_dependents(tmp_path: Path) -> None:
    from scada_core.bootstrap import async_setup_core

    make(tmp_path, "base_ok", [])
    make(tmp_path, "broken", [], result="False")
    make(tmp_path, "on_broken", ["broken"])
    make(tmp_path, "on_ok", ["base_ok"])
    (tmp_path / "configuration.yaml").write_text(
        f"http:\n  port: 0\nrecorder:\n  db_url: sqlite:///{tmp_path / 'x.db'}\n"
        "on_ok: {}\non_broken: {}\n",
        encoding="utf-8",
    )
    core = await async_setup_core(load_config(tmp_path))
    try:
        assert core.data["setup_order"] == ["base_ok", "on_ok", "broken"]
        assert core.config.components == {"base_ok", "on_ok"}
    finally:
        await core.async_stop()


async def test_health_names_every_part_that_did_not_set_up(tmp_path: Path) -> None:
    """A failed setup and its dependents make /api/health answer 503 'degraded' and name each, with why."""
    import aiohttp

    from scada_core.bootstrap import async_setup_core

    make(tmp_path, "fine", [])
    make(tmp_path, "crashing", [], result="1 / 0")
    make(tmp_path, "on_crashing", ["crashing"])
    (tmp_path / "configuration.yaml").write_text(
        f"http:\n  port: 0\nrecorder:\n  db_url: sqlite:///{tmp_path / 'x.db'}\n"
        "fine: {}\non_crashing: {}\n",
        encoding="utf-8",
    )
    core = await async_setup_core(load_config(tmp_path))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{core.http.port}/api/health") as response:
                assert response.status == 503
                body = await response.json()
        assert body["status"] == "degraded" and body["state"] == "running"
        assert body["components"] == ["fine"]
        assert body["failed"] == {
            "crashing": "setup failed: division by zero",
            "on_crashing": "not set up: crashing failed",
        }
    finally:
        await core.async_stop()
