"""A sender killed (SIGKILL) in the middle of its queue and restarted: every message arrives, no accepted part twice."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from integrations.notify.const import STATUS_SENT
from integrations.notify.outbox import Outbox
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.storage.database import Database, resolve_url
from tests.helpers import close_database

from .conftest import notify_config, sms_sections

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
LONG_TEXT = "".join(chr(0x4E00 + i) for i in range(150))  # three linked parts


def _start(config_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scada_core", "run", "-c", str(config_dir)], cwd=ROOT, stdout=out, stderr=out
        )


def _key(record: dict) -> tuple[str, int]:
    """Name one PDU: its recipient and part number (each test message has its own recipient)."""
    return record["number"], record["concat"]["seq"] if record["concat"] else 1


async def test_killed_sender_resumes_without_losing_or_repeating(
    tmp_path: Path, db_settings: dict[str, str], simulator: ModemSimulator
) -> None:
    simulator.cmgs_delay = 0.1
    config_dir = notify_config(tmp_path / "config", db_settings, sms_sections(simulator))
    db = Database(resolve_url(config_dir, db_settings["db_url"]), db_settings.get("db_schema"))
    await db.async_upgrade()
    outbox = Outbox(db, time.time)
    expected: dict[str, str] = {}
    for index in range(8):
        number = f"1380000000{index}"
        expected[number] = LONG_TEXT if index == 3 else f"第{index}条消息：余额不足"
        await outbox.async_enqueue("sms", [number], expected[number])
    log = tmp_path / "sender.log"
    try:
        sender = _start(config_dir, log)
        try:
            await simulator.wait_for(4, timeout=30)
        finally:
            sender.send_signal(signal.SIGKILL)
            await asyncio.to_thread(sender.wait, 10)
        committed = {
            (row.target, part)
            for row in await outbox.async_list("sms")
            for part in range(1, row.parts_sent + 1)
        }
        assert committed, "nothing was recorded as sent before the kill"
        # The kill lands inside the three-part message: it must resume at the next part with the same reference.
        assert len(simulator.received()) < 10, "the kill came too late to test anything"

        sender = _start(config_dir, log)
        try:
            async with asyncio.timeout(30):
                while not all(row.status == STATUS_SENT for row in await outbox.async_list("sms")):
                    await asyncio.sleep(0.1)
        finally:
            sender.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(sender.wait, 20) == 0
    finally:
        await close_database(db)

    received = simulator.received()
    counts = Counter(_key(r) for r in received)
    # Every part whose +CMGS the sender had recorded before it died went out exactly once.
    assert all(counts[key] == 1 for key in committed)
    # Only parts in flight at the moment of the kill may have gone twice.
    assert sum(n - 1 for n in counts.values()) <= 2
    # Every message arrived whole.
    for number, body in expected.items():
        parts = sorted((r for r in received if r["number"] == number), key=lambda r: _key(r)[1])
        texts = {_key(r)[1]: r["text"] for r in parts}
        assert "".join(texts[i] for i in sorted(texts)) == body, log.read_text(errors="replace")[-2000:]
