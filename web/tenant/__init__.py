"""Tenant self-service: phone pages under /m/ and the lobby kiosk under /kiosk/.

An integration the top-up providers (alipay, wechatpay) depend on: set up, it offers them ``join`` under
core.data[JOIN_KEY]; the site is created when the first provider joins, and each provider joins it (no provider
imports the web layer).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.const import EVENT_CORE_STARTED
from scada_core.params import DB_ID

from .const import PHONE_PATTERN
from .csrf import make_csrf_middleware
from .kiosk import KIOSK_VIEWS
from .kiosk_lock import make_lock_middleware
from .mobile import MOBILE_VIEWS
from .provision import provision_tenant
from .site import STATIC, TenantSite

if TYPE_CHECKING:
    from scada_core.core import Core, Event, ServiceCall

    from .providers import TopUpProvider

DATA_KEY = "tenant"
JOIN_KEY = "tenant_join"

SET_LOGIN_SCHEMA = vol.Schema(
    {
        vol.Required("account_id"): DB_ID,
        vol.Optional("password"): vol.All(str, vol.Length(min=6)),
        vol.Optional("phone"): vol.All(vol.Coerce(str), vol.Match(PHONE_PATTERN)),
        vol.Optional("tenant_control"): bool,
    }
)


def _create_site(core: Core, provider: TopUpProvider, kiosk_idle: int) -> TenantSite:
    """Register the tenant and kiosk pages once."""
    assert core.http is not None
    site = TenantSite(core, provider.store, kiosk_idle)
    core.http.app.middlewares.extend((make_lock_middleware(site), make_csrf_middleware(site)))
    for view_class in (*MOBILE_VIEWS, *KIOSK_VIEWS):
        core.http.register_view(view_class(site))
    core.http.app.router.add_static("/m/static/", STATIC)
    core.data[DATA_KEY] = site
    return site


async def async_setup_tenant(
    core: Core, provider: TopUpProvider, kiosk_idle: int, tenants: list[dict[str, Any]], kiosk: dict[str, Any]
) -> TenantSite:
    """Add ``provider`` to the tenant site (created by the first provider) with <provider>.set_tenant_login and the
    kiosk terminals its `kiosk:` section allows; provision its configured tenants after start."""
    site: TenantSite = core.data.get(DATA_KEY) or _create_site(core, provider, kiosk_idle)
    site.add_provider(provider)
    site.kiosk_lock.add(kiosk)

    async def set_login(call: ServiceCall) -> dict[str, Any]:
        data = dict(call.data)
        await site.auth.set_credentials(data.pop("account_id"), **data)
        return {}

    core.services.async_register(
        provider.name, "set_tenant_login", set_login, SET_LOGIN_SCHEMA,
        "Set a tenant's password, phone for one-time codes, and whether it may switch its meters on",
    )

    def _provision(_event: Event) -> None:
        for tenant in tenants:
            core.async_create_task(provision_tenant(site, tenant), f"provision tenant {tenant['name']}")

    if tenants:
        core.bus.async_listen_once(EVENT_CORE_STARTED, _provision)
    return site


async def async_setup(core: Core, config: dict[str, Any] | None) -> bool:
    """Offer the top-up providers a way to join the tenant site."""
    core.data[JOIN_KEY] = async_setup_tenant
    return True
