"""GET /metrics: every metric of the core, to this machine, or to an operator's bearer token from elsewhere."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .const import METRICS_PATH
from .http import KEY_OPERATOR, KEY_SCOPE, View, error_response
from .http_security import HttpSecurity, is_loopback
from .permissions import PERM_REPORTS, may

if TYPE_CHECKING:
    from .core import Core


def metrics_refusal(request: web.Request, security: HttpSecurity) -> web.Response | None:
    """Return the answer refusing ``request`` the metrics, or None when it may have them.

    A request from this machine needs nothing, unless a proxy may have forwarded it: it carries
    X-Forwarded-For (from a proxy ``http: trusted_proxies`` does not list, whose client may be anyone), or
    it comes from a listed proxy itself. Every other request needs an operator (a bearer API token,
    authenticated by the web layer) with the reports permission and kept to no building: the figures are the
    whole site's.
    """
    remote = request.remote or ""
    if hdrs.X_FORWARDED_FOR not in request.headers and is_loopback(remote) and not security.trusted(remote):
        return None
    operator = request.get(KEY_OPERATOR)
    if operator is None:
        refusal = error_response("metrics beyond this machine need a bearer API token", 401)
        refusal.headers[hdrs.WWW_AUTHENTICATE] = "Bearer"
        return refusal
    if not may(operator["permissions"], PERM_REPORTS) or request.get(KEY_SCOPE) is not None:
        return error_response("metrics need the reports permission over every building", 403)
    return None


class MetricsView(View):
    """The Prometheus scrape target."""

    url = METRICS_PATH
    name = "metrics"
    in_api_doc = False

    def __init__(self, core: Core, security: HttpSecurity) -> None:
        super().__init__(core)
        self.security = security

    async def get(self, request: web.Request) -> web.Response:
        """Return every metric in the Prometheus text format, or refuse the caller."""
        if (refusal := metrics_refusal(request, self.security)) is not None:
            return refusal
        response = web.Response(body=await self.core.metrics.async_render())
        response.headers[hdrs.CONTENT_TYPE] = CONTENT_TYPE_PLAIN_0_0_4  # the classic text format, which we write
        return response
