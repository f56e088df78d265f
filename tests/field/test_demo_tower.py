"""The shipped demo tower: 144 simulated DTSY1352 meters on 4 serial servers, all online after one sweep."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import yaml

from scada_core.bootstrap import async_from_config_dir
from tests.demo import copy_demo
from tests.helpers import wait_for

from .conftest import attr

pytestmark = pytest.mark.timeout(90)

BUSES = [f"modbus.bus_ss{n}" for n in range(1, 5)]


def day_time(friendly_credit: Path) -> None:
    """Keep friendly credit's no-trip window away from now: at night, at weekends and on holidays it puts every
    meter on hold (保电) at start-up, and those commands would share the first sweep, whatever hour the suite runs."""
    settings = yaml.safe_load(friendly_credit.read_text(encoding="utf-8"))
    later = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=12)
    end = later + timedelta(minutes=1)
    settings["no_trip_hours"] = {"start": later.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    settings["weekends"] = settings["holidays"] = False
    friendly_credit.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")


async def test_demo_tower_is_all_online_after_the_first_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each serial server sweeps its 36 meters once at 9600 baud; then the API lists all 144 online."""
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the demo keeps its own SQLite file, as it does when run
    config = copy_demo(tmp_path / "demo")
    day_time(config / "friendly_credit.yaml")

    core = await async_from_config_dir(config)
    try:
        # 36 status reads of the 48-register block at 9600 8N1 with the 20 ms turnaround take about 5.3 s.
        await wait_for(lambda: all((attr(core, bus, "sweeps") or 0) >= 1 for bus in BUSES), 30, "first sweeps")
        assert [attr(core, bus, "meters_online") for bus in BUSES] == [36, 36, 36, 36]
        assert all(4.0 < attr(core, bus, "sweep_duration") < 15.0 for bus in BUSES), "9600 baud sets the pace"

        site = core.data["web"]
        operator = await site.auth.create_operator("robot", "robot", "viewer", "tower-view-2026", must_change=False)
        _token_id, token = await site.auth.create_token(operator["id"], "demo test")
        async with aiohttp.ClientSession() as http:
            async with http.get(
                f"http://127.0.0.1:{core.http.port}/api/states",
                params={"domain": "acrel_dtsy1352"},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                assert resp.status == 200
                meters = await resp.json()
        assert len(meters) == 144
        assert all(m["attributes"]["online"] is True and m["state"] != "unavailable" for m in meters)
        assert {m["attributes"]["gateway"] for m in meters} == {"ss1", "ss2", "ss3", "ss4"}
        assert all(m["attributes"]["remaining_fen"] is not None for m in meters), "money read from every meter"
    finally:
        await core.async_stop()
