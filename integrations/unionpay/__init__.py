"""UnionPay top-up (银联全渠道 ACP 5.1.0) with its sandbox: a provider that registers with `topup`."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import voluptuous as vol

from integrations.topup.config import declare_topup, key_text, topup_options, validate_topup
from integrations.topup.const import (
    CONF_GATEWAY,
    CONF_KEYS_DIR,
    CONF_NOTIFY_URL,
    CONF_RETURN_URL,
    CONF_SANDBOX,
)
from integrations.topup.limits import limits_in_order, topup_limits
from integrations.topup.orders import OrderStore
from integrations.topup.start import async_add_provider, async_start_sandbox
from scada_core.const import EVENT_CORE_STARTED

from .certs import CertificateError, TrustChain, load_cert, load_key
from .client import UnionPayClient, UnionPaySettings
from .const import (
    CONF_MER_ID,
    CONF_MIDDLE_CERT_FILE,
    CONF_ROOT_CERT_FILE,
    CONF_SIGN_CERT_FILE,
    CONF_SIGN_KEY,
    CONF_SIGN_KEY_FILE,
    CONF_SIGNER_NAME,
    CONF_SUBJECT,
    DEFAULT_KEYS_DIR,
    DEFAULT_SANDBOX_PORT,
    DEFAULT_SUBJECT,
    DOMAIN,
    FRONT_PATH,
    GATEWAY_PRODUCTION,
    NOTIFY_PATH,
    PROVIDER_UNIONPAY,
    RETURN_PATH,
    SANDBOX_MER_ID,
    UNIONPAY_ORDER_PREFIX,
    UNIONPAY_SIGNER,
)
from .keys import SandboxCerts, ensure_certs, read_certs
from .payments import UnionPayPayments
from .views import FrontFormView, FrontReturnView, NotifyView

if TYPE_CHECKING:
    from scada_core.core import Core, Event
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)
CERT_FILES = (CONF_SIGN_CERT_FILE, CONF_ROOT_CERT_FILE, CONF_MIDDLE_CERT_FILE)


def _merchant_present(conf: dict[str, Any]) -> dict[str, Any]:
    if conf[CONF_SANDBOX] is None:
        for key in (CONF_MER_ID, *CERT_FILES):
            if not conf.get(key):
                raise vol.Invalid(f"{key} is required unless sandbox is on", path=[key])
        if not (conf.get(CONF_SIGN_KEY) or conf.get(CONF_SIGN_KEY_FILE)):
            raise vol.Invalid("sign_key (from !secret) is required unless sandbox is on", path=[CONF_SIGN_KEY])
    return conf


CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.All(
            vol.Schema(
                {
                    vol.Optional(CONF_MER_ID): vol.All(vol.Coerce(str), vol.Match(r"^[0-9A-Za-z]{15}$",
                                                                                   msg="merId has 15 characters")),
                    vol.Optional(CONF_SIGN_KEY): str,
                    vol.Optional(CONF_SIGN_KEY_FILE): str,
                    vol.Optional(CONF_SIGN_CERT_FILE): str,
                    vol.Optional(CONF_ROOT_CERT_FILE): str,
                    vol.Optional(CONF_MIDDLE_CERT_FILE): str,
                    vol.Optional(CONF_SIGNER_NAME, default=UNIONPAY_SIGNER): str,
                    **topup_options(DEFAULT_SANDBOX_PORT, DEFAULT_KEYS_DIR, CONF_SUBJECT, DEFAULT_SUBJECT),
                }
            ),
            _merchant_present,
            limits_in_order,
        )
    },
    extra=vol.ALLOW_EXTRA,
)


def declare_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Declare the sandbox's port."""
    declare_topup(context, DOMAIN, config)


def _merchant_files(path: Any, config: dict[str, Any]) -> tuple[Any, Any, TrustChain]:
    """Read the merchant's key and certificate and UnionPay's root and middle certificates (blocking)."""
    key = load_key(key_text(path, config, CONF_SIGN_KEY, CONF_SIGN_KEY_FILE, None))
    cert, root, middle = (load_cert(path(config[name]).read_text()) for name in CERT_FILES)
    return key, cert, TrustChain(root, middle, config[CONF_SIGNER_NAME])


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Check tenants' meters and the merchant's key and certificates (the sandbox makes its own)."""
    if not validate_topup(context, DOMAIN, config, (CONF_SIGN_KEY_FILE, *CERT_FILES)):
        return
    try:
        _merchant_files(context.path, config)
    except (CertificateError, OSError) as err:
        context.error([DOMAIN, CONF_SIGN_KEY if config.get(CONF_SIGN_KEY) else CONF_SIGN_KEY_FILE],
                      f"key or certificate unusable: {err}")


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Load the certificates, start the sandbox when asked, register the endpoints, services, sweeps and pages."""
    assert core.db is not None and core.http is not None
    sandbox_conf = config[CONF_SANDBOX]
    sandbox = None
    gateway = config.get(CONF_GATEWAY) or GATEWAY_PRODUCTION
    mer_id = config.get(CONF_MER_ID) or SANDBOX_MER_ID
    try:
        if sandbox_conf is not None:
            keys_dir: Path = core.config.path(sandbox_conf[CONF_KEYS_DIR])
            certs: SandboxCerts = await core.async_add_executor_job(lambda: read_certs(ensure_certs(keys_dir)))
            key, cert = certs.merchant_key, certs.merchant
            chain = TrustChain(certs.root, certs.middle, config[CONF_SIGNER_NAME])
        else:
            key, cert, chain = await core.async_add_executor_job(_merchant_files, core.config.path, config)
    except (CertificateError, OSError) as err:
        _LOGGER.error("UnionPay key or certificates unusable: %s", err)
        return False
    if sandbox_conf is not None:
        from integrations.topup.sandbox import NotifyPolicy  # noqa: PLC0415 - only the demo needs them

        from .sandbox import UnionPaySandbox  # noqa: PLC0415

        sandbox = UnionPaySandbox(certs, mer_id, NotifyPolicy(
            sandbox_conf["notify_repeat"], sandbox_conf["notify_delay"], sandbox_conf["lose_notify"]))
        sandbox_gateway = await async_start_sandbox(core, sandbox, sandbox.start, sandbox_conf)
        if sandbox_gateway is None:
            return False
        if not config.get(CONF_GATEWAY):
            gateway = sandbox_gateway

    settings = UnionPaySettings(
        mer_id=mer_id, gateway=gateway.rstrip("/"), notify_url=config.get(CONF_NOTIFY_URL, ""),
        return_url=config.get(CONF_RETURN_URL), front_url="", bounce_url="", sign_key=key, sign_cert=cert,
        chain=chain,
    )

    def _fill_urls(_event: Event) -> None:
        assert core.http is not None
        settings.front_url = core.http.public_url(FRONT_PATH)
        settings.bounce_url = core.http.public_url(RETURN_PATH)

    core.bus.async_listen_once(EVENT_CORE_STARTED, _fill_urls)
    session = aiohttp.ClientSession()
    core.async_on_close(session.close)
    client = UnionPayClient(settings, session, core.clock)
    store = OrderStore(core.db, core.clock, PROVIDER_UNIONPAY, UNIONPAY_ORDER_PREFIX)
    payments = UnionPayPayments(core, client, store, topup_limits(config, CONF_SUBJECT))
    payments.sandbox = sandbox
    core.data[DOMAIN] = payments
    for view in (NotifyView(core, payments), FrontFormView(core, payments), FrontReturnView(core)):
        core.http.register_view(view)
    await async_add_provider(core, payments, settings, NOTIFY_PATH, config)
    return True
