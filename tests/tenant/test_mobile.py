"""The phone pages: logins, balance and meters, usage charts, receipts, remote close; the kiosk's idle logout."""
from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import aiohttp
import pytest
from pypdf import PdfReader

from scada_core.const import EVENT_METER_READING
from tests.alipay.harness import PASSWORDS, PHONES, TZ, Site, kiosk_check_in, running_site, tenant_client
from tests.helpers import wait_for
from tests.tenant.test_usage import HOURS, day_readings

pytestmark = pytest.mark.timeout(60)


def _client(site: Site) -> aiohttp.ClientSession:
    return tenant_client(site.base)


async def _login(site: Site, client: aiohttp.ClientSession, tenant: str, password: str | None = None) -> int:
    async with client.post(f"{site.base}/m/login", allow_redirects=False, data={
        "account_id": str(site.accounts[tenant]), "password": password or PASSWORDS[tenant]}) as resp:
        return resp.status


async def test_password_login_and_wrong_password(site: Site) -> None:
    """The right password opens the home page; a wrong one is refused and logged."""
    async with _client(site) as client:
        assert await _login(site, client, "A", "wrong") == 401
        assert "bad_password" in await site.security_kinds()
        async with client.get(f"{site.base}/m/home", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/m/login"
        assert await _login(site, client, "A") == 302
        async with client.get(f"{site.base}/m/home") as resp:
            page = await resp.text()
        assert "商铺A" in page and "商铺B" not in page and 'id="balance"' in page
        async with client.post(f"{site.base}/m/logout", allow_redirects=False) as resp:
            assert resp.status == 302
        async with client.get(f"{site.base}/m/home", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/m/login"
        for _ in range(9):  # ten wrong passwords in a row lock the account for a while, even for the right one
            assert await _login(site, client, "A", "wrong") == 401
        assert await _login(site, client, "A") == 401
        assert "locked" in await site.security_kinds()
        assert await _login(site, client, "B") == 302
        site.core.config.language = "en"
        async with client.get(f"{site.base}/m/home") as resp:
            assert "Balance" in await resp.text()


async def test_one_time_code_login(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """Without an SMS service the code goes to the log (demo); it works once, a wrong one does not."""
    caplog.set_level(logging.WARNING, logger="web.tenant.auth")
    async with _client(site) as client:
        async with client.post(f"{site.base}/m/login/code/send", data={"phone": PHONES["B"]}) as resp:
            assert resp.status == 200
        code = re.search(r"one-time code for \S+ is (\d{6})", caplog.text).group(1)  # type: ignore[union-attr]
        wrong = "000000" if code != "000000" else "111111"
        async with client.post(f"{site.base}/m/login/code", data={"phone": PHONES["B"], "code": wrong}) as resp:
            assert resp.status == 401
        async with client.post(f"{site.base}/m/login/code", data={"phone": PHONES["B"], "code": code}) as resp:
            assert resp.status == 200 and "商铺B" in await resp.text()
    async with _client(site) as again:
        async with again.post(f"{site.base}/m/login/code", data={"phone": PHONES["B"], "code": code}) as resp:
            assert resp.status == 401  # used once only
    assert "bad_code" in await site.security_kinds()


@pytest.mark.parametrize("now", HOURS, ids=lambda t: t.strftime("%H%M"))
async def test_usage_charts_from_readings(site: Site, now: time) -> None:
    """Daily use is each day's last reading less the one before it, drawn as SVG bars, at any hour of the day
    (the simulator's own live readings, stamped with the real time, are there too)."""
    today = date(2031, 6, 15)
    site.core.clock.freeze(datetime.combine(today, now, TZ))
    for moment, total_wh in day_readings(today, now):
        site.core.bus.async_fire(EVENT_METER_READING, {
            "entity_id": "acrel_dtsy1352.m1", "ts": moment.timestamp(), "total_wh": total_wh, "money_fen": 0,
            "purchase_count": 0, "power_w": 0})
    await site.core.recorder.async_flush()
    async with _client(site) as client:
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/meters/acrel_dtsy1352.m1/usage.svg?range=daily") as resp:
            assert resp.content_type == "image/svg+xml"
            daily = await resp.text()
        async with client.get(f"{site.base}/m/meters/acrel_dtsy1352.m1/usage.svg?range=monthly") as resp:
            monthly = await resp.text()
    bars = dict(re.findall(r"<title>([\d-]+): ([\d.]+) kWh</title>", daily))
    assert len(bars) == 30 and daily.count("<rect") == 30
    day = lambda back: (today - timedelta(days=back)).strftime("%m-%d")  # noqa: E731
    assert [bars[day(n)] for n in (3, 2, 1, 0)] == ["0", "0.4", "2", "1.5"]
    values = [float(v) for v in re.findall(r"<title>\d+: ([\d.]+) kWh</title>", monthly)]
    assert len(values) == 12 and values[5] == pytest.approx(3.9) and sum(values) == pytest.approx(3.9)


async def test_receipt_pdf_and_remote_close(site: Site) -> None:
    """A paid top-up has a receipt PDF with its number; a tripped meter with money can be closed by the tenant,
    but only where the operator allows tenant control."""
    order = await site.payments.create_qr_order(site.accounts["A"], 3000)
    status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(order.out_trade_no)))
    assert status == 200
    paid = await site.payments.store.get(order.out_trade_no)
    assert paid is not None and paid.receipt_no
    await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": "acrel_dtsy1352.m1"})
    async with _client(site) as client:
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/home") as resp:
            page = await resp.text()
        assert f"/m/receipts/{paid.transaction_id}.pdf" in page and "远程合闸" in page
        async with client.get(f"{site.base}/m/receipts/{paid.transaction_id}.pdf") as resp:
            assert resp.content_type == "application/pdf"
            text = PdfReader(io.BytesIO(await resp.read())).pages[0].extract_text()
        assert paid.receipt_no in text and "30.00" in text and "叁拾元整" in text and "alipay" in text
        async with client.post(f"{site.base}/m/meters/acrel_dtsy1352.m1/close", allow_redirects=False) as resp:
            assert resp.status == 302
    await wait_for(lambda: site.core.states.get("acrel_dtsy1352.m1").attributes.get("relay") == "closed",
                   what="relay closed")
    await site.core.data["tenant"].auth.set_credentials(site.accounts["A"], tenant_control=False)
    await site.core.services.async_call("acrel_dtsy1352", "trip", {"entity_id": "acrel_dtsy1352.m1"})
    async with _client(site) as client:  # without the operator's permission: no button, and the route refuses
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/home") as resp:
            assert "远程合闸" not in await resp.text()
        async with client.post(f"{site.base}/m/meters/acrel_dtsy1352.m1/close", allow_redirects=False) as resp:
            assert resp.status == 403


async def test_kiosk_session_ends_when_idle(site: Site) -> None:
    """The kiosk forgets the shop after the idle time."""
    async with _client(site) as client:
        await kiosk_check_in(client, site.base, site.accounts["B"], PASSWORDS["B"])
        async with client.get(f"{site.base}/kiosk/account") as resp:
            page = await resp.text()
            assert "商铺B" in page and 'data-idle="30"' in page
        site.core.clock.offset = timedelta(seconds=31)
        try:
            async with client.get(f"{site.base}/kiosk/account", allow_redirects=False) as resp:
                assert resp.status == 302 and resp.headers["Location"] == "/kiosk/"
        finally:
            site.core.clock.offset = timedelta(0)


async def test_one_time_code_goes_through_notify_sms(tmp_path: Path, keys_dir: Path,
                                                     db_settings: dict[str, str]) -> None:
    """With the notification service loaded the code is queued as an SMS to the tenant's phone, not logged."""
    async with running_site(tmp_path, keys_dir, db_settings, {"notify": {}}) as site, _client(site) as client:
        async with client.post(f"{site.base}/m/login/code/send", data={"phone": PHONES["A"]}) as resp:
            assert resp.status == 200
        rows = await site.core.data["notify"].outbox.async_recent(10, "sms")
        assert [row.target for row in rows] == [PHONES["A"]]
        assert "验证码为 ******" in rows[0].body  # listed masked; the real text waits for the modem apart
        code = re.search(r"验证码为 (\d{6})", rows[0].text).group(1)  # type: ignore[union-attr]
        async with client.post(f"{site.base}/m/login/code", data={"phone": PHONES["A"], "code": code}) as resp:
            assert resp.status == 200 and "商铺A" in await resp.text()


async def test_purchase_history_leaves_out_running_consumption(site: Site) -> None:
    """The meter's own deductions are mirrored in the ledger, but 购电记录 lists money in and out only."""
    billing = site.core.data["billing"]
    account_id = site.accounts["A"]
    order = await site.payments.create_qr_order(account_id, 2000)
    status, _ = await site.notify(site.sandbox.notify_form(site.sandbox.pay(order.out_trade_no)))
    assert status == 200
    await wait_for(lambda: site.sim.meter(1).purchase_count >= 1, what="top-up delivered")
    before = len(await billing.account_history(account_id))
    site.sim.meter(1).remaining_fen -= 123  # the meter spends 1.23 by itself
    await wait_for(
        lambda: site.core.states.get("acrel_dtsy1352.m1").attributes.get("remaining_fen")
        == site.sim.meter(1).remaining_fen,
        what="meter read",
    )
    # Running consumption reaches the ledger once billing's consumption_interval has passed.
    site.core.clock.set_now(site.core.clock.utcnow() + timedelta(seconds=billing.consumption_interval + 1))
    for _ in range(100):
        history = await billing.account_history(account_id)
        if len(history) > before:
            break
        await asyncio.sleep(0.1)
    assert any(tx["kind"] == "consumption" for tx in history), "the consumption is in the ledger"
    async with _client(site) as client:
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/home") as resp:
            page = await resp.text()
    table = re.search(r'<ul id="history" class="history">(.*?)</ul>', page, re.S)
    assert table is not None
    assert "扣费" not in table.group(1) and "1.23" not in table.group(1)
    assert "购电" in table.group(1) and "20.00" in table.group(1), "the top-up still shows"
    assert "支付宝" in table.group(1) and "alipay" not in table.group(1)  # the method in words
    charges = re.search(r'<ul class="history" id="charges">(.*?)</ul>', page, re.S)
    assert charges is not None and charges.group(1).count("<li>") == 7  # one line a day, the last 7 days
    assert "1.23" in charges.group(1), "today's running use, summed for the day"
    today = site.core.clock.now().strftime("%m-%d")
    assert re.search(rf'data-bar="{today}: [\d.]+ kWh · 1.23 元"', page), "the meter's cost on its day's bar"


async def test_purchase_history_pages(site: Site) -> None:
    """Twenty purchases a page, newest first, with links both ways; a page that is not a number is refused."""
    billing = site.core.data["billing"]
    for n in range(23):
        await billing.sell("acrel_dtsy1352.m1", 100 + n, "cash", f"page-{n}", {"id": "admin", "role": "admin"})
    async with _client(site) as client:
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/home") as resp:
            first = await resp.text()
        async with client.get(f"{site.base}/m/home?page=2") as resp:
            second = await resp.text()
        for bad in ("0", "-1", "abc", "99999999999", "1e3"):
            async with client.get(f"{site.base}/m/home", params={"page": bad}) as resp:
                assert resp.status == 400, bad
    rows = [re.search(r'<ul id="history" class="history">(.*?)</ul>', page, re.S) for page in (first, second)]
    assert rows[0] and rows[1]
    assert rows[0].group(1).count("<li>") == 20 and 'id="older"' in first and 'id="newer"' not in first
    assert "1.22" in rows[0].group(1) and "1.22" not in rows[1].group(1)  # the newest sale first
    assert 'id="newer"' in second and 'id="older"' not in second and "1.00" in rows[1].group(1)


async def test_english_switch_is_kept_and_hostile_values_change_nothing(site: Site) -> None:
    """中文 / English from any page: kept in a cookie, every text switched (the method's name too); an unknown
    language changes nothing and a foreign 'next' never leaves the site."""
    async with _client(site) as client:
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/home") as resp:
            page = await resp.text()
            assert "余额" in page and 'href="/m/language?lang=en&amp;next=/m/home"' in page
        async with client.get(f"{site.base}/m/language", params={"lang": "en", "next": "/m/home"},
                              allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/m/home"
        async with client.get(f"{site.base}/m/home") as resp:
            page = await resp.text()
        assert "Balance" in page and "Top up online" in page and "余额" not in page and "中文" in page
        for lang, next_path in (("xx", "//evil.example/"), ("en\r\nSet-Cookie: x=1", "https://evil.example"),
                                ("zh-CN", "/\\evil.example")):
            async with client.get(f"{site.base}/m/language", params={"lang": lang, "next": next_path},
                                  allow_redirects=False) as resp:
                assert resp.status == 302 and resp.headers["Location"] == "/m/home", (lang, next_path)
        async with client.get(f"{site.base}/m/home") as resp:
            assert "余额" in await resp.text()  # the last, valid choice: 中文


async def test_tenant_turns_text_messages_off_and_on(site: Site) -> None:
    """短信提醒: the switch on the home page is what notify asks before texting the account."""
    account_id = site.accounts["A"]
    consents = site.core.data["notify_consent"]
    assert await consents(account_id, "sms") is True
    async with _client(site) as client:
        await _login(site, client, "A")
        async with client.get(f"{site.base}/m/home") as resp:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
        async with client.post(f"{site.base}/m/alerts", data={"csrf": csrf}) as resp:
            assert resp.status == 200 and "您已关闭短信提醒" in await resp.text()
        assert await consents(account_id, "sms") is False and await consents(account_id, "email") is True
        assert await consents(site.accounts["B"], "sms") is True  # another tenant's choice is its own
        async with client.post(f"{site.base}/m/alerts", data={"csrf": csrf, "sms": "on"}) as resp:
            assert resp.status == 200
        assert await consents(account_id, "sms") is True
    async with _client(site) as anonymous:
        async with anonymous.post(f"{site.base}/m/alerts", data={"sms": "on"}, allow_redirects=False) as resp:
            assert resp.status in (401, 403)  # no session, no token: nothing changes
