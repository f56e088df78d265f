"""Tenant self-service: phone pages under /m/ and the lobby kiosk under /kiosk/ (set up by the alipay integration)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .kiosk import KIOSK_VIEWS
from .mobile import MOBILE_VIEWS
from .site import STATIC, TenantSite

if TYPE_CHECKING:
    from integrations.alipay.payments import AlipayPayments
    from scada_core.core import Core


async def async_setup_tenant(core: Core, payments: AlipayPayments, kiosk_idle: int) -> TenantSite:
    """Register the tenant and kiosk pages; return the shared site object (also in core.data['tenant'])."""
    assert core.http is not None
    site = TenantSite(core, payments, kiosk_idle)
    for view_class in (*MOBILE_VIEWS, *KIOSK_VIEWS):
        core.http.register_view(view_class(site))
    core.http.app.router.add_static("/m/static/", STATIC)
    core.data["tenant"] = site
    return site
