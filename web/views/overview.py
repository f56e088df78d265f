"""The home page: the building's state in one look (figures, trend, top consumers, alarms), then the floor map and
the meter table as two tabs of the same live data (/web/grid.json)."""
from __future__ import annotations

from aiohttp import web
from markupsafe import Markup

from scada_core.permissions import PERM_VIEW

from ..charts import bar_chart
from ..const import BATCH_SERVICES, PAGE_SIZES, STATUSES
from ..scoping import request_scope
from ..site import Page

TABS = ("map", "table")
TREND_WIDTH = 560  # chart units: drawn two to a row at 1366 px, axis text stays above 12 px


class HomeView(Page):
    """Overview, floor map and meter table."""

    url = "/"
    name = "web:home"

    async def get(self, request: web.Request) -> web.Response:
        """Render the figures; the map and the table fill themselves from /web/grid.json."""
        self.site.require(request, PERM_VIEW)
        language = self.site.language(request)
        fmt, t = self.site.formatter(language), self.site.t(request)
        scope = request_scope(request)
        view = await self.site.overview.get(scope)
        grid = self.site.grid
        rows = (await grid.data() if scope is None else await grid.scoped(scope.buildings))["rows"]
        buildings = sorted({r[2] for r in rows if r[2]})
        floors = sorted({r[3] for r in rows if r[3]}, key=lambda f: (len(f), f))
        sales = [(day.strftime("%m-%d"), fen / 100) for day, fen, _wh in view.trend]
        energy = [(day.strftime("%m-%d"), wh / 1000) for day, _fen, wh in view.trend]
        names = self.site.directory.display_name
        tab = request.query.get("tab") if request.query.get("tab") in TABS else TABS[0]
        return self.site.render(
            request, "overview.html", view=view, statuses=STATUSES, tab=tab, tabs=TABS, page_sizes=PAGE_SIZES,
            sales_chart=Markup(bar_chart(sales, t["unit_yuan"], t["no_data"], TREND_WIDTH)),
            energy_chart=Markup(bar_chart(energy, "kWh", t["no_data"], TREND_WIDTH)),
            top=[(entity_id, names(entity_id), fmt.energy(wh)) for entity_id, wh in view.top],
            alarms=[{**alarm, "name": names(alarm["meter_entity_id"])} for alarm in view.alarms],
            building_names={b: self.site.building_name(b) for b in buildings},
            buildings=buildings, floors=floors, services=BATCH_SERVICES,
            services_labels={service: t[f"svc_{service}"] for service in BATCH_SERVICES},
        )


OVERVIEW_VIEWS = (HomeView,)
