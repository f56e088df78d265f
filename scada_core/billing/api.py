"""REST routes of billing (in the OpenAPI document). Money-moving requests carry ``idempotency_key``.

The operator comes from ``request[KEY_OPERATOR]`` ({"id", "role", "permissions", "buildings"}), which the web
layer's authentication sets (lists are kept to ``request[KEY_SCOPE]``'s buildings);
only when the billing config says ``operator_from_body: true`` (tests, benchmarks) is a body field trusted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from aiohttp import web

from scada_core.http import KEY_OPERATOR, KEY_SCOPE, View, json_response, read_json, scoped_rows
from scada_core.params import path_entity_id, path_id, query_choice, query_timestamp
from scada_core.permissions import OUT_OF_SCOPE_EN, OUT_OF_SCOPE_ZH

from .errors import PermissionDenied
from .operations import BY_NAME, Operation, invalid

if TYPE_CHECKING:
    from scada_core.core import Core

    from .service import BillingService

TAG = "billing"
ACCOUNT_STATUSES = ("open", "closed")
PATH_VALUES: dict[str, Callable[[web.Request, str], Any]] = {
    "entity_id": lambda request, _name: path_entity_id(request),
    "building_id": lambda request, name: request.match_info[name],
    "account_id": path_id,
    "transaction_id": path_id,
    "plan_id": path_id,
    "run_id": path_id,
}


class BillingView(View):
    """A billing route: gives handlers the service, the validated body and the operator."""

    tag = TAG

    def __init__(self, core: Core, operator_from_body: bool = False) -> None:
        super().__init__(core)
        self.operator_from_body = operator_from_body

    @property
    def billing(self) -> BillingService:
        """Return the billing service."""
        return self.core.data["billing"]

    async def body(self, request: web.Request, schema: vol.Schema) -> dict[str, Any]:
        """Return the JSON body validated by ``schema`` (400 with a message otherwise)."""
        try:
            return dict(schema(await read_json(request)))
        except vol.Invalid as err:
            raise invalid(err) from None

    def operator(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """Return the authenticated operator (or the body's when the config trusts it)."""
        operator = request.get(KEY_OPERATOR) or (body.get("operator") if self.operator_from_body else None)
        if not operator:
            raise PermissionDenied("需要登录的操作员", "an authenticated operator is required")
        return dict(operator)

    async def run(self, request: web.Request, op: Operation) -> web.Response:
        """Validate the body by the operation's schema and call its façade method with keyword arguments."""
        body = await self.body(request, op.schema)
        body["operator"] = self.operator(request, body)
        body.update({kwarg: PATH_VALUES[param](request, param) for param, kwarg in op.path.items()})
        if op.now_default and op.now_default not in body:
            body[op.now_default] = self.billing.now()
        return json_response(await getattr(self.billing, op.name)(**body))


def handler(name: str) -> Callable[[BillingView, web.Request], Awaitable[web.Response]]:
    """Return the view method running the operation ``name`` of the table."""
    op = BY_NAME[name]

    async def run(self: BillingView, request: web.Request) -> web.Response:
        return await self.run(request, op)

    run.__doc__ = op.summary
    return run


def operation_view(name: str) -> type[BillingView]:
    """Return the view of the operation ``name``: its URL, route name, handler and OpenAPI entry."""
    op = BY_NAME[name]

    def openapi_paths(self: BillingView) -> dict[str, dict[str, dict[str, Any]]]:
        return {op.url: {op.http: op.doc(self.billing.methods)}}  # at request: providers add payment methods

    return type(
        f"{op.name}_view",
        (BillingView,),
        {"url": op.url, "name": op.route, "openapi_paths": openapi_paths, op.http: handler(name), "__doc__": op.summary,
         "scope_aware": True},  # billing refuses another building's accounts and meters; GETs below filter
    )


def scope_building(request: web.Request, building: str | None) -> None:
    """Refuse a building the request's operator is not kept to."""
    scope = request.get(KEY_SCOPE)
    if scope is not None and not scope.building_ok(building):
        raise PermissionDenied(OUT_OF_SCOPE_ZH, OUT_OF_SCOPE_EN)


class TrialBalanceView(BillingView):
    """Trial balance."""

    url = "/api/billing/trial_balance"
    name = "billing:trial_balance"

    async def get(self, request: web.Request) -> web.Response:
        """Return every ledger account's balance and whether all entries sum to zero."""
        return json_response(await self.billing.trial_balance())


class AccountsView(operation_view("open_account")):
    """Accounts."""

    async def get(self, request: web.Request) -> web.Response:
        """List accounts (optionally ?status=open|closed)."""
        found = await self.billing.accounts(query_choice(request, "status", ACCOUNT_STATUSES))
        return json_response(scoped_rows(request, found, lambda account: account["building"]))


class AccountView(BillingView):
    """One account."""

    url = "/api/billing/accounts/{account_id:\\d+}"
    name = "billing:account"

    async def get(self, request: web.Request) -> web.Response:
        """Return one account with its meters' status and money."""
        return json_response(await self.billing.account(path_id(request, "account_id")))


class AccountHistoryView(BillingView):
    """An account's transactions."""

    url = "/api/billing/accounts/{account_id:\\d+}/history"
    name = "billing:account_history"

    async def get(self, request: web.Request) -> web.Response:
        """Return an account's transactions, newest first."""
        return json_response(await self.billing.account_history(path_id(request, "account_id")))


class TransactionView(BillingView):
    """One transaction."""

    url = "/api/billing/transactions/{transaction_id:\\d+}"
    name = "billing:transaction"

    async def get(self, request: web.Request) -> web.Response:
        """Return a transaction with its entries and deliveries."""
        return json_response(await self.billing.transaction(path_id(request, "transaction_id")))


class MetersView(BillingView):
    """Meter statuses."""

    url = "/api/billing/meters"
    name = "billing:meters"
    scope_aware = True

    async def get(self, request: web.Request) -> web.Response:
        """Return the status of every meter (未开户/开户/报警1/报警2/欠费/失联 and flags)."""
        found = await self.billing.meter_statuses()
        return json_response(scoped_rows(request, found, lambda meter: self.billing.building_of(meter["entity_id"])))


class MeterView(BillingView):
    """One meter's status."""

    url = "/api/billing/meters/{entity_id}"
    name = "billing:meter"

    async def get(self, request: web.Request) -> web.Response:
        """Return one meter's status and money."""
        return json_response(await self.billing.meter_status(path_entity_id(request)))


class MeterCreditView(operation_view("set_meter_credit")):
    """A meter's own credit policy (overdraft 透支, credit cap 囤积限值): read it, or (admin) set it."""

    async def get(self, request: web.Request) -> web.Response:
        """Return the own overdraft and credit cap, the ones in force, and who changed them when."""
        return json_response(await self.billing.meter_credit(path_entity_id(request)))


class AccountCreditView(operation_view("set_account_credit")):
    """An account's own credit policy: read it, or (admin) set it."""

    async def get(self, request: web.Request) -> web.Response:
        """Return the own overdraft and credit cap, the ones in force, and who changed them when."""
        return json_response(await self.billing.account_credit(path_id(request, "account_id")))


class MeterThresholdsView(operation_view("set_meter_thresholds")):
    """A meter's own alarm levels (报警1/报警2) and overload limit: read them, or (admin) set them."""

    async def get(self, request: web.Request) -> web.Response:
        """Return the meter's own thresholds and credit policy, those in force, and who changed them when."""
        return json_response(await self.billing.meter_credit(path_entity_id(request)))


class TopUpRuleView(operation_view("set_topup_rule")):
    """Where an account's online and kiosk top-ups go when the tenant chose no meter: read it, or set it."""

    async def get(self, request: web.Request) -> web.Response:
        """Return the account's top-up rule and shares."""
        return json_response(await self.billing.topup_rule(path_id(request, "account_id")))


class TariffsView(operation_view("set_tariff")):
    """Tariffs."""

    async def get(self, request: web.Request) -> web.Response:
        """List tariff versions (optionally ?scope=building:<id>|meter:<entity_id>)."""
        found = await self.billing.tariffs(request.query.get("scope"))
        return json_response(scoped_rows(request, found, self.billing.tariff_building))


class BuildingPolicyView(operation_view("set_building_policy")):
    """A building's alarm levels and limits, versioned by effective time."""

    async def get(self, request: web.Request) -> web.Response:
        """List the building's versions, newest effective first."""
        building_id = request.match_info["building_id"]
        self.billing.building(building_id)
        scope_building(request, building_id)
        return json_response(await self.billing.building_policies(building_id))


class AlarmsView(BillingView):
    """Alarm history."""

    url = "/api/billing/alarms"
    name = "billing:alarms"
    scope_aware = True

    async def get(self, request: web.Request) -> web.Response:
        """Return alarm crossings, newest first (optionally ?since=<POSIX s>&meter_entity_id=)."""
        found = await self.billing.alarms(query_timestamp(request, "since"), request.query.get("meter_entity_id"))
        return json_response(scoped_rows(request, found, lambda alarm: self.billing.building_of(alarm["meter_entity_id"])))


class ReconcileView(BillingView):
    """Run the reconciler."""

    url = "/api/billing/reconcile"
    name = "billing:reconcile"

    async def post(self, request: web.Request) -> web.Response:
        """Run a reconcile round now (deliveries, what meters should hold, due mirrors); return the outcomes."""
        return json_response(await self.billing.reconcile_round())


class LoadCategoriesView(operation_view("save_load_category")):
    """Load categories (用电性质)."""

    async def get(self, request: web.Request) -> web.Response:
        """List the load categories in their order."""
        return json_response(await self.billing.load_categories())


class LoadPlansView(operation_view("create_load_plan")):
    """Load-limiting plans (限电方案)."""

    async def get(self, request: web.Request) -> web.Response:
        """List the plans, newest first."""
        return json_response(await self.billing.load_plans())


class LoadPlanView(operation_view("update_load_plan")):
    """One load-limiting plan."""

    async def get(self, request: web.Request) -> web.Response:
        """Return the plan."""
        return json_response(await self.billing.load_plan(path_id(request, "plan_id")))


class LoadRunsView(BillingView):
    """Load-limiting runs."""

    url = "/api/billing/load_runs"
    name = "billing:load_runs"

    async def get(self, request: web.Request) -> web.Response:
        """List the newest runs with how many meters each limited."""
        return json_response(await self.billing.load_runs())


class LoadRunView(BillingView):
    """One load-limiting run."""

    url = r"/api/billing/load_runs/{run_id:\d+}"
    name = "billing:load_run"

    async def get(self, request: web.Request) -> web.Response:
        """Return the run: per meter the limit before, the outcome, when it was limited and restored."""
        return json_response(await self.billing.load_run(path_id(request, "run_id")))


VIEWS = (
    TrialBalanceView,
    AccountsView,
    AccountView,
    AccountHistoryView,
    operation_view("close_account"),
    operation_view("credit_payment"),
    operation_view("sell"),
    operation_view("refund"),
    TransactionView,
    operation_view("reverse"),
    MetersView,
    MeterView,
    operation_view("move_meter"),
    operation_view("replace_meter"),
    MeterCreditView,
    AccountCreditView,
    MeterThresholdsView,
    TopUpRuleView,
    operation_view("resolve_tamper"),
    TariffsView,
    BuildingPolicyView,
    AlarmsView,
    ReconcileView,
    operation_view("set_meter_category"),
    operation_view("set_account_category"),
    LoadCategoriesView,
    LoadPlansView,
    LoadPlanView,
    operation_view("run_load_plan"),
    LoadRunsView,
    LoadRunView,
    operation_view("end_load_run"),
)
