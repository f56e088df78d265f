"""One-time login codes are capped per phone and per local day (the site's time zone, from the core's clock):
how many codes a phone is sent, and how many wrong codes are tried with it over all its codes."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from tests.alipay.harness import PHONES, TZ, Site, tenant_client
from web.tenant.const import CODE_DAY_SENDS, CODE_DAY_WRONG, CODE_MAX_ATTEMPTS, CODE_RESEND_GAP

pytestmark = pytest.mark.timeout(90)

CODE_LOG = re.compile(r"one-time code for \S+ is (\d{6})")


@pytest.fixture
def frozen(site: Site) -> Iterator[None]:
    """Give the test the core's clock to move, and put it back afterwards."""
    yield
    site.core.clock.offset = timedelta(0)


def _at(site: Site, day: int, hour: int, minute: int) -> None:
    site.core.clock.set_now(datetime(2026, 3, day, hour, minute, tzinfo=TZ))


async def _send(client: aiohttp.ClientSession, site: Site) -> tuple[int, str]:
    async with client.post(f"{site.base}/m/login/code/send", data={"phone": PHONES["A"]}) as resp:
        return resp.status, await resp.text()


async def _try(client: aiohttp.ClientSession, site: Site, code: str) -> tuple[int, str]:
    async with client.post(f"{site.base}/m/login/code", data={"phone": PHONES["A"], "code": code},
                           allow_redirects=False) as resp:
        return resp.status, await resp.text()


def _codes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return CODE_LOG.findall(caplog.text)


async def test_codes_sent_per_phone_per_day(site: Site, frozen: None, caplog: pytest.LogCaptureFixture) -> None:
    """Five codes a local day; the sixth is refused with a clear message and never sent, until local midnight
    (00:00 Asia/Shanghai is 16:00 UTC, so a UTC day would get this wrong)."""
    caplog.set_level(logging.WARNING, logger="web.tenant.auth")
    async with tenant_client(site.base) as client:
        for number in range(CODE_DAY_SENDS):
            _at(site, 10, 8, 2 * number)  # minutes apart: past the resend gap
            assert (await _send(client, site))[0] == 200
        assert len(_codes(caplog)) == CODE_DAY_SENDS
        for hour, minute in ((9, 0), (23, 59)):
            _at(site, 10, hour, minute)
            status, page = await _send(client, site)
            assert status == 429 and "今天获取验证码的次数已达上限" in page
        assert len(_codes(caplog)) == CODE_DAY_SENDS
        site.core.config.language = "en"
        status, page = await _send(client, site)
        assert status == 429 and "as many codes as allowed today" in page
        site.core.config.language = "zh-CN"
        _at(site, 11, 0, 1)
        status, page = await _send(client, site)
        assert status == 200 and 'name="code"' in page
        assert len(_codes(caplog)) == CODE_DAY_SENDS + 1
        assert (await _try(client, site, _codes(caplog)[-1]))[0] == 302


async def test_wrong_codes_per_phone_per_day(site: Site, frozen: None, caplog: pytest.LogCaptureFixture) -> None:
    """Each code takes five guesses, and a new code does not buy more: after ten wrong codes a local day even the
    right code is refused (and counted as a security event) until the next local day."""
    caplog.set_level(logging.WARNING, logger="web.tenant.auth")
    async with tenant_client(site.base) as client:
        _at(site, 10, 12, 0)
        guesses = 0
        while guesses < CODE_DAY_WRONG:
            assert (await _send(client, site))[0] == 200
            code = _codes(caplog)[-1]
            for _ in range(CODE_MAX_ATTEMPTS):
                wrong = f"{(int(code) + 1 + guesses) % 1_000_000:06d}"
                status, _ = await _try(client, site, wrong)
                assert status == 401
                guesses += 1
            site.core.clock.offset += timedelta(seconds=CODE_RESEND_GAP + 1)
        assert (await site.security_kinds()).count("bad_code") == CODE_DAY_WRONG
        assert (await _send(client, site))[0] == 200
        status, page = await _try(client, site, _codes(caplog)[-1])  # the right code, too late today
        assert status == 429 and "今天输错验证码的次数过多" in page
        assert "code_locked" in await site.security_kinds()
        async with client.get(f"{site.base}/m/home", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/m/login"
        _at(site, 11, 0, 1)
        assert (await _send(client, site))[0] == 200
        assert (await _try(client, site, _codes(caplog)[-1]))[0] == 302


async def test_codes_refuse_what_is_no_phone_number(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """Huge, non-ASCII or newline 'phones' send nothing, log nothing of themselves and log nobody in."""
    caplog.set_level(logging.WARNING)
    async with tenant_client(site.base) as client:
        for phone in ("1" * 5000, "１３８００００００01", f"{PHONES['A']}\nforged", "+"):
            async with client.post(f"{site.base}/m/login/code/send", data={"phone": phone}) as resp:
                assert resp.status == 200
            async with client.post(f"{site.base}/m/login/code", data={"phone": phone, "code": "123456"}) as resp:
                assert resp.status == 401
    assert "one-time code" not in caplog.text and "forged" not in caplog.text and "1" * 100 not in caplog.text
