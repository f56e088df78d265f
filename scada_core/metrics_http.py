"""GET /metrics: every metric of the core, to this machine, or to an operator's bearer token from elsewhere."""
from __future__ import annotations

from aiohttp import hdrs, web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .const import METRICS_PATH
from .http import KEY_OPERATOR, KEY_SCOPE, View, error_response
from .http_security import is_loopback
from .permissions import PERM_REPORTS, may


def metrics_refusal(request: web.Request) -> web.Response | None:
    """Return the answer refusing ``request`` the metrics, or None when it may have them.

    A request from this machine needs nothing, unless it came through a proxy that is not among
    ``http: trusted_proxies`` (it carries X-Forwarded-For): that proxy's client may be anyone. Every other
    request needs an operator (a bearer API token, authenticated by the web layer) with the reports permission
    and kept to no building: the figures are the whole site's.
    """
    proxied = hdrs.X_FORWARDED_FOR in request.headers
    if not proxied and is_loopback(request.remote or ""):
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

    async def get(self, request: web.Request) -> web.Response:
        """Return every metric in the Prometheus text format, or refuse the caller."""
        if (refusal := metrics_refusal(request)) is not None:
            return refusal
        response = web.Response(body=await self.core.metrics.async_render())
        response.headers[hdrs.CONTENT_TYPE] = CONTENT_TYPE_PLAIN_0_0_4  # the classic text format, which we write
        return response
