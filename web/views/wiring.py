"""Quick setup by import (将电表和通讯管理机配置导入): the wiring workbook's template, dry run, apply and export,
and removal of imported gateways and meters; YAML-declared wiring is shown read-only."""
from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from integrations.modbus import get_wiring
from integrations.modbus.const import DATA_WIRING
from integrations.modbus.wiring import GATEWAY_FIELDS, Wiring
from integrations.modbus.wiring_sheet import (
    BAUDRATES, TYPES, Plan, SheetError, SiteFacts, check, export, parse, template)
from scada_core.billing.tariff_store import meter_scope
from scada_core.exceptions import OpenPrepayError
from scada_core.permissions import PERM_SETTINGS

from ..auth import WebOperator
from ..site import Page
from ..xlsx_download import XLSX_TYPE
from .sales import error_text

MAX_PENDING_PLANS = 10


def _wiring(view: Page, request: web.Request) -> Wiring:
    """Return the stored wiring, or answer 503 when modbus is not set up."""
    if DATA_WIRING not in view.core.data:
        raise web.HTTPServiceUnavailable(text=view.site.t(request)["wiring_no_modbus"])
    return get_wiring(view.core)


def _xlsx(body: bytes, filename: str) -> web.Response:
    return web.Response(body=body, headers={
        "Content-Type": XLSX_TYPE, "Content-Disposition": f'attachment; filename="{filename}"'})


class WiringView(Page):
    """The wiring page: gateways and meters in force (YAML read-only, imported removable) and the import."""

    url = "/admin/wiring"
    name = "web:wiring"
    site_wide = True

    def __init__(self, site: Any) -> None:
        super().__init__(site)
        self.pending: dict[str, Plan] = {}  # dry runs waiting for the office's confirmation

    async def get(self, request: web.Request) -> web.Response:
        """Show the page."""
        self.site.require(request, PERM_SETTINGS)
        return self.page(request)

    def page(self, request: web.Request, status: int = 200, plan: Plan | None = None, plan_id: str = "",
             message: str | None = None) -> web.Response:
        """Render it."""
        wiring = _wiring(self, request)
        meters = sorted(wiring.hub.devices.values(), key=lambda d: (d.bus.name, d.address))
        return self.site.render(
            request, "wiring.html", status=status, wiring=wiring, gateways=wiring.hub.gateways, meters=meters,
            plan=plan, plan_id=plan_id, message=message, en=self.site.language(request) == "en",
            gateway_types=TYPES, baudrates=BAUDRATES)

    async def post(self, request: web.Request) -> web.StreamResponse:
        """preview (dry run of a workbook), apply (the previewed plan), remove_meter or remove_gateway."""
        operator, form = await self.site.form(request, PERM_SETTINGS)
        action = str(form.get("action", ""))
        t = self.site.t(request)
        wiring = _wiring(self, request)
        if action == "preview":
            return await self._preview(request, wiring, form.get("sheet"))
        if action == "apply":
            return await self._apply(request, operator, wiring, str(form.get("plan_id", "")))
        target = str(form.get("target", ""))
        if action == "edit_gateway" and target in wiring.gateways:
            return await self._edit_gateway(request, operator, wiring, target, form)
        if action == "remove_meter" and wiring.in_force(target):
            billing = self.site.billing
            if billing is not None and billing.opened.opened_mode(target) is not None:
                return self.page(request, status=409, message=t["wiring_meter_has_account"])
            row = await wiring.async_remove_meter(target)
            await self.site.audit.record(request, operator, "wiring_remove_meter", target, before=row)
            self.site.grid.invalidate()
            return self.page(request, message=t["wiring_removed"].format(name=target))
        if action == "remove_gateway" and target in wiring.gateways:
            try:
                row = await wiring.async_remove_gateway(target)
            except ValueError:
                return self.page(request, status=409, message=t["wiring_gateway_has_meters"])
            await self.site.audit.record(request, operator, "wiring_remove_gateway", target, before=row)
            return self.page(request, message=t["wiring_removed"].format(name=target))
        if action in ("remove_meter", "remove_gateway", "edit_gateway"):
            return self.page(request, status=400, message=t["wiring_read_only"])
        raise web.HTTPBadRequest(text="unknown action")

    async def _facts(self) -> SiteFacts:
        """Return billing's buildings and load categories, which the meter rows name."""
        billing = self.site.billing
        if billing is None:
            return SiteFacts({})
        categories = {c["key"]: str(c["name"]) for c in await billing.load_categories()}
        return SiteFacts({b: str(v.get("name") or b) for b, v in billing.buildings.items()}, billing.building_of,
                         categories)

    async def _preview(self, request: web.Request, wiring: Wiring, upload: Any) -> web.Response:
        t = self.site.t(request)
        if not isinstance(upload, web.FileField):
            return self.page(request, status=400, message=t["err_no_file"])
        try:
            gateways, meters = await self.core.async_add_executor_job(parse, upload.file.read())
        except SheetError as err:
            message = err.en if self.site.language(request) == "en" else err.zh
            return self.page(request, status=400, message=f"{t['err_bad_sheet']}: {message}")
        plan = check(wiring, gateways, meters, await self._facts())
        plan_id = secrets.token_hex(8)
        self.pending[plan_id] = plan
        while len(self.pending) > MAX_PENDING_PLANS:
            self.pending.pop(next(iter(self.pending)))
        return self.page(request, plan=plan, plan_id=plan_id)

    async def _edit_gateway(self, request: web.Request, operator: WebOperator, wiring: Wiring, name: str,
                            form: Any) -> web.Response:
        """Check one imported gateway's new address, mode, speed and label as its sheet row would be; apply it."""
        row = {key: str(form.get(key, "")).strip() for key in GATEWAY_FIELDS}
        plan = check(wiring, [{**row, "name": name, "line": 1, "source": ""}], [], await self._facts())
        if plan.problems:
            return self.page(request, status=400, plan=plan)
        return await self._apply_plan(request, operator, wiring, plan)

    async def _apply(self, request: web.Request, operator: WebOperator, wiring: Wiring, plan_id: str) -> web.Response:
        t = self.site.t(request)
        previewed = self.pending.pop(plan_id, None)
        if previewed is None or previewed.problems:
            return self.page(request, status=400, message=t["wiring_run_dry_run"])
        return await self._apply_plan(request, operator, wiring, previewed)

    async def _apply_plan(self, request: web.Request, operator: WebOperator, wiring: Wiring,
                          previewed: Plan) -> web.Response:
        t = self.site.t(request)
        async with wiring.lock:
            plan = check(wiring, previewed.gateways, previewed.meters, await self._facts())  # what changed since
            if plan.problems:
                return self.page(request, status=409, plan=plan, message=t["wiring_changed_since"])
            before = {wiring.entity_id(row): dict(wiring.meters[wiring.entity_id(row)]) for row in plan.changed_meters}
            before_gateways = [dict(wiring.gateways[row["name"]]) for row in plan.changed_gateways]
            await wiring.async_apply(plan.new_gateways, plan.new_meters, plan.changed_meters, plan.changed_gateways)
        rows = {wiring.entity_id(row): row for row in [*plan.new_meters, *plan.changed_meters]}
        places = [{"line": 0, "entity_id": entity_id, **{k: row[k] for k in ("floor", "room", "label")}}
                  for entity_id, row in rows.items() if row["floor"] or row["room"] or row["label"]]
        if places:
            await self.site.directory.save(self.site.directory.check_rows(places))
        tariffs = {e: row["tariff"] for e, row in rows.items()
                   if row["tariff"] and row["tariff"] != before.get(e, {}).get("tariff")}
        categories = {e: row["category"] for e, row in rows.items()
                      if row["category"] and row["category"] != before.get(e, {}).get("category")}
        failed = []
        if (billing := self.site.billing) is not None:  # a meter's own flat tariff from now, its load category
            who = operator.billing_operator()
            failed += await self._per_meter(request, tariffs, lambda entity_id, price: billing.set_tariff(
                meter_scope(entity_id), {"kind": "flat", "price": price}, billing.now(), who))
            failed += await self._per_meter(request, categories, lambda entity_id, key: billing.set_meter_category(
                entity_id, key, who))
        await self.site.audit.record(
            request, operator, "wiring_import",
            f"{len(plan.new_gateways)} / {len(plan.new_meters)} / {len(plan.changed_meters)}"
            f" / {len(plan.changed_gateways)}",
            before={"meters": list(before.values()), "gateways": before_gateways},
            after={"gateways": plan.new_gateways, "meters": plan.new_meters, "changed": plan.changed_meters,
                   "changed_gateways": plan.changed_gateways})
        self.site.grid.invalidate()
        message = t["wiring_applied"].format(gateways=len(plan.new_gateways), meters=len(plan.new_meters),
                                             changed=len(plan.changed_meters), moved=len(plan.changed_gateways))
        return self.page(request, message=" ".join([message, *failed]))

    async def _per_meter(self, request: web.Request, values: dict[str, Any],
                         call: Callable[[str, Any], Awaitable[Any]]) -> list[str]:
        """Run ``call(entity_id, value)`` for each meter; return the refusals, by meter, in the page's language."""
        failed = []
        for entity_id, value in values.items():
            try:
                await call(entity_id, value)
            except OpenPrepayError as err:
                failed.append(f"{entity_id}: {error_text(err, self.site.language(request))}")
        return failed


class WiringTemplateView(Page):
    """The empty wiring workbook: both sheets, their headers and one example row each."""

    url = "/admin/wiring/template.xlsx"
    name = "web:wiring_template"
    site_wide = True

    async def get(self, request: web.Request) -> web.Response:
        """Send it."""
        self.site.require(request, PERM_SETTINGS)
        return _xlsx(await self.core.async_add_executor_job(template), "wiring-template.xlsx")


class WiringExportView(Page):
    """The wiring in force (YAML and imported, marked) in the template's shape."""

    url = "/admin/wiring/export.xlsx"
    name = "web:wiring_export"
    site_wide = True

    async def get(self, request: web.Request) -> web.Response:
        """Send it (audited: it lists every gateway's address)."""
        operator = self.site.require(request, PERM_SETTINGS)
        wiring = _wiring(self, request)
        places = {entity_id: self.site.directory.classify(entity_id) for entity_id in wiring.hub.devices}
        body = await self.core.async_add_executor_job(export, wiring, places)
        await self.site.audit.record(request, operator, "wiring_export", f"{len(places)}")
        return _xlsx(body, "wiring.xlsx")


WIRING_VIEWS = (WiringView, WiringTemplateView, WiringExportView)
