"""Alipay top-up (RSA2 open platform) with its sandbox: a provider that registers with `topup`."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import voluptuous as vol

from integrations.topup.api import VIEWS
from integrations.topup.config import declare_topup, key_text, topup_options, validate_topup
from integrations.topup.const import (
    CONF_GATEWAY,
    CONF_KEYS_DIR,
    CONF_NOTIFY_URL,
    CONF_RETURN_URL,
    CONF_SANDBOX,
)
from integrations.topup.const import DOMAIN as TOPUP
from integrations.topup.limits import limits_in_order, topup_limits
from integrations.topup.orders import OrderStore
from integrations.topup.signing import KeyFormatError, load_private_key, load_public_key
from integrations.topup.start import async_add_provider, async_start_sandbox

from .client import AlipayClient, AlipaySettings
from .const import (
    ALIPAY_ORDER_PREFIX,
    ALIPAY_PRIVATE_PEM,
    ALIPAY_PUBLIC_PEM,
    APP_PRIVATE_PEM,
    APP_PUBLIC_PEM,
    CONF_ALIPAY_PUBLIC_KEY,
    CONF_ALIPAY_PUBLIC_KEY_FILE,
    CONF_APP_ID,
    CONF_PRIVATE_KEY,
    CONF_PRIVATE_KEY_FILE,
    CONF_SELLER_ID,
    CONF_SUBJECT,
    DEFAULT_KEYS_DIR,
    DEFAULT_SANDBOX_PORT,
    DEFAULT_SUBJECT,
    DOMAIN,
    GATEWAY_PRODUCTION,
    NOTIFY_PATH,
    PROVIDER_ALIPAY,
    SANDBOX_APP_ID,
    SANDBOX_SELLER_ID,
)
from .keys import ensure_keys, read_key
from .notify import NotifyView
from .payments import AlipayPayments

if TYPE_CHECKING:
    from scada_core.core import Core, Event, ServiceCall
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)


def _keys_present(conf: dict[str, Any]) -> dict[str, Any]:
    if conf[CONF_SANDBOX] is None:
        for key in (CONF_APP_ID, CONF_SELLER_ID):
            if not conf.get(key):
                raise vol.Invalid(f"{key} is required unless sandbox is on", path=[key])
        if not (conf.get(CONF_PRIVATE_KEY) or conf.get(CONF_PRIVATE_KEY_FILE)):
            raise vol.Invalid("private_key (from !secret) is required unless sandbox is on", path=[CONF_PRIVATE_KEY])
        if not (conf.get(CONF_ALIPAY_PUBLIC_KEY) or conf.get(CONF_ALIPAY_PUBLIC_KEY_FILE)):
            raise vol.Invalid("alipay_public_key is required unless sandbox is on", path=[CONF_ALIPAY_PUBLIC_KEY])
    return conf


CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.All(
            vol.Schema(
                {
                    vol.Optional(CONF_APP_ID): vol.All(str, vol.Length(max=32)),
                    vol.Optional(CONF_SELLER_ID): str,
                    vol.Optional(CONF_PRIVATE_KEY): str,
                    vol.Optional(CONF_PRIVATE_KEY_FILE): str,
                    vol.Optional(CONF_ALIPAY_PUBLIC_KEY): str,
                    vol.Optional(CONF_ALIPAY_PUBLIC_KEY_FILE): str,
                    **topup_options(DEFAULT_SANDBOX_PORT, DEFAULT_KEYS_DIR, CONF_SUBJECT, DEFAULT_SUBJECT),
                }
            ),
            _keys_present,
            limits_in_order,
        )
    },
    extra=vol.ALLOW_EXTRA,
)


def declare_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Declare the sandbox's port."""
    declare_topup(context, DOMAIN, config)


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Check tenants' meters and the merchant's keys (the sandbox makes its own)."""
    if not validate_topup(context, DOMAIN, config, (CONF_PRIVATE_KEY_FILE, CONF_ALIPAY_PUBLIC_KEY_FILE)):
        return
    for text_key, file_key, load in (
        (CONF_PRIVATE_KEY, CONF_PRIVATE_KEY_FILE, load_private_key),
        (CONF_ALIPAY_PUBLIC_KEY, CONF_ALIPAY_PUBLIC_KEY_FILE, load_public_key),
    ):
        try:
            load(key_text(context.path, config, text_key, file_key, None))
        except (KeyFormatError, OSError) as err:
            context.error([DOMAIN, text_key if config.get(text_key) else file_key], f"key unusable: {err}")


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Load keys, start the sandbox when asked, register the notify endpoint, services, sweeps and pages."""
    assert core.db is not None and core.http is not None
    sandbox_conf = config[CONF_SANDBOX]
    sandbox = None
    keys_dir: Path | None = None
    if sandbox_conf is not None:
        keys_dir = core.config.path(sandbox_conf[CONF_KEYS_DIR])
        await core.async_add_executor_job(ensure_keys, keys_dir)
    try:
        private_key = load_private_key(key_text(
            core.config.path, config, CONF_PRIVATE_KEY, CONF_PRIVATE_KEY_FILE,
            keys_dir and keys_dir / APP_PRIVATE_PEM))
        alipay_key = load_public_key(key_text(
            core.config.path, config, CONF_ALIPAY_PUBLIC_KEY, CONF_ALIPAY_PUBLIC_KEY_FILE,
            keys_dir and keys_dir / ALIPAY_PUBLIC_PEM))
    except (KeyFormatError, OSError) as err:
        _LOGGER.error("Alipay keys unusable: %s", err)
        return False
    app_id = config.get(CONF_APP_ID) or SANDBOX_APP_ID
    seller_id = config.get(CONF_SELLER_ID) or SANDBOX_SELLER_ID
    gateway = config.get(CONF_GATEWAY) or GATEWAY_PRODUCTION
    if sandbox_conf is not None and keys_dir is not None:
        from integrations.topup.sandbox import NotifyPolicy  # noqa: PLC0415 - only the demo needs them

        from .sandbox import AlipaySandbox  # noqa: PLC0415

        sandbox = AlipaySandbox(
            load_public_key(read_key(keys_dir, APP_PUBLIC_PEM)),
            load_private_key(read_key(keys_dir, ALIPAY_PRIVATE_PEM)),
            app_id=app_id, seller_id=seller_id,
            policy=NotifyPolicy(sandbox_conf["notify_repeat"], sandbox_conf["notify_delay"],
                                sandbox_conf["lose_notify"]),
        )
        sandbox_gateway = await async_start_sandbox(core, sandbox, sandbox.start, sandbox_conf)
        if sandbox_gateway is None:
            return False
        if not config.get(CONF_GATEWAY):
            gateway = sandbox_gateway

    settings = AlipaySettings(
        app_id=app_id, gateway=gateway, notify_url=config.get(CONF_NOTIFY_URL, ""),
        return_url=config.get(CONF_RETURN_URL), private_key=private_key, alipay_public_key=alipay_key,
    )
    session = aiohttp.ClientSession()
    core.async_on_close(session.close)
    client = AlipayClient(settings, session, core.clock)
    store = OrderStore(core.db, core.clock, PROVIDER_ALIPAY, ALIPAY_ORDER_PREFIX)
    payments = AlipayPayments(core, client, store, topup_limits(config, CONF_SUBJECT))
    payments.sandbox = sandbox
    core.data[DOMAIN] = payments
    core.http.register_view(NotifyView(core, payments, app_id, seller_id, alipay_key))
    for view_class in VIEWS:  # where these were before every provider shared them
        moved = view_class.at(view_class.url.replace(TOPUP, DOMAIN), view_class.name.replace(TOPUP, DOMAIN), DOMAIN)
        core.http.register_view(moved(core, store))
    await async_add_provider(core, payments, settings, NOTIFY_PATH, config)
    return True
