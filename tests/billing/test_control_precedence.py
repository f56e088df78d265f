"""Control precedence on the simulator: staff forced trip / hold > prepaid control > tenant, from every path.

What the meter holds is read from the simulator (its forced state and relay), never from billing's belief.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.const import ACTOR_STAFF, ACTOR_TENANT
from scada_core.core import Context, Core
from scada_core.exceptions import OpenPrepayError
from tests.automation.conftest import local, stop_ticker
from tests.helpers import until, wait_for

from .conftest import CASHIER, FLAT, Site

pytestmark = pytest.mark.timeout(60)

M1, M2 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2"
P1 = "modbus_meter.p1"
ADMIN_USER = "admin1"


async def staff(site: Site, service: str, entity_id: str) -> Any:
    """Call a relay service as building staff (what the dashboard and an admin's API token do)."""
    domain = entity_id.split(".", 1)[0]
    context = Context(user_id=ADMIN_USER, actor=ACTOR_STAFF)
    return await site.core.services.async_call(domain, service, {"entity_id": entity_id}, context)


def relay_closed(sim: SimMeter) -> bool:
    """Return what the simulated meter's relay does now."""
    return sim.relay_closed(time.time())


def refused(caplog: pytest.LogCaptureFixture, service: str, entity_id: str) -> bool:
    """Tell whether the guard logged a refusal of ``service`` on ``entity_id``."""
    return f".{service} of {entity_id} by system refused" in caplog.text


def tick(core: Core, moment: Any) -> None:
    """Move the core's clock and tell friendly credit the time."""
    core.clock.set_now(moment)
    core.bus.async_fire(EVENT_TIME_CHANGED, {"now": core.clock.now()})


async def test_staff_forced_trip_outranks_api_and_automation(
    start_site: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """After a staff 拉闸 no REST caller without staff rights and no automation rule can switch the meter back on;
    staff can, and the holder's record follows."""
    caplog.set_level(logging.WARNING)
    rule = {"id": "close_m1", "trigger": {"platform": "event", "event_type": "close_m1"},
            "action": {"service": "acrel_dtsy1352.close", "target": {"entity_id": M1}}}
    site = await start_site(units=1, remaining_fen=5000, extra={"automation": [rule]})
    assert site.sim is not None
    sim = site.sim.meter(1)
    await site.api("POST", "/api/billing/accounts", {"name": "花店", "meters": [M1], "operator": CASHIER})
    await staff(site, "trip", M1)
    assert sim.forced == "trip" and not relay_closed(sim)
    for service in ("close", "release", "restore_prepaid", "hold", "force_close", "trip"):
        answer = await site.api("POST", f"/api/services/acrel_dtsy1352/{service}", {"entity_id": M1}, status=409)
        assert "only staff can change it" in answer["error"] and "物业" in answer["error"]
    trace = await site.core.services.async_call("automation", "trigger", {"id": "close_m1"})
    assert trace is not None and trace["result"] == "error" and "only staff" in trace["error"]
    assert refused(caplog, "close", M1)
    assert sim.forced == "trip" and not relay_closed(sim)
    status = await site.billing.meter_status(M1)
    assert status["control"]["holder"] == "staff" and status["control"]["by"] == ADMIN_USER

    await staff(site, "close", M1)
    assert sim.forced is None and relay_closed(sim)
    assert (await site.billing.meter_status(M1))["control"]["holder"] == "none"
    await site.api("POST", "/api/services/acrel_dtsy1352/trip", {"entity_id": M1})  # prepaid control may trip now
    assert sim.forced == "trip"
    await site.api("POST", "/api/services/acrel_dtsy1352/close", {"entity_id": M1})
    assert sim.forced is None and relay_closed(sim)


async def test_meter_forced_without_our_record_counts_as_staff(start_site: Any) -> None:
    """A meter found forced off (someone tripped it before billing knew) is held by staff until staff release it."""
    site = await start_site(units=1, remaining_fen=5000)
    assert site.sim is not None
    sim = site.sim.meter(1)
    sim.forced = "trip"
    await wait_for(lambda: site.core.states.get(M1).attributes.get("prepaid_mode") == "forced_off", what="read")
    await site.api("POST", "/api/services/acrel_dtsy1352/close", {"entity_id": M1}, status=409)
    assert sim.forced == "trip" and not relay_closed(sim)


async def test_friendly_credit_neither_holds_nor_restores_what_staff_hold(
    start_site: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """At night friendly credit holds meters in arrears, but not one staff forced off; in the morning it returns its
    holds to prepaid control, but not one staff took over with their own hold: that supply stays on."""
    caplog.set_level(logging.WARNING)
    site = await start_site(units=2, remaining_fen=0, extra={"friendly_credit": {}})
    assert site.sim is not None
    core = site.core
    stop_ticker(core)
    sim1, sim2 = site.sim.meter(1), site.sim.meter(2)
    tick(core, local(2026, 3, 4, 12, 0))  # Wednesday noon: no window
    await staff(site, "trip", M1)

    tick(core, local(2026, 3, 4, 18, 0))  # the window opens: 保电 for meters in arrears
    await wait_for(lambda: sim2.forced == "hold", what="m2 held by friendly credit")
    await wait_for(lambda: refused(caplog, "hold", M1), what="hold of m1 refused")
    assert sim1.forced == "trip" and not relay_closed(sim1)

    await staff(site, "hold", M2)  # staff take the hold over (保电 by staff)
    tick(core, local(2026, 3, 5, 8, 0))  # the window closes: friendly credit restores prepaid control
    await wait_for(lambda: refused(caplog, "restore_prepaid", M2), what="restore of m2 refused")
    assert sim2.remaining_fen <= 0 and sim2.forced == "hold" and relay_closed(sim2)
    assert sim1.forced == "trip" and not relay_closed(sim1)


async def test_staff_hold_outlasts_an_arrears_trip(start_site: Any) -> None:
    """A meter in arrears under a staff hold keeps its supply through an arrears trip from prepaid control."""
    site = await start_site(units=1, remaining_fen=0)
    assert site.sim is not None
    sim = site.sim.meter(1)
    assert not relay_closed(sim)  # no money: the meter itself is off
    await staff(site, "hold", M1)
    assert sim.forced == "hold" and relay_closed(sim)
    answer = await site.api("POST", "/api/services/acrel_dtsy1352/trip", {"entity_id": M1}, status=409)
    assert "only staff" in answer["error"]
    assert sim.forced == "hold" and relay_closed(sim)
    with pytest.raises(OpenPrepayError, match="in arrears"):  # released, but no money to close on
        await staff(site, "close", M1)
    assert sim.forced is None and not relay_closed(sim)
    assert (await site.billing.meter_status(M1))["control"]["holder"] == "none"  # the release stands
    await site.api("POST", "/api/services/acrel_dtsy1352/trip", {"entity_id": M1})
    assert sim.forced == "trip"


async def test_billing_does_not_close_what_staff_forced_off(start_site: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Server side: billing trips at arrears; staff then force the meter off; a payment's automatic close is refused
    (and a tenant's), staff close works. Without staff, billing closes its own trip once paid."""
    caplog.set_level(logging.WARNING)
    billing = {"buildings": {"b1": {"meters": ["*"], "tariff": FLAT}}, "reconcile_interval": 3600,
               "operator_from_body": True}
    site = await start_site(units=1, remaining_fen=10_000_000, billing=billing, plain=True)
    assert site.sim is not None
    sim = site.sim.meter(1)
    account = await site.api("POST", "/api/billing/accounts", {"name": "仓库", "meters": [P1], "operator": CASHIER})
    path = f"/api/billing/accounts/{account['id']}"

    async def pay(amount_fen: int, key: str) -> None:
        await site.api("POST", f"{path}/payments",
                       {"amount_fen": amount_fen, "method": "cash", "idempotency_key": key, "operator": CASHIER})

    async def arrears(wh: int) -> None:
        sim.energy_wh["flat"] += wh
        await until(lambda: site.api("GET", f"/api/billing/meters/{P1}"), lambda status: status["tripped"])
        assert sim.forced == "trip" and not relay_closed(sim)

    await pay(300, "p-1")
    await arrears(5000)  # 5 kWh at 1.00: 2.00 in arrears, tripped by prepaid control
    await pay(1000, "p-2")  # paid: billing closes its own trip
    await until(lambda: site.api("GET", f"/api/billing/meters/{P1}"), lambda status: not status["tripped"])
    assert sim.forced is None and relay_closed(sim)

    await arrears(10_000)  # 10 kWh more: 2.00 in arrears again
    records = [(await site.billing.meter_status(P1))["control"]["holder"]]
    await staff(site, "trip", P1)  # staff 拉闸 over the arrears trip
    await pay(1000, "p-3")
    await wait_for(lambda: refused(caplog, "close", P1), what="billing's close refused")
    assert sim.forced == "trip" and not relay_closed(sim)
    tenant = Context(user_id="tenant", actor=ACTOR_TENANT)
    with pytest.raises(OpenPrepayError, match="only staff"):
        await site.core.services.async_call("modbus_meter", "close", {"entity_id": P1}, tenant)
    assert sim.forced == "trip" and not relay_closed(sim)
    records.append((await site.billing.meter_status(P1))["control"]["holder"])
    await staff(site, "close", P1)
    assert sim.forced is None and relay_closed(sim)
    assert records == ["prepaid", "staff"]
