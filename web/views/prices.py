"""Prices and limits (价格与限值): an admin changes a building's or a meter's tariff and a building's alarm levels
and limits from a chosen moment, audited, and pushes them to the meters as a tracked batch."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from scada_core.billing.const import MODE_METER, POLICY_NAMES
from scada_core.billing.tariff_store import building_scope, meter_scope
from scada_core.billing.tariffs import RATES
from scada_core.exceptions import OpenPrepayError
from scada_core.http import scoped_rows
from scada_core.permissions import PERM_PRICES, PERM_SETTINGS

from ..batch import SERVICE_PUSH_SETTINGS, SERVICE_PUSH_TARIFF, BatchError
from ..scoping import visible_buildings
from ..site import Page
from ..tariff_form import (
    HOURS, TIER_BANDS, FormError, effective_from_form, fen_from_form, hours_of, next_monday, tariff_from_form,
    watts_from_form,
)
from .sales import billing_of, error_text

VERSIONS_SHOWN = 10  # versions listed per scope, newest effective first
ACTION_PERMISSIONS = {"tariff": PERM_PRICES, "policy": PERM_SETTINGS}  # what each of the page's forms changes


class PricesView(Page):
    """Each building's tariff and settings in force, their versions, and the forms that add one."""

    url = "/admin/prices"
    name = "web:prices"

    async def get(self, request: web.Request) -> web.Response:
        """Show the page."""
        self.site.require(request, PERM_PRICES, PERM_SETTINGS)
        return await self.page(request)

    async def page(self, request: web.Request, status: int = 200, error: str | None = None,
                   message: str | None = None) -> web.Response:
        """Render it."""
        billing = billing_of(self.site, request)
        now = billing.now()
        buildings = []
        for building_id in visible_buildings(self.site, request):
            tariffs = await billing.tariffs(building_scope(building_id))
            in_force = next((v for v in tariffs if v["effective_ts"] <= now), None)
            spec = in_force["spec"] if in_force else {}
            buildings.append({
                "id": building_id, "tariffs": tariffs[:VERSIONS_SHOWN], "tariff": spec,
                "hours": hours_of(spec["periods"]) if spec.get("kind") == "tou" else ["flat"] * HOURS,
                "policy": billing.building_policy(building_id),
                "policies": (await billing.building_policies(building_id))[:VERSIONS_SHOWN],
            })
        overrides = scoped_rows(request, [v for v in await billing.tariffs() if v["scope"].startswith("meter:")],
                                billing.tariff_building)[:VERSIONS_SHOWN]
        names = await self.site.auth.display_names({v["operator_id"] for b in buildings for v in b["tariffs"]}
                                                   | {v["operator_id"] for b in buildings for v in b["policies"]}
                                                   | {v["operator_id"] for v in overrides})
        return self.site.render(
            request, "prices.html", status=status, buildings=buildings, overrides=overrides, now=now,
            rates=RATES, hours=range(HOURS), bands=range(TIER_BANDS), operator_names=names, error=error,
            message=message, next_monday=next_monday(self.core.clock.now(), self.core.clock.time_zone),
            policy_names=POLICY_NAMES)

    async def post(self, request: web.Request) -> web.StreamResponse:
        """tariff (a building's or a meter's) or policy (a building's); then a push batch when in force now."""
        operator, form = await self.site.form(request, PERM_PRICES, PERM_SETTINGS)
        billing = billing_of(self.site, request)
        t = self.site.t(request)
        action = str(form.get("action", ""))
        if action not in ACTION_PERMISSIONS:
            raise web.HTTPBadRequest(text="unknown action")
        self.site.require(request, ACTION_PERMISSIONS[action])
        try:
            effective_ts = effective_from_form(form, self.core.clock.now())
            building_id = str(form.get("building", ""))
            billing.building(building_id)
            if action == "tariff":
                target = str(form.get("meter", "")).strip()
                entity_id = self.site.directory.resolve(target) if target else None
                if target and entity_id is None:
                    raise FormError("err_meter_unknown")
                scope = meter_scope(entity_id) if entity_id else building_scope(building_id)
                before = await self._tariff_now(billing, scope, entity_id)
                version = await billing.set_tariff(scope, tariff_from_form(form, before), effective_ts,
                                                   operator.billing_operator(), push=False)
                meters = ([entity_id] if billing.mode_of(entity_id) == MODE_METER else []) if entity_id \
                    else billing.meter_side_meters(building_id)
                service, audited = SERVICE_PUSH_TARIFF, {"tariff": version["spec"]}
            else:
                before = billing.building_policy(building_id)
                policy = {
                    "alarm1_fen": fen_from_form(form, "alarm1"), "alarm2_fen": fen_from_form(form, "alarm2"),
                    "overdraft_fen": fen_from_form(form, "overdraft"),
                    "credit_cap_fen": fen_from_form(form, "credit_cap", required=False),
                    "overload_w": watts_from_form(form, "overload"),
                }
                version = await billing.set_building_policy(building_id, operator.billing_operator(), **policy,
                                                            effective_ts=effective_ts, push=False)
                meters, service, audited = billing.meter_side_meters(building_id), SERVICE_PUSH_SETTINGS, policy
                scope = building_scope(building_id)
        except FormError as err:
            return await self.page(request, status=400, error=t[err.key])
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, f"{action}_set", str(form.get("building", "")), ok=False,
                                         after={"error": str(err)})
            return await self.page(request, status=400, error=error_text(err, self.site.language(request)))
        await self.site.audit.record(request, operator, f"{action}_set", scope,
                                     before={"tariff": before} if action == "tariff" else before,
                                     after={**audited, "effective_ts": version["effective_ts"]})
        if version["effective_ts"] > billing.now():
            when = self.site.formatter(self.site.language(request)).when(version["effective_ts"])
            return await self.page(request, message=t["prices_scheduled"].format(when=when))
        if not meters:
            return await self.page(request, message=t["prices_in_force"])
        try:
            batch_id, _total = await self.site.batches.start(operator, request, service, meters, {})
        except BatchError as err:
            return await self.page(request, message=f"{t['prices_in_force']} ({err})")
        raise web.HTTPFound(f"/batches/{batch_id}")

    @staticmethod
    async def _tariff_now(billing: Any, scope: str, entity_id: str | None) -> dict[str, Any] | None:
        """Return the tariff a scope has in force now (a meter: its override, else its building's)."""
        if entity_id is not None:
            return await billing.tariff_for(entity_id)
        now = billing.now()
        return next((v["spec"] for v in await billing.tariffs(scope) if v["effective_ts"] <= now), None)


PRICES_VIEWS = (PricesView,)
