"""What a meter-side meter should hold (tariff, TOU table, thresholds, limits) is a desired state billing reconciles.

Every assertion reads the simulator's meter back, not billing's belief.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.modbus.models import FieldCommandRow
from tests.helpers import until, wait_for

from .conftest import ADMIN, CASHIER, TZ, billing_section, field_sections
from .test_scenarios import M1, M2

pytestmark = pytest.mark.timeout(90)

PRICES = {"sharp": "1.3500", "peak": "1.1000", "flat": "0.7500", "valley": "0.3800"}
RAW = {"sharp": 13500, "peak": 11000, "flat": 7500, "valley": 3800}
PERIODS = [
    {"start": "00:00", "rate": "valley"},
    {"start": "08:00", "rate": "flat"},
    {"start": "11:00", "rate": "sharp"},
    {"start": "13:00", "rate": "peak"},
    {"start": "22:00", "rate": "valley"},
]
SUMMER = [
    {"start": "00:00", "rate": "valley"},
    {"start": "09:00", "rate": "peak"},
    {"start": "12:00", "rate": "sharp"},
    {"start": "15:00", "rate": "flat"},
    {"start": "23:00", "rate": "valley"},
]
TOU = {"kind": "tou", "prices": PRICES, "periods": PERIODS, "seasons": [{"months": [7, 8], "periods": SUMMER}]}


def table(periods: list[dict[str, str]]) -> list[tuple[int, int, str]]:
    """Return periods the way the simulator keeps its TOU day table."""
    return [(int(p["start"][:2]), int(p["start"][3:]), p["rate"]) for p in periods]


def holds(meter: SimMeter, prices: dict[str, int], periods: list[dict[str, str]] | None = None) -> bool:
    """Tell whether the simulated meter holds ``prices`` (and the TOU table of ``periods``)."""
    return meter.prices == prices and (periods is None or meter.tou_table == table(periods))


def month_periods(now: datetime) -> list[dict[str, str]]:
    """Return the TOU periods of TOU in force in ``now``'s month."""
    return SUMMER if now.month in (7, 8) else PERIODS


async def open_one(site: Any, meter: str, **extra: Any) -> dict[str, Any]:
    return await site.api(
        "POST", "/api/billing/accounts", {"name": f"T {meter}", "meters": [meter], "operator": CASHIER, **extra}
    )


async def reconcile(site: Any) -> None:
    """Run one reconcile round through the API."""
    await site.api("POST", "/api/billing/reconcile", {"operator": ADMIN})


async def test_open_account_pushes_the_building_tariff(start_site) -> None:
    """A freshly opened meter holds the building's TOU prices and this month's TOU table at once."""
    site = await start_site(units=1, billing=billing_section(tariff=TOU))
    sim = site.sim.meter(1)
    assert set(sim.prices.values()) == {10000}, "the simulator starts at the factory 1.0000 yuan"
    await open_one(site, M1)
    assert holds(sim, RAW, month_periods(site.core.clock.now()))


async def test_replace_meter_pushes_the_tariff_to_the_new_meter(start_site) -> None:
    """换表: the new meter gets the tariff in force (and the alarm levels) as it is attached."""
    site = await start_site(units=2, billing=billing_section(tariff={"kind": "flat", "price": "0.85"}))
    await open_one(site, M1)
    assert set(site.sim.meter(1).prices.values()) == {8500}
    assert set(site.sim.meter(2).prices.values()) == {10000}
    await site.api(
        "POST", f"/api/billing/meters/{M1}/replace", {"new_entity_id": M2, "idempotency_key": "r-1", "operator": CASHIER}
    )
    assert set(site.sim.meter(2).prices.values()) == {8500}
    assert (site.sim.meter(2).alarm1_fen, site.sim.meter(2).alarm2_fen) == (5000, 1000)


async def test_new_version_reaches_every_opened_meter(start_site) -> None:
    """A building version taking effect reaches every opened meter; one offline then gets it next round."""
    site = await start_site(units=2)
    await open_one(site, M1)
    await open_one(site, M2)
    site.sim.set_offline(2)
    await site.api(
        "POST",
        "/api/billing/tariffs",
        {
            "scope": "building:b1",
            "spec": {"kind": "flat", "price": "0.66"},
            "effective_ts": site.billing.now() + 0.5,
            "operator": ADMIN,
        },
    )
    await wait_for(lambda: set(site.sim.meter(1).prices.values()) == {6600}, what="pushed when it took effect")
    assert set(site.sim.meter(2).prices.values()) == {10000}, "offline: nothing reached it"
    site.sim.clear_faults()
    await wait_for(lambda: site.core.states.get(M2).attributes.get("online") is True, what="m2 back online")
    await reconcile(site)
    assert set(site.sim.meter(2).prices.values()) == {6600}
    assert set(site.sim.meter(1).prices.values()) == {6600}


async def test_prices_changed_behind_billing_are_set_right_next_round(start_site) -> None:
    """Someone sets a meter's prices and alarm levels at the meter itself: the next round puts billing's back."""
    site = await start_site(units=1, billing=billing_section(tariff=TOU))
    sim = site.sim.meter(1)
    await open_one(site, M1)
    assert holds(sim, RAW)
    sim.prices = dict.fromkeys(RAW, 99990)
    sim.alarm1_fen, sim.tou_table = 1, [(0, 0, "sharp")]
    await wait_for(
        lambda: site.core.states.get(M1).attributes.get("prices", {}).get("flat") == "9.9990",
        what="the changed prices published",
    )
    await reconcile(site)
    assert holds(sim, RAW, month_periods(site.core.clock.now())) and sim.alarm1_fen == 5000


async def test_tou_season_switches_at_the_month_boundary(start_site) -> None:
    """The meter holds the TOU table of the local month: the summer table from 1 July 00:00, back on 1 September."""
    site = await start_site(units=1, billing=billing_section(tariff=TOU))
    sim = site.sim.meter(1)
    clock = site.core.clock
    clock.freeze(datetime(2026, 6, 30, 23, 59, 30, tzinfo=TZ))
    await open_one(site, M1)
    assert holds(sim, RAW, PERIODS)
    assert site.billing.next_round_delay() == 30.0, "a round is due right at local midnight of 1 July"
    clock.freeze(datetime(2026, 7, 1, 0, 0, tzinfo=TZ))
    await reconcile(site)
    assert holds(sim, RAW, SUMMER)
    clock.freeze(datetime(2026, 9, 1, 0, 0, tzinfo=TZ))
    await reconcile(site)
    assert holds(sim, RAW, PERIODS)


async def test_tiered_tariff_refused_for_meter_side_meters(start_site) -> None:
    """A meter-side meter cannot switch bands itself: a tiered tariff for it is refused with a clear message."""
    site = await start_site(units=1)
    await open_one(site, M1)
    tiered = {"kind": "tiered", "bands": [{"up_to_kwh": 100, "price": "0.5"}, {"price": "0.8"}]}
    for scope in ("building:b1", f"meter:{M1}"):
        refused = await site.api(
            "POST", "/api/billing/tariffs", {"scope": scope, "spec": tiered, "operator": ADMIN}, status=400
        )
        assert "阶梯" in refused["error"] and "tiered" in refused["error"] and M1 in refused["error"]
    assert set(site.sim.meter(1).prices.values()) == {10000}
    assert (await site.billing.tariff_for(M1))["kind"] == "flat"


async def test_meter_thresholds_pushed_and_kept(start_site) -> None:
    """A meter's own alarm levels and overload limit reach it, and a later credit change does not undo them."""
    site = await start_site(units=2, remaining_fen=60000)
    sim = site.sim.meter(1)
    account = await site.api(
        "POST", "/api/billing/accounts", {"name": "A", "meters": [M1, M2], "operator": CASHIER}
    )
    body = {"alarm1_fen": 40000, "alarm2_fen": 38000, "overload_w": 9000}
    refused = await site.api("PUT", f"/api/billing/meters/{M1}/thresholds", {**body, "operator": CASHIER}, status=403)
    assert "没有修改" in refused["error"] and "not allowed" in refused["error"]
    wrong = await site.api(
        "PUT", f"/api/billing/meters/{M1}/thresholds", {"alarm1_fen": 100, "alarm2_fen": 200, "operator": ADMIN},
        status=400,
    )
    assert "报警2" in wrong["error"] and "alarm2" in wrong["error"]
    beyond = await site.api(  # more than the meter's 16-bit power register holds: it would refuse every push
        "PUT", f"/api/billing/meters/{M1}/thresholds", {"overload_w": 70000, "operator": ADMIN}, status=400
    )
    assert "overload_w" in beyond["error"] and M1 in beyond["error"]
    assert (await site.api("GET", f"/api/billing/meters/{M1}/thresholds"))["overload_w"] is None, "nothing stored"
    changed = await site.api("PUT", f"/api/billing/meters/{M1}/thresholds", {**body, "operator": ADMIN})
    assert changed["effective_alarm1_fen"] == 40000 and changed["changes"][0]["operator"]["id"] == "admin1"
    assert (sim.alarm1_fen, sim.alarm2_fen, sim.overload_w) == (40000, 38000, 9000)
    assert (site.sim.meter(2).alarm1_fen, site.sim.meter(2).alarm2_fen) == (5000, 1000)

    await site.api(
        "PUT", f"/api/billing/accounts/{account['id']}/credit", {"overdraft_fen": 300, "operator": ADMIN}
    )
    assert (sim.alarm1_fen, sim.alarm2_fen, sim.overload_w, sim.overdraft_fen) == (40000, 38000, 9000, 300)
    await site.api("PUT", f"/api/billing/meters/{M1}/credit", {"overdraft_fen": 200, "operator": ADMIN})
    await reconcile(site)
    assert (sim.alarm1_fen, sim.alarm2_fen, sim.overload_w, sim.overdraft_fen) == (40000, 38000, 9000, 200)
    sim.remaining_fen = 39000  # under the meter's own 报警1, far above the building's
    await until(lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda m: m["status"] == "alarm1")

    cleared = await site.api("PUT", f"/api/billing/meters/{M1}/thresholds", {"operator": ADMIN})
    assert cleared["alarm1_fen"] is None and cleared["effective_alarm1_fen"] == 5000
    assert (sim.alarm1_fen, sim.alarm2_fen) == (5000, 1000)


async def test_meter_flags_give_alarm_status_and_records(start_site) -> None:
    """A meter raising its alarm and overload flags shows the alarm status and gets alarm records."""
    site = await start_site(units=1, remaining_fen=30000, billing=billing_section(overload_w=20000))
    sim = site.sim.meter(1)
    await open_one(site, M1)
    assert (await site.api("GET", f"/api/billing/meters/{M1}"))["status"] == "opened"
    sim.alarm1_fen, sim.alarm2_fen = 40000, 38000  # set at the meter: it raises 报警1 and 报警2
    status = await until(lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda m: m["status"] == "alarm2")
    assert status["label"] == "报警2"
    sim.overload_w, sim.power_override_w = 1000, 3000.0
    await until(lambda: site.api("GET", f"/api/billing/meters/{M1}"), lambda m: m["overload"] is True)
    alarms = await site.api("GET", f"/api/billing/alarms?meter_entity_id={M1}")
    assert {(a["level"], a["phase"]) for a in alarms} >= {("alarm2", "enter"), ("overload", "enter")}


async def pushes(site: Any) -> int:
    """Return how many tariff and settings pushes the field layer has been asked for (its command log)."""
    async with site.core.db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(FieldCommandRow).where(
                    FieldCommandRow.kind.in_(("push_tariff", "push_settings"))
                )
            )
        )


async def test_a_restart_pushes_nothing_to_meters_that_hold_their_state(start_site) -> None:
    """After a restart the meters' settings are unknown until read: the reconciler compares them once read
    instead of pushing to every meter (at 10,000 meters a restart would otherwise rewrite every tariff)."""
    first = await start_site(units=1, billing=billing_section(tariff=TOU))
    await open_one(first, M1)
    assert holds(first.sim.meter(1), RAW, month_periods(first.core.clock.now()))
    before = await pushes(first)
    await first.core.async_stop()

    again = await start_site(
        billing=billing_section(tariff=TOU), with_sim=False, extra=field_sections(first.sim.port, 1)
    )
    await wait_for(lambda: (again.core.states.get(M1).attributes.get("prices") or {}).get("flat"), what="read")
    await reconcile(again)
    assert await pushes(again) == before > 0, "the meter held everything: nothing to push"
