"""The server refuses to listen beyond loopback when nothing authenticates its requests."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scada_core.bootstrap import async_setup_core
from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from scada_core.http_security import is_loopback

ROOT = Path(__file__).resolve().parents[2]
OPEN_CONFIG = "core:\n  name: t\nhttp:\n  host: 0.0.0.0\n  port: 0\nrecorder:\n  db_url: sqlite:///{db}\n"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run([sys.executable, "-m", "scada_core", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=env)


@pytest.mark.parametrize("verb", ["check-config", "run"])
def test_open_listener_without_auth_is_refused(tmp_path: Path, verb: str) -> None:
    """config on 0.0.0.0 without web: check-config and run both exit 1 with one line naming the fix."""
    (tmp_path / "configuration.yaml").write_text(OPEN_CONFIG.format(db=tmp_path / "x.db"), encoding="utf-8")
    result = _cli(verb, "-c", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "configuration.yaml:4: http -> host:" in result.stderr
    assert "add a web: section" in result.stderr and "127.0.0.1" in result.stderr
    assert "Traceback" not in output
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_example_config_needs_and_has_authentication(tmp_path: Path) -> None:
    """config/example listens on the LAN, so it configures the dashboard (operators and tokens)."""
    example = tmp_path / "example"
    shutil.copytree(ROOT / "config/example", example)
    shutil.copy(example / "secrets.yaml.example", example / "secrets.yaml")
    configuration = load_config(example)
    assert not is_loopback(configuration.http["host"]) and "web" in configuration.order


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    """Loopback names and addresses count as this machine only."""
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "example.com", "localhost.evil.example"])
def test_non_loopback_hosts(host: str) -> None:
    """Everything else (every interface, a LAN address, a host name) reaches beyond this machine."""
    assert not is_loopback(host)


async def test_start_refused_when_no_authentication_was_set_up(tmp_path: Path) -> None:
    """The core start itself refuses (a web section whose set-up failed leaves the API open too), and stops cleanly."""
    (tmp_path / "configuration.yaml").write_text(
        OPEN_CONFIG.format(db=tmp_path / "x.db").replace("0.0.0.0", "127.0.0.1"), encoding="utf-8"
    )
    configuration = load_config(tmp_path)
    configuration.http["host"] = "0.0.0.0"
    with pytest.raises(ConfigError, match="authentication"):
        await async_setup_core(configuration)
