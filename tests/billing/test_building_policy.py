"""A building's alarm levels and limits as versions with an effective time: set now or later through the API,
pushed to the meters when they take effect, kept across a restart, seeded (and re-seeded) from YAML."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for

from .conftest import ADMIN, CASHIER, billing_section, field_sections

pytestmark = pytest.mark.timeout(90)

M1 = "acrel_dtsy1352.m1"
URL = "/api/billing/buildings/b1/policy"
POLICY = {"alarm1_fen": 8000, "alarm2_fen": 3000, "overdraft_fen": 500, "credit_cap_fen": 100000, "overload_w": 6000}


async def test_policy_now_and_later_reaches_the_meter(start_site) -> None:
    """A version in force now is applied and pushed at once; a later one waits for its moment, then is pushed."""
    site = await start_site(units=1)
    await site.api("POST", "/api/billing/accounts", {"name": "A", "meters": [M1], "operator": CASHIER})
    sim = site.sim.meter(1)
    assert (sim.alarm1_fen, sim.alarm2_fen) == (5000, 1000)  # the YAML seed
    version = await site.api("POST", URL, {**POLICY, "operator": ADMIN})
    assert version["policy"] == POLICY and version["operator_id"] == ADMIN["id"]
    assert (sim.alarm1_fen, sim.alarm2_fen, sim.overload_w) == (8000, 3000, 6000)
    # the overdraft is an account's own from its opening on: the building's new one is for accounts opened now
    assert sim.overdraft_fen == 0 and site.billing.building("b1")["overdraft_fen"] == 500
    assert site.billing.building("b1")["credit_cap_fen"] == 100000
    later = site.billing.now() + 1.5
    await site.api("POST", URL, {**POLICY, "alarm1_fen": 9000, "effective_ts": later, "operator": ADMIN})
    assert sim.alarm1_fen == 8000 and site.billing.building("b1")["alarm1_fen"] == 8000  # not yet
    await wait_for(lambda: sim.alarm1_fen == 9000, what="the later version pushed", timeout=10)
    versions = await site.api("GET", URL)
    assert [v["policy"]["alarm1_fen"] for v in versions] == [9000, 8000, 5000]
    assert versions[-1]["operator_id"] == "config"


async def test_policy_added_in_the_ui_outlives_a_restart_and_yaml_reseeds(start_site) -> None:
    """A restart keeps the version an admin added (tariffs too); a changed YAML starts a new version."""
    first = await start_site(units=1)
    await first.api("POST", URL, {**POLICY, "operator": ADMIN})
    await first.api("POST", "/api/billing/tariffs", {"scope": "building:b1", "spec": {"kind": "flat", "price": "1.25"},
                                                     "operator": ADMIN})
    await first.core.async_stop()
    again = await start_site(with_sim=False, extra=field_sections(first.sim.port, 1))
    assert again.billing.building("b1")["alarm1_fen"] == 8000
    assert (await again.billing.tariff_for(M1))["price"] == "1.25"
    await again.core.async_stop()
    changed = await start_site(billing=billing_section(alarm1_fen=7000, alarm2_fen=2000), with_sim=False,
                               extra=field_sections(first.sim.port, 1))
    assert changed.billing.building("b1")["alarm1_fen"] == 7000
    assert changed.billing.building("b1").get("credit_cap_fen") is None  # YAML sets none


@pytest.mark.parametrize(
    ("body", "operator", "status"),
    [
        ({**POLICY, "alarm2_fen": 9000}, ADMIN, 400),  # 报警2 above 报警1
        (POLICY, CASHIER, 403),  # refused like every admin-only billing change (Forbidden)
        ({**POLICY, "alarm1_fen": -1}, ADMIN, 400),
        ({**POLICY, "alarm1_fen": 10**30}, ADMIN, 400),
        ({**POLICY, "overload_w": 0}, ADMIN, 400),
        ({**POLICY, "effective_ts": "下周一"}, ADMIN, 400),
        ({"alarm1_fen": 8000}, ADMIN, 400),
    ],
)
async def test_policy_refusals_change_nothing(start_site, body, operator, status) -> None:
    """Hostile or inconsistent values and a cashier are refused; the building keeps its settings."""
    site = await start_site(units=1, with_sim=False)
    await site.api("POST", URL, {**body, "operator": operator}, status=status)
    assert site.billing.building("b1")["alarm1_fen"] == 5000
    assert len(await site.api("GET", URL)) == 1


async def test_unknown_building_refused(start_site) -> None:
    """A building that does not exist is named in the refusal."""
    site = await start_site(units=1, with_sim=False)
    answer = await site.api("POST", "/api/billing/buildings/b9/policy", {**POLICY, "operator": ADMIN}, status=400)
    assert "b9" in answer["error"]
    await site.api("GET", "/api/billing/buildings/b9/policy", status=400)
