"""The page a phone comes back to after paying: shown by the order's signed reference without a session,
refused for a forged or another order's reference, else log in and come back; URLs from `http: external_url`."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import voluptuous as vol

from scada_core.config import external_url
from tests.alipay.harness import PASSWORDS, Site, running_site
from tests.alipay.test_notify import _credited
from tests.helpers import free_port

from .test_mobile import _client

pytestmark = pytest.mark.timeout(60)


async def _pay_on_the_phone(site: Site, client: aiohttp.ClientSession) -> tuple[str, str]:
    """Top up 50.00 as tenant A, pay at the sandbox; return (out_trade_no, the URL the phone comes back to)."""
    async with client.post(f"{site.base}/m/login", allow_redirects=False,
                           data={"account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}) as resp:
        assert resp.status == 302
    async with client.post(f"{site.base}/m/topup", data={"amount": "50.00"}, allow_redirects=False) as resp:
        assert resp.status == 302
        pay_url = resp.headers["Location"]
    async with client.get(pay_url) as resp:  # the sandbox's cashier page
        assert resp.status == 200
    out_trade_no = urlsplit(str(resp.url)).path.rsplit("/", 1)[1]
    sandbox = site.sandbox.base_url
    async with client.post(f"{sandbox}/sandbox/pay/{out_trade_no}", allow_redirects=False) as resp:
        assert resp.status == 302
        return out_trade_no, resp.headers["Location"]


async def test_return_page_by_signed_reference_without_a_session(site: Site) -> None:
    """Back from paying with no session (another host, another browser): the signed reference shows the paid
    order; a forged reference, another order's reference or none at all does not; with none the tenant logs in
    (the login page keeps a safe `next`) and comes back to it."""
    async with _client(site) as phone:
        out_trade_no, back = await _pay_on_the_phone(site, phone)
    assert back.startswith(f"{site.base}/m/topup/return?")
    reference = parse_qs(urlsplit(back).query)["ref"][0]
    other = await site.payments.create_qr_order(site.accounts["B"], 2000)
    other_ref = await site.payments.store.references.sign(other.out_trade_no)
    async with _client(site) as stranger:
        async with stranger.get(f"{site.base}/m/topup/return",
                                params={"out_trade_no": other.out_trade_no, "ref": other_ref}) as resp:
            waiting = await resp.text()  # a pending order: the page looks again by itself
        assert resp.status == 200 and "等待支付结果" in waiting and 'http-equiv="refresh"' in waiting
        await _credited(site, out_trade_no)
        async with stranger.get(back, allow_redirects=False) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert "充值成功" in page
        assert out_trade_no in page and "50.00" in page and 'http-equiv="refresh"' not in page
        return_url = f"{site.base}/m/topup/return"
        for ref in ("0" * 64, reference[:-1] + ("0" if reference[-1] != "0" else "1"), other_ref, "", "é" * 64):
            async with stranger.get(return_url, params={"out_trade_no": out_trade_no, "ref": ref},
                                    allow_redirects=False) as resp:
                assert resp.status == 403, ref
                assert out_trade_no not in await resp.text()
        async with stranger.get(return_url, params={"out_trade_no": other.out_trade_no, "ref": reference},
                                allow_redirects=False) as resp:
            assert resp.status == 403
        assert (await site.security_kinds()).count("bad_reference") == 6
        async with stranger.get(return_url, params={"out_trade_no": out_trade_no}, allow_redirects=False) as resp:
            assert resp.status == 302
            login = resp.headers["Location"]
        assert login.startswith("/m/login?next=")
        async with stranger.get(f"{site.base}{login}") as resp:
            assert f'name="next" value="/m/topup/return?out_trade_no={out_trade_no}"' in await resp.text()
        async with stranger.post(f"{site.base}/m/login", allow_redirects=False, data={
                "account_id": str(site.accounts["A"]), "password": PASSWORDS["A"],
                "next": f"/m/topup/return?out_trade_no={out_trade_no}"}) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == f"/m/topup/return?out_trade_no={out_trade_no}"
        async with stranger.get(f"{site.base}{resp.headers['Location']}") as resp:
            assert resp.status == 200 and "充值成功" in await resp.text()


@pytest.mark.parametrize("target", [
    "//evil.example/", "/%09/evil.example/", "/\t/evil.example/", "/\\evil.example", "https://evil.example/",
    "/m/\\\\evil.example", "/m/\n/x", "javascript:alert(1)", "/login", "m/home", "/m/" + "x" * 3000,
])
async def test_login_next_must_be_a_tenant_page(site: Site, target: str) -> None:
    """After logging in the tenant goes to `next` only when it is one of our tenant pages; else home."""
    async with _client(site) as client:
        async with client.get(f"{site.base}/m/login", params={"next": target}) as resp:
            assert 'name="next"' not in await resp.text()
        async with client.post(f"{site.base}/m/login", allow_redirects=False, data={
                "account_id": str(site.accounts["A"]), "password": PASSWORDS["A"], "next": target}) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/m/home"


async def test_provider_urls_come_from_external_url(
    tmp_path: Path, keys_dir: Path, db_settings: dict[str, str]
) -> None:
    """With `http: external_url` every URL the payment provider is given (notify, return, quit) is under it,
    whichever host the tenant used."""
    port = free_port()
    public = f"http://localhost:{port}"
    extra = {"http": {"host": "127.0.0.1", "port": port, "external_url": f"{public}/"}}
    async with running_site(tmp_path, keys_dir, db_settings, extra) as site:
        async with _client(site) as phone:
            async with phone.post(f"{site.base}/m/login", allow_redirects=False, data={
                    "account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}) as resp:
                assert resp.status == 302
            async with phone.post(f"{site.base}/m/topup", data={"amount": "50.00"}, allow_redirects=False) as resp:
                params = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
        assert params["notify_url"] == f"{public}/api/alipay/notify"
        assert params["return_url"].startswith(f"{public}/m/topup/return?out_trade_no=TU")
        assert f'"quit_url":"{public}/m/home"' in params["biz_content"]


@pytest.mark.parametrize("value", ["https://pay.example.com", "http://localhost:8123/", "https://[::1]:8443"])
def test_external_url_accepts_a_base(value: str) -> None:
    """http(s), a host, maybe a port: kept without the trailing slash."""
    assert external_url(value) == value.rstrip("/")


@pytest.mark.parametrize("value", [
    "pay.example.com", "ftp://pay.example.com", "https://pay.example.com/m", "https://pay.example.com?a=1",
    "https://pay.example.com#x", "https://user:pw@pay.example.com", "https://pay.example.com:0",
    "https://pay.example.com:99999", "https://[::1", "https://pay example.com", "https://", "javascript:x", 8123,
])
def test_external_url_refuses_anything_else(value: object) -> None:
    """No path, query, fragment, user, bad port or other scheme."""
    with pytest.raises(vol.Invalid, match="absolute http"):
        external_url(value)
