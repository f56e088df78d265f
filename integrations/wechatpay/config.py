"""The `wechatpay:` configuration schema."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from integrations.topup.config import topup_options
from integrations.topup.limits import limits_in_order

from .const import (
    APIV3_KEY_BYTES,
    CONF_APIV3_KEY,
    CONF_APPID,
    CONF_DESCRIPTION,
    CONF_MCHID,
    CONF_PLATFORM_CERTIFICATES,
    CONF_PRIVATE_KEY,
    CONF_PRIVATE_KEY_FILE,
    CONF_PUBLIC_KEY,
    CONF_PUBLIC_KEY_FILE,
    CONF_PUBLIC_KEY_ID,
    CONF_SANDBOX,
    CONF_SERIAL_NO,
    DEFAULT_DESCRIPTION,
    DEFAULT_KEYS_DIR,
    DEFAULT_SANDBOX_PORT,
    DOMAIN,
    PLATFORM_CERTIFICATES_AUTO,
)

PUBLIC_KEY_ID = r"^PUB_KEY_ID_[0-9A-Za-z_]+$"
SERIAL = r"^[0-9A-Fa-f]{8,64}$"


def apiv3_key(value: Any) -> str:
    """Accept the 32-byte APIv3 key (ASCII, as set in 商户平台 → API安全)."""
    text = str(value)
    if len(text.encode("utf-8")) != APIV3_KEY_BYTES or not text.isascii():
        raise vol.Invalid(f"the APIv3 key must be {APIV3_KEY_BYTES} ASCII characters")
    return text


_CERTIFICATE_MAP = vol.Schema({vol.Match(SERIAL): str})


def platform_certificates(value: Any) -> str | dict[str, str]:
    """Accept `auto` (download and refresh them) or a map of certificate serial → certificate PEM."""
    if isinstance(value, str) and value.strip().lower() == PLATFORM_CERTIFICATES_AUTO:
        return PLATFORM_CERTIFICATES_AUTO
    if isinstance(value, dict):
        try:
            return dict(_CERTIFICATE_MAP(value))
        except vol.Invalid as err:
            raise vol.Invalid(
                f"{CONF_PLATFORM_CERTIFICATES}: every key must be a hex certificate serial and every value "
                f"its PEM ({err})"
            ) from None
    raise vol.Invalid(
        f"{CONF_PLATFORM_CERTIFICATES} must be `{PLATFORM_CERTIFICATES_AUTO}` "
        "or a map of serial: certificate PEM"
    )


def _keys_present(conf: dict[str, Any]) -> dict[str, Any]:
    """Outside the sandbox require every merchant credential and a key to verify WeChat Pay's signatures."""
    if conf[CONF_SANDBOX] is not None:
        return conf
    for key in (CONF_MCHID, CONF_APPID, CONF_SERIAL_NO, CONF_APIV3_KEY):
        if not conf.get(key):
            raise vol.Invalid(f"{key} is required unless sandbox is on", path=[key])
    if not (conf.get(CONF_PRIVATE_KEY) or conf.get(CONF_PRIVATE_KEY_FILE)):
        raise vol.Invalid(
            "private_key (apiclient_key.pem, from !secret) is required unless sandbox is on",
            path=[CONF_PRIVATE_KEY],
        )
    has_public_key = conf.get(CONF_PUBLIC_KEY) or conf.get(CONF_PUBLIC_KEY_FILE)
    if has_public_key and not conf.get(CONF_PUBLIC_KEY_ID):
        raise vol.Invalid(
            "wechatpay_public_key_id (PUB_KEY_ID_…) is required with the public key",
            path=[CONF_PUBLIC_KEY_ID],
        )
    if not has_public_key and not conf[CONF_PLATFORM_CERTIFICATES]:
        raise vol.Invalid(
            "wechatpay_public_key (微信支付公钥) or platform_certificates is required", path=[CONF_PUBLIC_KEY]
        )
    return conf


CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.All(
            vol.Schema(
                {
                    vol.Optional(CONF_MCHID): vol.All(vol.Coerce(str), vol.Match(r"^[0-9]{8,32}$")),
                    vol.Optional(CONF_APPID): vol.All(str, vol.Length(max=32)),
                    vol.Optional(CONF_SERIAL_NO): vol.All(str, vol.Match(SERIAL)),
                    vol.Optional(CONF_PRIVATE_KEY): str,
                    vol.Optional(CONF_PRIVATE_KEY_FILE): str,
                    vol.Optional(CONF_APIV3_KEY): apiv3_key,
                    vol.Optional(CONF_PUBLIC_KEY): str,
                    vol.Optional(CONF_PUBLIC_KEY_FILE): str,
                    vol.Optional(CONF_PUBLIC_KEY_ID): vol.Match(PUBLIC_KEY_ID),
                    vol.Optional(CONF_PLATFORM_CERTIFICATES, default={}): platform_certificates,
                    **topup_options(
                        DEFAULT_SANDBOX_PORT, DEFAULT_KEYS_DIR, CONF_DESCRIPTION, DEFAULT_DESCRIPTION
                    ),
                }
            ),
            _keys_present,
            limits_in_order,
        )
    },
    extra=vol.ALLOW_EXTRA,
)
