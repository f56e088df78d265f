"""Optionally keep /kiosk/ to the lobby terminals: their addresses, or a device key the terminal presents once
(``/kiosk/?device_key=…`` stores it in a cookie) or in every request's X-Kiosk-Key header."""
from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .const import COOKIE_KIOSK_DEVICE, HEADER_KIOSK_KEY, KIOSK_PREFIX, QUERY_DEVICE_KEY, SOURCE_ACCESS
from .csrf import DETAIL_MAX

if TYPE_CHECKING:
    from .site import TenantSite

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEVICE_COOKIE_AGE = 10 * 365 * 86400  # seconds: a terminal keeps its key until the key changes


@dataclass
class KioskLock:
    """The terminals allowed at /kiosk/ (open to all while nothing is configured)."""

    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def add(self, config: dict[str, Any]) -> None:
        """Allow what one provider's validated `kiosk:` section names (sections of several providers add up)."""
        self.networks.extend(ipaddress.ip_network(net, strict=False) for net in config.get("devices", []))
        if config.get("device_key"):
            self.keys.append(config["device_key"])

    def key_ok(self, key: str | None) -> bool:
        """Tell whether ``key`` is a configured device key (constant time)."""
        return key is not None and any(hmac.compare_digest(key.encode(), k.encode()) for k in self.keys)

    def allows(self, request: web.Request) -> bool:
        """Tell whether the request comes from a configured address or carries a device key."""
        if not (self.networks or self.keys):
            return True
        if self.key_ok(request.headers.get(HEADER_KIOSK_KEY) or request.cookies.get(COOKIE_KIOSK_DEVICE)):
            return True
        try:
            address = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return False
        return any(address in net for net in self.networks)


def make_lock_middleware(site: TenantSite) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Return the middleware refusing /kiosk/ (403) to anything but the configured terminals."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(KIOSK_PREFIX):
            return await handler(request)
        lock = site.kiosk_lock
        if lock.key_ok(request.query.get(QUERY_DEVICE_KEY)):
            response = web.HTTPFound(request.rel_url.without_query_params(QUERY_DEVICE_KEY).path_qs)
            site.set_cookie(request, response, COOKIE_KIOSK_DEVICE, request.query[QUERY_DEVICE_KEY], path="/kiosk",
                            samesite="Strict", max_age=DEVICE_COOKIE_AGE)
            raise response
        if not lock.allows(request):
            await site.store.security_event(SOURCE_ACCESS, "kiosk_refused", request.raw_path[:DETAIL_MAX], request.remote)
            raise web.HTTPForbidden(text=site.t(request)["kiosk_device"])
        return await handler(request)

    return middleware
