"""What every HTTP answer shares for safety: trusted proxies, Secure cookies, security headers, safe redirects."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol
from aiohttp import hdrs, web

from .const import APP_NAME

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNAUTHENTICATED_HINT = (
    "listens beyond this machine, but no authentication is set up, so the API (sales, refunds, trips) would be "
    "open to the network: add a web: section (operators log in, the API needs their tokens), or set "
    "http: host: 127.0.0.1"
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# No inline script anywhere (templates load static files); styles too come from files only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"
# Answers under these prefixes are public files a browser may cache; every other answer may be personal.
CACHEABLE_PREFIXES = ("/static/", "/m/static/")
_SECURE_ATTR = re.compile(r";\s*secure\s*(;|$)", re.IGNORECASE)
# Characters browsers drop from a URL before parsing it (WHATWG URL: tab, LF, CR anywhere; C0 controls and space
# at both ends) or read as "/" (backslash), and other blanks: a "next" holding any of them is refused, not cleaned.
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f\u0080-\u009f\u2000-\u200f\u2028\u2029\u3000\ufeff\\]")


def is_loopback(host: str) -> bool:
    """Return True when ``host`` reaches this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_redirect_path(value: str | None, default: str = "/") -> str:
    """Return ``value`` when a browser would read it as a path of this site, else ``default``.

    Refused: anything with control characters, whitespace or a backslash (browsers strip or reinterpret them,
    so "/\\t/evil.example" becomes "//evil.example"), anything not starting with exactly one "/", and anything
    with a scheme or host.
    """
    if not value or _URL_UNSAFE.search(value) or not value.startswith("/") or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def network_list(value: Any) -> list[Network]:
    """Validate ``http: trusted_proxies``: a list of addresses or networks."""
    if not isinstance(value, list):
        raise vol.Invalid("expected a list of addresses or networks")
    networks: list[Network] = []
    for item in value:
        try:
            networks.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError:
            raise vol.Invalid(f"trusted_proxies: {item!r} is not an IP address or network") from None
    return networks


def _mark_cookies_secure(response: web.StreamResponse) -> None:
    """Add Secure to every cookie (aiohttp may have written Set-Cookie already when the prepare signal runs)."""
    for morsel in response.cookies.values():
        morsel["secure"] = True
    written = response.headers.getall(hdrs.SET_COOKIE, [])
    if written:
        del response.headers[hdrs.SET_COOKIE]
        for value in written:
            response.headers.add(hdrs.SET_COOKIE, value if _SECURE_ATTR.search(value) else f"{value}; Secure")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class HttpSecurity:
    """The http section's security settings, applied to every request and answer."""

    def __init__(self, secure_cookies: bool, trusted_proxies: list[Network]) -> None:
        self.secure_cookies = secure_cookies
        self.trusted_proxies = trusted_proxies

    def trusted(self, address: str | None) -> bool:
        """Tell whether ``address`` is one of ``http: trusted_proxies``."""
        ip = _address(address) if address else None
        return ip is not None and any(ip in network for network in self.trusted_proxies)

    def forwarded(self, request: web.Request) -> web.Request:
        """Return the request as the client made it when a trusted proxy forwarded it (X-Forwarded-For / -Proto).

        The client is the right-most X-Forwarded-For hop that is no trusted proxy: what a client writes in front
        of its own address is never believed. From any other peer both headers are ignored.
        """
        if not self.trusted(request.remote):
            return request
        changes: dict[str, Any] = {}
        hops = [hop.strip() for hop in ",".join(request.headers.getall(hdrs.X_FORWARDED_FOR, [])).split(",")]
        for hop in reversed([h for h in hops if h]):
            if _address(hop) is None:
                break
            changes["remote"] = hop
            if not self.trusted(hop):
                break
        proto = request.headers.get(hdrs.X_FORWARDED_PROTO, "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        return request.clone(**changes) if changes else request

    def cookie_secure(self, request: web.Request) -> bool:
        """Return True when cookies of this request's answer must carry Secure."""
        return self.secure_cookies or request.secure

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Believe a trusted proxy's forwarded headers for everything downstream."""
        return await handler(self.forwarded(request))

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add the security headers, mark cookies Secure when asked, keep personal answers out of caches."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers[hdrs.SERVER] = APP_NAME
        if self.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if self.cookie_secure(self.forwarded(request)):
            _mark_cookies_secure(response)
        if not request.path.startswith(CACHEABLE_PREFIXES) and hdrs.CACHE_CONTROL not in response.headers:
            response.headers[hdrs.CACHE_CONTROL] = "no-store"
