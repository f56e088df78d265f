"""Batch remote operations (批量遥控) and the readings export (抄表导出)."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from scada_core.params import parse_id
from scada_core.permissions import PERM_BATCH, PERM_REPORTS, PERM_VIEW
from scada_core.reports.excel import table_to_xlsx
from scada_core.reports.table import Table, kwh, yuan

from ..batch import BatchError
from ..const import BATCH_PAGE_LIMIT, BATCH_PAGE_SIZE
from ..scoping import OutOfScope, request_scope
from ..site import Page


# 抄表导出's columns (message keys), in order.
READING_COLUMNS = (
    "col_meter", "col_label", "col_building", "col_floor", "col_room", "col_shop", "col_status", "col_relay",
    "col_mode", "col_ua", "col_ub", "col_uc", "col_ia", "col_ib", "col_ic", "col_power", "col_pf", "col_hz",
    "col_remaining", "col_total_kwh", "col_sharp", "col_peak", "col_flat", "col_valley", "col_purchase_count",
    "col_last_read",
)


def check_batch(request: web.Request, job: dict[str, Any]) -> None:
    """Refuse (OutOfScope) a batch with a meter outside the request's buildings."""
    if (scope := request_scope(request)) is not None:
        for entity_id in job["items"]:
            if not scope.entity_ok(entity_id):
                raise OutOfScope(entity_id)


class BatchStartView(Page):
    """Start one service on the selected meters."""

    url = "/web/batch"
    name = "web:batch_start"

    async def post(self, request: web.Request) -> web.Response:
        """JSON body {service, entity_ids, data} (CSRF in the header); answer {batch_id} at once."""
        operator, _form = await self.site.form(request, PERM_BATCH)
        try:
            body = json.loads(await request.text())
            batch_id, total = await self.site.batches.start(operator, request, str(body["service"]),
                                                            list(body["entity_ids"]), dict(body.get("data") or {}))
        except (ValueError, KeyError, TypeError, BatchError) as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response({"batch_id": batch_id, "total": total})


class BatchStatusView(Page):
    """Per-meter progress of one batch."""

    url = "/web/batch/{batch_id}"
    name = "web:batch_status"

    async def get(self, request: web.Request) -> web.Response:
        """Return {service, total, done, failed, items: {entity_id: {state, result, error}}}."""
        self.site.require(request, PERM_VIEW)
        job = await self.site.batches.get(request.match_info["batch_id"])
        if job is None:
            raise web.HTTPNotFound(text="no such batch")
        check_batch(request, job)
        return web.json_response(job)


class BatchHistoryView(Page):
    """Every batch anyone ran, newest first: who, when, what and how it went (kept across restarts)."""

    url = "/batches"
    name = "web:batches"

    async def get(self, request: web.Request) -> web.Response:
        """A page of BATCH_PAGE_SIZE batches."""
        operator = self.site.require(request, PERM_VIEW)
        page = min(parse_id(request.query.get("page", "1")) or 1, BATCH_PAGE_LIMIT)
        whose = None if request_scope(request) is None else operator.username  # kept to buildings: one's own
        try:
            batches, count = await self.site.batches.history(BATCH_PAGE_SIZE, (page - 1) * BATCH_PAGE_SIZE, whose)
            pages = max(1, -(-count // BATCH_PAGE_SIZE))
            if page > pages:  # past the end: the last page
                page = pages
                batches, count = await self.site.batches.history(BATCH_PAGE_SIZE, (page - 1) * BATCH_PAGE_SIZE,
                                                                 whose)
        except BatchError:  # no field layer: no batches
            batches, count, page, pages = [], 0, 1, 1
        return self.site.render(request, "batches.html", batches=batches, page=page, pages=pages, count=count)


class BatchPageView(Page):
    """One batch: each meter's outcome, by the name people use."""

    url = "/batches/{batch_id}"
    name = "web:batch_page"

    async def get(self, request: web.Request) -> web.Response:
        """Render the batch (404 in the site's layout when there is none)."""
        self.site.require(request, PERM_VIEW)
        job = await self.site.batches.get(request.match_info["batch_id"])
        if job is None:
            raise web.HTTPNotFound(text=self.site.t(request)["no_such_batch"])
        check_batch(request, job)
        names = self.site.directory.display_name
        items = sorted(((names(entity_id), entity_id, item) for entity_id, item in job["items"].items()),
                       key=lambda row: row[0])
        operator = await self.site.auth.display_name(job["operator"]) if job["operator"] else ""
        return self.site.render(request, "batch.html", job=job, items=items, operator_name=operator)


class ReadingsExportView(Page):
    """抄表导出: the selected meters' current readings as .xlsx, each with where it is, whose it is and its state."""

    url = "/web/export/readings"
    name = "web:export_readings"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Form field entity_ids (comma separated)."""
        operator, form = await self.site.form(request, PERM_REPORTS)
        ids = [e for e in str(form.get("entity_ids", "")).split(",") if e]  # the middleware kept them to scope
        t = self.site.t(request)
        fmt = self.site.formatter(self.site.language(request))
        grid = await self.site.grid.data()
        column = {name: index for index, name in enumerate(grid["columns"])}
        rows = {row[0]: row for row in grid["rows"]}
        table = Table(t["readings"], [t[c] for c in READING_COLUMNS])
        for entity_id in ids:
            state = self.core.states.get(entity_id)
            a = state.attributes if state is not None else {}
            place = rows.get(entity_id)
            status = place[column["status"]] if place else "offline"
            table.rows.append([
                entity_id, self.site.directory.classify(entity_id)["label"],
                *(place[column[key]] if place else "" for key in ("building", "floor", "room", "account")),
                t[f"st_{status}"], fmt.attribute("relay", a.get("relay")),
                fmt.attribute("prepaid_mode", a.get("prepaid_mode")),
                *(a.get(key) for key in ("voltage_a", "voltage_b", "voltage_c", "current_a", "current_b",
                                         "current_c", "power_w", "power_factor", "frequency")),
                yuan(a.get("remaining_fen")),
                *(kwh(a.get(key)) for key in ("total_wh", "sharp_wh", "peak_wh", "flat_wh", "valley_wh")),
                a.get("purchase_count"), self.site.when(a.get("last_read")),
            ])
        body = await self.core.async_add_executor_job(table_to_xlsx, table)
        await self.site.audit.record(request, operator, "export_readings", f"{len(ids)} meters", after={"meters": ids})
        stamp = self.core.clock.now().strftime("%Y%m%d%H%M")
        return web.Response(body=body, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="readings-{stamp}.xlsx"'})


BATCH_VIEWS = (BatchStartView, BatchStatusView, BatchHistoryView, BatchPageView, ReadingsExportView)
