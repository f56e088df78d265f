"""Every form under /m/ and /kiosk/ carries a CSRF token (double-submit: cookie and field) and must come from this
site (Origin/Referer), checked here for every unsafe request before any view runs."""
from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import hdrs, web

from web.auth import csrf_ok, origin_ok
from web.const import CSRF_FIELD, CSRF_HEADER

from .const import COOKIE_CSRF, SOURCE_ACCESS, TENANT_PREFIXES

if TYPE_CHECKING:
    from .site import TenantSite

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

KEY_CSRF: web.RequestKey[str] = web.RequestKey("tenant_csrf", str)
SAFE_METHODS = frozenset({hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS})
DETAIL_MAX = 200  # characters of the (still percent-encoded, so one-line) path kept in a security event
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def _given_token(request: web.Request) -> str | None:
    if (header := request.headers.get(CSRF_HEADER)) is not None:
        return header
    if request.content_type not in FORM_TYPES:
        return None
    field = (await request.post()).get(CSRF_FIELD)
    return field if isinstance(field, str) else None


def make_csrf_middleware(site: TenantSite) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Return the middleware that refuses (403) a tenant or kiosk POST without the token or from another origin."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(TENANT_PREFIXES):
            return await handler(request)
        cookie = request.cookies.get(COOKIE_CSRF)
        request[KEY_CSRF] = cookie or secrets.token_urlsafe(24)
        if request.method not in SAFE_METHODS and not (
            origin_ok(request) and csrf_ok(cookie or "", await _given_token(request))
        ):
            await site.store.security_event(SOURCE_ACCESS, "csrf_refused", f"{request.method} {request.raw_path[:DETAIL_MAX]}",
                                            request.remote)
            raise web.HTTPForbidden(text=site.t(request)["bad_form"])
        if cookie is not None:
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            site.set_cookie(request, exc, COOKIE_CSRF, request[KEY_CSRF], path="/", samesite="Lax")
            raise
        site.set_cookie(request, response, COOKIE_CSRF, request[KEY_CSRF], path="/", samesite="Lax")
        return response

    return middleware
