"""Done-when of issue 12: open an account on every meter of the demo tower; after one reconcile round every
simulated meter holds the building's tariff (prices and this month's TOU table) and alarm levels."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from scada_core.bootstrap import async_from_config_dir
from scada_core.billing.tariffs import periods_of
from tests.field.conftest import free_port

from .conftest import wait_for

pytestmark = pytest.mark.timeout(120)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
RUN_FILES = (".db", ".db-wal", ".db-shm", ".json")  # left behind by a demo run in the checkout
ADMIN = {"id": "robot", "role": "admin"}


def demo_without_wire_timing(folder: Path) -> Path:
    """Copy the demo to ``folder`` on free ports (the demo's own may be in use) and with no 9600-baud wire
    timing on the simulator."""
    shutil.copytree(DEMO, folder, ignore=lambda _dir, names: [n for n in names if n.endswith(RUN_FILES)])
    ports = {f"port: {fixed}": f"port: {free_port()}" for fixed in (5021, 5022, 5023, 5024)}
    ports.update({"port: 8123": "port: 0", "port: 9009": "port: 0", "port: 9010": "port: 0"})
    for file in folder.glob("*.yaml"):
        text = file.read_text(encoding="utf-8")
        for fixed, free in ports.items():
            text = text.replace(fixed, free)
        file.write_text(text, encoding="utf-8")
    sim = folder / "dtsy1352_simulator.yaml"
    settings = yaml.safe_load(sim.read_text(encoding="utf-8"))
    for server in settings["servers"]:
        server.pop("baud", None)
    sim.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return folder


async def test_every_demo_meter_holds_the_building_tariff_after_one_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """144 accounts opened at once; one reconcile round; every simulator meter holds 1.35/1.10/0.75/0.38."""
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the demo keeps its own SQLite file, as it does when run
    core = await async_from_config_dir(demo_without_wire_timing(tmp_path / "demo"))
    try:
        meters = sorted(s.entity_id for s in core.states.async_all() if s.domain == "acrel_dtsy1352")
        assert len(meters) == 144
        await wait_for(
            lambda: all(core.states.get(m).attributes.get("online") is True for m in meters), 60, "all online"
        )
        billing = core.data["billing"]
        servers = core.data["dtsy1352_simulator"].servers
        sims: list[SimMeter] = [m for server in servers for m in server.meters.values()]
        assert len(sims) == 144 and all(set(m.prices.values()) == {10000} for m in sims), "factory prices"

        opened = await asyncio.gather(*(billing.open_account(f"租户 {m}", [m], ADMIN) for m in meters))
        assert len({a["id"] for a in opened}) == 144
        outcome = await billing.reconcile_round()
        assert not {k for k in outcome if k in ("desired_failed", "desired_offline")}, outcome

        tariff = billing.buildings["b1"]["tariff"]
        periods, _ = periods_of(tariff, core.clock.now().month)
        prices = {rate: round(float(price) * 10000) for rate, price in tariff["prices"].items()}
        assert prices == {"sharp": 13500, "peak": 11000, "flat": 7500, "valley": 3800}
        table = [(int(p["start"][:2]), int(p["start"][3:]), p["rate"]) for p in periods]
        wrong = [m.unit for m in sims if m.prices != prices or m.tou_table != table]
        assert not wrong, f"{len(wrong)} meters do not hold the building's tariff"
        assert all((m.alarm1_fen, m.alarm2_fen, m.overload_w) == (5000, 2000, 30000) for m in sims)
    finally:
        await core.async_stop()
