"""scripts/setup.sh installs the Python packages on the first start and again only when pyproject.toml changes."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Stands in for the venv's Python: `-m pip` is recorded (no network, no minute of installing), the rest runs.
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = -m ] && [ "$2" = pip ]; then echo "$*" >>"$(dirname "$0")/../pip-calls"; exit 0; fi
exec {python} "$@"
"""


def checkout(tmp_path: Path) -> Path:
    """Copy setup.sh and pyproject.toml into a checkout whose venv exists but was never installed into."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    return tmp_path


def setup(folder: Path, *options: str) -> tuple[str, list[str]]:
    """Run setup.sh in ``folder``; return its output and the pip commands it ran."""
    calls = folder / ".venv" / "pip-calls"
    calls.unlink(missing_ok=True)
    result = subprocess.run(["bash", str(folder / "scripts" / "setup.sh"), *options], capture_output=True, text=True,
                            timeout=60, check=True, stdin=subprocess.DEVNULL)
    return result.stdout, calls.read_text().splitlines() if calls.exists() else []


def test_second_start_skips_the_install_until_pyproject_changes(tmp_path: Path) -> None:
    """First start installs (and says so in one line), the second skips pip, an edited pyproject.toml installs."""
    folder = checkout(tmp_path)
    out, pip = setup(folder)
    assert out.splitlines()[0] == "Installing Python packages (first start, about a minute)…"
    assert any(call.endswith('install --disable-pip-version-check --progress-bar off -e .[test]') for call in pip)
    assert "WARNING" not in out

    out, pip = setup(folder)
    assert pip == []
    assert "Python packages up to date" in out

    with (folder / "pyproject.toml").open("a") as file:
        file.write("\n# a new dependency\n")
    out, pip = setup(folder)
    assert "Installing Python packages (pyproject.toml, Python or --server changed" in out
    assert pip


def test_a_server_install_leaves_the_test_tools_out_and_is_stamped_apart(tmp_path: Path) -> None:
    """--server installs the project without its test extra; a later plain run (tests) installs the extra, and a
    --server run after that installs again rather than trusting the other install's stamp."""
    folder = checkout(tmp_path)
    out, pip = setup(folder, "--server")
    assert any(call.endswith("--progress-bar off -e .") for call in pip) and not any("[test]" in c for c in pip)
    assert setup(folder, "--server")[1] == [], "a second server start skips the install"
    assert any(call.endswith("-e .[test]") for call in setup(folder)[1])
    assert setup(folder, "--server")[1], "the stamp says which install it was"
    bad = subprocess.run(["bash", str(folder / "scripts" / "setup.sh"), "--bogus"], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "usage" in bad.stderr
