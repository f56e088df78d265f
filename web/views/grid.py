"""The meter grid (home page), its JSON data and one meter's page."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from aiohttp import web
from markupsafe import Markup

from scada_core.exceptions import OpenPrepayError
from scada_core.json_helpers import json_bytes
from scada_core.params import parse_id, query_choice
from scada_core.permissions import PERM_CONTROL, PERM_REPORTS, PERM_RESOLVE, PERM_VIEW
from scada_core.reports.readings import INTERVALS, READING_COLUMNS, reading_batches, reading_cells

from ..batch import BatchError
from ..charts import bar_chart
from ..const import BATCH_SERVICES, EXPORT_BATCH, REASON_MAX_LENGTH
from ..meter_history import HISTORIES, PERIODS, consumption, history_page
from ..scoping import request_scope
from ..site import Page
from ..xlsx_download import send_xlsx
from .sales import billing_of, error_text

ATTRIBUTES = ("remaining_fen", "purchase_count", "total_wh", "power_w", "voltage_a", "current_a", "power_factor",
              "relay", "prepaid_mode", "alarm1", "alarm2", "arrears", "overload", "online", "gateway", "bus",
              "address", "meter_type", "billing")


class GridDataView(Page):
    """One compact JSON of all meters (polled by the grid every few seconds)."""

    url = "/web/grid.json"
    name = "web:grid_data"

    async def get(self, request: web.Request) -> web.Response:
        """Return {columns, rows}: 304 when unchanged, gzip-compressed once per rebuild (an operator kept to
        buildings gets their meters' rows, uncached)."""
        self.site.require(request, PERM_VIEW)
        grid = self.site.grid
        if (scope := request_scope(request)) is not None:
            return web.Response(body=json_bytes(await grid.scoped(scope.buildings)), content_type="application/json",
                                headers={"Cache-Control": "no-cache"})
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
        self.site.require(request, PERM_VIEW)
        entity_id = known_meter(self, request)
        state = self.core.states.get(entity_id)
        status = await self.site.billing.meter_status(entity_id) if self.site.billing else None
        attrs = state.attributes if state is not None else {}
        q = request.query
        history = q.get("history") if q.get("history") in HISTORIES else HISTORIES[0]
        period = q.get("period") if q.get("period") in PERIODS else "month"
        t = self.site.t(request)
        use = await consumption(self.site.db, entity_id, period, self.core.clock.now().date(), self.core.clock.time_zone)
        account, categories, category = None, [], None
        if self.site.billing:
            categories = await self.site.billing.load_categories()
            category = (await self.site.billing.meter_categories()).get(entity_id)
        if status and status.get("account_id") is not None:
            account = await self.site.billing.account_summary(status["account_id"])
        return self.site.render(
            request, "meter.html", entity_id=entity_id, state=state, info=self.site.directory.classify(entity_id),
            meter_status=status, attrs=[(k, attrs.get(k)) for k in ATTRIBUTES], services=BATCH_SERVICES,
            error=request.query.get("error"), account=account, history=history, histories=HISTORIES,
            reading_intervals=tuple(INTERVALS),
            rows=await history_page(self.site.db, entity_id, history, parse_id(q.get("page", "1")) or 1),
            period=period, periods=PERIODS, use=use, chart=Markup(bar_chart(use.bars, "kWh", t["no_data"])),
            categories=categories, category=category,
        )


def known_meter(page: Page, request: web.Request) -> str:
    """Return the path's meter, or answer 404 when no such meter exists (the middleware refuses another
    building's)."""
    entity_id = request.match_info["entity_id"]
    if page.core.states.get(entity_id) is None and entity_id not in page.site.directory.meter_ids():
        raise web.HTTPNotFound()
    return entity_id


def block_of(status: dict[str, Any]) -> dict[str, Any]:
    """Return what the audit keeps of a meter's tamper block."""
    return {k: status.get(k) for k in ("blocked", "blocked_reason", "remaining_fen", "account_id")}


class MeterControlView(Page):
    """One remote control of one meter from its page (拉闸, 合闸, 保电, 恢复预付费, 电价下发, 设置下发), run as a
    saved one-meter batch: its outcome is on the batch's page."""

    url = "/meters/{entity_id}/control"
    name = "web:meter_control"

    async def post(self, request: web.Request) -> web.Response:
        """Form field ``service`` (the page asked for confirmation, naming the meter and the action)."""
        operator, form = await self.site.form(request, PERM_CONTROL)
        entity_id = known_meter(self, request)
        service = str(form.get("service", ""))
        if service not in BATCH_SERVICES:
            raise web.HTTPBadRequest(text=self.site.t(request)["err_bad_input"])
        try:
            batch_id, _total = await self.site.batches.start(operator, request, service, [entity_id], {})
        except BatchError as err:
            raise web.HTTPFound(f"/meters/{quote(entity_id)}?error={quote(str(err))}") from None
        raise web.HTTPFound(f"/batches/{batch_id}")


class MeterResolveView(Page):
    """Admin: resolve a meter's tamper block (购电次数异常) with a reason; audited before/after."""

    url = "/meters/{entity_id}/resolve_tamper"
    name = "web:meter_resolve"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Accept the meter's purchase count and money (billing.resolve_tamper) and go back to the meter."""
        operator, form = await self.site.form(request, PERM_RESOLVE)
        billing = billing_of(self.site, request)
        entity_id = known_meter(self, request)
        page = f"/meters/{quote(entity_id)}"
        t = self.site.t(request)
        reason = str(form.get("reason", "")).strip()
        if not reason or len(reason) > REASON_MAX_LENGTH:
            raise web.HTTPFound(f"{page}?error={quote(t['err_reason'] if not reason else t['err_too_long'])}")
        before = block_of(await billing.meter_status(entity_id))
        try:
            result = await billing.resolve_tamper(entity_id, operator.billing_operator(), reason)
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, "tamper_resolve", entity_id, before=before,
                                         after={"error": str(err), "reason": reason}, ok=False)
            raise web.HTTPFound(f"{page}?error={quote(error_text(err, self.site.language(request)))}") from None
        after = {**block_of(await billing.meter_status(entity_id)), **result, "reason": reason}
        await self.site.audit.record(request, operator, "tamper_resolve", entity_id, before=before, after=after)
        self.site.grid.invalidate()
        raise web.HTTPFound(page)


class MeterReadingsExportView(Page):
    """抄表记录导出: one meter's readings over a date range, every one or the first of each interval, as .xlsx."""

    url = "/meters/{entity_id}/readings.xlsx"
    name = "web:meter_readings_export"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Send them (read and written in batches, audited)."""
        operator = self.site.require(request, PERM_REPORTS)
        entity_id = known_meter(self, request)
        start, end, since, until = self.site.day_range(request, "from", "to",
                                                       self.core.clock.now().date().replace(day=1))
        interval = query_choice(request, "interval", tuple(INTERVALS), "all")
        t = self.site.t(request)
        fmt = self.site.formatter(self.site.language(request))
        await self.site.audit.record(request, operator, "meter_readings_export", entity_id,
                                     after={"from": start.isoformat(), "to": end.isoformat(), "interval": interval})
        batches = reading_batches(self.site.db, entity_id, since, until, INTERVALS[interval], self.site.offset_s,
                                  EXPORT_BATCH)

        def when(ts: float) -> str:
            return fmt.when(ts, seconds=True)

        async def rows() -> AsyncIterator[list[list[Any]]]:
            async for batch in batches:
                yield [reading_cells(row, when) for row in batch]

        return await send_xlsx(request, self.core, f"readings-{entity_id.split('.')[-1]}-{start}-{end}.xlsx",
                               t["history_readings"], [t[c] for c in READING_COLUMNS], rows())


GRID_VIEWS = (GridDataView, MeterView, MeterControlView, MeterResolveView, MeterReadingsExportView)
