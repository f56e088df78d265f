"""Start a provider on the generic order flow: its services, sweep, URLs and place in the registry."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.billing.const import DOMAIN as BILLING
from scada_core.const import EVENT_CORE_STARTED
from scada_core.params import DB_ID, db_int

from .const import CONF_HOST, CONF_PORT, CONF_QUERY_AFTER, CONF_QUERY_INTERVAL, DOMAIN, RETURN_PATH

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from scada_core.core import Core, Event, ServiceCall

    from .payments import TopUpPayments
    from .registry import TopUpRegistry
    from .sandbox import SandboxServer

_LOGGER = logging.getLogger(__name__)


async def async_add_provider(
    core: Core, payments: TopUpPayments, settings: Any, notify_path: str, config: dict[str, Any]
) -> None:
    """Register the provider's payment method with billing and its services, and run its sweep; fill
    ``settings``' notify/return URLs once the web server listens; add it to the registry (which the tenant pages
    list) with its section ``config``."""

    def _fill_urls(_event: Event) -> None:
        assert core.http is not None
        settings.notify_url = settings.notify_url or core.http.public_url(notify_path)
        settings.return_url = settings.return_url or core.http.public_url(RETURN_PATH)

    billing = core.data.get(BILLING)
    if billing is not None:
        billing.methods.register(payments.method, payments.labels)
    register_payment_services(core, payments)
    core.bus.async_listen_once(EVENT_CORE_STARTED, _fill_urls)
    core.async_create_task(sweep_loop(payments, config[CONF_QUERY_INTERVAL], config[CONF_QUERY_AFTER]),
                           f"{payments.name} sweep")
    registry: TopUpRegistry = core.data[DOMAIN]
    await registry.async_register(payments, config)


async def async_start_sandbox(
    core: Core, sandbox: SandboxServer, start: Callable[[str, int], Awaitable[str]], sandbox_conf: dict[str, Any]
) -> str | None:
    """Start an in-process sandbox on its configured host and port, stopped with the core; return its gateway
    URL, or None (logged) when it cannot listen."""
    host, port = sandbox_conf[CONF_HOST], sandbox_conf[CONF_PORT]
    try:
        url = await start(host, port)
    except OSError as err:
        _LOGGER.error("%s cannot listen on %s:%s: %s", sandbox.label, host, port, err.strerror or err)
        await sandbox.stop()
        return None
    core.async_on_stop(sandbox.stop)
    return url


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
