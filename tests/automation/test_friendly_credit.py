"""Friendly credit: the policy, deferred trips of server-side meters, hold/restore of meter-side meters."""
from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml

from scada_core.core import Core, ServiceCall
from scada_core.policy.enforcer import FriendlyCreditEnforcer
from scada_core.policy.friendly_credit import FRIENDLY_CREDIT_SCHEMA, FriendlyCreditPolicy
from scada_core.storage.database import Database

from .conftest import local, setup_friendly_credit, tick

pytestmark = pytest.mark.timeout(30)

CALENDAR = """
calendar:
  holidays:
    - {start: 2026-10-01, end: 2026-10-07, name: 国庆节}
    - 2026-06-19..2026-06-21
  workdays: [2026-10-10]
opt_out: [acrel_dtsy1352.strict]
meters:
  acrel_dtsy1352.shop:
    no_trip_hours: {start: "22:00", end: "06:00"}
    weekends: false
"""
SERVER_METER = "acrel_dtsy1352.srv"  # a DTSY1352 billed by the server: it must be tripped by command
METER_SIDE = "acrel_dtsy1352.m1"
A, SHOP, STRICT = "acrel_dtsy1352.a", "acrel_dtsy1352.shop", "acrel_dtsy1352.strict"


def policy() -> FriendlyCreditPolicy:
    return FriendlyCreditPolicy(FRIENDLY_CREDIT_SCHEMA(yaml.safe_load(CALENDAR)), "Asia/Shanghai")


@pytest.mark.parametrize(
    ("entity_id", "moment", "allowed", "reason", "next_allowed"),
    [
        (A, local(2026, 3, 4, 10, 0), True, "outside", local(2026, 3, 4, 10, 0)),
        (A, local(2026, 3, 4, 18, 0), False, "no-trip hours 18:00-08:00", local(2026, 3, 5, 8)),
        (A, local(2026, 3, 5, 7, 59, 59), False, "no-trip hours", local(2026, 3, 5, 8, 0)),
        (A, local(2026, 3, 6, 19, 0), False, "no-trip hours", local(2026, 3, 9, 8, 0)),  # Friday
        (A, local(2026, 3, 7, 12, 0), False, "weekend", local(2026, 3, 9, 8, 0)),
        (A, local(2026, 9, 30, 17, 0), True, "outside", local(2026, 9, 30, 17, 0)),
        (A, local(2026, 10, 1, 12, 0), False, "holiday 国庆节", local(2026, 10, 8, 8, 0)),
        (A, local(2026, 10, 9, 19, 0), False, "no-trip", local(2026, 10, 10, 8, 0)),  # 调休
        (A, local(2026, 6, 20, 9, 0), False, "holiday 2026-06-20", local(2026, 6, 22, 8, 0)),
        (STRICT, local(2026, 10, 1, 23, 0), True, "opted out", local(2026, 10, 1, 23, 0)),
        (SHOP, local(2026, 3, 7, 20, 0), True, "outside", local(2026, 3, 7, 20, 0)),
        (SHOP, local(2026, 3, 7, 23, 0), False, "no-trip hours 22:00-06:00", local(2026, 3, 8, 6)),
    ],
)
def test_policy_windows(entity_id: str, moment: Any, allowed: bool, reason: str, next_allowed: Any) -> None:
    rules = policy()
    result, why = rules.may_cut(entity_id, moment)
    assert result is allowed and reason in why
    assert rules.next_allowed(entity_id, moment) == next_allowed
    # A UTC moment is the same moment.
    assert rules.may_cut(entity_id, moment.astimezone(timezone.utc))[0] is allowed


def test_policy_config_errors() -> None:
    with pytest.raises(vol.Invalid, match="must differ"):
        FRIENDLY_CREDIT_SCHEMA({"no_trip_hours": {"start": "08:00", "end": "08:00"}})
    with pytest.raises(vol.Invalid, match="ends before it starts"):
        FRIENDLY_CREDIT_SCHEMA({"calendar": {"holidays": ["2026-10-07..2026-10-01"]}})
    assert FRIENDLY_CREDIT_SCHEMA({"no_trip_hours": False})["no_trip_hours"] is None


def meter_services(core: Core, fail_hold: int = 0) -> list[tuple[str, str]]:
    """Test-only stand-ins for the DTSY1352 relay services (the real ones belong to the field layer)."""
    calls: list[tuple[str, str]] = []
    failures = {"left": fail_hold}

    def make(service: str) -> Any:
        def handle(call: ServiceCall) -> dict[str, Any]:
            if service == "hold" and failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("meter did not answer")
            calls.append((service, call.data["entity_id"]))
            return {"results": {call.data["entity_id"]: {"relay": "open" if service == "trip" else "closed"}}}

        return handle

    for service in ("trip", "hold", "restore_prepaid"):
        core.services.async_register("acrel_dtsy1352", service, make(service))
    return calls


async def trip(core: Core, entity_id: str) -> dict[str, Any]:
    response = await core.services.async_call("friendly_credit", "trip_for_arrears", {"entity_id": entity_id})
    assert response is not None
    return response


async def test_server_side_trip_waits_for_the_window_to_end(core: Core) -> None:
    meter_calls = meter_services(core)
    core.states.async_set(SERVER_METER, "-1.00", {"billing": "server", "remaining_fen": -100})
    await tick(core, local(2026, 3, 6, 19, 30))  # Friday evening
    await setup_friendly_credit(core, CALENDAR)
    answer = await trip(core, SERVER_METER)
    assert answer["action"] == "deferred" and answer["until"] == "2026-03-09T08:00:00+08:00"
    for moment in (local(2026, 3, 7, 8, 0), local(2026, 3, 8, 12, 0), local(2026, 3, 9, 7, 59, 59)):
        await tick(core, moment)
    assert meter_calls == []
    await tick(core, local(2026, 3, 9, 8, 0, 0))
    await tick(core, local(2026, 3, 9, 8, 0, 1))
    assert meter_calls == [("trip", SERVER_METER)]
    # In working hours the trip is immediate.
    answer = await trip(core, SERVER_METER)
    assert answer["action"] == "tripped" and answer["result"] == {"relay": "open"}


async def test_payment_drops_a_deferred_trip(core: Core) -> None:
    meter_calls = meter_services(core)
    core.states.async_set(SERVER_METER, "-1.00", {"billing": "server"})
    await tick(core, local(2026, 10, 1, 10, 0))
    enforcer = await setup_friendly_credit(core, CALENDAR)
    assert (await trip(core, SERVER_METER))["until"] == "2026-10-08T08:00:00+08:00"
    other_level = {"meter_entity_id": SERVER_METER, "level": "alarm1", "phase": "leave"}
    core.bus.async_fire("billing_alarm", other_level)
    await core.async_block_till_done()
    assert SERVER_METER in enforcer.deferred
    core.bus.async_fire("billing_sale", {"meter_entity_id": SERVER_METER, "amount_fen": 10000})
    await core.async_block_till_done()
    await tick(core, local(2026, 10, 8, 9, 0))
    assert meter_calls == [] and enforcer.deferred == {}


async def test_meter_side_meters_are_held_in_windows_and_restored_after(core: Core) -> None:
    meter_calls = meter_services(core)
    for entity_id in (METER_SIDE, "acrel_dtsy1352.strict"):
        core.states.async_set(entity_id, "3.00", {"billing": "meter", "prepaid_mode": "normal"})
    core.states.async_set("acrel_dtsy1352.gone", "unavailable")
    core.states.async_set(SERVER_METER, "3.00", {"billing": "server"})
    await tick(core, local(2026, 3, 4, 17, 59, 58))
    await setup_friendly_credit(core, CALENDAR)
    await tick(core, local(2026, 3, 4, 17, 59, 59))
    assert meter_calls == []
    await tick(core, local(2026, 3, 4, 18, 0, 0))
    await tick(core, local(2026, 3, 4, 23, 0, 0))
    assert meter_calls == [("hold", METER_SIDE)]  # not the opted-out, offline or server-side ones
    # Arrears at night on a held meter: nothing to do but keep the hold.
    answer = await trip(core, METER_SIDE)
    assert answer["action"] == "held" and answer["until"] == "2026-03-05T08:00:00+08:00"
    await tick(core, local(2026, 3, 5, 8, 0, 0))
    await tick(core, local(2026, 3, 5, 8, 0, 1))
    assert meter_calls == [("hold", METER_SIDE), ("restore_prepaid", METER_SIDE)]
    # In working hours (or opted out) a meter-side meter is left in prepaid mode: it trips by itself,
    # never forced off (a forced trip would outlive the next purchase).
    assert (await trip(core, METER_SIDE))["action"] == "prepaid"
    await tick(core, local(2026, 3, 5, 22, 0, 0))
    assert (await trip(core, STRICT))["action"] == "prepaid"
    assert meter_calls == [("hold", METER_SIDE), ("restore_prepaid", METER_SIDE), ("hold", METER_SIDE)]


async def test_failed_hold_is_retried_after_retry_after(core: Core) -> None:
    meter_calls = meter_services(core, fail_hold=1)
    core.states.async_set(METER_SIDE, "3.00", {"billing": "meter"})
    await tick(core, local(2026, 3, 4, 18, 0, 0))
    await setup_friendly_credit(core, "retry_after: 60\n")
    await tick(core, local(2026, 3, 4, 18, 0, 1))  # fails
    await tick(core, local(2026, 3, 4, 18, 0, 30))  # too early to retry
    assert meter_calls == []
    await tick(core, local(2026, 3, 4, 18, 1, 2))
    assert meter_calls == [("hold", METER_SIDE)]


async def test_owed_actions_survive_a_restart(tmp_path: Path, database: Database) -> None:
    for step in ("before", "after"):
        core = Core(tmp_path)
        core.db = database
        await core.async_start()
        meter_calls = meter_services(core)
        core.states.async_set(SERVER_METER, "-1.00", {"billing": "server"})
        core.states.async_set(METER_SIDE, "3.00", {"billing": "meter"})
        if step == "before":
            await tick(core, local(2026, 3, 4, 20, 0))
            enforcer: FriendlyCreditEnforcer = await setup_friendly_credit(core, CALENDAR)
            assert (await trip(core, SERVER_METER))["action"] == "deferred"
            await tick(core, local(2026, 3, 4, 20, 0, 1))
            assert meter_calls == [("hold", METER_SIDE)]
        else:
            await tick(core, local(2026, 3, 5, 9, 0))
            enforcer = await setup_friendly_credit(core, CALENDAR)
            assert SERVER_METER in enforcer.deferred and METER_SIDE in enforcer.held
            await tick(core, local(2026, 3, 5, 9, 0, 1))
            assert sorted(meter_calls) == [("restore_prepaid", METER_SIDE), ("trip", SERVER_METER)]
            assert enforcer.deferred == {} and enforcer.held == {}
        await core.async_stop()


async def test_status_service(core: Core) -> None:
    await tick(core, local(2026, 3, 7, 12, 0))
    await setup_friendly_credit(core, CALENDAR)
    status = await core.services.async_call("friendly_credit", "status", {"entity_id": METER_SIDE})
    assert status is not None and status["may_cut"] is False and status["reason"] == "weekend"
    assert status["next_allowed"] == "2026-03-09T08:00:00+08:00"
