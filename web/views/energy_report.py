"""The energy report's page and its streamed Excel export (/reports?kind=energy): per day, month or year × meter,
尖峰平谷 kWh, unsplit, total and cost, grouped and subtotalled by shop, floor or building, for a date range."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import web
from markupsafe import Markup

from scada_core.params import bad_request, query_choice
from scada_core.reports import queries
from scada_core.reports.energy import (
    ENERGY_GROUPS,
    LINE_ROW,
    LINE_SUBTOTAL,
    LINE_TOTAL,
    USAGE_COLUMNS,
    Line,
    ReportMeter,
    detail_columns,
    energy_lines,
    energy_summary,
    line_cells,
    report_meters,
)
from scada_core.reports.rollup import date_day, day_date
from scada_core.reports.table import Table

from ..charts import bar_chart
from ..const import ENERGY_BATCH_DAYS, ENERGY_MAX_DAYS, ENERGY_SCREEN_LINES
from ..scoping import OutOfScope, request_scope, visible_buildings
from ..xlsx_download import send_xlsx

if TYPE_CHECKING:
    from ..site import DayRange, WebSite


class EnergyQuery(NamedTuple):
    """What the energy report's query string asks for (checked)."""

    days: DayRange
    period: str
    group: str
    building: str | None


def energy_query(site: WebSite, request: web.Request) -> EnergyQuery:
    """Read and check the query; a bad date, range, choice or building is a 400 that says which."""
    today = site.core.clock.now().date()
    days = site.day_range(request, "start", "end", today.replace(day=1))
    if (days.end - days.start).days >= ENERGY_MAX_DAYS:
        raise bad_request(f"日期范围不能超过 {ENERGY_MAX_DAYS} 天 / the date range may span at most "
                          f"{ENERGY_MAX_DAYS} days")
    period = query_choice(request, "period", queries.PERIODS, "day")
    group = query_choice(request, "group", ENERGY_GROUPS, ENERGY_GROUPS[0])
    building = request.query.get("building") or None
    if building is not None and building not in visible_buildings(site):
        raise bad_request("没有这个楼宇 / no such building")
    scope = request_scope(request)
    if building is not None and scope is not None and not scope.building_ok(building):
        raise OutOfScope(building)
    return EnergyQuery(days, str(period), str(group), building)


def kept_to(query: EnergyQuery, request: web.Request) -> frozenset[str] | None:
    """Return the buildings the report may show: the one asked for, else the operator's (None: every one)."""
    if query.building is not None:
        return frozenset({query.building})
    scope = request_scope(request)
    return scope.buildings if scope is not None else None


class EnergyReport:
    """Build the energy report for one request: on screen, or as a streamed workbook."""

    def __init__(self, site: WebSite, request: web.Request) -> None:
        self.site = site
        self.request = request
        self.query = energy_query(site, request)
        self.t = site.t(request)
        self.first, self.last = date_day(self.query.days.start), date_day(self.query.days.end)

    async def meters(self) -> list[ReportMeter]:
        """Bring the rollups up to date; return the report's meters in order."""
        await self.site.rollup(self.site.core.clock.timestamp() - 2 * 86400)
        return await report_meters(self.site.db, self.first, self.last, self.site.offset_s, self.query.group,
                                   self.site.directory.classify, kept_to(self.query, self.request))

    def lines(self, meters: list[ReportMeter], size: int = ENERGY_BATCH_DAYS) -> AsyncIterator[list[Line]]:
        """Return the report's lines in batches."""
        return energy_lines(self.site.db, meters, self.first, self.last, self.site.offset_s, self.query.period,
                            size)

    @property
    def labels(self) -> dict[str, str]:
        """Name the subtotal and total lines."""
        return {LINE_SUBTOTAL: self.t["subtotal"], LINE_TOTAL: self.t["col_total"]}

    def columns(self, keys: list[str]) -> list[str]:
        """Translate column keys."""
        return [self.t[key] for key in keys]

    async def export(self) -> tuple[web.StreamResponse, int]:
        """Send every line as .xlsx, a batch at a time; return the response and the meter rows written."""
        meters = await self.meters()
        written = 0

        async def cells() -> AsyncIterator[list[list[Any]]]:
            nonlocal written
            async for batch in self.lines(meters):
                written += sum(1 for line in batch if line.kind == LINE_ROW)
                yield [line_cells(line, self.site.directory.display_name, self.labels) for line in batch]

        days = self.query.days
        response = await send_xlsx(self.request, self.site.core, f"energy-{days.start}-{days.end}.xlsx",
                                   self.t["report_energy"], self.columns(detail_columns(self.query.group)), cells())
        return response, written

    async def page(self) -> dict[str, Any]:
        """Return the template context: the groups' summary, the first detail lines and the chart."""
        meters = await self.meters()
        summary = Table(self.t["report_energy"], self.columns([f"col_{self.query.group}", "col_meters",
                                                               *USAGE_COLUMNS]))
        for name, count, usage in await energy_summary(self.site.db, meters, self.first, self.last,
                                                       self.site.offset_s):
            summary.rows.append([name, count, *usage.cells()])
        summary.add_totals(self.t["col_total"], 1)
        shown: list[tuple[str, list[Any]]] = []
        more = False
        known = set(self.site.directory.meter_ids())
        async for batch in self.lines(meters, size=ENERGY_SCREEN_LINES):
            for line in batch:
                if len(shown) == ENERGY_SCREEN_LINES:
                    more = True
                    break
                shown.append((line.kind, line_cells(line, lambda e: self.meter_link(e, known), self.labels)))
            if more:
                break
        chart_ids = [m.entity_id for m in meters] if kept_to(self.query, self.request) is not None else None
        chart: dict[str, float] = {}
        per_day = await queries.energy_per_day(self.site.db, self.first, self.last, chart_ids)
        for day, wh in sorted(per_day.items()):
            label = queries.period_key(day_date(day), "day" if self.query.period == "day" else "month")
            chart[label] = chart.get(label, 0) + wh / 1000
        return {"summary": summary, "lines": shown, "more": more, "screen_lines": ENERGY_SCREEN_LINES,
                "detail_columns": self.columns(detail_columns(self.query.group)),
                "chart": Markup(bar_chart(sorted(chart.items()), "kWh")) if chart else "",
                "building": self.query.building, "buildings": visible_buildings(self.site, self.request)}

    def meter_link(self, entity_id: str, known: set[str]) -> Markup | str:
        """A meter by name, linked to its page when it still exists."""
        name = self.site.directory.display_name(entity_id)
        return Markup('<a href="/meters/{0}">{1}</a>').format(entity_id, name) if entity_id in known else name


async def energy_response(
    site: WebSite, request: web.Request, operator: Any, context: dict[str, Any]
) -> web.StreamResponse:
    """Answer /reports?kind=energy: the page, or with format=xlsx the export (audited)."""
    report = EnergyReport(site, request)
    query = report.query
    if request.query.get("format") == "xlsx":
        response, rows = await report.export()
        await site.audit.record(request, operator, "report_export", f"energy {query.days.start}..{query.days.end}",
                                after={"group": query.group, "period": query.period, "building": query.building,
                                       "rows": rows})
        return response
    return site.render(request, "reports.html", **context, start=query.days.start, end=query.days.end,
                       period=query.period, group=query.group, groups=ENERGY_GROUPS, **await report.page())
