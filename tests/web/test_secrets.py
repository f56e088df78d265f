"""Secrets stay secret: one-time codes in the notification outbox, passwords and keys in the audit log."""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from integrations.notify.models import OutboxRow
from integrations.sms_modem.simulator import ModemSimulator
from tests.alipay.conftest import keys_dir  # noqa: F401 - shared fixture
from tests.alipay.harness import PHONES, Site, running_site
from tests.notify.conftest import MODEM_TEST_SETTINGS, SMS_TEST_SETTINGS, simulator  # noqa: F401 - shared fixture
from web.audit import redact
from web.models import AuditRow

from .conftest import PASSWORD, TEST_HASHING


@pytest.fixture
async def secure_site(tmp_path: Path, keys_dir: Path, db_settings: dict[str, str],  # noqa: F811
                      simulator: ModemSimulator) -> AsyncIterator[Site]:  # noqa: F811
    """The Alipay site with the dashboard, a modem on the simulator and notify."""
    extra = {"web": {"admin": {"username": "admin", "password": "admin123"}, "password_hash": TEST_HASHING},
             "sms_modem": {"port": simulator.port, **MODEM_TEST_SETTINGS}, "notify": {"sms": dict(SMS_TEST_SETTINGS)}}
    async with running_site(tmp_path, keys_dir, db_settings, extra) as running:
        yield running


async def _token(site: Site, username: str, role: str) -> str:
    auth = site.core.data["web"].auth
    created = await auth.create_operator(username, username, role, PASSWORD, must_change=False)
    return (await auth.create_token(created["id"], "test"))[1]


@pytest.mark.timeout(90)
async def test_outbox_hides_one_time_codes_and_is_for_admins(secure_site: Site, simulator: ModemSimulator) -> None:
    """The code reaches the modem, the outbox API (admins only) and the table's readable text show it masked."""
    site = secure_site
    tenant = site.core.data["tenant"]
    await tenant.auth.send_code(PHONES["A"])
    [pdu] = await simulator.wait_for(1)
    code = re.search(r"\d{6}", pdu["text"])
    assert code, pdu["text"]
    async with site.core.db.session() as session:
        rows = (await session.scalars(select(OutboxRow))).all()
    assert len(rows) == 1 and code.group() not in rows[0].body and "******" in rows[0].body
    assert all(code.group() not in str(value) for value in rows[0].as_dict().values())
    for role, status in (("viewer", 403), ("cashier", 403), ("admin", 200)):
        token = await _token(site, f"op_{role}", role)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
            async with api.get(site.base + "/api/notify/outbox") as resp:
                assert resp.status == status, role
                text = await resp.text()
        assert code.group() not in text
        if status == 200:
            assert "******" in json.loads(text)[0]["body"]
    assert await tenant.auth.login_code(PHONES["A"], code.group(), "127.0.0.1") == site.accounts["A"]


@pytest.mark.timeout(90)
async def test_sms_secret_goes_out_real_and_is_kept_masked(secure_site: Site, simulator: ModemSimulator) -> None:
    """notify.sms with a secret: the modem gets the real text, the outbox keeps it masked and wipes the real one."""
    site = secure_site
    result = await site.core.services.async_call(
        "notify", "sms", {"target": [PHONES["B"]], "message": "验证码 {{ code }}", "data": {"code": "424242"},
                          "secret": "424242"})
    [pdu] = await simulator.wait_for(1)
    assert pdu["text"] == "验证码 424242"
    async with site.core.db.session() as session:
        row = await session.get(OutboxRow, result["ids"][0])
        assert row is not None
    assert row.body == "验证码 ******"
    await wait_for_sent(site, result["ids"][0])


async def wait_for_sent(site: Site, row_id: int) -> None:
    """Wait until the row is sent and its secret text is gone."""
    for _ in range(200):
        async with site.core.db.session() as session:
            row = await session.get(OutboxRow, row_id)
        if row is not None and row.status == "sent" and row.secret_body is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("secret text not wiped after sending")


@pytest.mark.timeout(90)
async def test_secret_must_appear_in_the_message(secure_site: Site) -> None:
    """A secret that the text does not contain is a clear service error (it could not be masked)."""
    from scada_core.exceptions import ServiceValidationError  # noqa: PLC0415

    with pytest.raises(ServiceValidationError, match="secret does not appear"):
        await secure_site.core.services.async_call(
            "notify", "sms", {"target": [PHONES["B"]], "message": "hello", "secret": "999999"})


@pytest.mark.timeout(90)
async def test_audit_never_stores_tenant_passwords(secure_site: Site) -> None:
    """set_tenant_login through the API is audited with the password redacted; the tenant can use it."""
    site = secure_site
    token = await _token(site, "boss", "admin")
    secret = "Tenant-Pass-77-秘密"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as api:
        body = {"account_id": site.accounts["A"], "password": secret, "phone": "13800000009"}
        async with api.post(site.base + "/api/services/alipay/set_tenant_login", json=body) as resp:
            assert resp.status == 200, await resp.text()
        nested = {"entity_id": "acrel_dtsy1352.m1", "data": {"api_key": "k-123456", "Token": "t-abcdef"},
                  "list": [{"pin_code": "9876"}]}
        async with api.post(site.base + "/api/services/acrel_dtsy1352/read_prepaid", json=nested) as resp:
            assert resp.status < 500
        async with api.post(site.base + "/api/services/alipay/set_tenant_login",
                            data=f'{{"account_id": 1, "password": "{secret}"') as resp:  # not JSON: still never kept
            assert resp.status == 400
    async with site.core.db.session() as session:
        rows = (await session.scalars(select(AuditRow))).all()
    stored = " ".join(f"{r.target} {r.before} {r.after}" for r in rows)
    assert "set_tenant_login" in stored and "13800000009" in stored
    for leaked in (secret, json.dumps(secret)[1:-1], "k-123456", "t-abcdef", "9876"):
        assert leaked not in stored, leaked
    assert await site.core.data["tenant"].auth.login_password(site.accounts["A"], secret, "127.0.0.1")


def test_redact_nested_and_case_insensitive() -> None:
    """Every secret-like key at any depth is replaced; other values, and idempotency keys, are kept."""
    data: dict[str, Any] = {
        "PassWord": "x", "new_password": "y", "code": "123456", "session_token": "t", "apiKey": "k", "secret": "s",
        "nested": {"items": [{"private_key": "p", "amount_fen": 100}]}, "idempotency_key": "sale-1", "name": "商铺",
        "token_id": 7,
    }
    redacted = redact(data)
    assert redacted["nested"]["items"][0] == {"private_key": "***", "amount_fen": 100}
    assert {k: redacted[k] for k in ("idempotency_key", "name", "token_id")} == {
        "idempotency_key": "sale-1", "name": "商铺", "token_id": 7}
    assert all(redacted[k] == "***" for k in ("PassWord", "new_password", "code", "session_token", "apiKey", "secret"))


@pytest.mark.timeout(90)
async def test_tenant_cookies_are_secure_when_asked(tmp_path: Path, keys_dir: Path,  # noqa: F811
                                                    db_settings: dict[str, str]) -> None:
    """http: secure_cookies marks the tenant's session cookie Secure too (and its removal at logout)."""
    from tests.alipay.harness import PASSWORDS  # noqa: PLC0415

    extra = {"http": {"port": 0, "secure_cookies": True}}
    async with running_site(tmp_path, keys_dir, db_settings, extra) as site, aiohttp.ClientSession() as client:
        async with client.get(site.base + "/m/login") as resp:
            page = await resp.text()
            sent = {name: morsel.value for name, morsel in resp.cookies.items()}
        form = {"account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}
        if (csrf := re.search(r'name="csrf" value="([^"]+)"', page)) is not None:  # the form's CSRF pair, if any
            form["csrf"] = csrf.group(1)
        cookie_header = "; ".join(f"{k}={v}" for k, v in sent.items())
        async with client.post(site.base + "/m/login", data=form, allow_redirects=False,
                               headers={"Cookie": cookie_header} if cookie_header else None) as resp:
            assert resp.status == 302, await resp.text()
            cookies = resp.headers.getall("Set-Cookie")
        assert cookies and all("; Secure" in c for c in cookies), cookies
        assert "Strict-Transport-Security" in resp.headers
