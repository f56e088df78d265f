"""WeChat Pay API v3 top-up (H5 on phones, Native QR at the kiosk) with its sandbox: a provider that registers
with `topup`, with or without Alipay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from Crypto.PublicKey import RSA

from integrations.topup.config import declare_topup, key_text, validate_topup
from integrations.topup.limits import topup_limits
from integrations.topup.orders import OrderStore
from integrations.topup.sandbox import NotifyPolicy
from integrations.topup.signing import KeyFormatError, load_private_key, load_public_key
from integrations.topup.start import async_add_provider

from .certificates import CertificateKeeper
from .client import WeChatPayClient, WeChatPaySettings
from .config import CONFIG_SCHEMA
from .const import (
    APIV3_KEY_FILE,
    CHARSET,
    CONF_APIV3_KEY,
    CONF_APPID,
    CONF_DESCRIPTION,
    CONF_GATEWAY,
    CONF_HOST,
    CONF_KEYS_DIR,
    CONF_MCHID,
    CONF_NOTIFY_URL,
    CONF_PLATFORM_CERTIFICATES,
    CONF_PORT,
    CONF_PRIVATE_KEY,
    CONF_PRIVATE_KEY_FILE,
    CONF_PUBLIC_KEY,
    CONF_PUBLIC_KEY_FILE,
    CONF_PUBLIC_KEY_ID,
    CONF_RETURN_URL,
    CONF_SANDBOX,
    CONF_SERIAL_NO,
    DOMAIN,
    GATEWAY_PRODUCTION,
    MERCHANT_PRIVATE_PEM,
    MERCHANT_PUBLIC_PEM,
    NOTIFY_PATH,
    ORDER_PREFIX,
    PLATFORM_CERTIFICATES_AUTO,
    PROVIDER,
    SANDBOX_APPID,
    SANDBOX_MCHID,
    SANDBOX_PUBLIC_KEY_ID,
    SANDBOX_SERIAL_NO,
    WECHATPAY_PRIVATE_PEM,
    WECHATPAY_PUBLIC_PEM,
)
from .keys import ensure_keys, load_platform_certificate, read_text
from .notify import WeChatNotifyView
from .payments import WeChatPayments
from .verifier import WeChatPayVerifier

if TYPE_CHECKING:
    from scada_core.core import Core
    from scada_core.validation import ConfigContext

__all__ = ["CONFIG_SCHEMA", "async_setup", "declare_config", "validate_config"]

_LOGGER = logging.getLogger(__name__)


def declare_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Declare the sandbox's port."""
    declare_topup(context, DOMAIN, config)


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Check tenants' meters and the merchant's keys (the sandbox makes its own)."""
    if validate_topup(context, DOMAIN, config, (CONF_PRIVATE_KEY_FILE, CONF_PUBLIC_KEY_FILE)):
        try:
            load_keys(context.path, config, None)
        except (KeyFormatError, OSError, ValueError) as err:
            context.error([DOMAIN], f"keys unusable: {err}")


@dataclass(frozen=True, slots=True)
class MerchantKeys:
    """The merchant's signing key, the APIv3 key, and WeChat Pay's verifying keys by serial / PUB_KEY_ID."""

    private_key: RSA.RsaKey
    apiv3_key: bytes
    verify_keys: dict[str, RSA.RsaKey]


def load_keys(
    config_path: Callable[[str], Path], config: dict[str, Any], keys_dir: Path | None
) -> MerchantKeys:
    """Read every key from the configuration, its files, or the sandbox keys dir (blocking)."""
    private_key = load_private_key(
        key_text(
            config_path,
            config,
            CONF_PRIVATE_KEY,
            CONF_PRIVATE_KEY_FILE,
            keys_dir and keys_dir / MERCHANT_PRIVATE_PEM,
        )
    )
    apiv3 = config.get(CONF_APIV3_KEY)
    if not apiv3:
        assert keys_dir is not None  # the schema asks for apiv3_key unless the sandbox is on
        apiv3 = read_text(keys_dir, APIV3_KEY_FILE)
    certificates = config[CONF_PLATFORM_CERTIFICATES]
    auto = certificates == PLATFORM_CERTIFICATES_AUTO
    verify_keys: dict[str, RSA.RsaKey] = (
        {} if auto else {serial.upper(): load_public_key(pem) for serial, pem in certificates.items()}
    )
    sandbox_public_key = keys_dir is not None and not auto  # an auto-mode sandbox signs under its certificate
    if config.get(CONF_PUBLIC_KEY) or config.get(CONF_PUBLIC_KEY_FILE) or sandbox_public_key:
        public_key = load_public_key(
            key_text(
                config_path,
                config,
                CONF_PUBLIC_KEY,
                CONF_PUBLIC_KEY_FILE,
                keys_dir and keys_dir / WECHATPAY_PUBLIC_PEM,
            )
        )
        verify_keys[config.get(CONF_PUBLIC_KEY_ID) or SANDBOX_PUBLIC_KEY_ID] = public_key
    return MerchantKeys(private_key, apiv3.encode(CHARSET), verify_keys)


async def _start_sandbox(core: Core, config: dict[str, Any], keys_dir: Path, keys: MerchantKeys) -> Any:
    """Start the in-process sandbox for the configured merchant; None if it cannot listen."""
    from .sandbox import WeChatPaySandbox  # noqa: PLC0415 - only the demo and tests need it

    conf = config[CONF_SANDBOX]
    merchant_public = await core.async_add_executor_job(read_text, keys_dir, MERCHANT_PUBLIC_PEM)
    wechatpay_private = await core.async_add_executor_job(read_text, keys_dir, WECHATPAY_PRIVATE_PEM)
    certificate = await core.async_add_executor_job(load_platform_certificate, keys_dir)
    certificate_mode = config[CONF_PLATFORM_CERTIFICATES] == PLATFORM_CERTIFICATES_AUTO
    if certificate_mode and certificate is None:
        _LOGGER.error("WeChat Pay sandbox: platform_certificates auto needs the openssl command to make one")
        return None
    sandbox = WeChatPaySandbox(
        load_public_key(merchant_public),
        load_private_key(wechatpay_private),
        keys.apiv3_key,
        mchid=config.get(CONF_MCHID) or SANDBOX_MCHID,
        appid=config.get(CONF_APPID) or SANDBOX_APPID,
        serial_no=config.get(CONF_SERIAL_NO) or SANDBOX_SERIAL_NO,
        public_key_id=config.get(CONF_PUBLIC_KEY_ID) or SANDBOX_PUBLIC_KEY_ID,
        policy=NotifyPolicy(conf["notify_repeat"], conf["notify_delay"], conf["lose_notify"]),
        certificate=certificate,
        certificate_mode=certificate_mode,
    )
    try:
        await sandbox.start(conf[CONF_HOST], conf[CONF_PORT])
    except OSError as err:
        _LOGGER.error(
            "WeChat Pay sandbox cannot listen on %s:%s: %s",
            conf[CONF_HOST],
            conf[CONF_PORT],
            err.strerror or err,
        )
        await sandbox.stop()
        return None
    core.async_on_stop(sandbox.stop)
    return sandbox


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Load keys, start the sandbox when asked, register the notify endpoint, services, sweep and pages."""
    assert core.db is not None and core.http is not None
    keys_dir: Path | None = None
    if config[CONF_SANDBOX] is not None:
        keys_dir = core.config.path(config[CONF_SANDBOX][CONF_KEYS_DIR])
        await core.async_add_executor_job(ensure_keys, keys_dir)
    try:
        keys = await core.async_add_executor_job(load_keys, core.config.path, config, keys_dir)
    except (KeyFormatError, OSError, ValueError) as err:
        _LOGGER.error("WeChat Pay keys unusable: %s", err)
        return False
    gateway = config.get(CONF_GATEWAY) or GATEWAY_PRODUCTION
    sandbox = None
    if keys_dir is not None:
        sandbox = await _start_sandbox(core, config, keys_dir, keys)
        if sandbox is None:
            return False
        gateway = config.get(CONF_GATEWAY) or sandbox.base_url

    settings = WeChatPaySettings(
        mchid=config.get(CONF_MCHID) or SANDBOX_MCHID,
        appid=config.get(CONF_APPID) or SANDBOX_APPID,
        serial_no=config.get(CONF_SERIAL_NO) or SANDBOX_SERIAL_NO,
        private_key=keys.private_key,
        gateway=gateway.rstrip("/"),
        notify_url=config.get(CONF_NOTIFY_URL, ""),
        return_url=config.get(CONF_RETURN_URL),
    )
    session = aiohttp.ClientSession()
    core.async_on_close(session.close)
    verifier = WeChatPayVerifier(keys.verify_keys, core.clock)
    client = WeChatPayClient(settings, verifier, session, core.clock)
    store = OrderStore(core.db, core.clock, PROVIDER, ORDER_PREFIX)
    payments = WeChatPayments(core, client, store, topup_limits(config, CONF_DESCRIPTION))
    payments.sandbox = sandbox
    if config[CONF_PLATFORM_CERTIFICATES] == PLATFORM_CERTIFICATES_AUTO:
        payments.certificates = CertificateKeeper(client, keys.apiv3_key, core.clock)
        verifier.on_unknown_serial = payments.certificates.refresh_for
        core.async_create_task(payments.certificates.run(), "wechatpay platform certificates")
    core.data[DOMAIN] = payments
    core.http.register_view(WeChatNotifyView(core, payments, verifier, keys.apiv3_key))
    await async_add_provider(core, payments, settings, NOTIFY_PATH, config)
    return True
