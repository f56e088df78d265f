"""Staff access hardening: redirects after login, cookies and proxies, sessions, login throttling, password rules,
security headers."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from scada_core.http_security import safe_redirect_path
from web.auth import AuthError
from web.models import OperatorRow

from .conftest import CSRF_RE, PASSWORD, WebEnv

HOSTILE_NEXT = [
    "/\t/evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example", "https://evil.example/",
    "javascript:alert(1)", "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "/\x00/evil.example",
    "\x01//evil.example", "/\u3000/evil.example", "evil.example", "", "/\\/evil.example", "http:/evil.example",
]


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_safe_redirect_path_refuses_other_origins(value: str) -> None:
    """Anything a browser could read as another origin (after stripping tabs and newlines) falls back to /."""
    assert safe_redirect_path(value) == "/"


@pytest.mark.parametrize("value", ["/", "/accounts?q=301", "/meters/acrel_dtsy1352.m1#top", "/a//b", "/%2F%2Fx"])
def test_safe_redirect_path_keeps_own_paths(value: str) -> None:
    """A path of this site is kept as it is."""
    assert safe_redirect_path(value) == value


@pytest.mark.timeout(60)
async def test_login_next_cannot_leave_the_site(start_web: Any) -> None:
    """next=/%09/evil.example/ (the reported open redirect) and friends send the operator to / after login."""
    env: WebEnv = await start_web()
    await env.operator("clerk", "cashier")
    for hostile in ("/%09/evil.example/", "//evil.example/", "/%5Cevil.example/", "https:evil.example"):
        client = env.client()
        async with client.get(f"{env.base}/login?next={hostile}") as resp:
            page = await resp.text()
        csrf = CSRF_RE.search(page)
        assert csrf and 'name="next" value="/"' in page
        form = {"username": "clerk", "password": PASSWORD, "csrf": csrf.group(1), "next": hostile.replace("%09", "\t")
                .replace("%5C", "\\")}
        async with client.post(env.base + "/login", data=form, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/", hostile
    client = env.client()
    async with client.get(f"{env.base}/login") as resp:
        csrf = CSRF_RE.search(await resp.text())
    assert csrf
    form = {"username": "clerk", "password": PASSWORD, "csrf": csrf.group(1), "next": "/accounts?q=301"}
    async with client.post(env.base + "/login", data=form, allow_redirects=False) as resp:
        assert resp.headers["Location"] == "/accounts?q=301"


@pytest.mark.timeout(60)
async def test_secure_cookies_and_trusted_proxies(start_web: Any) -> None:
    """secure_cookies marks every staff cookie Secure; X-Forwarded-For/-Proto count only from a trusted proxy."""
    env: WebEnv = await start_web(http={"secure_cookies": True})
    await env.operator("clerk", "cashier")
    async with aiohttp.ClientSession() as client:  # a browser would send Secure cookies over HTTPS only: by hand here
        async with client.get(env.base + "/login") as resp:
            assert resp.cookies["op_login_csrf"]["secure"] and resp.cookies["op_login_csrf"]["httponly"]
            csrf = resp.cookies["op_login_csrf"].value
        form = {"username": "clerk", "password": PASSWORD, "csrf": csrf}
        async with client.post(env.base + "/login", data=form, allow_redirects=False,
                               headers={"X-Forwarded-For": "203.0.113.9", "Cookie": f"op_login_csrf={csrf}"}) as resp:
            assert resp.status == 302 and resp.cookies["op_session"]["secure"]
    [login] = await env.site.audit.query(action="login")
    assert login["remote"] == "127.0.0.1"  # the header of an untrusted client is ignored

    env = await start_web(http={"trusted_proxies": ["127.0.0.0/8"]})  # the same database: a new operator
    await env.operator("desk", "cashier")
    client = env.client()
    _status, _page, cookies = await env.submit_login(
        client, "desk", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https"},
        allow_redirects=False)
    assert cookies["op_session"]["secure"]
    [login] = await env.site.audit.query(operator="desk", action="login")
    assert login["remote"] == "203.0.113.9"  # the hop the trusted proxy saw, not what the client wrote before it
    _status, _page, cookies = await env.submit_login(env.client(), "desk", allow_redirects=False)
    assert not cookies["op_session"]["secure"]  # plain http on loopback without the proxy's word stays plain


@pytest.mark.timeout(60)
async def test_trusted_proxies_are_validated() -> None:
    """A trusted proxy that is no address or network is a configuration error naming the key."""
    from scada_core.config import HTTP_SCHEMA  # noqa: PLC0415

    import voluptuous as vol  # noqa: PLC0415

    with pytest.raises(vol.Invalid, match="trusted_proxies"):
        HTTP_SCHEMA({"trusted_proxies": ["10.0.0.0/33"]})
    assert HTTP_SCHEMA({"trusted_proxies": ["10.0.0.1", "fd00::/8"]})["trusted_proxies"]


@pytest.mark.timeout(60)
async def test_password_change_ends_other_sessions(start_web: Any) -> None:
    """Changing one's password ends the operator's other sessions; an admin's reset ends all of them."""
    env: WebEnv = await start_web()
    await env.operator("clerk", "cashier")
    phone, _ = await env.login("clerk")
    desk, csrf = await env.login("clerk")
    token = (await env.site.auth.create_token((await env.site.auth.operators())[-1]["id"], "script"))[1]
    change = {"csrf": csrf, "current": PASSWORD, "new": "tall-quiet-river-7", "confirm": "tall-quiet-river-7"}
    async with desk.post(env.base + "/password", data=change, allow_redirects=False) as resp:
        assert resp.status == 302
    async with desk.get(env.base + "/", allow_redirects=False) as resp:
        assert resp.status == 200
    async with phone.get(env.base + "/", allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
        async with api.get(env.base + "/api/states") as resp:
            assert resp.status == 200  # tokens are named credentials, revoked on the operators page
    clerk_id = next(o["id"] for o in await env.site.auth.operators() if o["username"] == "clerk")
    await env.site.auth.set_password(clerk_id, "another-long-phrase", must_change=True)
    async with desk.get(env.base + "/", allow_redirects=False) as resp:
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")


def _client_from(env: WebEnv, address: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"X-Forwarded-For": address})
    env.sessions.append(session)
    return session


@pytest.mark.timeout(60)
async def test_login_throttle_per_user_and_address_with_backoff(start_web: Any) -> None:
    """Wrong passwords slow down that user from that address only, doubling the wait; the message says how long."""
    env: WebEnv = await start_web(web={"login_attempts": 3, "login_window": 600},
                                  http={"trusted_proxies": ["127.0.0.1"]})
    clock = env.core.clock
    clock.set_now(clock.utcnow())
    await env.operator("clerk", "cashier")
    await env.operator("boss", "admin")
    attacker = _client_from(env, "198.51.100.7")
    for _ in range(3):
        assert (await env.submit_login(attacker, "clerk", "nope"))[0] == 401
    status, page, _ = await env.submit_login(attacker, "clerk", PASSWORD)
    assert status == 429 and "30 秒" in page
    # Another operator behind the same address, and the same operator from elsewhere, are not locked out.
    assert (await env.submit_login(_client_from(env, "198.51.100.7"), "boss"))[0] == 200
    assert (await env.submit_login(_client_from(env, "192.0.2.50"), "clerk"))[0] == 200
    clock.set_now(clock.utcnow() + timedelta(seconds=31))
    assert (await env.submit_login(attacker, "clerk", "nope"))[0] == 401
    status, page, _ = await env.submit_login(attacker, "clerk", "nope")
    assert status == 429 and "60 秒" in page
    clock.set_now(clock.utcnow() + timedelta(seconds=61))
    english = _client_from(env, "198.51.100.7")
    english.cookie_jar.update_cookies({"op_lang": "en"})
    assert (await env.submit_login(english, "clerk", "nope"))[0] == 401
    status, page, _ = await env.submit_login(english, "clerk", PASSWORD)
    assert status == 429 and "try again in 120 seconds" in page
    clock.set_now(clock.utcnow() + timedelta(seconds=121))
    assert (await env.submit_login(attacker, "clerk", PASSWORD))[0] == 200
    for _ in range(3):  # a success starts the count afresh
        assert (await env.submit_login(_client_from(env, "198.51.100.7"), "clerk", "nope"))[0] == 401


@pytest.mark.timeout(60)
async def test_one_address_does_not_lock_out_anyone_else(start_web: Any) -> None:
    """Failures of one user at one address (one NAT) leave other users there, and that user elsewhere, alone."""
    env: WebEnv = await start_web(web={"login_attempts": 3})
    env.core.clock.set_now(env.core.clock.utcnow())  # the wait it names is counted on the core's clock
    await env.operator("clerk", "cashier")
    await env.operator("boss", "admin")
    auth = env.site.auth
    for _ in range(3):
        with pytest.raises(AuthError, match="err_login"):
            await auth.login("clerk", "nope", "10.0.0.1")
    assert await auth.login("boss", PASSWORD, "10.0.0.1")
    assert await auth.login("clerk", PASSWORD, "10.0.0.2")
    with pytest.raises(AuthError) as refused:
        await auth.login("clerk", PASSWORD, "10.0.0.1")
    assert refused.value.key == "err_locked" and refused.value.params == {"seconds": 30}


@pytest.mark.timeout(60)
async def test_password_rules(start_web: Any) -> None:
    """Common passwords, the user name and short ones are refused, on creation, reset and change; the form says so."""
    env: WebEnv = await start_web()
    await env.operator("clerk", "cashier")
    auth = env.site.auth
    for username, bad, key in (("cashier2", "password1", "err_password_common"),
                               ("cashier2", "Qwerty123", "err_password_common"),
                               ("cashier2", "short", "err_password_short"),
                               ("cashier2", "Cashier2.Cashier2", "err_password_user"),
                               ("zhangwei2026", "zhangwei2026", "err_password_user")):
        with pytest.raises(AuthError, match=key):
            await auth.create_operator(username, "x", "viewer", bad)
    assert "cashier2" not in {o["username"] for o in await auth.operators()}
    client, csrf = await env.login("clerk")
    async with client.get(env.base + "/password") as resp:
        page = await resp.text()
    assert "至少 8 位" in page and "常见密码" in page
    change = {"csrf": csrf, "current": PASSWORD, "new": "iloveyou", "confirm": "iloveyou"}
    async with client.post(env.base + "/password", data=change) as resp:
        assert resp.status == 400 and "常见" in await resp.text()
    boss, csrf = await env.login(*(await _admin(env)))
    async with boss.get(env.base + "/admin/operators") as resp:
        assert "常见密码" in await resp.text()
    form = {"csrf": csrf, "action": "create", "username": "newbie", "display_name": "n", "role": "viewer",
            "password": "newbie"}
    async with boss.post(env.base + "/admin/operators", data=form) as resp:
        assert resp.status == 400
    assert "newbie" not in {o["username"] for o in await auth.operators()}


async def _admin(env: WebEnv) -> tuple[str, str]:
    await env.operator("boss", "admin")
    return "boss", PASSWORD


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def _assert_secure_headers(resp: aiohttp.ClientResponse, what: str) -> None:
    for name in SECURITY_HEADERS:
        assert name in resp.headers, (what, name)
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "aiohttp" not in resp.headers.get("Server", "") and "Python" not in resp.headers.get("Server", ""), what


@pytest.mark.timeout(60)
async def test_security_headers_on_every_kind_of_page(start_web: Any) -> None:
    """Login, dashboard, API, static files and 404s all carry the headers; logged-in answers are never cached."""
    env: WebEnv = await start_web()
    await env.operator("clerk", "cashier")
    token = await env.token("robot", "viewer")
    anonymous = env.client()
    for path in ("/login", "/static/web/web.css", "/no/such/page", "/api/health", "/api/states"):
        async with anonymous.get(env.base + path) as resp:
            _assert_secure_headers(resp, path)
            assert "Strict-Transport-Security" not in resp.headers  # no HSTS promise on a plain-http site
    client, _csrf = await env.login("clerk")
    for path in ("/", "/accounts", "/api/states"):
        async with client.get(env.base + path) as resp:
            assert resp.status == 200, path
            _assert_secure_headers(resp, path)
            assert resp.headers["Cache-Control"] == "no-store", path
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
        async with api.get(env.base + "/api/billing/accounts") as resp:
            _assert_secure_headers(resp, "api")
            assert resp.headers["Cache-Control"] == "no-store"
    secure = await start_web(http={"secure_cookies": True})
    async with aiohttp.ClientSession() as http:
        for path in ("/login", "/static/web/web.css"):
            async with http.get(secure.base + path) as resp:
                _assert_secure_headers(resp, path)
                assert "max-age=" in resp.headers["Strict-Transport-Security"]


@pytest.mark.timeout(60)
async def test_templates_need_no_inline_script() -> None:
    """No template carries inline script (the CSP forbids it): no <script> body, no on...= handler, no javascript:."""
    from web.site import TEMPLATES  # noqa: PLC0415

    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text, template
        for match in re.finditer(r"<script([^>]*)>(.*?)</script>", text, re.S):
            attrs, body = match.groups()
            assert "src=" in attrs or 'type="application/json"' in attrs, template
            assert not body.strip() or 'type="application/json"' in attrs, template


@pytest.mark.timeout(60)
async def test_a_hash_made_at_another_cost_still_logs_in_and_is_stored_again_at_the_configured_one(
    start_web: Any,
) -> None:
    """An operator hashed before the administrator lowered (or raised) web: password_hash logs in as before; the
    stored hash then carries the configured cost. A wrong password changes nothing; an unknown user is refused."""
    env: WebEnv = await start_web()
    clerk = await env.operator("clerk", "cashier")
    earlier = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    async with env.core.db.write() as session:
        await session.execute(update(OperatorRow).where(OperatorRow.id == clerk["id"]).values(password_hash=earlier))
    auth = env.site.auth
    with pytest.raises(AuthError, match="err_login"):
        await auth.login("clerk", "not-the-password", "10.0.0.1")
    assert await _stored_hash(env, clerk["id"]) == earlier
    with pytest.raises(AuthError, match="err_login"):
        await auth.login("nobody", PASSWORD, "10.0.0.1")
    assert await auth.login("clerk", PASSWORD, "10.0.0.1")
    stored = await _stored_hash(env, clerk["id"])
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), stored
    assert await auth.login("clerk", PASSWORD, "10.0.0.1")
    assert await _stored_hash(env, clerk["id"]) == stored


async def _stored_hash(env: WebEnv, operator_id: int) -> str:
    async with env.core.db.session() as session:
        return (await session.execute(select(OperatorRow.password_hash).where(OperatorRow.id == operator_id))).scalar_one()
