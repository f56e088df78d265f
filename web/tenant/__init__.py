"""Tenant self-service: phone pages under /m/ and the lobby kiosk under /kiosk/.

An integration over `topup`: it joins each provider as the provider registers there (the site is created
with the first), listing them on its pages from the registry; no provider imports the web layer.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from integrations.notify.const import CONSENT_HOOK
from integrations.topup.const import CONF_KIOSK, CONF_KIOSK_IDLE, CONF_TENANTS, DOMAIN as TOPUP
from scada_core.const import EVENT_CORE_STARTED
from scada_core.params import DB_ID
from web.const import TENANT_LOGINS

from .const import DOMAIN, PHONE_PATTERN, TENANT_PASSWORD_MAX, TENANT_PASSWORD_MIN
from .csrf import make_csrf_middleware
from .kiosk import KIOSK_HOME, KIOSK_VIEWS
from .kiosk_lock import make_lock_middleware
from .mobile import LOGIN_URL, MOBILE_VIEWS
from .provision import provision_tenant
from .site import STATIC, TenantSite

if TYPE_CHECKING:
    from integrations.topup.provider import TopUpProvider
    from integrations.topup.registry import TopUpRegistry
    from scada_core.core import Core, Event, ServiceCall

# `tenant:` has no options of its own (each provider's section has its tenants and kiosk): any key is a typo.
CONFIG_SCHEMA = vol.Schema({DOMAIN: vol.Any(None, vol.Schema({}))}, extra=vol.ALLOW_EXTRA)

SET_LOGIN_SCHEMA = vol.Schema(
    {
        vol.Required("account_id"): DB_ID,
        vol.Optional("password"): vol.All(str, vol.Length(min=TENANT_PASSWORD_MIN, max=TENANT_PASSWORD_MAX)),
        vol.Optional("phone"): vol.All(vol.Coerce(str), vol.Match(PHONE_PATTERN)),
        vol.Optional("tenant_control"): bool,
    }
)


def _create_site(core: Core, registry: TopUpRegistry, provider: TopUpProvider, kiosk_idle: int) -> TenantSite:
    """Register the tenant and kiosk pages once."""
    assert core.http is not None
    site = TenantSite(core, registry, provider.store, kiosk_idle)
    core.http.app.middlewares.extend((make_lock_middleware(site), make_csrf_middleware(site)))
    for view_class in (*MOBILE_VIEWS, *KIOSK_VIEWS):
        core.http.register_view(view_class(site))
    core.http.app.router.add_static("/m/static/", STATIC)
    core.http.add_entry_point("tenant phone", LOGIN_URL, "account number and the password staff give the shop")
    core.http.add_entry_point("lobby kiosk", KIOSK_HOME, "room or account number, then the shop's password or a code")
    core.data[DOMAIN] = site
    core.data[CONSENT_HOOK] = site.auth.wants_sms  # a tenant who said no to text messages gets none
    core.data[TENANT_LOGINS] = site.auth  # the staff web's account page gives shops their logins
    return site


async def async_join(
    core: Core, registry: TopUpRegistry, provider: TopUpProvider, config: Mapping[str, Any]
) -> None:
    """Join a provider as it registers: the site (created with the first) gets <provider>.set_tenant_login
    and the kiosk terminals its `kiosk:` section allows; its configured tenants are provisioned at start."""
    site: TenantSite = core.data.get(DOMAIN) or _create_site(
        core, registry, provider, config[CONF_KIOSK_IDLE]
    )
    site.kiosk_lock.add(config[CONF_KIOSK])
    tenants = config[CONF_TENANTS]

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


async def async_setup(core: Core, config: dict[str, Any] | None) -> bool:
    """Join every top-up provider that registers from now on (they depend on this integration)."""
    registry: TopUpRegistry = core.data[TOPUP]
    registry.listen(functools.partial(async_join, core, registry))
    return True
