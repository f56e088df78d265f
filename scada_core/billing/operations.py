"""Every billing operation that takes a body, defined once: its schema, the façade method it calls, its route
and its documentation. The REST views, the ``billing.*`` services and the OpenAPI document read this table."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import voluptuous as vol

from scada_core.core import humanize_invalid
from scada_core.params import DB_ID, TIMESTAMP, db_int

from scada_core.permissions import PERM_BATCH, PERM_REFUND, PERM_SELL

from . import ledger
from .const import (
    LEFTOVER_CHOICES,
    LEFTOVER_KEEP,
    LOAD_ACTION_LIMIT,
    LOAD_ACTIONS,
    LOAD_CATEGORY_KEY,
    LOAD_CATEGORY_NAME_MAX,
    LOAD_DURATION_MAX_S,
    LOAD_LIMIT_MAX_W,
    LOAD_PLAN_NAME_MAX,
    METHOD_NAME,
    TOPUP_RULES,
)
from .errors import BillingError
from .scope import check_scope

F = TypeVar("F", bound=Callable[..., Any])

FEN = db_int(1)
OPTIONAL_NATURAL = vol.Any(None, db_int(0))
KEY = vol.All(str, vol.Length(min=1, max=128))
METHOD_FIELD = "method"
PAY_METHOD = vol.All(str, vol.Match(rf"{METHOD_NAME}\Z", msg="not a payment method name"))  # known: checked at run
OPERATOR = vol.Schema({vol.Required("id"): str, vol.Required("role"): str}, extra=vol.ALLOW_EXTRA)
REFUSED = "refused, with a zh-CN / en message"
ENTITY = {"entity_id": "entity_id"}
NAMED_PATH_PARAMS = ("entity_id", "building_id")  # URL parameters that are names, not database ids
ACCOUNT = {"account_id": "account_id"}
PLAN = {"plan_id": "plan_id"}
CATEGORY_KEY = vol.All(str, vol.Match(rf"{LOAD_CATEGORY_KEY}\Z", msg="not a category key (a-z, 0-9, _)"))
PLAN_FIELDS = {
    vol.Required("name"): vol.All(str, vol.Strip, vol.Length(min=1, max=LOAD_PLAN_NAME_MAX)),
    vol.Required("categories"): vol.All([CATEGORY_KEY], vol.Length(min=1, max=100)),
    vol.Optional("action", default=LOAD_ACTION_LIMIT): vol.In(LOAD_ACTIONS),
    vol.Optional("limit_w"): vol.Any(None, db_int(1, LOAD_LIMIT_MAX_W)),
    vol.Required("duration_s"): db_int(60, LOAD_DURATION_MAX_S),
}
PLAN_EXAMPLE = {
    "name": "用电高峰限电", "categories": ["catering", "retail"], "action": "limit", "limit_w": 3000, "duration_s": 7200,
}


@dataclass(frozen=True)
class Operation:
    """One billing operation: ``fields`` validate the body; ``path`` maps URL parameters to keyword arguments."""

    name: str  # the BillingService method it calls, and the billing.* service name when ``service``
    fields: dict[Any, Any]
    http: str  # "post" or "put"
    url: str
    route: str  # the aiohttp route name
    summary: str
    path: dict[str, str] = field(default_factory=dict)  # URL parameter -> keyword argument
    example: dict[str, Any] | None = None
    service: bool = False  # also registered as billing.<name>
    now_default: str | None = None  # a field that defaults to the core's clock
    response: str = "the operation's result"
    permission: str | None = None  # what the operator's role must allow (checked before it runs; none: the method's own)

    @functools.cached_property
    def schema(self) -> vol.Schema:
        """The body's schema (the operator is trusted from it only when the billing config says so)."""
        return vol.Schema({**self.fields, vol.Optional("operator"): dict})

    @functools.cached_property
    def service_schema(self) -> vol.Schema:
        """The service's schema: the body's fields, the URL's parameters and a required operator."""
        return vol.Schema({**self.path_fields, **self.fields, vol.Required("operator"): OPERATOR})

    @property
    def path_fields(self) -> dict[Any, Any]:
        """The URL's parameters as required fields: ids are database integers, entity ids strings."""
        return {vol.Required(kwarg): str if param in NAMED_PATH_PARAMS else DB_ID for param, kwarg in self.path.items()}

    def doc(self, methods: Iterable[str] = ()) -> dict[str, Any]:
        """The OpenAPI operation object (request body typed from the schema; a payment method is one of
        ``methods``, those billing knows now, providers' included)."""
        from scada_core.openapi import request_body

        names = list(methods)
        fields = {key: vol.In(names) if names and str(key) == METHOD_FIELD else value for key, value in self.fields.items()}
        return {
            "summary": self.summary,
            "responses": {"200": {"description": self.response}, "400": {"description": REFUSED}},
            "requestBody": request_body(vol.Schema({**fields, vol.Optional("operator"): dict}), self.example),
        }


CREDIT_FIELDS = {vol.Optional("overdraft_fen"): OPTIONAL_NATURAL, vol.Optional("credit_cap_fen"): OPTIONAL_NATURAL}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "open_account",
        {
            vol.Required("name"): vol.All(str, vol.Length(min=1)),
            vol.Required("meters"): vol.All([str], vol.Length(min=1)),
            vol.Optional("building"): vol.Any(None, str),
            vol.Optional("phone"): vol.Any(None, str),
            vol.Optional("email"): vol.Any(None, str),
            **CREDIT_FIELDS,
            vol.Optional("idempotency_key"): vol.Any(None, KEY),
            vol.Optional("leftover", default=LEFTOVER_KEEP): vol.In(LEFTOVER_CHOICES),
            vol.Optional("leftover_account_id"): vol.Any(None, DB_ID),
        },
        "post",
        "/api/billing/accounts",
        "billing:accounts",
        "Open an account (开户) on one or more meters",
        response="the account opened",
    ),
    Operation(
        "close_account",
        {vol.Required("idempotency_key"): KEY, vol.Optional("method", default="cash"): str},
        "post",
        "/api/billing/accounts/{account_id:\\d+}/close",
        "billing:close_account",
        "Close an account (销户), refunding what it holds",
        ACCOUNT,
        response="the account closed and what it refunded",
    ),
    Operation(
        "credit_payment",
        {
            vol.Required("amount_fen"): FEN,
            vol.Required("method"): PAY_METHOD,
            vol.Required("idempotency_key"): KEY,
            vol.Optional("reference"): vol.Any(None, str),
            vol.Optional("meter_entity_id"): vol.Any(None, str),
        },
        "post",
        "/api/billing/accounts/{account_id:\\d+}/payments",
        "billing:payment",
        "Take a payment for an account",
        ACCOUNT,
        service=True,
        permission=PERM_SELL,
        response="the payment's transaction",
    ),
    Operation(
        "sell",
        {
            vol.Required("meter_entity_id"): str,
            vol.Required("amount_fen"): FEN,
            vol.Optional("method", default="cash"): PAY_METHOD,
            vol.Required("idempotency_key"): KEY,
            vol.Optional("reference"): vol.Any(None, str),
            vol.Optional("reason", default=""): str,
        },
        "post",
        "/api/billing/sales",
        "billing:sales",
        "Sell electricity to a meter (售电)",
        example={
            "meter_entity_id": "meter.b1_f3_0301",
            "amount_fen": 10000,
            "method": "cash",
            "idempotency_key": "pos-1-000123",
        },
        service=True,
        permission=PERM_SELL,
        response="the sale's transaction (a repeated idempotency_key returns the first)",
    ),
    Operation(
        "refund",
        {
            vol.Required("meter_entity_id"): str,
            vol.Required("amount_fen"): FEN,
            vol.Optional("method", default="cash"): PAY_METHOD,
            vol.Required("idempotency_key"): KEY,
            vol.Optional("reason", default=""): str,
        },
        "post",
        "/api/billing/refunds",
        "billing:refunds",
        "Take money back off a meter (退电)",
        permission=PERM_REFUND,
        response="the refund's transaction",
    ),
    Operation(
        "reverse",
        {vol.Required("reason"): vol.All(str, vol.Length(min=1)), vol.Required("idempotency_key"): KEY},
        "post",
        "/api/billing/transactions/{transaction_id:\\d+}/reverse",
        "billing:reverse",
        "Reverse a mistaken sale (冲正)",
        {"transaction_id": "transaction_id"},
        response="the reversal's transaction",
    ),
    Operation(
        "move_meter",
        {vol.Required("account_id"): DB_ID},
        "post",
        "/api/billing/meters/{entity_id}/move",
        "billing:move_meter",
        "Move a meter to another account",
        ENTITY,
        response="the meter's new account",
    ),
    Operation(
        "replace_meter",
        {
            vol.Required("new_entity_id"): str,
            vol.Required("idempotency_key"): KEY,
            vol.Optional("remaining_fen"): OPTIONAL_NATURAL,
            vol.Optional("purchase_count"): OPTIONAL_NATURAL,
        },
        "post",
        "/api/billing/meters/{entity_id}/replace",
        "billing:replace_meter",
        "Replace a meter (换表), transferring its money",
        {"entity_id": "old_entity_id"},
        response="the replacement and the money moved",
    ),
    Operation(
        "set_meter_credit",
        CREDIT_FIELDS,
        "put",
        "/api/billing/meters/{entity_id}/credit",
        "billing:meter_credit",
        "Admin: set a meter's own overdraft (透支) and credit cap (囤积限值), overriding its account's; "
        "a missing or null field follows the account (then the building)",
        ENTITY,
        {"overdraft_fen": 2000, "credit_cap_fen": 100000},
        response="the meter's credit policy",
    ),
    Operation(
        "set_account_credit",
        CREDIT_FIELDS,
        "put",
        "/api/billing/accounts/{account_id:\\d+}/credit",
        "billing:account_credit",
        "Admin: set an account's overdraft (透支) and credit cap (囤积限值); its meters without a policy of "
        "their own follow at once; a missing or null field takes the building's",
        ACCOUNT,
        {"overdraft_fen": 5000, "credit_cap_fen": 200000},
        response="the account's credit policy",
    ),
    Operation(
        "set_meter_thresholds",
        {
            vol.Optional("alarm1_fen"): OPTIONAL_NATURAL,
            vol.Optional("alarm2_fen"): OPTIONAL_NATURAL,
            vol.Optional("overload_w"): vol.Any(None, db_int(1)),
        },
        "put",
        "/api/billing/meters/{entity_id}/thresholds",
        "billing:meter_thresholds",
        "Admin: set a meter's own alarm levels (报警1/报警2, fen) and overload limit (W), pushed to a meter-side "
        "meter; a missing or null field takes the building's",
        ENTITY,
        {"alarm1_fen": 40000, "alarm2_fen": 38000, "overload_w": 10000},
        response="the meter's thresholds",
    ),
    Operation(
        "set_topup_rule",
        {
            vol.Required("rule"): vol.In(TOPUP_RULES),
            vol.Optional("shares", default=None): vol.Any(None, {str: vol.All(int, vol.Range(min=0, max=100))}),
        },
        "put",
        "/api/billing/accounts/{account_id:\\d+}/topup_rule",
        "billing:topup_rule",
        "Cashier or admin: the meter with the least money (lowest), or a split by whole percentages of the "
        "account's meter-side meters summing to 100 (shares; the fen left over go to the largest share)",
        ACCOUNT,
        {"rule": "shares", "shares": {"meter.b1_f3_0301": 60, "meter.b1_f3_0302": 40}},
        response="the account's top-up rule",
    ),
    Operation(
        "resolve_tamper",
        {vol.Optional("reason", default=""): str},
        "post",
        "/api/billing/meters/{entity_id}/resolve_tamper",
        "billing:resolve_tamper",
        "Admin: accept the meter's purchase count and unblock sales",
        ENTITY,
        response="the meter unblocked",
    ),
    Operation(
        "set_building_policy",
        {
            vol.Required("alarm1_fen"): db_int(0),
            vol.Required("alarm2_fen"): db_int(0),
            vol.Required("overdraft_fen"): db_int(0),
            vol.Optional("credit_cap_fen"): OPTIONAL_NATURAL,
            vol.Optional("overload_w"): vol.Any(None, db_int(1)),
            vol.Optional("effective_ts"): TIMESTAMP,
        },
        "post",
        "/api/billing/buildings/{building_id:[A-Za-z0-9_-]+}/policy",
        "billing:building_policy",
        "Add a version of a building's alarm levels, overdraft, credit cap and overload limit from effective_ts",
        path={"building_id": "building_id"},
        now_default="effective_ts",
        response="the version added",
    ),
    Operation(
        "set_tariff",
        {vol.Required("scope"): str, vol.Required("spec"): dict, vol.Optional("effective_ts"): TIMESTAMP},
        "post",
        "/api/billing/tariffs",
        "billing:tariffs",
        "Add a tariff version (新费率启用)",
        now_default="effective_ts",
        response="the tariff version added",
    ),
)
LOAD_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "set_meter_category",
        {vol.Required("key"): vol.Any(None, CATEGORY_KEY)},
        "put",
        "/api/billing/meters/{entity_id}/category",
        "billing:meter_category",
        "Admin: give a meter its load category (用电性质), or none (null)",
        ENTITY,
        {"key": "catering"},
        response="the meter's category and the one before",
    ),
    Operation(
        "set_account_category",
        {vol.Required("key"): vol.Any(None, CATEGORY_KEY)},
        "put",
        "/api/billing/accounts/{account_id:\\d+}/category",
        "billing:account_category",
        "Admin: give an account its load category (用电性质), or none (null); its meters without a category of "
        "their own take it",
        ACCOUNT,
        {"key": "retail"},
        response="the account's category and the one before",
    ),
    Operation(
        "save_load_category",
        {
            vol.Required("key"): CATEGORY_KEY,
            vol.Required("name"): vol.All(str, vol.Strip, vol.Length(min=1, max=LOAD_CATEGORY_NAME_MAX)),
            vol.Optional("protected", default=False): bool,
        },
        "post",
        "/api/billing/load_categories",
        "billing:load_categories",
        "Admin: add a load category or rename one; a protected one (重要负荷) is never limited",
        example={"key": "hotel", "name": "酒店", "protected": False},
        response="the category",
    ),
    Operation(
        "create_load_plan",
        PLAN_FIELDS,
        "post",
        "/api/billing/load_plans",
        "billing:load_plans",
        "Admin: add a load-limiting plan (限电方案): the categories it limits for duration_s, to limit_w (action "
        "limit) or off (action trip)",
        example=PLAN_EXAMPLE,
        response="the plan",
    ),
    Operation(
        "update_load_plan",
        PLAN_FIELDS,
        "put",
        "/api/billing/load_plans/{plan_id:\\d+}",
        "billing:load_plan",
        "Admin: change a load-limiting plan (runs already started keep what they took)",
        PLAN,
        PLAN_EXAMPLE,
        response="the plan",
    ),
    Operation(
        "run_load_plan",
        {
            vol.Optional("start_ts"): TIMESTAMP,
            vol.Optional("duration_s"): db_int(60, LOAD_DURATION_MAX_S),
            vol.Optional("idempotency_key"): vol.Any(None, KEY),
        },
        "post",
        "/api/billing/load_plans/{plan_id:\\d+}/runs",
        "billing:load_plan_runs",
        "A command to many meters (batch permission; an automation as role system): run a plan now or from start_ts, for its duration or duration_s; "
        "each meter's limit is read back, and restored at the end (also after a restart); a repeated "
        "idempotency_key returns the first run",
        PLAN,
        {"duration_s": 3600, "idempotency_key": "dr-2026-07-15-1"},
        service=True,
        permission=PERM_BATCH,
        response="the run with its meters",
    ),
    Operation(
        "end_load_run",
        {},
        "post",
        "/api/billing/load_runs/{run_id:\\d+}/end",
        "billing:load_run_end",
        "Batch permission or an automation: end a load-limiting run now and restore its meters",
        {"run_id": "run_id"},
        service=True,
        permission=PERM_BATCH,
        response="the run with its meters",
    ),
)
OPERATIONS += LOAD_OPERATIONS
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}


def invalid(err: vol.Invalid) -> BillingError:
    """Return the refusal every entry (REST, service, façade) gives for a value the schema refuses."""
    return BillingError(f"请求无效：{humanize_invalid(err)}", f"invalid request: {humanize_invalid(err)}")


def validated(name: str) -> Callable[[F], F]:
    """Validate a façade method's arguments by the table's schema for ``name``, the operator's permission and
    buildings, before it runs."""
    op = BY_NAME[name]
    schema = vol.Schema({**op.path_fields, **op.fields})

    def wrap(method: F) -> F:
        signature = inspect.signature(method)
        known = {str(key.schema if isinstance(key, vol.Marker) else key) for key in schema.schema}

        @functools.wraps(method)
        async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(self, *args, **kwargs)
            data = {k: v for k, v in bound.arguments.items() if k in known and v is not None}
            try:
                schema(data)
            except vol.Invalid as err:
                raise invalid(err) from None
            if METHOD_FIELD in data:
                self.methods.check(data[METHOD_FIELD])
            operator = ledger.Operator.from_dict(bound.arguments["operator"])
            if op.permission is not None:
                operator.require(op.permission)
            await check_scope(self, operator, bound.arguments)
            return await method(self, *args, **kwargs)

        run.operation = op  # type: ignore[attr-defined]  # tells tests (and readers) which schema guards it
        return run  # type: ignore[return-value]

    return wrap
