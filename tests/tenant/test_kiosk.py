"""The lobby kiosk: no directory of shops; find the shop by room or account number, prove it (password or a code to
the phone), then top up by the on-screen QR (paid at the sandbox) and show the receipt; optionally kept to the
configured terminals."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol

from integrations.alipay import CONFIG_SCHEMA
from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from tests.alipay.harness import PASSWORDS, PHONES, Site, kiosk_check_in, running_site, tenant_client
from web.directory import MeterDirectory

pytestmark = pytest.mark.timeout(60)

SHOP_DATA = ("商铺A", "商铺B", "balance")
DEVICE_KEY = "kiosk-terminal-key-0001"


def _shows_no_shop(page: str, site: Site) -> None:
    assert not any(text in page for text in SHOP_DATA), page
    assert not re.search(rf">\s*({site.accounts['A']}|{site.accounts['B']})\b", page)


async def test_kiosk_qr_top_up(site: Site) -> None:
    """The QR on screen encodes the gateway's qr_code; paying it credits the shop and the receipt shows;
    unknown shops and amounts out of range are refused."""
    before = await site.balance("B")
    async with tenant_client(site.base) as client:
        async with client.get(f"{site.base}/kiosk/") as resp:
            _shows_no_shop(await resp.text(), site)
        await kiosk_check_in(client, site.base, site.accounts["B"], PASSWORDS["B"])
        async with client.get(f"{site.base}/kiosk/account") as resp:
            assert "商铺B" in await resp.text()
        async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "10000"}) as resp:
            assert resp.url.path.startswith("/kiosk/pay/TU")
            page = await resp.text()
        out_trade_no = resp.url.path.rsplit("/", 1)[1]
        assert "<svg" in page and "qrline" in page
        order = await site.payments.store.get(out_trade_no)
        assert order is not None and order.qr_code and order.amount_fen == 10000
        async with client.get(order.qr_code) as resp:  # a phone scans the code
            assert "确认付款" in await resp.text()
        status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(out_trade_no)))
        assert status == 200
        async with client.get(f"{site.base}/kiosk/orders/{out_trade_no}") as resp:
            assert await resp.json() == {"state": "PAID", "credited": True}
        async with client.get(f"{site.base}/kiosk/receipt/{out_trade_no}") as resp:
            receipt = await resp.text()
        paid = await site.payments.store.get(out_trade_no)
        assert paid is not None and paid.receipt_no and paid.receipt_no in receipt and "100.00" in receipt
        async with client.get(f"{site.base}/kiosk/logout", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/"
        async with client.get(f"{site.base}/kiosk/account", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/"
    assert await site.balance("B") == before + 10000
    async with tenant_client(site.base) as client:
        async with client.post(f"{site.base}/kiosk/select", data={"shop": "99999", "by": "account"},
                               allow_redirects=False) as resp:  # an unknown shop goes back to the box
            assert resp.headers["Location"] == "/kiosk/?error=unknown_shop"
        async with client.get(f"{site.base}/kiosk/?error=unknown_shop") as resp:
            assert "未找到该商铺" in await resp.text()
        await kiosk_check_in(client, site.base, site.accounts["A"], PASSWORDS["A"])
        async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "99"}) as resp:
            assert resp.status == 400 and "充值金额" in await resp.text()  # below the minimum
        orders = len(await site.payments.store.for_account(site.accounts["A"], limit=100))
        for hostile in ("５０００", "1e4", "-5000", "5000.0", " ", "9" * 30):
            async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": hostile}) as resp:
                assert resp.status == 400 and "金额须为数字" in await resp.text(), hostile
        assert len(await site.payments.store.for_account(site.accounts["A"], limit=100)) == orders


async def test_kiosk_shows_nothing_before_the_check(site: Site) -> None:
    """Finding a shop (typed, or its printed code) shows neither name nor balance; the balance, the QR and the
    receipt routes send back to the start, and a top-up creates no order, until the password is right; a wrong
    password is refused and counted."""
    orders_before = len(await site.payments.store.for_account(site.accounts["B"], limit=100))
    async with tenant_client(site.base) as client:
        for path in ("/kiosk/", f"/kiosk/shop/{site.accounts['B']}", "/kiosk/check"):
            async with client.get(f"{site.base}{path}") as resp:
                assert resp.status == 200
                _shows_no_shop(await resp.text(), site)
        async with client.get(f"{site.base}/kiosk/check") as resp:
            page = await resp.text()
        assert 'name="password"' in page and "发送验证码到该商铺登记的手机" in page and PHONES["B"][-4:] not in page
        for path in ("/kiosk/account", "/kiosk/orders/TU1", "/kiosk/pay/TU1", "/kiosk/receipt/TU1"):
            async with client.get(f"{site.base}{path}", allow_redirects=False) as resp:
                assert resp.status == 302 and resp.headers["Location"] == "/kiosk/", path
        async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "5000"},
                               allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/"
        assert len(await site.payments.store.for_account(site.accounts["B"], limit=100)) == orders_before
        wrong = (await site.security_kinds()).count("bad_password")
        async with client.post(f"{site.base}/kiosk/check", data={"password": PASSWORDS["A"]}) as resp:
            page = await resp.text()
            assert resp.status == 401 and "密码错误" in page
        _shows_no_shop(page, site)
        assert (await site.security_kinds()).count("bad_password") == wrong + 1
        async with client.get(f"{site.base}/kiosk/account", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/"
        async with client.post(f"{site.base}/kiosk/check", data={"password": PASSWORDS["B"]},
                               allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/account"
        async with client.get(f"{site.base}/kiosk/account") as resp:
            assert "商铺B" in await resp.text()


async def test_kiosk_finds_by_room_and_checks_by_code(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """Room numbers come from the meter directory; a shared room number asks for the account number; the code goes
    to the shop's phone, a wrong one is refused and counted, the right one opens the balance."""
    caplog.set_level(logging.WARNING, logger="web.tenant.auth")
    directory = MeterDirectory(site.core)
    await directory.async_load()
    await directory.save([{"entity_id": "acrel_dtsy1352.m2", "floor": "3F", "room": "0302", "label": "", "errors": []}])
    async with tenant_client(site.base) as client:
        async with client.post(f"{site.base}/kiosk/select", data={"shop": "0301", "by": "room"},
                               allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/kiosk/?error=unknown_shop"
        async with client.post(f"{site.base}/kiosk/select", data={"shop": " 0302 ", "by": "room"}) as resp:
            assert resp.url.path == "/kiosk/check"
            _shows_no_shop(await resp.text(), site)
        async with client.post(f"{site.base}/kiosk/check/code") as resp:
            assert resp.status == 200 and 'name="code"' in await resp.text()
        sent = re.findall(r"one-time code for (\S+) is (\d{6})", caplog.text)
        assert [phone for phone, _ in sent] == [PHONES["B"]]
        code = sent[0][1]
        wrong = (await site.security_kinds()).count("bad_code")
        async with client.post(f"{site.base}/kiosk/check", data={"code": "000000" if code != "000000" else "1"}) as resp:
            assert resp.status == 401 and "验证码错误" in await resp.text()
        assert (await site.security_kinds()).count("bad_code") == wrong + 1
        async with client.post(f"{site.base}/kiosk/check", data={"code": code}) as resp:
            assert resp.url.path == "/kiosk/account" and "商铺B" in await resp.text()
    await directory.save([{"entity_id": "acrel_dtsy1352.m1", "floor": "3F", "room": "0302", "label": "", "errors": []}])
    async with tenant_client(site.base) as client:
        async with client.post(f"{site.base}/kiosk/select", data={"shop": "0302", "by": "room"}) as resp:
            assert resp.url.query["error"] == "ambiguous_shop" and "请按户号查找" in await resp.text()
        async with client.post(f"{site.base}/kiosk/select", data={"shop": f"https://x/kiosk/shop/{site.accounts['A']}"},
                               allow_redirects=False) as resp:  # a scanned shop code names the account
            assert resp.headers["Location"] == "/kiosk/check"


async def test_kiosk_kept_to_configured_terminals(tmp_path: Path, keys_dir: Path, db_settings: dict[str, str]) -> None:
    """With `kiosk: devices/device_key`, other addresses get 403 at /kiosk/ (the phone pages stay open); a terminal
    presents the key once in the URL (kept as a cookie) or in a header on every request."""
    alipay = {"sandbox": {"port": 0, "keys_dir": "keys"}, "query_interval": 3600, "query_after": 0, "kiosk_idle": 30,
              "kiosk": {"devices": ["192.0.2.0/24"], "device_key": DEVICE_KEY}}
    async with running_site(tmp_path, keys_dir, db_settings, {"alipay": alipay}) as site:
        async with tenant_client(site.base) as client:
            for path in ("/kiosk/", f"/kiosk/shop/{site.accounts['A']}"):
                async with client.get(f"{site.base}{path}", allow_redirects=False) as resp:
                    assert resp.status == 403 and "大堂自助终端" in await resp.text()
            async with client.get(f"{site.base}/kiosk/?device_key=wrong-key-wrong-key") as resp:
                assert resp.status == 403
            async with client.get(f"{site.base}/m/login") as resp:
                assert resp.status == 200
            assert (await site.security_kinds()).count("kiosk_refused") == 3
            async with client.get(f"{site.base}/kiosk/", headers={"X-Kiosk-Key": DEVICE_KEY}) as resp:
                assert resp.status == 200
            async with client.get(f"{site.base}/kiosk/?device_key={DEVICE_KEY}", allow_redirects=False) as resp:
                assert resp.status == 302 and resp.headers["Location"] == "/kiosk/"
                assert resp.cookies["op_kiosk_device"]["httponly"]
            await kiosk_check_in(client, site.base, site.accounts["A"], PASSWORDS["A"])
            async with client.get(f"{site.base}/kiosk/account") as resp:
                assert resp.status == 200 and "商铺A" in await resp.text()


@pytest.mark.parametrize(
    ("kiosk", "problem"),
    [
        ({"devices": ["lobby-pc"]}, "'lobby-pc' is no IP address or network"),
        ({"devices": ["10.0.0.300"]}, "is no IP address or network"),
        ({"device_key": "short"}, "device_key needs at least 16 characters"),
        ({"terminals": []}, "extra keys not allowed"),
    ],
)
def test_kiosk_config_is_checked(kiosk: dict[str, Any], problem: str) -> None:
    """A wrong `kiosk:` section is refused with its path."""
    with pytest.raises(vol.Invalid) as err:
        CONFIG_SCHEMA({"alipay": {"sandbox": True, "kiosk": kiosk}})
    assert problem in str(err.value) and "kiosk" in str(err.value)


def test_kiosk_config_error_names_file_and_line(tmp_path: Path) -> None:
    """check-config reports a bad kiosk address with its file and line."""
    (tmp_path / "configuration.yaml").write_text(
        "alipay:\n  sandbox: true\n  kiosk:\n    devices:\n      - lobby-pc\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "configuration.yaml:5" in str(err.value) and "lobby-pc" in str(err.value)
