"""Load limiting (限电) by load category on the simulator: a plan lowers the meters' overload limit (PMAX) for its
window, exempts held meters and protected categories, and the end restores each meter's limit, also after a
restart in the middle. Every limit is read back from the simulated meters (written and read over Modbus TCP)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from integrations.acrel_dtsy1352.proposed import FACTORY_PMAX_W
from scada_core.const import ACTOR_STAFF
from scada_core.core import Context
from tests.helpers import until, wait_for

from .conftest import ADMIN, CASHIER, billing_section, field_sections

pytestmark = pytest.mark.timeout(90)

M1, M2, M3 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2", "acrel_dtsy1352.m3"
PLAN = {"name": "迎峰度夏 限电", "categories": ["catering", "retail"], "limit_w": 2000, "duration_s": 3600}
SYSTEM = {"id": "automation", "role": "system"}


async def settled(site: Any, run_id: int) -> dict[str, Any]:
    """Return a run once none of its meters waits to be limited (the meters are reached in the background)."""
    return await until(lambda: site.api("GET", f"/api/billing/load_runs/{run_id}"),
                       lambda r: all(m["outcome"] != "pending" for m in r["meters"]))


async def categorise(site: Any) -> None:
    """Give m1 餐饮, m2 零售 and m3 餐饮 (m3 will be held by staff)."""
    for meter, key in ((M1, "catering"), (M2, "retail"), (M3, "catering")):
        answer = await site.api("PUT", f"/api/billing/meters/{meter}/category", {"key": key, "operator": ADMIN})
        assert answer["category"] == key and answer["previous"] is None


async def test_categories_refuse_hostile_input(start_site: Any) -> None:
    """Unknown categories and meters, another role, bad keys and protected categories get a clear zh/en error and
    change nothing."""
    site = await start_site(units=1, with_sim=False)
    keys = [c["key"] for c in await site.api("GET", "/api/billing/load_categories")]
    assert keys == ["catering", "retail", "office", "public_lighting", "important"]
    assert [c["name"] for c in await site.billing.load_categories()][:2] == ["餐饮", "零售"]
    unknown = await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "nope", "operator": ADMIN}, status=400)
    assert "未知用电性质" in unknown["error"] and "unknown load category" in unknown["error"]
    bad = await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "餐饮'; --", "operator": ADMIN}, status=400)
    assert "key" in bad["error"]
    ghost = await site.api("PUT", "/api/billing/meters/acrel_dtsy1352.ghost/category",
                           {"key": "retail", "operator": ADMIN}, status=400)
    assert "未知表计" in ghost["error"]
    cashier = await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "retail", "operator": CASHIER},
                             status=403)
    assert "没有修改用电性质的权限" in cashier["error"] and "not allowed" in cashier["error"]
    assert await site.billing.meter_categories() == {}

    added = await site.api("POST", "/api/billing/load_categories", {"key": "hotel", "name": "酒店", "operator": ADMIN})
    assert added == {"key": "hotel", "name": "酒店", "protected": False}
    assert (await site.api("GET", "/api/billing/load_categories"))[-1]["key"] == "hotel"

    protected = await site.api("POST", "/api/billing/load_plans",
                               {**PLAN, "categories": ["important"], "operator": ADMIN}, status=400)
    assert "重要负荷" in protected["error"] and "protected" in protected["error"]
    for field, value in (("limit_w", 70000), ("limit_w", -5), ("duration_s", 10), ("name", ""), ("name", "x" * 500)):
        answer = await site.api("POST", "/api/billing/load_plans", {**PLAN, field: value, "operator": ADMIN}, status=400)
        assert field in answer["error"], answer
    assert await site.api("GET", "/api/billing/load_plans") == []
    await site.api("POST", "/api/billing/load_plans/999/runs", {"operator": ADMIN}, status=400)
    plan = await site.api("POST", "/api/billing/load_plans", {**PLAN, "operator": ADMIN})
    refused = await site.api("POST", f"/api/billing/load_plans/{plan['id']}/runs", {"operator": CASHIER}, status=403)
    assert "batch" in refused["error"] and "权限" in refused["error"]
    batch_only = {"id": "ops", "role": "dispatcher", "permissions": ["batch"]}
    assert (await site.api("POST", "/api/billing/load_plans", {**PLAN, "operator": batch_only}, status=403))["error"]
    scoped = {"id": "b2-manager", "role": "admin", "buildings": ["b2"]}
    other = await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "retail", "operator": scoped},
                           status=403)
    assert "不是您负责的楼栋" in other["error"]
    assert await site.api("GET", "/api/billing/load_runs") == []


async def test_plan_limits_and_restores_across_a_restart(start_site: Any) -> None:
    """A run lowers the limit of the plan's categories (not a held meter's), the reconciler keeps it, and after a
    restart past the window's end every meter gets back its own limit, or the one it held before."""
    first = await start_site(units=3, remaining_fen=60000, billing=billing_section())
    assert first.sim is not None
    sims = [first.sim.meter(unit) for unit in (1, 2, 3)]
    account = await first.api("POST", "/api/billing/accounts",
                              {"name": "川味小馆", "phone": "13800000001", "meters": [M1, M2, M3], "operator": CASHIER})
    await first.api("PUT", f"/api/billing/meters/{M2}/thresholds", {"overload_w": 9000, "operator": ADMIN})
    await categorise(first)
    await first.core.services.async_call(
        "acrel_dtsy1352", "hold", {"entity_id": M3}, Context(user_id="admin1", actor=ACTOR_STAFF)
    )
    assert [s.overload_w for s in sims] == [FACTORY_PMAX_W, 9000, FACTORY_PMAX_W]
    events: list[dict[str, Any]] = []
    first.core.bus.async_listen("billing_load_limit", lambda event: events.append(event.data))

    plan = await first.api("POST", "/api/billing/load_plans", {**PLAN, "operator": ADMIN})
    started = await first.api("POST", f"/api/billing/load_plans/{plan['id']}/runs", {"operator": ADMIN})
    assert started["status"] == "active"
    run = await settled(first, started["id"])
    outcomes = {m["meter_entity_id"]: (m["outcome"], m["previous_w"]) for m in run["meters"]}
    assert outcomes == {
        M1: ("limited", FACTORY_PMAX_W), M2: ("limited", 9000), M3: ("exempt_hold", FACTORY_PMAX_W),
    }
    assert [s.overload_w for s in sims] == [2000, 2000, FACTORY_PMAX_W], "read back from the meters"
    await wait_for(lambda: events, what="billing_load_limit")
    assert [(e["phase"], e["account_id"], e["phone"], e["meters"]) for e in events] == [
        ("start", account["id"], "13800000001", [M1, M2])
    ]
    await first.api("POST", "/api/billing/reconcile", {"operator": ADMIN})
    assert [s.overload_w for s in sims] == [2000, 2000, FACTORY_PMAX_W], "the reconciler keeps the plan's limit"
    end_ts = run["end_ts"]
    await first.core.async_stop()

    again = await start_site(billing=billing_section(), with_sim=False, extra=field_sections(first.sim.port, 3))
    again.core.clock.set_now(again.core.clock.utcnow() + timedelta(seconds=end_ts - again.core.clock.timestamp() + 5))
    report = await until(lambda: again.api("GET", f"/api/billing/load_runs/{run['id']}"),
                         lambda r: all(m["restored_ts"] for m in r["meters"] if m["outcome"] == "limited"))
    assert report["status"] == "ended"
    restored = {m["meter_entity_id"]: m["restored_w"] for m in report["meters"]}
    assert restored == {M1: FACTORY_PMAX_W, M2: 9000, M3: None}
    assert [s.overload_w for s in sims] == [FACTORY_PMAX_W, 9000, FACTORY_PMAX_W], "read back from the meters"
    assert (await again.api("GET", "/api/billing/load_runs"))[0]["limited"] == 2


async def test_automation_runs_a_plan_and_ends_it_early(start_site: Any) -> None:
    """A demand-response signal (an event) runs a plan through billing.run_load_plan; ending it early restores."""
    rules = [
        {"id": "dr_start", "trigger": {"platform": "event", "event_type": "demand_response"},
         "action": {"service": "billing.run_load_plan", "data": {"plan_id": 1, "operator": SYSTEM}}},
    ]
    site = await start_site(units=1, remaining_fen=60000, extra={"automation": rules})
    assert site.sim is not None
    sim = site.sim.meter(1)
    await site.api("POST", "/api/billing/accounts", {"name": "便利店", "meters": [M1], "operator": CASHIER})
    await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "retail", "operator": ADMIN})
    await site.api("POST", "/api/billing/load_plans", {**PLAN, "limit_w": 1500, "operator": ADMIN})
    site.core.bus.async_fire("demand_response", {})
    await until(lambda: site.api("GET", "/api/billing/load_runs"), lambda runs: runs and runs[0]["limited"] == 1)
    assert sim.overload_w == 1500
    run_id = (await site.api("GET", "/api/billing/load_runs"))[0]["id"]
    assert (await site.api("POST", f"/api/billing/load_runs/{run_id}/end", {"operator": ADMIN}))["status"] == "ended"
    ended = await until(lambda: site.api("GET", f"/api/billing/load_runs/{run_id}"),
                        lambda r: r["meters"][0]["restored_ts"] is not None)
    assert ended["meters"][0]["restored_w"] == FACTORY_PMAX_W
    assert sim.overload_w == FACTORY_PMAX_W


async def test_trip_plan_respects_control_precedence_across_a_restart(start_site: Any) -> None:
    """A trip plan switches its category off as the system: a held meter and one already off in arrears are exempt;
    after a restart past its end it releases what it still holds (back to prepaid control), and leaves a meter
    staff took over during the run to staff."""
    first = await start_site(units=4, remaining_fen=60000)
    assert first.sim is not None
    sims = {unit: first.sim.meter(unit) for unit in (1, 2, 3, 4)}
    meters = [f"acrel_dtsy1352.m{unit}" for unit in (1, 2, 3, 4)]
    await first.api("POST", "/api/billing/accounts", {"name": "商场", "meters": meters, "operator": CASHIER})
    for meter in meters:
        await first.api("PUT", f"/api/billing/meters/{meter}/category", {"key": "retail", "operator": ADMIN})
    staff = Context(user_id="admin1", actor=ACTOR_STAFF)
    await first.core.services.async_call("acrel_dtsy1352", "hold", {"entity_id": M2}, staff)
    sims[3].remaining_fen = -100  # in arrears: the meter itself is off
    await wait_for(lambda: first.core.states.get(M3).attributes.get("relay") == "open", what="m3 off")
    missing = await first.api("POST", "/api/billing/load_plans",
                              {**PLAN, "action": "limit", "limit_w": None, "operator": ADMIN}, status=400)
    assert "limit_w" in missing["error"]
    plan = await first.api("POST", "/api/billing/load_plans",
                           {**PLAN, "categories": ["retail"], "action": "trip", "operator": ADMIN})
    assert plan["limit_w"] is None
    started = await first.api("POST", f"/api/billing/load_plans/{plan['id']}/runs", {"operator": SYSTEM})
    run = await settled(first, started["id"])
    outcomes = {m["meter_entity_id"]: m["outcome"] for m in run["meters"]}
    assert outcomes == {
        "acrel_dtsy1352.m1": "tripped", M2: "exempt_hold", M3: "exempt_off", "acrel_dtsy1352.m4": "tripped",
    }
    assert sims[1].forced == "trip" and sims[4].forced == "trip" and sims[2].forced == "hold" and sims[3].forced is None
    status = await first.billing.meter_status("acrel_dtsy1352.m1")
    assert status["control"]["holder"] == "prepaid" and status["control"]["by"] == f"load_run:{run['id']}"
    await first.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": "acrel_dtsy1352.m4"}, staff)
    end_ts = run["end_ts"]
    await first.core.async_stop()

    again = await start_site(with_sim=False, extra=field_sections(first.sim.port, 4))
    again.core.clock.set_now(again.core.clock.utcnow() + timedelta(seconds=end_ts - again.core.clock.timestamp() + 5))
    report = await until(lambda: again.api("GET", f"/api/billing/load_runs/{run['id']}"),
                         lambda r: all(m["restored_ts"] for m in r["meters"] if m["outcome"] == "tripped"))
    restores = {m["meter_entity_id"]: m["restore"] for m in report["meters"]}
    assert restores == {"acrel_dtsy1352.m1": "restored", M2: None, M3: None, "acrel_dtsy1352.m4": "left"}
    assert sims[1].forced is None and sims[1].relay_closed(time.time()), "released to prepaid control: money, on"
    assert sims[4].forced == "trip", "staff took it over during the run: still off"
    assert sims[3].forced is None and not sims[3].relay_closed(time.time()), "in arrears: still off"
    assert sims[2].forced == "hold"


async def test_scheduled_run_starts_on_time_and_a_replay_runs_once(start_site: Any) -> None:
    """A run from a later moment tells the tenants at once, takes its meters only when its start comes, and a
    repeated (or concurrent) request with the same key is the same run; a scheduled run ended early never starts."""
    site = await start_site(units=1, remaining_fen=60000)
    assert site.sim is not None
    sim = site.sim.meter(1)
    account = await site.api("POST", "/api/billing/accounts",
                             {"name": "面馆", "phone": "13800000009", "meters": [M1], "operator": CASHIER})
    await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "catering", "operator": ADMIN})
    plan = await site.api("POST", "/api/billing/load_plans", {**PLAN, "operator": ADMIN})
    events: list[dict[str, Any]] = []
    site.core.bus.async_listen("billing_load_limit", lambda event: events.append(event.data))
    start = site.billing.now() + 3600
    body = {"start_ts": start, "duration_s": 600, "idempotency_key": "dr-1", "operator": ADMIN}
    url = f"/api/billing/load_plans/{plan['id']}/runs"
    first, second = await asyncio.gather(site.api("POST", url, body), site.api("POST", url, body))
    assert first["id"] == second["id"] and first["status"] == "scheduled" and first["meters"] == []
    assert (await site.api("POST", url, body))["repeated"] is True
    assert len(await site.api("GET", "/api/billing/load_runs")) == 1
    other = await site.api("POST", "/api/billing/load_plans", {**PLAN, "name": "另一方案", "operator": ADMIN})
    reused = await site.api("POST", f"/api/billing/load_plans/{other['id']}/runs", body, status=400)
    assert "dr-1" in reused["error"] and "another plan" in reused["error"]
    await wait_for(lambda: events, what="the tenant told in advance")
    assert [(e["phase"], e["account_id"], e["meters"]) for e in events] == [("scheduled", account["id"], [M1])]
    assert sim.overload_w == FACTORY_PMAX_W, "nothing before the start"

    site.core.clock.set_now(site.core.clock.utcnow() + timedelta(seconds=3601))
    run = await until(lambda: site.api("GET", f"/api/billing/load_runs/{first['id']}"),
                      lambda r: r["status"] == "active" and r["meters"] and r["meters"][0]["outcome"] == "limited")
    assert sim.overload_w == 2000
    site.core.clock.set_now(site.core.clock.utcnow() + timedelta(seconds=600))
    await until(lambda: site.api("GET", f"/api/billing/load_runs/{run['id']}"),
                lambda r: r["status"] == "ended" and r["meters"][0]["restored_ts"] is not None)
    assert sim.overload_w == FACTORY_PMAX_W
    assert [e["phase"] for e in events] == ["scheduled", "start", "end"]

    later = await site.api("POST", url, {"start_ts": site.billing.now() + 600, "operator": ADMIN})
    ended = await site.api("POST", f"/api/billing/load_runs/{later['id']}/end", {"operator": ADMIN})
    assert ended["status"] == "ended" and ended["meters"] == [] and sim.overload_w == FACTORY_PMAX_W
    again = await site.api("POST", f"/api/billing/load_runs/{later['id']}/end", {"operator": ADMIN})
    assert again["ended_ts"] == ended["ended_ts"], "ending twice changes nothing"
    await site.api("POST", "/api/billing/load_runs/999/end", {"operator": ADMIN}, status=400)


async def test_a_meter_not_read_at_the_start_is_limited_once_read_and_given_its_limit_back(start_site: Any) -> None:
    """A meter silent when the run starts (after a restart: nothing known of it) is limited only once it has been
    read, so the end gives it back what it held; the others go ahead meanwhile."""
    first = await start_site(units=2, remaining_fen=60000)
    assert first.sim is not None
    await first.api("POST", "/api/billing/accounts", {"name": "两店", "meters": [M1, M2], "operator": CASHIER})
    for meter in (M1, M2):
        await first.api("PUT", f"/api/billing/meters/{meter}/category", {"key": "retail", "operator": ADMIN})
    first.sim.meter(2).overload_w = 12000  # set at the meter itself: billing does not know it
    await first.core.async_stop()
    first.sim.set_offline(2)

    again = await start_site(with_sim=False, extra=field_sections(first.sim.port, 2))
    await wait_for(lambda: (again.core.states.get(M1).attributes.get("overload_w") is not None), what="m1 read")
    plan = await again.api("POST", "/api/billing/load_plans", {**PLAN, "categories": ["retail"], "operator": ADMIN})
    run = await again.api("POST", f"/api/billing/load_plans/{plan['id']}/runs", {"operator": ADMIN})
    await until(lambda: again.api("GET", f"/api/billing/load_runs/{run['id']}"),
                lambda r: r["meters"][0]["outcome"] == "limited")
    await again.api("POST", "/api/billing/reconcile", {"operator": ADMIN})
    report = await again.api("GET", f"/api/billing/load_runs/{run['id']}")
    assert [(m["outcome"], m["previous_w"]) for m in report["meters"]] == [("limited", FACTORY_PMAX_W), ("pending", None)]
    assert first.sim.meter(2).overload_w == 12000

    first.sim.set_offline(2, False)
    await wait_for(lambda: again.core.states.get(M2).attributes.get("overload_w") == 12000, what="m2 read")
    again.core.clock.set_now(again.core.clock.utcnow() + timedelta(seconds=31))  # the next retry
    report = await until(lambda: again.api("GET", f"/api/billing/load_runs/{run['id']}"),
                         lambda r: r["meters"][1]["outcome"] == "limited")
    assert report["meters"][1]["previous_w"] == 12000 and first.sim.meter(2).overload_w == 2000
    await again.api("POST", f"/api/billing/load_runs/{run['id']}/end", {"operator": ADMIN})
    await until(lambda: again.api("GET", f"/api/billing/load_runs/{run['id']}"),
                lambda r: all(m["restored_ts"] for m in r["meters"]))
    assert (first.sim.meter(1).overload_w, first.sim.meter(2).overload_w) == (FACTORY_PMAX_W, 12000)


async def test_an_operator_kept_to_buildings_limits_only_theirs(start_site: Any) -> None:
    """A run by an operator kept to other buildings takes none of this building's meters, nor does its preview."""
    site = await start_site(units=1, remaining_fen=60000)
    assert site.sim is not None
    await site.api("POST", "/api/billing/accounts", {"name": "茶馆", "meters": [M1], "operator": CASHIER})
    await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "catering", "operator": ADMIN})
    plan = await site.api("POST", "/api/billing/load_plans", {**PLAN, "operator": ADMIN})
    elsewhere = {"id": "b2-manager", "role": "admin", "buildings": ["b2"]}
    assert (await site.billing.load_preview(plan["id"], elsewhere))["meters"] == []
    assert (await site.billing.load_preview(plan["id"], ADMIN))["meters"] == [M1]
    run = await site.api("POST", f"/api/billing/load_plans/{plan['id']}/runs", {"operator": elsewhere})
    assert run["status"] == "active" and run["meters"] == []
    assert site.sim.meter(1).overload_w == FACTORY_PMAX_W


async def test_overlapping_runs_hold_the_lowest_limit_and_restore_after_the_last(start_site: Any) -> None:
    """Two runs at once: the meter holds the lower limit; when that run ends it goes back to the other's, and only
    when the last ends does it get its own limit back."""
    site = await start_site(units=1, remaining_fen=60000)
    assert site.sim is not None
    sim = site.sim.meter(1)
    await site.api("POST", "/api/billing/accounts", {"name": "夜市", "meters": [M1], "operator": CASHIER})
    await site.api("PUT", f"/api/billing/meters/{M1}/category", {"key": "catering", "operator": ADMIN})
    high = await site.api("POST", "/api/billing/load_plans", {**PLAN, "limit_w": 2000, "operator": ADMIN})
    low = await site.api("POST", "/api/billing/load_plans", {**PLAN, "name": "严重缺电", "limit_w": 1500, "operator": ADMIN})
    first, second = await asyncio.gather(
        site.api("POST", f"/api/billing/load_plans/{high['id']}/runs", {"operator": ADMIN}),
        site.api("POST", f"/api/billing/load_plans/{low['id']}/runs", {"operator": ADMIN}),
    )
    await settled(site, first["id"])
    await settled(site, second["id"])
    await wait_for(lambda: sim.overload_w == 1500, what="the lower limit")
    await site.api("POST", f"/api/billing/load_runs/{second['id']}/end", {"operator": ADMIN})
    await wait_for(lambda: sim.overload_w == 2000, what="the other run's limit")
    report = await site.api("GET", f"/api/billing/load_runs/{second['id']}")
    assert report["meters"][0]["restored_ts"] is None, "not restored while another run limits it"
    await site.api("POST", f"/api/billing/load_runs/{first['id']}/end", {"operator": ADMIN})
    for run in (first, second):
        await until(lambda run=run: site.api("GET", f"/api/billing/load_runs/{run['id']}"),
                    lambda r: r["meters"][0]["restored_w"] == FACTORY_PMAX_W)
    assert sim.overload_w == FACTORY_PMAX_W


async def test_an_account_category_takes_its_meters_without_their_own(start_site: Any) -> None:
    """An account given 餐饮 has its uncategorised meters limited as 餐饮 (recorded so in the run), while its meter
    given 办公 of its own is not; refusals: an unknown key, a cashier, an unknown account, another building."""
    site = await start_site(units=2, remaining_fen=60000)
    assert site.sim is not None
    account = await site.api("POST", "/api/billing/accounts", {"name": "火锅店", "meters": [M1, M2], "operator": CASHIER})
    url = f"/api/billing/accounts/{account['id']}/category"
    assert "未知用电性质" in (await site.api("PUT", url, {"key": "nope", "operator": ADMIN}, status=400))["error"]
    assert "权限" in (await site.api("PUT", url, {"key": "catering", "operator": CASHIER}, status=403))["error"]
    ghost = await site.api("PUT", "/api/billing/accounts/99999/category", {"key": "catering", "operator": ADMIN},
                           status=400)
    assert "账户 99999 不存在" in ghost["error"]
    elsewhere = {"id": "b2-manager", "role": "admin", "buildings": ["b2"]}
    assert "不是您负责的楼栋" in (await site.api("PUT", url, {"key": "catering", "operator": elsewhere},
                                             status=403))["error"]
    assert (await site.api("GET", f"/api/billing/accounts/{account['id']}"))["load_category"] is None

    answer = await site.api("PUT", url, {"key": "catering", "operator": ADMIN})
    assert answer == {"account_id": account["id"], "category": "catering", "previous": None}
    await site.api("PUT", f"/api/billing/meters/{M2}/category", {"key": "office", "operator": ADMIN})
    assert (await site.api("GET", f"/api/billing/accounts/{account['id']}"))["load_category"] == "catering"
    plan = await site.api("POST", "/api/billing/load_plans", {**PLAN, "operator": ADMIN})
    assert (await site.billing.load_preview(plan["id"], ADMIN))["meters"] == [M1], "M2's own 办公 wins"
    run = await settled(site, (await site.api("POST", f"/api/billing/load_plans/{plan['id']}/runs",
                                              {"operator": ADMIN}))["id"])
    assert [(m["meter_entity_id"], m["category"], m["outcome"]) for m in run["meters"]] == [(M1, "catering", "limited")]
    assert [site.sim.meter(u).overload_w for u in (1, 2)] == [2000, FACTORY_PMAX_W], "read back from the meters"
