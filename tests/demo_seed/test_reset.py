"""`openprepay demo reset` drops only a stopped demo's own database and simulator state (the seed it then runs
again is tested in test_seed.py); it refuses a configuration that is no demo, a database that is not the demo's
own file, and a demo that is running."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from scada_core.__main__ import main
from scada_core.cli.demo import demo_files
from scada_core.config import load_config
from tests.demo import copy_demo
from tests.helpers import write_config

RUN_FILES = ("openprepay.db", "openprepay.db-wal", "openprepay.db-shm", "dtsy1352_sim.json")


@pytest.fixture(autouse=True)
def own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo keeps its own SQLite file, as it does when run (never the suite's shared PostgreSQL)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


def demo_with_state(folder: Path) -> Path:
    """Return a demo copy holding a database and simulator state as a run leaves them."""
    copy_demo(folder, wire_timing=False)
    for name in RUN_FILES:
        (folder / name).write_text("left by a run", encoding="utf-8")
    return folder


def test_reset_drops_the_database_and_the_simulator_state(tmp_path: Path) -> None:
    """Exactly the run's files: the configuration, branding and templates stay."""
    folder = demo_with_state(tmp_path / "demo")
    files = demo_files(load_config(folder, probe_ports=False))
    assert {f.name for f in files if f.exists()} == set(RUN_FILES)
    assert all(f.parent == folder for f in files)


def test_reset_refuses_what_is_not_a_stopped_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No demo seed, a database elsewhere, or the demo's port taken: exit 1 and every file stays."""
    site = write_config(tmp_path / "site", {"core": {"time_zone": "Asia/Shanghai"}})
    (site / "openprepay.db").write_text("a real site's books", encoding="utf-8")
    assert main(["demo", "reset", "-c", str(site)]) == 1
    assert "not a demo" in capsys.readouterr().err
    assert (site / "openprepay.db").exists()

    elsewhere = demo_with_state(tmp_path / "elsewhere")
    text = (elsewhere / "configuration.yaml").read_text(encoding="utf-8")
    assert "recorder:\n" in text
    (elsewhere / "configuration.yaml").write_text(
        text.replace("recorder:\n", f"recorder:\n  db_url: sqlite:///{tmp_path / 'books.db'}\n"), encoding="utf-8"
    )
    assert main(["demo", "reset", "-c", str(elsewhere)]) == 1
    assert "demo reset only drops a demo's own" in capsys.readouterr().err
    assert all((elsewhere / name).exists() for name in RUN_FILES)

    running = demo_with_state(tmp_path / "running")
    port = load_config(running, probe_ports=False).http["port"]
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        assert main(["demo", "reset", "-c", str(running)]) == 1
    assert str(port) in capsys.readouterr().err
    assert all((running / name).exists() for name in RUN_FILES)
