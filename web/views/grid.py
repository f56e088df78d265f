"""The meter grid (home page), its JSON data and one meter's page."""
from __future__ import annotations

from aiohttp import web

from ..const import ACTION_VIEW, BATCH_SERVICES
from ..site import Page

ATTRIBUTES = ("remaining_fen", "purchase_count", "total_wh", "power_w", "voltage_a", "current_a", "power_factor",
              "relay", "prepaid_mode", "alarm1", "alarm2", "arrears", "overload", "online", "gateway", "bus",
              "address", "meter_type", "billing")


class HomeView(Page):
    """Every meter with its status colour, money, power and last reading."""

    url = "/"
    name = "web:home"

    async def get(self, request: web.Request) -> web.Response:
        """Render the grid shell; the rows come from /web/grid.json."""
        self.site.require(request, ACTION_VIEW)
        data = await self.site.grid.data()
        buildings = sorted({r[2] for r in data["rows"] if r[2]})
        floors = sorted({r[3] for r in data["rows"] if r[3]}, key=lambda f: (len(f), f))
        return self.site.render(request, "grid.html", buildings=buildings, floors=floors, services=BATCH_SERVICES)


class GridDataView(Page):
    """One compact JSON of all meters (polled by the grid every few seconds)."""

    url = "/web/grid.json"
    name = "web:grid_data"

    async def get(self, request: web.Request) -> web.Response:
        """Return {columns, rows}: 304 when unchanged, gzip-compressed once per rebuild."""
        self.site.require(request, ACTION_VIEW)
        grid = self.site.grid
        body = await grid.body()
        headers = {"Cache-Control": "no-cache", "ETag": grid.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == grid.etag:
            return web.Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=grid.gzipped, content_type="application/json",
                                headers={**headers, "Content-Encoding": "gzip"})
        return web.Response(body=body, content_type="application/json", headers=headers)


class MeterView(Page):
    """One meter: status, readings, account and actions."""

    url = "/meters/{entity_id}"
    name = "web:meter"

    async def get(self, request: web.Request) -> web.Response:
        """Show the meter."""
        self.site.require(request, ACTION_VIEW)
        entity_id = request.match_info["entity_id"]
        state = self.core.states.get(entity_id)
        if state is None and entity_id not in self.site.directory.meter_ids():
            raise web.HTTPNotFound(text=entity_id)
        status = await self.site.billing.meter_status(entity_id) if self.site.billing else None
        attrs = state.attributes if state is not None else {}
        return self.site.render(
            request, "meter.html", entity_id=entity_id, state=state, info=self.site.directory.classify(entity_id),
            meter_status=status, attrs=[(k, attrs.get(k)) for k in ATTRIBUTES], services=BATCH_SERVICES,
        )


GRID_VIEWS = (HomeView, GridDataView, MeterView)
