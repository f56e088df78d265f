"""WeChat Pay alone sets up the tenant pages and the kiosk; its configuration is checked before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import voluptuous as vol

from integrations.wechatpay.config import CONFIG_SCHEMA
from tests.alipay.harness import PASSWORDS, kiosk_check_in, tenant_client

from .harness import running_wechat_site

pytestmark = pytest.mark.timeout(60)


async def test_wechat_pay_alone_serves_the_phone_page_and_the_kiosk(
    tmp_path: Path, keys_dir: Path, wechat_keys_dir: Path, db_settings: dict[str, str]
) -> None:
    """Without Alipay the phone page and the kiosk offer WeChat Pay only, and it is the default provider."""
    async with running_wechat_site(tmp_path, keys_dir, wechat_keys_dir, db_settings, alipay=False) as site:
        assert "alipay" not in site.core.data and site.core.services.has_service(
            "wechatpay", "set_tenant_login"
        )
        async with tenant_client(site.base) as client:
            async with client.post(
                f"{site.base}/m/login",
                data={"account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]},
            ) as resp:
                home = await resp.text()
            assert 'value="wechatpay"' in home and "微信支付" in home and 'value="alipay"' not in home
            async with client.post(
                f"{site.base}/m/topup", data={"amount": "20.00"}, allow_redirects=False
            ) as resp:
                assert resp.headers["Location"].startswith(site.wechat_sandbox.base_url)
            async with client.post(
                f"{site.base}/m/topup", data={"amount": "20.00", "provider": "alipay"}
            ) as resp:
                assert resp.status == 400
            site.core.config.language = "en"
            async with client.get(f"{site.base}/m/home") as resp:
                assert "WeChat Pay" in await resp.text()
            await kiosk_check_in(client, site.base, site.accounts["B"], PASSWORDS["B"])
            async with client.get(f"{site.base}/kiosk/account") as resp:
                kiosk = await resp.text()
            assert 'id="pay-wechatpay"' in kiosk and 'id="pay-alipay"' not in kiosk
            async with client.post(f"{site.base}/kiosk/topup", data={"amount_fen": "5000"}) as resp:
                assert (
                    resp.url.path.startswith("/kiosk/pay/TW")
                    and "Scan with WeChat to pay" in await resp.text()
                )


MERCHANT = {
    "mchid": "1230000109",
    "appid": "wxd678efh567hg6787",
    "serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "private_key": "-----BEGIN PRIVATE KEY-----...",
    "apiv3_key": "a" * 32,
    "wechatpay_public_key": "-----BEGIN PUBLIC KEY-----...",
    "wechatpay_public_key_id": "PUB_KEY_ID_0112300001092025000000000000000001",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"apiv3_key": "short"}, "32 ASCII"),
        ({"mchid": None}, "mchid is required"),
        ({"wechatpay_public_key_id": None}, "wechatpay_public_key_id"),
        ({"wechatpay_public_key": None}, "platform_certificates"),
        ({"wechatpay_public_key_id": "5157F09E"}, "does not match"),
        ({"min_amount": "0.001"}, "two decimals"),
        ({"platform_certificates": "download"}, "platform_certificates must be `auto`"),
        ({"platform_certificates": {"not-a-serial": "PEM"}}, "platform_certificates: every key"),
    ],
)
def test_config_mistakes_are_named(change: dict[str, object], problem: str) -> None:
    """A merchant configuration missing or mangling a credential is refused with the key named."""
    conf = {k: v for k, v in {**MERCHANT, **change}.items() if v is not None}
    with pytest.raises(vol.Invalid, match=problem):
        CONFIG_SCHEMA({"wechatpay": conf})


def test_config_merchant_and_platform_certificate_modes() -> None:
    """Public-key mode and both platform-certificate modes (map, `auto`) validate; a sandbox needs no more."""
    assert CONFIG_SCHEMA({"wechatpay": MERCHANT})["wechatpay"]["sandbox"] is None
    certificates = {k: v for k, v in MERCHANT.items() if not k.startswith("wechatpay_public_key")}
    certificates["platform_certificates"] = {
        "3775B6A45ACD588826D15E583A95F5DD": "-----BEGIN CERTIFICATE-----..."
    }
    assert CONFIG_SCHEMA({"wechatpay": certificates})["wechatpay"]["platform_certificates"]
    certificates["platform_certificates"] = "Auto"
    assert CONFIG_SCHEMA({"wechatpay": certificates})["wechatpay"]["platform_certificates"] == "auto"
    sandbox = CONFIG_SCHEMA({"wechatpay": {"sandbox": True}})["wechatpay"]["sandbox"]
    assert sandbox["port"] == 9010 and sandbox["keys_dir"] == ".wechatpay_sandbox"
