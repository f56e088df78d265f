"""Alipay top-up (RSA2 open platform) with its sandbox, plus the tenant phone pages and the lobby kiosk."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import voluptuous as vol

from scada_core.const import EVENT_CORE_STARTED
from scada_core.validation import NON_EMPTY
from scada_core.params import DB_ID, db_int

from .api import OrdersView, SecurityEventsView
from .client import AlipayClient, AlipaySettings
from .const import (
    ALIPAY_PUBLIC_PEM,
    APP_PRIVATE_PEM,
    CONF_ALIPAY_PUBLIC_KEY,
    CONF_ALIPAY_PUBLIC_KEY_FILE,
    CONF_APP_ID,
    CONF_GATEWAY,
    CONF_HOST,
    CONF_KEYS_DIR,
    CONF_KIOSK,
    CONF_KIOSK_IDLE,
    CONF_MAX_AMOUNT,
    CONF_MIN_AMOUNT,
    CONF_NOTIFY_URL,
    CONF_ORDER_TIMEOUT,
    CONF_PORT,
    CONF_PRIVATE_KEY,
    CONF_PRIVATE_KEY_FILE,
    CONF_QUERY_AFTER,
    CONF_QUERY_INTERVAL,
    CONF_RETURN_URL,
    CONF_SANDBOX,
    CONF_SELLER_ID,
    CONF_SUBJECT,
    CONF_TENANTS,
    DEFAULT_KEYS_DIR,
    DEFAULT_KIOSK_IDLE,
    DEFAULT_MAX_AMOUNT,
    DEFAULT_MIN_AMOUNT,
    DEFAULT_ORDER_TIMEOUT,
    DEFAULT_QUERY_AFTER,
    DEFAULT_QUERY_INTERVAL,
    DEFAULT_SANDBOX_PORT,
    DEFAULT_SUBJECT,
    DOMAIN,
    GATEWAY_PRODUCTION,
    LIMIT_MAX_FEN,
    NOTIFY_PATH,
    RETURN_PATH,
    SANDBOX_APP_ID,
    SANDBOX_SELLER_ID,
    TENANT_JOIN,
)
from .keys import ensure_keys, read_key
from .money import fen_to_yuan, yuan_to_fen
from .notify import NotifyView
from .orders import OrderStore
from .payments import AlipayPayments, TopUpLimits, TopUpPayments
from .signing import KeyFormatError, load_private_key, load_public_key

if TYPE_CHECKING:
    from scada_core.core import Core, Event, ServiceCall
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

def sandbox_schema(default_port: int, default_keys_dir: str) -> vol.Schema:
    """Return the schema of a provider's `sandbox:` block (where it listens, its keys, how it notifies)."""
    return vol.Schema(
        {
            vol.Optional(CONF_HOST, default="127.0.0.1"): str,
            vol.Optional(CONF_PORT, default=default_port): vol.All(int, vol.Range(min=0, max=65535)),
            vol.Optional(CONF_KEYS_DIR, default=default_keys_dir): str,
            vol.Optional("notify_repeat", default=1): vol.All(int, vol.Range(min=1, max=10)),
            vol.Optional("notify_delay", default=0.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
            vol.Optional("lose_notify", default=False): bool,
        }
    )


TENANT_SCHEMA = vol.Schema(
    {
        vol.Required("meter"): vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$"),
        vol.Required("name"): NON_EMPTY,
        vol.Required("password"): vol.All(str, vol.Length(min=6)),
        vol.Optional("phone"): vol.All(vol.Coerce(str), vol.Match(r"^\+?[0-9]{5,20}$")),
        vol.Optional("tenant_control", default=False): bool,
    }
)


def ip_network(value: Any) -> str:
    """Accept an IP address or network (``10.0.5.20``, ``10.0.6.0/24``)."""
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise vol.Invalid(f"{value!r} is no IP address or network") from None


KIOSK_SCHEMA = vol.Schema(
    {
        vol.Optional("devices", default=[]): [ip_network],
        vol.Optional("device_key"): vol.All(str, vol.Length(min=16, msg="device_key needs at least 16 characters")),
    }
)


def sandbox_validator(schema: vol.Schema) -> Any:
    """Return a validator accepting `sandbox: true/false` or a mapping of ``schema``'s options."""

    def validate(value: Any) -> dict[str, Any] | None:
        if value is False or value is None:
            return None
        return schema({} if value is True else value)  # type: ignore[no-any-return]

    return validate


def amount_validator(value: Any) -> int:
    """Accept a yuan amount with at most two decimals (up to what a meter holds) and return it in fen."""
    try:
        fen = yuan_to_fen(str(value))
    except ValueError as err:
        raise vol.Invalid(str(err)) from None
    if fen > LIMIT_MAX_FEN:
        raise vol.Invalid(f"amount {value} is above {fen_to_yuan(LIMIT_MAX_FEN)}")
    return fen


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


def limits_in_order(conf: dict[str, Any]) -> dict[str, Any]:
    """Refuse a top-up range no payment fits: a minimum of nothing, or above the maximum."""
    low, high = conf[CONF_MIN_AMOUNT], conf[CONF_MAX_AMOUNT]
    if low < 1:
        raise vol.Invalid(
            f"{CONF_MIN_AMOUNT} must be at least 0.01, got {fen_to_yuan(low)}", path=[CONF_MIN_AMOUNT]
        )
    if low > high:
        raise vol.Invalid(
            f"{CONF_MIN_AMOUNT} {fen_to_yuan(low)} is above {CONF_MAX_AMOUNT} {fen_to_yuan(high)}",
            path=[CONF_MIN_AMOUNT],
        )
    return conf


def declare_topup(context: ConfigContext, domain: str, config: dict[str, Any]) -> None:
    """Declare the port a provider's sandbox listens on."""
    sandbox = config[CONF_SANDBOX]
    if sandbox is not None:
        context.listen(sandbox[CONF_HOST], sandbox[CONF_PORT], [domain, CONF_SANDBOX, CONF_PORT])


def validate_topup(
    context: ConfigContext, domain: str, config: dict[str, Any], key_files: tuple[str, ...]
) -> bool:
    """Refuse a tenant on a meter no section declares, and a key file that is not there.

    Return whether the merchant's keys are there to be loaded (the sandbox makes its own).
    """
    for index, tenant in enumerate(config[CONF_TENANTS]):
        if tenant["meter"] not in context.entities:
            context.error(
                [domain, CONF_TENANTS, index, "meter"], f"no meter {tenant['meter']} in the configuration"
            )
    present = True
    for key in key_files:
        if config.get(key) and not context.path(config[key]).is_file():
            context.require_file([domain, key], config[key])
            present = False
    return present and config[CONF_SANDBOX] is None


def topup_options(sandbox_port: int, sandbox_keys_dir: str, subject_key: str, subject: str) -> dict[Any, Any]:
    """Return the options every top-up provider's section has: URLs, order life, sweeps, limits, sandbox, tenants."""
    return {
        vol.Optional(CONF_GATEWAY): vol.Url(),
        vol.Optional(CONF_NOTIFY_URL): vol.Url(),
        vol.Optional(CONF_RETURN_URL): vol.Url(),
        vol.Optional(CONF_ORDER_TIMEOUT, default=DEFAULT_ORDER_TIMEOUT): vol.All(int, vol.Range(min=1, max=1440)),
        vol.Optional(CONF_QUERY_INTERVAL, default=DEFAULT_QUERY_INTERVAL): vol.All(
            vol.Coerce(float), vol.Range(min=0.1)
        ),
        vol.Optional(CONF_QUERY_AFTER, default=DEFAULT_QUERY_AFTER): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(subject_key, default=subject): str,
        vol.Optional(CONF_MIN_AMOUNT, default=DEFAULT_MIN_AMOUNT): amount_validator,
        vol.Optional(CONF_MAX_AMOUNT, default=DEFAULT_MAX_AMOUNT): amount_validator,
        vol.Optional(CONF_KIOSK_IDLE, default=DEFAULT_KIOSK_IDLE): vol.All(int, vol.Range(min=10)),
        vol.Optional(CONF_KIOSK, default={}): KIOSK_SCHEMA,
        vol.Optional(CONF_SANDBOX, default=None): sandbox_validator(sandbox_schema(sandbox_port, sandbox_keys_dir)),
        vol.Optional(CONF_TENANTS, default=[]): [TENANT_SCHEMA],
    }


def topup_limits(config: dict[str, Any], subject_key: str) -> TopUpLimits:
    """Return the amount limits, order life and subject a provider's section sets."""
    return TopUpLimits(config[CONF_MIN_AMOUNT], config[CONF_MAX_AMOUNT], config[CONF_ORDER_TIMEOUT] * 60,
                       config[subject_key])


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


def key_text(
    config_path: Callable[[str], Path],
    conf: dict[str, Any],
    text_key: str,
    file_key: str,
    fallback: Path | None,
) -> str:
    """Return a key's text: given inline (e.g. `!secret`), from its file, or from the sandbox keys dir (blocking)."""
    if conf.get(text_key):
        return str(conf[text_key])
    path = Path(conf[file_key]) if conf.get(file_key) else fallback
    assert path is not None
    return (path if path.is_absolute() else config_path(str(path))).read_text()


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
        from .sandbox import AlipaySandbox, NotifyPolicy  # noqa: PLC0415 - only the demo needs it

        sandbox = AlipaySandbox(
            load_public_key(read_key(keys_dir, "app_public.pem")),
            load_private_key(read_key(keys_dir, "alipay_private.pem")),
            app_id=app_id, seller_id=seller_id,
            policy=NotifyPolicy(sandbox_conf["notify_repeat"], sandbox_conf["notify_delay"],
                                sandbox_conf["lose_notify"]),
        )
        try:
            sandbox_gateway = await sandbox.start(sandbox_conf[CONF_HOST], sandbox_conf[CONF_PORT])
        except OSError as err:
            _LOGGER.error("Alipay sandbox cannot listen on %s:%s: %s", sandbox_conf[CONF_HOST],
                          sandbox_conf[CONF_PORT], err.strerror or err)
            await sandbox.stop()
            return False
        core.async_on_stop(sandbox.stop)
        if not config.get(CONF_GATEWAY):
            gateway = sandbox_gateway

    settings = AlipaySettings(
        app_id=app_id, gateway=gateway, notify_url=config.get(CONF_NOTIFY_URL, ""),
        return_url=config.get(CONF_RETURN_URL), private_key=private_key, alipay_public_key=alipay_key,
    )
    session = aiohttp.ClientSession()
    core.async_on_close(session.close)
    client = AlipayClient(settings, session, core.clock)
    payments = AlipayPayments(core, client, OrderStore(core.db, core.clock), topup_limits(config, CONF_SUBJECT))
    payments.sandbox = sandbox
    core.data[DOMAIN] = payments
    core.http.register_view(NotifyView(core, payments, app_id, seller_id, alipay_key))
    for view_class in (OrdersView, SecurityEventsView):
        core.http.register_view(view_class(core, payments))
    register_payment_services(core, payments)

    await async_start_topup(core, payments, settings, NOTIFY_PATH, config)
    return True


async def async_start_topup(
    core: Core, payments: TopUpPayments, settings: Any, notify_path: str, config: dict[str, Any]
) -> None:
    """Fill ``settings``' notify/return URLs once the web server listens, run the sweep, join the tenant pages."""

    def _fill_urls(_event: Event) -> None:
        assert core.http is not None
        settings.notify_url = settings.notify_url or core.http.public_url(notify_path)
        settings.return_url = settings.return_url or core.http.public_url(RETURN_PATH)

    core.bus.async_listen_once(EVENT_CORE_STARTED, _fill_urls)
    core.async_create_task(sweep_loop(payments, config[CONF_QUERY_INTERVAL], config[CONF_QUERY_AFTER]),
                           f"{payments.name} sweep")

    join = core.data[TENANT_JOIN]  # set up by the tenant integration this one depends on (web/tenant)
    await join(core, payments, config[CONF_KIOSK_IDLE], config[CONF_TENANTS], config[CONF_KIOSK])


async def sweep_loop(payments: TopUpPayments, interval: float, query_after: float) -> None:
    """Run a provider's query/close/credit sweep forever."""
    while True:
        await asyncio.sleep(interval)
        try:
            await payments.sweep(query_after)
        except Exception:  # noqa: BLE001 - keep sweeping after a database hiccup
            _LOGGER.exception("%s sweep failed", payments.label)


def register_payment_services(core: Core, payments: TopUpPayments) -> None:
    """<provider>.create_order, .sweep, .refund and .security_events."""
    domain = payments.name

    async def create_order(call: ServiceCall) -> dict[str, Any]:
        if call.data["channel"] == "qr":
            order = await payments.create_qr_order(call.data["account_id"], call.data["amount_fen"])
            return {"order": order.as_dict()}
        order, url = await payments.create_wap_order(call.data["account_id"], call.data["amount_fen"])
        return {"order": order.as_dict(), "pay_url": url}

    async def sweep(call: ServiceCall) -> dict[str, Any]:
        await payments.sweep(call.data["query_after"])
        return {}

    async def refund(call: ServiceCall) -> dict[str, Any]:
        return await payments.refund(call.data["out_trade_no"], call.data["operator"], call.data["reason"])

    async def security_events(call: ServiceCall) -> dict[str, Any]:
        return {"events": await payments.store.security_events(call.data["limit"])}

    core.services.async_register(
        domain, "create_order", create_order,
        vol.Schema({vol.Required("account_id"): DB_ID, vol.Required("amount_fen"): db_int(1),
                    vol.Optional("channel", default="wap"): vol.In(["wap", "qr"])}),
        "Create a top-up order (wap: pay URL for a phone; qr: QR code for the kiosk)",
    )
    core.services.async_register(
        domain, "sweep", sweep,
        vol.Schema({vol.Optional("query_after", default=0.0): vol.Coerce(float)}),
        "Query quiet pending orders now, credit paid ones, close expired ones",
    )
    core.services.async_register(
        domain, "refund", refund,
        vol.Schema({vol.Required("out_trade_no"): str,
                    vol.Required("operator"): {vol.Required("id"): str, vol.Required("role"): str},
                    vol.Optional("reason", default=""): str}),
        "Refund a paid order in full: off its meter in the ledger, then back to the buyer at the gateway",
    )
    core.services.async_register(
        domain, "security_events", security_events,
        vol.Schema({vol.Optional("limit", default=100): vol.All(int, vol.Range(min=1, max=1000))}),
        "List the newest security events (forged or mismatched notifications, failed logins)",
    )
