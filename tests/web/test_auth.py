"""Operators and permissions: role × action over the API and the pages, CSRF, rate limit, tokens, forced change."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from scada_core.permissions import BUILTIN_ROLES, may
from web.const import ROLES

from .conftest import PASSWORD, WebEnv

# One request per action: (action, method, path, body). Refused = 403; allowed = anything but 401/403.
API_CASES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("view", "GET", "/api/states", None),
    ("view", "GET", "/api/billing/accounts", None),
    ("sell", "POST", "/api/billing/sales", {"meter_entity_id": "acrel_dtsy1352.none", "amount_fen": 100,
                                            "idempotency_key": "perm-test"}),
    ("account", "POST", "/api/billing/accounts", {"name": "x", "meters": ["acrel_dtsy1352.none"]}),
    ("refund", "POST", "/api/billing/refunds", {"meter_entity_id": "acrel_dtsy1352.none", "amount_fen": 100,
                                                "idempotency_key": "perm-test-refund"}),
    ("control", "POST", "/api/services/acrel_dtsy1352/trip", {"entity_id": "acrel_dtsy1352.none"}),
    ("batch", "POST", "/api/field/batch", {"service": "acrel_dtsy1352.trip", "entity_id": ["acrel_dtsy1352.none"]}),
    ("prices", "POST", "/api/billing/tariffs", {"scope": "building:b1", "spec": {"kind": "flat", "price": "1.00"}}),
    ("settings", "POST", "/api/billing/reconcile", {}),
]
PAGE_CASES = [("operators", "/admin/operators"), ("audit", "/admin/audit"), ("settings", "/admin/settings"),
              ("view", "/"), ("reports", "/reports"), ("prices", "/admin/prices")]


@pytest.mark.timeout(60)
async def test_role_action_table_over_api_and_pages(start_web: Any) -> None:
    """Every role gets exactly what the permission table grants, by bearer token and by session."""
    env: WebEnv = await start_web()
    tokens = {role: await env.token(f"api_{role}", role) for role in ROLES}
    client = env.client()
    for role in ROLES:
        headers = {"Authorization": f"Bearer {tokens[role]}", "X-CSRF-Token": "unused-with-tokens"}
        for action, method, path, body in API_CASES:
            async with client.request(method, env.base + path, json=body, headers=headers) as resp:
                granted = may(BUILTIN_ROLES[role], action)
                assert (resp.status == 403) is not granted, (role, action, path, resp.status, await resp.text())
                assert resp.status != 401
        await env.operator(f"web_{role}", role)
        session, _csrf = await env.login(f"web_{role}")
        for action, path in PAGE_CASES:
            async with session.get(env.base + path, allow_redirects=False) as resp:
                granted = may(BUILTIN_ROLES[role], action)
                assert resp.status == (200 if granted else 403), (role, path, resp.status)
    audit = await env.site.audit.query(action="api_refused")
    assert {r["operator"] for r in audit} == {"api_cashier", "api_viewer"}


@pytest.mark.timeout(60)
async def test_api_needs_a_live_token(start_web: Any) -> None:
    """No credentials or a revoked token get 401; health and payment notifications stay public."""
    env: WebEnv = await start_web()
    client = env.client()
    async with client.get(env.base + "/api/states") as resp:
        assert resp.status == 401
    async with client.get(env.base + "/api/health") as resp:
        assert resp.status == 200
    token = await env.token("robot", "viewer")
    headers = {"Authorization": f"Bearer {token}"}
    async with client.get(env.base + "/api/states", headers=headers) as resp:
        assert resp.status == 200
    token_id = (await env.site.auth.tokens())[0]["id"]
    assert await env.site.auth.revoke_token(token_id)
    async with client.get(env.base + "/api/states", headers=headers) as resp:
        assert resp.status == 401
    async with client.get(env.base + "/api/states", headers={"Authorization": "Bearer opt_forged"}) as resp:
        assert resp.status == 401


@pytest.mark.timeout(60)
async def test_csrf_is_required_for_session_writes(start_web: Any) -> None:
    """A session's form or API write without the right CSRF token is refused and audited."""
    env: WebEnv = await start_web()
    await env.operator("boss", "admin")
    session, csrf = await env.login("boss")
    form = {"action": "create", "username": "newbie", "display_name": "N", "role": "viewer", "password": "longenough1"}
    async with session.post(env.base + "/admin/operators", data=form) as resp:
        assert resp.status == 403
    async with session.post(env.base + "/admin/operators", data={**form, "csrf": "wrong"}) as resp:
        assert resp.status == 403
    assert "newbie" not in {o["username"] for o in await env.site.auth.operators()}
    async with session.post(env.base + "/admin/operators", data={**form, "csrf": csrf}) as resp:
        assert resp.status == 200
    assert "newbie" in {o["username"] for o in await env.site.auth.operators()}
    async with session.post(env.base + "/api/billing/reconcile", json={}) as resp:
        assert resp.status == 403
    async with session.post(env.base + "/api/billing/reconcile", json={}, headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 200, await resp.text()
    boss = next(o for o in await env.site.auth.operators() if o["username"] == "boss")
    async with session.post(env.base + "/admin/operators", data={"csrf": csrf, "action": "token", "id": boss["id"],
                                                                  "name": "erp"}) as resp:
        token = re.search(r'id="new-token">([^<]+)<', await resp.text()).group(1)
    async with env.client().get(env.base + "/api/states", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
    refused = await env.site.audit.query(action="csrf_refused")
    assert len(refused) == 3 and {r["operator"] for r in refused} == {"boss"}
    created = await env.site.audit.query(action="operator_create")
    assert created[0]["operator"] == "boss" and "newbie" in created[0]["after"]
    async with session.get(env.base + "/admin/audit?operator=boss&action=operator_create") as resp:
        page = await resp.text()
    assert page.count("<tr class=") == 1 and "newbie" in page


async def test_session_writes_from_another_origin_are_refused(start_web: Any) -> None:
    """A form or API write with the right CSRF token but a foreign Origin or Referer is refused and audited; our
    own origin passes (the tenant pages share this check)."""
    env: WebEnv = await start_web()
    await env.operator("boss", "admin")
    session, csrf = await env.login("boss")
    form = {"csrf": csrf, "action": "create", "username": "newbie", "display_name": "N", "role": "viewer",
            "password": "longenough1"}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://evil.example/x.html"}):
        async with session.post(env.base + "/admin/operators", data=form, headers=headers) as resp:
            assert resp.status == 403
        async with session.post(env.base + "/api/billing/reconcile", json={},
                                headers={"X-CSRF-Token": csrf, **headers}) as resp:
            assert resp.status == 403
    assert "newbie" not in {o["username"] for o in await env.site.auth.operators()}
    assert len(await env.site.audit.query(action="csrf_refused")) == 6
    async with session.post(env.base + "/admin/operators", data=form, headers={"Origin": env.base}) as resp:
        assert resp.status == 200
    assert "newbie" in {o["username"] for o in await env.site.auth.operators()}


async def test_operator_names_that_do_not_fit_are_refused_on_the_page(start_web: Any) -> None:
    """A user name with a space, longer than its column or empty, a 129-character display name: the operators page
    says why (nothing stored, on PostgreSQL too where the column would refuse it); a Chinese name is taken."""
    env: WebEnv = await start_web()
    await env.operator("boss", "admin")
    session, csrf = await env.login("boss")
    base = {"csrf": csrf, "action": "create", "display_name": "", "role": "viewer", "password": "longenough1-x"}
    for fields, message in (({"username": "new bie"}, "用户名须为 1–64 个字符"), ({"username": "x" * 65}, "用户名须为"),
                            ({"username": ""}, "用户名须为"),
                            ({"username": "ok", "display_name": "名" * 129}, "显示名称至多 128 个字符")):
        async with session.post(env.base + "/admin/operators", data={**base, **fields}) as resp:
            assert message in await resp.text(), fields
    assert {o["username"] for o in await env.site.auth.operators()} == {"admin", "boss"}
    async with session.post(env.base + "/admin/operators", data={**base, "username": "李四"}) as resp:
        assert resp.status == 200
    assert "李四" in {o["username"] for o in await env.site.auth.operators()}


@pytest.mark.timeout(60)
async def test_login_rate_limit(start_web: Any) -> None:
    """After 3 wrong passwords even the right one is refused with 429 until the wait (30 s) is over."""
    env: WebEnv = await start_web(web={"login_attempts": 3, "login_window": 60})
    await env.operator("clerk", "cashier")
    client = env.client()
    async with client.post(env.base + "/login", data={"username": "clerk", "password": PASSWORD}) as resp:
        assert resp.status == 403  # no CSRF pair: refused before the password is even checked
    for _ in range(3):
        assert (await env.submit_login(client, "clerk", "nope"))[0] == 401
    assert (await env.submit_login(client, "clerk", PASSWORD))[0] == 429
    assert "op_session" not in {c.key for c in client.cookie_jar}
    failed = await env.site.audit.query(action="login_failed")
    assert len(await env.site.audit.query(action="csrf_refused")) == 1
    assert len(failed) == 4 and all(not r["ok"] for r in failed)
    env.core.clock.set_now(env.core.clock.utcnow() + timedelta(seconds=31))
    session, _csrf = await env.login("clerk")
    async with session.get(env.base + "/", allow_redirects=False) as resp:
        assert resp.status == 200


@pytest.mark.timeout(60)
async def test_seeded_admin_must_change_password(start_web: Any) -> None:
    """The demo admin is sent to the password page and cannot use pages or the API until it changes it."""
    env: WebEnv = await start_web()
    client, csrf = await env.login("admin", "admin123")
    async with client.get(env.base + "/", allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"] == "/password"
    async with client.get(env.base + "/api/states") as resp:
        assert resp.status == 403
    cookie = next(c for c in client.cookie_jar if c.key == "op_session")
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    change = {"csrf": csrf, "current": "admin123", "new": "admin123", "confirm": "admin123"}
    async with client.post(env.base + "/password", data=change) as resp:
        assert resp.status == 400
    async with client.post(env.base + "/password", data={**change, "new": "n3w-secret", "confirm": "n3w-secret"},
                           allow_redirects=False) as resp:
        assert resp.status == 302
    async with client.get(env.base + "/", allow_redirects=False) as resp:
        assert resp.status == 200
    async with client.get(env.base + "/api/states") as resp:
        assert resp.status == 200
