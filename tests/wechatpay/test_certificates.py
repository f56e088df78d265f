"""Platform certificates in auto mode: downloaded, trusted on first use only, refreshed on rotation, and a
tampered certificate list refused with the trusted set kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from integrations.topup.sandbox import NotifyPolicy
from integrations.wechatpay.aead import encrypt
from integrations.wechatpay.certificates import CertificateError, CertificateKeeper, read_certificates
from integrations.wechatpay.client import WeChatPayError
from integrations.wechatpay.sandbox import TAMPER_CIPHERTEXT, TAMPER_SIGNATURE, WeChatPaySandbox
from scada_core.clock import Clock
from tests.helpers import wait_for

from .conftest import sandbox_client
from .harness import WeChatSite, running_wechat_site

pytestmark = pytest.mark.timeout(90)

KEY = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
async def auto_site(  # type: ignore[no-untyped-def]
    tmp_path: Path, keys_dir: Path, wechat_keys_dir: Path, db_settings: dict[str, str]
) -> AsyncIterator[WeChatSite]:
    """Yield a running site whose WeChat Pay downloads its platform certificates from the sandbox."""
    async with running_wechat_site(
        tmp_path, keys_dir, wechat_keys_dir, db_settings, platform_certificates="auto"
    ) as running:
        await wait_for(lambda: running.wechat.client.verifier.certificates, what="platform certificates")
        yield running


def _keeper(site: WeChatSite) -> CertificateKeeper:
    """Return the site's certificate keeper."""
    keeper = site.wechat.certificates
    assert keeper is not None
    return keeper


async def test_auto_mode_verifies_answers_and_credits_once(auto_site: WeChatSite) -> None:
    """Only the downloaded certificate is trusted; the order answer verifies, two deliveries credit once."""
    sandbox, verifier = auto_site.wechat_sandbox, auto_site.wechat.client.verifier
    assert verifier.keys == {} and set(verifier.certificates) == {sandbox.certificates[0].serial}
    assert sandbox.certificate_downloads == 1
    before = await auto_site.balance("A")
    order, _ = await auto_site.wechat.create_wap_order(auto_site.accounts["A"], 3000, payer_ip="10.0.0.8")
    sandbox.pay(order.out_trade_no, NotifyPolicy(repeat=2))
    await auto_site.credited(order.out_trade_no)
    await wait_for(lambda: len(sandbox.notify_log) >= 2, what="two notifications")
    assert [entry[1] for entry in sandbox.notify_log] == [204, 204]
    assert await auto_site.balance("A") == before + 3000
    assert sandbox.certificate_downloads == 1


async def test_rotation_is_picked_up_by_the_next_notification(auto_site: WeChatSite) -> None:
    """A notification under a rotated serial fetches the list once and is accepted; a junk serial is not."""
    sandbox, verifier = auto_site.wechat_sandbox, auto_site.wechat.client.verifier
    old = sandbox.certificates[0].serial
    order, _ = await auto_site.wechat.create_wap_order(auto_site.accounts["B"], 2000, payer_ip="10.0.0.9")
    new = await sandbox.rotate_certificate()
    sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    headers, body = sandbox.notification(sandbox.trades[order.out_trade_no])
    assert headers["Wechatpay-Serial"] == new.serial != old
    assert (await auto_site.post_notify(headers, body))[0] == 204
    assert (await auto_site.wechat.store.get(order.out_trade_no)).credited  # type: ignore[union-attr]
    assert set(verifier.certificates) == {old, new.serial} and sandbox.certificate_downloads == 2

    headers, body = sandbox.notification(sandbox.trades[order.out_trade_no])
    status, _ = await auto_site.post_notify({**headers, "Wechatpay-Serial": "ABCDEF0123456789"}, body)
    assert status == 401 and sandbox.certificate_downloads == 2
    assert "unknown_serial" in await auto_site.security_kinds()


async def test_tampered_list_is_refused_and_the_set_kept(auto_site: WeChatSite) -> None:
    """A bad signature, a bad ciphertext or a list signed under an untrusted certificate keep the set."""
    sandbox, verifier, keeper = auto_site.wechat_sandbox, auto_site.wechat.client.verifier, _keeper(auto_site)
    trusted = dict(verifier.certificates)
    new = await sandbox.rotate_certificate()
    for tamper in (TAMPER_SIGNATURE, TAMPER_CIPHERTEXT):
        sandbox.tamper_certificates = tamper
        assert not await keeper.refresh()
        assert verifier.certificates == trusted
    sandbox.tamper_certificates = None
    first = sandbox.certificates.pop(0)  # the list now signed under the new, untrusted certificate only
    assert not await keeper.refresh()
    assert verifier.certificates == trusted
    sandbox.certificates.insert(0, first)
    assert await keeper.refresh()
    assert set(verifier.certificates) == {*trusted, new.serial}


async def test_first_download_trusts_its_own_certificates(
    sandbox: WeChatPaySandbox, wechat_keys_dir: Path
) -> None:
    """Bootstrap: the first list verifies under a certificate it holds, unless tampered; 404 keeps none."""
    async with aiohttp.ClientSession() as session:
        client = sandbox_client(wechat_keys_dir, sandbox.base_url, session, public=None)
        keeper = CertificateKeeper(client, sandbox.apiv3_key, Clock())
        client.verifier.on_unknown_serial = keeper.refresh_for
        for tamper in (TAMPER_SIGNATURE, TAMPER_CIPHERTEXT):
            sandbox.tamper_certificates = tamper
            assert not await keeper.refresh() and client.verifier.certificates == {}
        sandbox.tamper_certificates = None
        listed, sandbox.certificates = sandbox.certificates, []
        assert not await keeper.refresh() and client.verifier.certificates == {}  # 404 RESOURCE_NOT_EXISTS
        sandbox.certificates = listed
        sandbox.certificate_mode = True
        assert await keeper.refresh() and set(client.verifier.certificates) == {listed[0].serial}
        with pytest.raises(WeChatPayError) as caught:
            await client.query("TW404404")
        assert caught.value.code == "ORDER_NOT_EXIST"  # the answer verified under the downloaded certificate


def _entry(pem: str, serial: str, expire: str, ciphertext: str | None = None) -> dict[str, object]:
    """Return one /v3/certificates item sealing ``pem`` with KEY."""
    return {
        "serial_no": serial,
        "effective_time": "2024-01-01T00:00:00+08:00",
        "expire_time": expire,
        "encrypt_certificate": {
            "algorithm": "AEAD_AES_256_GCM",
            "nonce": "abcdefghijkl",
            "associated_data": "certificate",
            "ciphertext": ciphertext or encrypt(KEY, "abcdefghijkl", "certificate", pem.encode()),
        },
    }


def test_read_certificates_keeps_the_unexpired(wechat_keys_dir: Path) -> None:
    """Expired entries are dropped; no unexpired one, a naive time, a bad tag or a non-list is an error."""
    pem = (wechat_keys_dir / "wechatpay_cert.pem").read_text()
    now = datetime.now(timezone.utc)
    later, earlier = (now + timedelta(days=1)).isoformat(), (now - timedelta(days=1)).isoformat()
    keys = read_certificates({"data": [_entry(pem, "aa11", later), _entry(pem, "BB22", earlier)]}, KEY, now)
    assert set(keys) == {"AA11"}
    for data in (
        {"data": [_entry(pem, "BB22", earlier)]},
        {"data": [_entry(pem, "AA11", "2999-01-01T00:00:00")]},
        {"data": [_entry(pem, "AA11", later, "QUJD" * 8)]},
        {"data": [_entry("not a certificate", "AA11", later)]},
        {"data": [{"serial_no": "AA11"}]},
        {"data": "none"},
    ):
        with pytest.raises(CertificateError):
            read_certificates(data, KEY, now)
