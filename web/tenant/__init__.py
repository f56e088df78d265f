"""Tenant self-service: phone pages under /m/ and the lobby kiosk under /kiosk/ (set up by the alipay integration)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.const import EVENT_CORE_STARTED

from .kiosk import KIOSK_VIEWS
from .mobile import MOBILE_VIEWS
from .provision import provision_tenant
from .site import STATIC, TenantSite

if TYPE_CHECKING:
    from integrations.alipay.payments import AlipayPayments
    from scada_core.core import Core, Event, ServiceCall

SERVICE_DOMAIN = "alipay"

SET_LOGIN_SCHEMA = vol.Schema(
    {
        vol.Required("account_id"): int,
        vol.Optional("password"): vol.All(str, vol.Length(min=6)),
        vol.Optional("phone"): vol.All(vol.Coerce(str), vol.Match(r"^\+?[0-9]{5,20}$")),
        vol.Optional("tenant_control"): bool,
    }
)


async def async_setup_tenant(
    core: Core, payments: AlipayPayments, kiosk_idle: int, tenants: list[dict[str, Any]]
) -> TenantSite:
    """Register the tenant and kiosk pages and alipay.set_tenant_login; provision configured tenants after start."""
    assert core.http is not None
    site = TenantSite(core, payments, kiosk_idle)
    for view_class in (*MOBILE_VIEWS, *KIOSK_VIEWS):
        core.http.register_view(view_class(site))
    core.http.app.router.add_static("/m/static/", STATIC)
    core.data["tenant"] = site

    async def set_login(call: ServiceCall) -> dict[str, Any]:
        data = dict(call.data)
        await site.auth.set_credentials(data.pop("account_id"), **data)
        return {}

    core.services.async_register(
        SERVICE_DOMAIN, "set_tenant_login", set_login, SET_LOGIN_SCHEMA,
        "Set a tenant's password, phone for one-time codes, and whether it may switch its meters on",
    )

    def _provision(_event: Event) -> None:
        for tenant in tenants:
            core.async_create_task(provision_tenant(site, tenant), f"provision tenant {tenant['name']}")

    if tenants:
        core.bus.async_listen_once(EVENT_CORE_STARTED, _provision)
    return site
