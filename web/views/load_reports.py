"""限电 reports: one run's page (reloading while its meters are reached) and every run's meters over chosen days,
both exported to Excel (the days' export streamed a database batch at a time)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from scada_core.billing.const import LOAD_METER_LIMITED, LOAD_METER_PENDING, LOAD_METER_TRIPPED, LOAD_RUN_ACTIVE, LOAD_RUN_ENDED
from scada_core.exceptions import OpenPrepayError
from scada_core.params import parse_id, path_id
from scada_core.permissions import PERM_REPORTS, PERM_VIEW

from ..const import EXPORT_BATCH, LOAD_HISTORY_PAGE_SIZE
from ..scoping import request_scope
from ..site import Page
from ..xlsx_download import at_hand, send_xlsx
from .sales import billing_of

REFRESH_S = 2  # how often a run's page reloads while its meters are being reached
COLUMNS = ("load_plan", "load_action", "load_start", "load_end", "col_meter", "col_account", "load_category",
           "load_previous_w", "load_outcome", "load_limited_at", "load_restore", "load_restored_w", "load_restored_at")


def in_progress(run: dict[str, Any]) -> bool:
    """Tell whether meters of a run are still being reached: limited (or off) while it runs, restored after."""
    if run["status"] == LOAD_RUN_ACTIVE:
        return any(m["outcome"] == LOAD_METER_PENDING for m in run["meters"])
    return run["status"] == LOAD_RUN_ENDED and any(
        m["outcome"] in (LOAD_METER_LIMITED, LOAD_METER_TRIPPED) and m["restored_ts"] is None for m in run["meters"]
    )


class LoadSheet:
    """The report's rows in a request's language (category names, outcomes, local times)."""

    def __init__(self, page: Page, request: web.Request, names: dict[str, str]) -> None:
        self.t = page.site.t(request)
        self.when: Callable[[Any], str] = page.site.formatter(page.site.language(request)).when
        self.display_name = page.site.directory.display_name
        self.names = names

    def row(self, m: dict[str, Any]) -> list[Any]:
        """Return one meter of a run (``m`` carries its run's plan_name, action, start_ts and end_ts)."""
        t, when = self.t, self.when
        return [m["plan_name"], t["load_action_" + m["action"]], when(m["start_ts"]), when(m["end_ts"]),
                self.display_name(m["meter_entity_id"]), m["account_id"], self.names.get(m["category"], m["category"]),
                m["previous_w"], t["load_outcome_" + m["outcome"]], when(m["limited_ts"]) if m["limited_ts"] else "",
                t["load_restore_" + m["restore"]] if m["restore"] else "", m["restored_w"],
                when(m["restored_ts"]) if m["restored_ts"] else ""]

    def columns(self) -> list[str]:
        """Return the column titles."""
        return [self.t[c] for c in COLUMNS]


async def category_names(billing: Any) -> dict[str, str]:
    """Return {key: name} of the load categories."""
    return {c["key"]: c["name"] for c in await billing.load_categories()}


class LoadRunReportView(Page):
    """One run: when it began and ended, and per meter its limit before, the outcome and the restore; ?format=xlsx
    exports it."""

    url = r"/load_limiting/runs/{run_id:\d+}"
    name = "web:load_run"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Show (or export) the run's report."""
        operator = self.site.require(request, PERM_VIEW)
        billing = billing_of(self.site, request)
        try:
            run = await billing.load_run(path_id(request, "run_id"))
        except OpenPrepayError:
            raise web.HTTPNotFound() from None
        if (scope := request_scope(request)) is not None:  # an operator kept to buildings sees their meters only
            run["meters"] = [m for m in run["meters"] if scope.entity_ok(m["meter_entity_id"])]
        names = await category_names(billing)
        if request.query.get("format") != "xlsx":
            return self.site.render(request, "load_run.html", run=run, names=names, in_progress=in_progress(run),
                                    refresh_s=REFRESH_S, page_title=run["plan_name"])
        self.site.require(request, PERM_REPORTS)
        await self.site.audit.record(request, operator, "load_export", f"run {run['id']}",
                                     after={"rows": len(run["meters"])})
        sheet = LoadSheet(self, request, names)
        of_run = {k: run[k] for k in ("plan_name", "action")}
        rows = [sheet.row({**m, **of_run, "start_ts": run["started_ts"] or run["start_ts"],
                           "end_ts": run["ended_ts"] or run["end_ts"]}) for m in run["meters"]]
        return await send_xlsx(request, self.core, f"load-run-{run['id']}.xlsx", sheet.t["nav_load_limiting"],
                               sheet.columns(), at_hand(rows))


class LoadHistoryView(Page):
    """限电报表: what every run did to each meter over chosen days, 50 a page; ?format=xlsx exports all of it."""

    url = "/load_limiting/report"
    name = "web:load_report"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Show a page of it, or send it all as .xlsx."""
        operator = self.site.require(request, PERM_VIEW)
        billing = billing_of(self.site, request)
        start, end, since, until = self.site.day_range(request, "start", "end",
                                                       self.core.clock.now().date().replace(day=1))
        names = await category_names(billing)
        buildings = None if (scope := request_scope(request)) is None else scope.buildings
        if request.query.get("format") == "xlsx":
            self.site.require(request, PERM_REPORTS)
            await self.site.audit.record(request, operator, "load_export", f"{start}..{end}")
            sheet = LoadSheet(self, request, names)
            return await send_xlsx(request, self.core, f"load-limiting-{start}-{end}.xlsx", sheet.t["load_report"],
                                   sheet.columns(), self._batches(billing, sheet, since, until, buildings))
        page = max(1, parse_id(request.query.get("page", "1")) or 1)
        rows, count = await billing.load_history(since, until, LOAD_HISTORY_PAGE_SIZE,
                                                 (min(page, 10**6) - 1) * LOAD_HISTORY_PAGE_SIZE, buildings)
        pages = max(1, -(-count // LOAD_HISTORY_PAGE_SIZE))
        return self.site.render(request, "load_report.html", page_title=self.site.t(request)["load_report"],
                                rows=rows, names=names, start=start, end=end,
                                page=min(page, pages), pages=pages, count=count,
                                query=urlencode({"start": start.isoformat(), "end": end.isoformat()}))

    @staticmethod
    async def _batches(
        billing: Any, sheet: LoadSheet, since: float, until: float, buildings: frozenset[str] | None
    ) -> AsyncIterator[list[list[Any]]]:
        async for batch in billing.load_history_batches(since, until, EXPORT_BATCH, buildings):
            yield [sheet.row(m) for m in batch]


LOAD_REPORT_VIEWS = (LoadRunReportView, LoadHistoryView)
