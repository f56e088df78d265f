"""Done-when of issue 12: open an account on every meter of the demo tower; after one reconcile round every
simulated meter holds the building's tariff (prices and this month's TOU table) and alarm levels."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from scada_core.bootstrap import async_from_config_dir
from scada_core.billing.tariffs import periods_of
from tests.demo import copy_demo
from tests.helpers import wait_for


pytestmark = pytest.mark.timeout(120)

ADMIN = {"id": "robot", "role": "admin"}
DEMO_TENANT_METER = "acrel_dtsy1352.b1_f3_0301"


async def test_every_demo_meter_holds_the_building_tariff_after_one_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """143 accounts opened at once beside the demo tenant's; one reconcile round; every simulator meter holds
    1.35/1.10/0.75/0.38."""
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the demo keeps its own SQLite file, as it does when run
    core = await async_from_config_dir(copy_demo(tmp_path / "demo", wire_timing=False))
    try:
        meters = sorted(s.entity_id for s in core.states.async_all() if s.domain == "acrel_dtsy1352")
        assert len(meters) == 144
        await wait_for(
            lambda: all(core.states.get(m).attributes.get("online") is True for m in meters), 60, "all online"
        )
        billing = core.data["billing"]
        # The demo provisions its tenant (meter 0301) once the core has started; the rest are ours to open.
        provisioned: list[str] = []

        async def demo_tenant_opened() -> bool:
            provisioned[:] = [m["entity_id"] for a in await billing.accounts() for m in a["meters"]]
            return bool(provisioned)

        for _ in range(300):
            if await demo_tenant_opened():
                break
            await asyncio.sleep(0.05)
        assert provisioned == [DEMO_TENANT_METER], provisioned
        servers = core.data["dtsy1352_simulator"].servers
        sims: list[SimMeter] = [m for server in servers for m in server.meters.values()]
        ours = [m for m in meters if m != DEMO_TENANT_METER]
        assert len(sims) == 144
        factory = [m for m in sims if set(m.prices.values()) == {10000}]
        assert len(factory) >= 143, "factory prices on every meter billing has not opened"

        opened = await asyncio.gather(*(billing.open_account(f"租户 {m}", [m], ADMIN) for m in ours))
        assert len({a["id"] for a in opened}) == 143
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
