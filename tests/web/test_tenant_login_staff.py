"""Staff give a shop its phone login from the account page: phone, password (typed or generated), first code."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from integrations.alipay.keys import ensure_keys
from tests.alipay.harness import tenant_client
from web.tenant.models import TenantCodeRow

from .conftest import WebEnv
from .test_browser import ARGS, CHROMIUM, login

pytestmark = pytest.mark.timeout(90)
ADMIN = {"id": "admin", "role": "admin"}
METER = "acrel_dtsy1352.b1_f2_m1"


async def _env(start_web: Any, tmp_path: Path) -> tuple[WebEnv, int, int]:
    """A site with the tenant pages (Alipay's sandbox brings them) and two open accounts."""
    keys = ensure_keys(tmp_path / "keys")
    env: WebEnv = await start_web(units=2, extra={"alipay": {"sandbox": {"port": 0, "keys_dir": str(keys)}}})
    billing = env.core.data["billing"]
    first = int((await billing.open_account("一楼花店", [METER], ADMIN, phone="13900000001"))["id"])
    second = int((await billing.open_account("一楼面馆", ["acrel_dtsy1352.b1_f2_m2"], ADMIN))["id"])
    return env, first, second


async def _save(client: aiohttp.ClientSession, env: WebEnv, csrf: str, account_id: int,
                **fields: str) -> tuple[int, str, str]:
    """Post the tenant login form; return status, the page (followed) and the URL it ended on."""
    async with client.post(f"{env.base}/accounts/{account_id}/tenant_login", data={"csrf": csrf, **fields}) as resp:
        return resp.status, await resp.text(), str(resp.url)


async def _tenant_login(env: WebEnv, account_id: int, password: str) -> int:
    async with tenant_client(env.base) as client, client.post(
        f"{env.base}/m/login", data={"account_id": str(account_id), "password": password}, allow_redirects=False
    ) as resp:
        return resp.status


async def _codes(env: WebEnv, phone: str) -> int:
    async with env.core.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(TenantCodeRow)
                                        .where(TenantCodeRow.phone == phone)) or 0)


async def test_a_cashier_gives_a_shop_its_login_and_the_tenant_logs_in(start_web: Any, tmp_path: Path) -> None:
    """From the account page a cashier registers the shop's phone, generates its password (shown once) and sends
    the first code; the tenant logs in with that password, the code went to that phone, the audit log has it
    all but the password."""
    env, account_id, _ = await _env(start_web, tmp_path)
    await env.operator("cashier1", "cashier")
    client, csrf = await env.login("cashier1")
    async with client.get(f"{env.base}/accounts/{account_id}") as resp:
        page = await resp.text()
    assert 'id="tenant-login"' in page and "未设密码" in page and 'value="13900000001"' in page
    status, page, _url = await _save(client, env, csrf, account_id, phone="13900000001", generate="1",
                                     send_code="1", control="1")
    assert status == 200
    password = re.search(r'id="generated-password">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert len(password) == 8 and "已设密码" in page
    assert await _tenant_login(env, account_id, password) == 302
    assert await _tenant_login(env, account_id, "wrong-pass") == 401
    assert await _codes(env, "13900000001") == 1
    async with client.get(f"{env.base}/accounts/{account_id}") as resp:
        assert password not in await resp.text()  # shown that once only
    state = await env.core.data["tenant"].auth.login_state(account_id)
    assert state == {"phone": "13900000001", "has_password": True, "tenant_control": True, "sms_alerts": True}
    entry = (await env.site.audit.query(action="tenant_login"))[-1]  # the first, oldest
    assert entry["operator"] == "cashier1" and entry["target"] == f"account {account_id}" and entry["ok"]
    assert password not in str(entry) and "generated" in str(entry["after"])
    # A typed password replaces it; the phone stays when the field is left as it is.
    status, _page, url = await _save(client, env, csrf, account_id, phone="13900000001", password="shop-pass-9")
    assert status == 200 and url.endswith(f"/accounts/{account_id}")
    assert await _tenant_login(env, account_id, password) == 401
    assert await _tenant_login(env, account_id, "shop-pass-9") == 302


async def test_hostile_tenant_login_changes_are_refused_and_change_nothing(start_web: Any, tmp_path: Path) -> None:
    """Another shop's phone, a malformed phone, a short or huge password, both a password and a generated one,
    a code without a phone: each is refused with its reason and nothing changes; a viewer may not; a closed or
    unknown account has no login to set."""
    env, account_id, other = await _env(start_web, tmp_path)
    auth = env.core.data["tenant"].auth
    await auth.set_credentials(other, password="other-pass", phone="13900000002")
    client, csrf = await _admin(env)
    cases = [
        ({"phone": "13900000002"}, "已是账户"),
        ({"phone": "1390000000１"}, "手机号格式不正确"),
        ({"phone": "<script>"}, "手机号格式不正确"),
        ({"password": "12345"}, "密码长度"),
        ({"password": "x" * 129}, "密码长度"),
        ({"password": "good-pass-1", "generate": "1"}, "不能同时"),
        ({"send_code": "1"}, "需要填写手机号"),
    ]
    for fields, reason in cases:
        status, page, _url = await _save(client, env, csrf, account_id, **fields)
        assert status == 200 and reason in page, (fields, page[:300])
        assert await auth.login_state(account_id) == {
            "phone": None, "has_password": False, "tenant_control": False, "sms_alerts": True}, fields
    assert (await auth.login_state(other))["phone"] == "13900000002"
    failed = await env.site.audit.query(action="tenant_login")
    assert failed and not any(r["ok"] for r in failed)  # the other shop's phone refused by the store is audited
    await env.operator("viewer1", "viewer")
    viewer, viewer_csrf = await env.login("viewer1")
    status, _page, _url = await _save(viewer, env, viewer_csrf, account_id, password="viewer-pass")
    assert status == 403
    status, _page, _url = await _save(client, env, csrf, 999999, password="good-pass-1")
    assert status == 404
    await env.core.data["billing"].close_account(other, ADMIN, "close-other")
    status, page, _url = await _save(client, env, csrf, other, password="good-pass-1")
    assert "已销户" in page
    assert await _tenant_login(env, account_id, "good-pass-1") == 401


async def _admin(env: WebEnv) -> tuple[aiohttp.ClientSession, str]:
    await env.operator("admin2", "admin")
    return await env.login("admin2")


async def test_the_audit_page_reads_a_tenant_login_change_in_words(start_web: Any, tmp_path: Path) -> None:
    """The audit log names the change: phone, a generated password (never the password), the code sent."""
    env, account_id, _ = await _env(start_web, tmp_path)
    client, csrf = await _admin(env)
    status, page, _url = await _save(client, env, csrf, account_id, phone="13900000001", generate="1", send_code="1")
    password = re.search(r'id="generated-password">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    async with client.get(f"{env.base}/admin/audit") as resp:
        audit = await resp.text()
    assert "设置租户登录" in audit and "密码 已生成新密码" in audit and "手机 —→13900000001" in audit
    assert "已设密码 否→是" in audit and "发送验证码 是" in audit and password not in audit


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.timeout(120)
async def test_staff_give_a_login_in_the_browser_and_the_tenant_logs_in_on_a_phone(
    start_web: Any, tmp_path: Path
) -> None:
    """In chromium a cashier fills the account page's login card (generate a password); on a 390 px phone the
    tenant logs in with the password the page showed once."""
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415 - only where a browser runs

    env, account_id, _ = await _env(start_web, tmp_path)
    await env.operator("clerk", "cashier")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = await (await browser.new_context()).new_page()
            await login(page, env.base, "clerk")
            await page.goto(f"{env.base}/accounts/{account_id}")
            card = page.locator("#tenant-login")
            await expect(card).to_contain_text("未设密码")
            await card.locator("input[name=generate]").check()
            await card.locator("button").click()
            password = (await page.locator("#generated-password").inner_text()).strip()
            await expect(page.locator("#tenant-login-state")).to_contain_text("已设密码")
            phone = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
            await phone.goto(f"{env.base}/m/login")
            await phone.fill("input[name=account_id]", str(account_id))
            await phone.fill("input[name=password]", password)
            await phone.click("#login")
            await phone.wait_for_url(re.compile(r".*/m/home$"))
            await expect(phone.locator("body")).to_contain_text("一楼花店")
        finally:
            await browser.close()
