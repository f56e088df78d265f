"""Logging as the command line sets it up: JSON lines with the component, quiet libraries, a rotated file."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from scada_core.__main__ import main
from scada_core.const import QUIET_LOGGERS
from scada_core.logging_setup import setup_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Give the root logger and the quiet libraries' loggers back as they were (pytest's capture included)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def test_cli_json_lines_carry_the_component(tmp_path: Path) -> None:
    """openprepay --log-format json --log-file F: every event is one JSON object on one line (a traceback
    inside it), naming its component; debug lines and weasyprint's progress stay out."""
    log = tmp_path / "openprepay.log"
    (tmp_path / "configuration.yaml").write_text("http:\n  port: 0\n", encoding="utf-8")
    assert main(["--log-format", "json", "--log-file", str(log), "check-config", "-c", str(tmp_path)]) == 0
    logging.getLogger("integrations.modbus.bus").info("Meter %s is back online", "acrel_dtsy1352.m1")
    logging.getLogger("integrations.modbus.bus").debug("not shown without -v")
    logging.getLogger("weasyprint.progress").info("Step 4 - Creating layout")
    logging.getLogger("weasyprint").warning("font missing")
    try:
        raise ValueError("bad frame")
    except ValueError:
        logging.getLogger("web.site").exception("Error showing %s", "/overview")
    lines = log.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["component"], e["level"], e["message"]) for e in events] == [
        ("integrations.modbus.bus", "INFO", "Meter acrel_dtsy1352.m1 is back online"),
        ("weasyprint", "WARNING", "font missing"),
        ("web.site", "ERROR", "Error showing /overview"),
    ]
    assert "ValueError: bad frame" in events[2]["exc_info"] and "Traceback" in events[2]["exc_info"]
    assert datetime.fromisoformat(events[0]["ts"]).utcoffset() is not None


def test_log_file_rotates_by_size(tmp_path: Path) -> None:
    """A log file past its size starts anew; older ones are kept as .1, .2 and no more."""
    log = tmp_path / "op.log"
    setup_logging(False, "text", log, max_bytes=300, backups=2)
    for number in range(40):
        logging.getLogger("scada_core.recorder").warning("line %02d", number)
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert kept == ["op.log", "op.log.1", "op.log.2"]
    assert all(path.stat().st_size <= 300 for path in tmp_path.iterdir())
    assert log.read_text(encoding="utf-8").splitlines()[-1].endswith("WARNING scada_core.recorder: line 39")
