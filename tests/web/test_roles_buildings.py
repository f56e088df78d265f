"""Named roles and building scopes: an admin gives a role chosen permissions and keeps an operator to buildings;
that operator then sees and acts on their buildings only — in every page and API route, reports and exports —
and billing refuses the rest whichever door a request comes in by."""
from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from scada_core.billing.errors import PermissionDenied
from scada_core.permissions import PERMISSIONS

from .conftest import CSRF_RE, PASSWORD, WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = pytest.mark.timeout(180)
ADMIN = {"id": "boss", "role": "admin"}
OURS, THEIRS = "acrel_dtsy1352.b1_f3_m3", "acrel_dtsy1352.b1_f2_m1"  # building b2, building b1
BUILDINGS = {
    "b1": {"name": "一号楼", "meters": ["*_m1", "*_m2"], "tariff": {"kind": "flat", "price": "1.00"}},
    "b2": {"name": "二号楼", "meters": ["*_m3", "*_m4"], "tariff": {"kind": "flat", "price": "1.00"}},
}


async def _two_buildings(start_web: Any) -> tuple[WebEnv, dict[str, Any]]:
    """Four meters in two buildings, an open account and a sale in each; return the env and the ids."""
    env: WebEnv = await start_web(units=4, extra={"billing": {"buildings": BUILDINGS, "reconcile_interval": 3600}})
    billing = env.core.data["billing"]
    ours = int((await billing.open_account("二号楼花店", [OURS], ADMIN))["id"])
    theirs = int((await billing.open_account("一号楼面馆", [THEIRS], ADMIN))["id"])
    our_sale = (await billing.sell(OURS, 1000, "cash", "ours-1", ADMIN))["transaction"]["id"]
    their_sale = (await billing.sell(THEIRS, 2000, "cash", "theirs-1", ADMIN))["transaction"]["id"]
    return env, {"ours": ours, "theirs": theirs, "our_sale": our_sale, "their_sale": their_sale}


async def _scoped(env: WebEnv, username: str, role: str = "admin") -> tuple[str, Any, str]:
    """Create an operator kept to building b2; return a bearer token and a logged-in session with its CSRF."""
    created = await env.site.auth.create_operator(username, username, role, "secret-pass-1", must_change=False,
                                                  buildings=["b2"])
    token = (await env.site.auth.create_token(created["id"], "test"))[1]
    session, csrf = await env.login(username)
    return token, session, csrf


async def test_api_keeps_an_operator_to_their_buildings(start_web: Any) -> None:
    """Lists hold their buildings only; another building's meter, account or transaction is refused (403) for
    reading and for every write, the body's own operator included, and nothing moves."""
    env, ids = await _two_buildings(start_web)
    token, _session, _csrf = await _scoped(env, "floor2")
    client = env.client()
    headers = {"Authorization": f"Bearer {token}"}

    async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with client.request(method, env.base + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    status, states = await call("GET", "/api/states")
    meters = {s["entity_id"] for s in states}
    assert status == 200 and OURS in meters and THEIRS not in meters and not any("gateway" in m for m in meters)
    status, accounts = await call("GET", "/api/billing/accounts")
    assert status == 200 and [a["id"] for a in accounts] == [ids["ours"]]
    assert {m["entity_id"] for m in (await call("GET", "/api/billing/meters"))[1]} <= {
        f"acrel_dtsy1352.b1_f3_m{u}" for u in (3, 4)}
    for path in (f"/api/states/{THEIRS}", f"/api/billing/accounts/{ids['theirs']}",
                 f"/api/billing/accounts/{ids['theirs']}/history", f"/api/billing/meters/{THEIRS}",
                 f"/api/billing/transactions/{ids['their_sale']}", f"/api/billing/meters/{THEIRS}/credit",
                 "/api/billing/buildings/b1/policy", "/api/billing/trial_balance"):
        assert (await call("GET", path))[0] == 403, path
    assert (await call("GET", f"/api/billing/transactions/{ids['our_sale']}"))[0] == 200
    trial_before = await env.site.billing.trial_balance()
    writes = [
        ("POST", "/api/billing/sales", {"meter_entity_id": THEIRS, "amount_fen": 500, "idempotency_key": "x1"}),
        ("POST", "/api/billing/refunds", {"meter_entity_id": THEIRS, "amount_fen": 100, "idempotency_key": "x2"}),
        ("POST", f"/api/billing/transactions/{ids['their_sale']}/reverse", {"reason": "mistake", "idempotency_key": "x3"}),
        ("POST", f"/api/billing/accounts/{ids['theirs']}/close", {"idempotency_key": "x4"}),
        ("POST", "/api/billing/accounts", {"name": "偷开", "meters": ["acrel_dtsy1352.b1_f2_m2"]}),
        ("POST", f"/api/billing/meters/{OURS}/move", {"account_id": ids["theirs"]}),
        ("PUT", f"/api/billing/meters/{THEIRS}/thresholds", {"alarm1_fen": 1, "alarm2_fen": 0, "overload_w": 100}),
        ("POST", "/api/billing/tariffs", {"scope": "building:b1", "spec": {"kind": "flat", "price": "9.00"}}),
        ("POST", "/api/billing/buildings/b1/policy", {"alarm1_fen": 1, "alarm2_fen": 0, "overdraft_fen": 0}),
        ("POST", "/api/services/acrel_dtsy1352/trip", {"entity_id": THEIRS}),
        ("POST", "/api/services/acrel_dtsy1352/trip", {}),  # every meter: not for an operator kept to buildings
        ("POST", "/api/field/batch", {"service": "acrel_dtsy1352.trip", "entity_id": [OURS, THEIRS]}),
        # the services route hands billing the caller, whatever operator the body claims
        ("POST", "/api/services/billing/sell", {"meter_entity_id": THEIRS, "amount_fen": 500, "idempotency_key": "x5",
                                                "operator": {"id": "boss", "role": "admin"}}),
        ("POST", "/api/billing/reconcile", {}),
    ]
    for method, path, body in writes:
        status, answer = await call(method, path, body)
        assert status == 403, (path, status, answer)
    assert await env.site.billing.trial_balance() == trial_before
    assert len(await env.site.billing.account_history(ids["theirs"])) == 1
    status, sold = await call("POST", "/api/billing/sales", {"meter_entity_id": OURS, "amount_fen": 300,
                                                             "idempotency_key": "ok-1"})
    assert status == 200 and sold["transaction"]["amount_fen"] == 300
    refused = await env.site.audit.query(action="api_refused:building")
    assert refused and all(r["operator"] == "floor2" for r in refused)


async def test_every_route_refuses_another_buildings_meter_account_and_transaction(start_web: Any) -> None:
    """The sweep: each registered route whose path names a meter, an account, a transaction or a building answers
    403 when it names building b1's to an operator with every permission but kept to b2 — by session and by token,
    GET and POST alike."""
    env, ids = await _two_buildings(start_web)
    await env.site.auth.roles.save("everything", "全部权限", list(PERMISSIONS))
    token, session, csrf = await _scoped(env, "keeper", role="everything")
    values = {"entity_id": THEIRS, "account_id": str(ids["theirs"]), "transaction_id": str(ids["their_sale"]),
              "building_id": "b1"}
    swept = 0
    for resource in env.core.http.app.router.resources():
        info = resource.get_info()
        pattern = info.get("formatter") or info.get("path") or ""
        names = set(re.findall(r"{(\w+)}", pattern))
        if not names & values.keys() or pattern.startswith(("/m/", "/kiosk/")):
            continue
        fill = {**values, "pdf": ".pdf", "action": "close", "domain": "acrel_dtsy1352", "service": "trip"}
        path = pattern.format(**{name: fill.get(name, "x") for name in names})
        for route in resource:
            if route.method == "HEAD":
                continue
            if path.startswith("/api/"):
                kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}, "json": {}}
                async with env.client().request(route.method, env.base + path, **kwargs) as resp:
                    assert resp.status == 403, (route.method, path, resp.status, await resp.text())
            else:
                form = {"csrf": csrf} if route.method != "GET" else None
                async with session.request(route.method, env.base + path, data=form, allow_redirects=False) as resp:
                    assert resp.status == 403, (route.method, path, resp.status)
                    assert "不是您负责的楼栋" in await resp.text()
            swept += 1
    assert swept >= 25  # meters, accounts, transactions, receipts, billing and field routes, services
    for path in (f"/meters/{OURS}", f"/accounts/{ids['ours']}", f"/transactions/{ids['our_sale']}",
                 f"/receipts/{ids['our_sale']}"):
        async with session.get(env.base + path) as resp:
            assert resp.status == 200, path


async def test_pages_lists_reports_and_exports_hold_their_buildings_only(start_web: Any) -> None:
    """The grid, the account list and its export, the counter search, the transaction search and its export, the
    sales report, and the site-wide settings (refused) — for a cashier kept to b2."""
    env, ids = await _two_buildings(start_web)
    _token, session, csrf = await _scoped(env, "cashier2", role="cashier")

    async def text(path: str) -> tuple[int, str]:
        async with session.get(env.base + path, allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async with session.get(env.base + "/web/grid.json") as resp:
        rows = (await resp.json())["rows"]
    assert {row[0] for row in rows} == {"acrel_dtsy1352.b1_f3_m3", "acrel_dtsy1352.b1_f3_m4"}
    status, page = await text("/accounts")
    assert status == 200 and "二号楼花店" in page and "一号楼面馆" not in page
    status, page = await text("/sell?q=楼")
    assert "二号楼花店" in page and "一号楼面馆" not in page
    assert (await text(f"/sell?meter={THEIRS}"))[0] == 403
    status, page = await text("/transactions")
    assert f'/transactions/{ids["our_sale"]}"' in page and f'/transactions/{ids["their_sale"]}"' not in page
    for path in ("/accounts?format=xlsx", "/transactions?format=xlsx"):
        async with session.get(env.base + path) as resp:
            assert resp.status == 200
            sheet = load_workbook(io.BytesIO(await resp.read())).active
            cells = " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
        assert "一号楼面馆" not in cells and "20.00" not in cells, path
    status, page = await text("/reports?kind=sales&group=building")
    assert status == 200 and "10.00" in page and "20.00" not in page
    for path in ("/admin/settings", "/admin/settings/template.csv", "/admin/receipt", "/admin/operators",
                 "/admin/audit"):
        assert (await text(path))[0] == 403, path
    status, page = await text("/")
    assert status == 200 and 'href="/admin/settings"' not in page
    form = {"csrf": csrf, "meter": THEIRS, "kind": "sale", "method": "cash", "amount": "5", "key": "k1",
            "confirmed": "1"}
    async with session.post(env.base + "/sell", data=form, allow_redirects=False) as resp:
        assert resp.status == 403
    assert len(await env.site.billing.account_history(ids["theirs"])) == 1


async def test_named_roles_grant_exactly_their_permissions(start_web: Any) -> None:
    """An admin makes a role from the operators page (audited), gives it to an operator, and that operator may
    sell but not refund, open accounts or see reports; fixed roles cannot be changed; a role in use cannot be
    deleted; an unknown permission or a hostile key is refused and nothing is stored."""
    env: WebEnv = await start_web(units=1)
    billing = env.core.data["billing"]
    await billing.open_account("一号店", ["acrel_dtsy1352.b1_f2_m1"], ADMIN)
    await env.operator("chief", "admin")
    admin, csrf = await env.login("chief")

    async def post(data: dict[str, Any]) -> tuple[int, str]:
        async with admin.post(env.base + "/admin/operators", data={"csrf": csrf, **data},
                              allow_redirects=False) as resp:
            return resp.status, await resp.text()

    form = [("csrf", csrf), ("action", "role_save"), ("name", "seller"), ("label", "只售电"),
            ("permissions", "sell")]
    async with admin.post(env.base + "/admin/operators", data=form, allow_redirects=False) as resp:
        assert resp.status == 302
    for hostile in ({"name": "admin", "label": "x"}, {"name": "Bad-Name", "label": "x"},
                    {"name": "x" * 40, "label": "x"}, {"name": "ok_name", "label": ""},
                    {"name": "ok_name", "label": "x", "permissions": "fly"}, {"name": "角色", "label": "x"}):
        status, page = await post({"action": "role_save", **hostile})
        assert status == 400, hostile
    assert [r["name"] for r in env.site.auth.roles.named()] == ["seller"]
    status, page = await post({"action": "create", "username": "sally", "display_name": "Sally", "role": "seller",
                               "password": "secret-pass-1"})
    assert status == 302
    seller = next(o for o in await env.site.auth.operators() if o["username"] == "sally")
    await env.site.auth.update_operator(seller["id"], must_change_password=False)
    session, seller_csrf = await env.login("sally")
    async with session.get(env.base + "/") as resp:
        page = await resp.text()
        assert 'href="/reports"' not in page and 'href="/accounts"' in page
    for path, expected in (("/sell?meter=acrel_dtsy1352.b1_f2_m1", 200),
                           ("/sell?meter=acrel_dtsy1352.b1_f2_m1&kind=refund", 403), ("/reports", 403)):
        async with session.get(env.base + path, allow_redirects=False) as resp:
            assert resp.status == expected, path
    operator = {"id": "sally", "role": "seller", "permissions": ["sell"], "buildings": None}
    await billing.sell("acrel_dtsy1352.b1_f2_m1", 100, "cash", "s1", operator)
    with pytest.raises(PermissionDenied):
        await billing.refund("acrel_dtsy1352.b1_f2_m1", 100, "cash", "r1", operator)
    with pytest.raises(PermissionDenied):
        await billing.open_account("二号店", ["acrel_dtsy1352.b1_f2_m1"], operator)
    status, page = await post({"action": "role_delete", "name": "seller"})
    assert status == 400 and "仍有操作员使用该角色" in page
    status, _page = await post({"action": "role_delete", "name": "cashier"})
    assert status == 400
    audit = await env.site.audit.query(action="role_save")
    assert [json.loads(r["after"])["permissions"] for r in audit if r["ok"]] == [["sell"]]
    # permissions change at once for the operator's next request
    status, _page = await post({"action": "role_save", "name": "seller", "label": "只售电", "permissions": "reports"})
    assert status == 302
    async with session.get(env.base + "/reports", allow_redirects=False) as resp:
        assert resp.status == 200
    async with session.get(env.base + "/sell?meter=acrel_dtsy1352.b1_f2_m1", allow_redirects=False) as resp:
        assert resp.status == 403


async def test_operator_buildings_are_checked_and_audited(start_web: Any) -> None:
    """Buildings an admin keeps an operator to are stored and audited before/after; an unknown building is
    refused; an admin cannot keep themselves to a building (locking themselves out of the operators page); a
    scoped operator never holds the global permissions even with an admin's role."""
    env, _ids = await _two_buildings(start_web)
    await env.operator("chief", "admin")
    admin, csrf = await env.login("chief")
    created = await env.operator("clerk", "cashier")

    async def post(data: list[tuple[str, str]]) -> tuple[int, str]:
        async with admin.post(env.base + "/admin/operators", data=[("csrf", csrf), *data],
                              allow_redirects=False) as resp:
            return resp.status, await resp.text()

    update = [("action", "update"), ("id", str(created["id"])), ("role", "cashier"), ("active", "1")]
    assert (await post([*update, ("buildings", "b2")]))[0] == 302
    assert (await post([*update, ("buildings", "b9")]))[0] == 400
    assert (await post([*update, ("buildings", "<script>")]))[0] == 400
    clerk = next(o for o in await env.site.auth.operators() if o["username"] == "clerk")
    assert clerk["buildings"] == ["b2"]
    done = [r for r in await env.site.audit.query(action="operator_update") if r["ok"]]
    assert len(done) == 1
    assert json.loads(done[0]["before"])["buildings"] is None and json.loads(done[0]["after"])["buildings"] == ["b2"]
    me = next(o for o in await env.site.auth.operators() if o["username"] == "chief")
    status, page = await post([("action", "update"), ("id", str(me["id"])), ("role", "admin"), ("active", "1"),
                               ("buildings", "b1")])
    assert status == 400
    scoped_admin = await env.site.auth.create_operator("boss2", "boss2", "admin", "secret-pass-1", must_change=False,
                                                       buildings=["b1"])
    session, _ = await env.login("boss2")
    async with session.get(env.base + "/admin/operators", allow_redirects=False) as resp:
        assert resp.status == 403
    assert scoped_admin["buildings"] == ["b1"]
    async with admin.get(env.base + "/admin/operators") as resp:
        page = await resp.text()
        assert "二号楼" in page and CSRF_RE.search(page)


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
async def test_an_admin_makes_a_role_and_keeps_an_operator_to_a_building_in_the_browser(start_web: Any) -> None:
    """In chromium an admin makes a role (sell + reports), adds an operator with it kept to 二号楼; that operator's
    meter table lists 二号楼's meters only and their menu has no 价格/设置/操作员."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env, _ids = await _two_buildings(start_web)
    await env.operator("chief", "admin")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context()).new_page()
            await login(page, env.base, "chief")
            await page.goto(f"{env.base}/admin/operators")
            role_form = page.locator("#create-role")
            await role_form.locator("input[name=name]").fill("floor_seller")
            await role_form.locator("input[name=label]").fill("楼层售电员")
            for permission in ("sell", "reports"):
                await role_form.locator(f"input[name=permissions][value={permission}]").check()
            await role_form.locator("button").click()
            await expect(page.locator("#roles tr[data-role=floor_seller]")).to_be_visible()
            create = page.locator("#create-operator")
            await create.locator("input[name=username]").fill("lily")
            await create.locator("select[name=role]").select_option("floor_seller")
            await create.locator("input[name=buildings][value=b2]").check()
            await create.locator("input[name=password]").fill(PASSWORD)
            await create.locator("button").click()
            await expect(page.locator("#operators")).to_contain_text("lily")
            lily = next(o for o in await env.site.auth.operators() if o["username"] == "lily")
            assert lily["role"] == "floor_seller" and lily["buildings"] == ["b2"]
            await env.site.auth.update_operator(lily["id"], must_change_password=False)
            other = await (await browser.new_context()).new_page()
            await login(other, env.base, "lily")
            await other.goto(f"{env.base}/?tab=table")
            await expect(other.locator("body")).to_contain_text("b1_f3_m3")
            assert "b1_f2_m1" not in await other.locator("body").inner_text()
            nav = await other.locator("header nav").first.inner_text()
            assert "报表中心" in nav and "操作员" not in nav and "价格与限值" not in nav and "系统设置" not in nav
        finally:
            await browser.close()
