"""Scheduled backups (recorder: backup): one at start, then one every `every` of the core's clock, the newest
`keep` kept; /api/health reports the last one's age and is degraded once it is older than twice `every`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from scada_core.bootstrap import async_from_config_dir
from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from scada_core.storage.backup import read_info
from tests.helpers import drop_schema, wait_for, write_config

HOUR = 3600


async def health(port: int) -> tuple[int, dict]:
    """Return /api/health's status and body."""
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/api/health") as resp:
        return resp.status, await resp.json()


def test_backup_settings_are_checked_at_load(tmp_path: Path) -> None:
    """A wrong interval or count is a configuration error naming the key."""
    folder = write_config(tmp_path, recorder={"backup": {"every": "1x", "keep": 0}})
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    text = "\n".join(caught.value.errors)
    assert "recorder -> backup -> every" in text and "recorder -> backup -> keep" in text, text
    write_config(tmp_path, recorder={"backup": {"every": 30}})
    with pytest.raises(ConfigError, match="at least 60 seconds"):
        load_config(tmp_path)


async def test_scheduled_backups_are_pruned_and_reported(tmp_path: Path, db_settings: dict[str, str]) -> None:
    """Due by the core's clock, pruned to `keep`, their age in health (degraded when stale), known after a
    restart."""
    recorder = {**db_settings, "backup": {"every": "1h", "keep": 2, "path": "bk"}}
    folder = write_config(tmp_path / "cfg", {"core": {"time_zone": "Asia/Shanghai"}}, recorder)
    core = await async_from_config_dir(folder)
    try:
        schedule = core.recorder.backups
        await wait_for(lambda: schedule.last_ts is not None, what="the backup made at start")
        start = datetime.fromtimestamp(schedule.last_ts, timezone.utc)
        core.clock.freeze(start + timedelta(minutes=30))
        status, body = await health(core.http.port)
        assert status == 200 and body["backup_age_seconds"] == 30 * 60, body
        assert schedule.due_in() == pytest.approx(30 * 60, abs=0.01)
        for hours in (1, 2):
            core.clock.freeze(start + timedelta(hours=hours, seconds=1))  # past the microseconds start lost
            assert schedule.due_in() <= 0
            assert await schedule.async_backup_now() is not None
        kept = schedule.backups()
        assert len(kept) == 2 and len(list((folder / "bk").iterdir())) == 4  # each with what it holds
        assert read_info(kept[-1]).created_ts == pytest.approx((start + timedelta(hours=2, seconds=1)).timestamp())
        core.clock.freeze(start + timedelta(hours=4, seconds=2))
        status, body = await health(core.http.port)
        assert status == 503 and body["backup_age_seconds"] == 2 * HOUR + 1, body
        assert "more than 2 x every (3600 s)" in body["failed"]["backup"], body
    finally:
        await core.async_stop()
    core = await async_from_config_dir(folder)
    try:
        assert core.recorder.backups.last_ts == pytest.approx((start + timedelta(hours=2, seconds=1)).timestamp())
    finally:
        await core.async_stop()
        await drop_schema(tmp_path, db_settings)
