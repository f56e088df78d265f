"""REST routes of billing (in the OpenAPI document). Money-moving requests carry ``idempotency_key``.

The operator comes from ``request[KEY_OPERATOR]`` ({"id", "role"}), which the web layer's authentication sets;
only when the billing config says ``operator_from_body: true`` (tests, benchmarks) is a body field trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import voluptuous as vol
from aiohttp import web

from scada_core.core import humanize_invalid
from scada_core.http import KEY_OPERATOR, View, json_response, read_json
from scada_core.openapi import request_body
from scada_core.params import DB_ID, TIMESTAMP, db_int, path_entity_id, path_id, query_choice, query_timestamp

from .const import TOPUP_RULES
from .errors import BillingError, PermissionDenied

if TYPE_CHECKING:
    from scada_core.core import Core

    from .service import BillingService

TAG = "billing"
ACCOUNT_STATUSES = ("open", "closed")
FEN = db_int(1)
OPTIONAL_NATURAL = vol.Any(None, db_int(0))
KEY = vol.All(str, vol.Length(min=1, max=128))
OPERATOR = {vol.Optional("operator"): dict}

SALE_SCHEMA = vol.Schema(
    {
        vol.Required("meter_entity_id"): str,
        vol.Required("amount_fen"): FEN,
        vol.Optional("method", default="cash"): str,
        vol.Required("idempotency_key"): KEY,
        vol.Optional("reference"): vol.Any(None, str),
        vol.Optional("reason", default=""): str,
        **OPERATOR,
    }
)
REFUND_SCHEMA = vol.Schema(
    {
        vol.Required("meter_entity_id"): str,
        vol.Required("amount_fen"): FEN,
        vol.Optional("method", default="cash"): str,
        vol.Required("idempotency_key"): KEY,
        vol.Optional("reason", default=""): str,
        **OPERATOR,
    }
)
PAYMENT_SCHEMA = vol.Schema(
    {
        vol.Required("amount_fen"): FEN,
        vol.Required("method"): str,
        vol.Required("idempotency_key"): KEY,
        vol.Optional("reference"): vol.Any(None, str),
        vol.Optional("meter_entity_id"): vol.Any(None, str),
        **OPERATOR,
    }
)
OPEN_SCHEMA = vol.Schema(
    {
        vol.Required("name"): vol.All(str, vol.Length(min=1)),
        vol.Required("meters"): vol.All([str], vol.Length(min=1)),
        vol.Optional("building"): vol.Any(None, str),
        vol.Optional("phone"): vol.Any(None, str),
        vol.Optional("email"): vol.Any(None, str),
        vol.Optional("overdraft_fen"): OPTIONAL_NATURAL,
        vol.Optional("credit_cap_fen"): OPTIONAL_NATURAL,
        vol.Optional("idempotency_key"): vol.Any(None, KEY),
        **OPERATOR,
    }
)
CLOSE_SCHEMA = vol.Schema(
    {vol.Required("idempotency_key"): KEY, vol.Optional("method", default="cash"): str, **OPERATOR}
)
REVERSE_SCHEMA = vol.Schema(
    {
        vol.Required("reason"): vol.All(str, vol.Length(min=1)),
        vol.Required("idempotency_key"): KEY,
        **OPERATOR,
    }
)
MOVE_SCHEMA = vol.Schema({vol.Required("account_id"): DB_ID, **OPERATOR})
REPLACE_SCHEMA = vol.Schema(
    {
        vol.Required("new_entity_id"): str,
        vol.Required("idempotency_key"): KEY,
        vol.Optional("remaining_fen"): OPTIONAL_NATURAL,
        vol.Optional("purchase_count"): OPTIONAL_NATURAL,
        **OPERATOR,
    }
)
CREDIT_SCHEMA = vol.Schema(
    {
        vol.Optional("overdraft_fen"): OPTIONAL_NATURAL,
        vol.Optional("credit_cap_fen"): OPTIONAL_NATURAL,
        **OPERATOR,
    }
)
THRESHOLDS_SCHEMA = vol.Schema(
    {
        vol.Optional("alarm1_fen"): OPTIONAL_NATURAL,
        vol.Optional("alarm2_fen"): OPTIONAL_NATURAL,
        vol.Optional("overload_w"): vol.Any(None, db_int(1)),
        **OPERATOR,
    }
)
RESOLVE_SCHEMA = vol.Schema({vol.Optional("reason", default=""): str, **OPERATOR})
TOPUP_RULE_SCHEMA = vol.Schema(
    {
        vol.Required("rule"): vol.In(TOPUP_RULES),
        vol.Optional("shares"): vol.Any(None, {str: vol.All(int, vol.Range(min=0, max=100))}),
        **OPERATOR,
    }
)
TARIFF_SCHEMA = vol.Schema(
    {
        vol.Required("scope"): str,
        vol.Required("spec"): dict,
        vol.Optional("effective_ts"): TIMESTAMP,
        **OPERATOR,
    }
)


def _doc(
    summary: str, schema: vol.Schema | None = None, example: dict[str, Any] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": summary,
        "responses": {"400": {"description": "refused, with a zh-CN / en message"}},
    }
    if schema is not None:
        doc["requestBody"] = request_body(schema, example)
    return doc


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
            raise BillingError(
                f"请求无效：{humanize_invalid(err)}", f"invalid request: {humanize_invalid(err)}"
            ) from None

    def operator(self, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """Return the authenticated operator (or the body's when the config trusts it)."""
        operator = request.get(KEY_OPERATOR) or (body.get("operator") if self.operator_from_body else None)
        if not operator:
            raise PermissionDenied("需要登录的操作员", "an authenticated operator is required")
        return dict(operator)


class TrialBalanceView(BillingView):
    """Trial balance."""

    url = "/api/billing/trial_balance"
    name = "billing:trial_balance"

    async def get(self, request: web.Request) -> web.Response:
        """Return every ledger account's balance and whether all entries sum to zero."""
        return json_response(await self.billing.trial_balance())


class AccountsView(BillingView):
    """Accounts."""

    url = "/api/billing/accounts"
    name = "billing:accounts"
    openapi = {"post": _doc("Open an account (开户) on one or more meters", OPEN_SCHEMA)}

    async def get(self, request: web.Request) -> web.Response:
        """List accounts (optionally ?status=open|closed)."""
        return json_response(await self.billing.accounts(query_choice(request, "status", ACCOUNT_STATUSES)))

    async def post(self, request: web.Request) -> web.Response:
        """Open an account (开户) on one or more meters."""
        body = await self.body(request, OPEN_SCHEMA)
        operator = self.operator(request, body)
        body.pop("operator", None)
        return json_response(await self.billing.open_account(operator=operator, **body))


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


class CloseAccountView(BillingView):
    """Close an account."""

    url = "/api/billing/accounts/{account_id:\\d+}/close"
    name = "billing:close_account"
    openapi = {"post": _doc("Close an account (销户), refunding what it holds", CLOSE_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Close an account (销户), refunding what it holds."""
        body = await self.body(request, CLOSE_SCHEMA)
        return json_response(
            await self.billing.close_account(
                path_id(request, "account_id"),
                self.operator(request, body),
                body["idempotency_key"],
                body["method"],
            )
        )


class PaymentView(BillingView):
    """Pay into an account."""

    url = "/api/billing/accounts/{account_id:\\d+}/payments"
    name = "billing:payment"
    openapi = {"post": _doc("Take a payment for an account", PAYMENT_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Take a payment for an account: to the chosen meter, else by the account's top-up rule, else its wallet."""
        body = await self.body(request, PAYMENT_SCHEMA)
        return json_response(
            await self.billing.credit_payment(
                path_id(request, "account_id"),
                body["amount_fen"],
                body["method"],
                body["idempotency_key"],
                self.operator(request, body),
                body.get("reference"),
                body.get("meter_entity_id"),
            )
        )


class SalesView(BillingView):
    """Sales."""

    url = "/api/billing/sales"
    name = "billing:sales"
    openapi = {
        "post": _doc(
            "Sell electricity to a meter (售电)",
            SALE_SCHEMA,
            {
                "meter_entity_id": "meter.b1_f3_0301",
                "amount_fen": 10000,
                "method": "cash",
                "idempotency_key": "pos-1-000123",
            },
        )
    }

    async def post(self, request: web.Request) -> web.Response:
        """Sell electricity to a meter (售电); a repeated idempotency_key returns the first result."""
        body = await self.body(request, SALE_SCHEMA)
        return json_response(
            await self.billing.sell(
                body["meter_entity_id"],
                body["amount_fen"],
                body["method"],
                body["idempotency_key"],
                self.operator(request, body),
                body.get("reference"),
                body["reason"],
            )
        )


class RefundsView(BillingView):
    """Refunds."""

    url = "/api/billing/refunds"
    name = "billing:refunds"
    openapi = {"post": _doc("Take money back off a meter (退电)", REFUND_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Take money back off a meter and pay it out (退电)."""
        body = await self.body(request, REFUND_SCHEMA)
        return json_response(
            await self.billing.refund(
                body["meter_entity_id"],
                body["amount_fen"],
                body["method"],
                body["idempotency_key"],
                self.operator(request, body),
                body["reason"],
            )
        )


class TransactionView(BillingView):
    """One transaction."""

    url = "/api/billing/transactions/{transaction_id:\\d+}"
    name = "billing:transaction"

    async def get(self, request: web.Request) -> web.Response:
        """Return a transaction with its entries and deliveries."""
        return json_response(await self.billing.transaction(path_id(request, "transaction_id")))


class ReverseView(BillingView):
    """Reverse a sale."""

    url = "/api/billing/transactions/{transaction_id:\\d+}/reverse"
    name = "billing:reverse"
    openapi = {"post": _doc("Reverse a mistaken sale (冲正)", REVERSE_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Reverse a mistaken sale (冲正): cashiers their own of today, admins any."""
        body = await self.body(request, REVERSE_SCHEMA)
        return json_response(
            await self.billing.reverse(
                path_id(request, "transaction_id"),
                body["reason"],
                body["idempotency_key"],
                self.operator(request, body),
            )
        )


class MetersView(BillingView):
    """Meter statuses."""

    url = "/api/billing/meters"
    name = "billing:meters"

    async def get(self, request: web.Request) -> web.Response:
        """Return the status of every meter (未开户/开户/报警1/报警2/欠费/失联 and flags)."""
        return json_response(await self.billing.meter_statuses())


class MeterView(BillingView):
    """One meter's status."""

    url = "/api/billing/meters/{entity_id}"
    name = "billing:meter"

    async def get(self, request: web.Request) -> web.Response:
        """Return one meter's status and money."""
        return json_response(await self.billing.meter_status(path_entity_id(request)))


class MoveMeterView(BillingView):
    """Move a meter."""

    url = "/api/billing/meters/{entity_id}/move"
    name = "billing:move_meter"
    openapi = {"post": _doc("Move a meter to another account", MOVE_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Move a meter to another account."""
        body = await self.body(request, MOVE_SCHEMA)
        return json_response(
            await self.billing.move_meter(
                path_entity_id(request), body["account_id"], self.operator(request, body)
            )
        )


class ReplaceMeterView(BillingView):
    """Replace a meter."""

    url = "/api/billing/meters/{entity_id}/replace"
    name = "billing:replace_meter"
    openapi = {"post": _doc("Replace a meter (换表), transferring its money", REPLACE_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Replace a meter (换表); remaining_fen (and purchase_count) from the display when the old one is dead."""
        body = await self.body(request, REPLACE_SCHEMA)
        return json_response(
            await self.billing.replace_meter(
                path_entity_id(request),
                body["new_entity_id"],
                self.operator(request, body),
                body["idempotency_key"],
                body.get("remaining_fen"),
                body.get("purchase_count"),
            )
        )


class CreditView(BillingView):
    """A credit policy (overdraft 透支, credit cap 囤积限值): read it, or (admin) set it."""

    query: ClassVar[str]  # billing method returning the policy of the target
    update: ClassVar[str]  # billing method setting it: (target, operator, overdraft_fen, credit_cap_fen)

    def target(self, request: web.Request) -> Any:
        """Return whose policy the URL names."""
        raise NotImplementedError

    async def get(self, request: web.Request) -> web.Response:
        """Return the own overdraft and credit cap, the ones in force, and who changed them when."""
        return json_response(await getattr(self.billing, self.query)(self.target(request)))

    async def put(self, request: web.Request) -> web.Response:
        """Admin: set the overdraft and credit cap (null: the level above)."""
        body = await self.body(request, CREDIT_SCHEMA)
        return json_response(
            await getattr(self.billing, self.update)(
                self.target(request),
                self.operator(request, body),
                body.get("overdraft_fen"),
                body.get("credit_cap_fen"),
            )
        )


class MeterCreditView(CreditView):
    """A meter's own credit policy."""

    url = "/api/billing/meters/{entity_id}/credit"
    name = "billing:meter_credit"
    query, update = "meter_credit", "set_meter_credit"
    openapi = {
        "put": _doc(
            "Admin: set a meter's own overdraft (透支) and credit cap (囤积限值), overriding its account's; "
            "a missing or null field follows the account (then the building)",
            CREDIT_SCHEMA,
            {"overdraft_fen": 2000, "credit_cap_fen": 100000},
        )
    }

    def target(self, request: web.Request) -> str:
        """Return the meter's entity id."""
        return path_entity_id(request)


class AccountCreditView(CreditView):
    """An account's own credit policy."""

    url = "/api/billing/accounts/{account_id:\\d+}/credit"
    name = "billing:account_credit"
    query, update = "account_credit", "set_account_credit"
    openapi = {
        "put": _doc(
            "Admin: set an account's overdraft (透支) and credit cap (囤积限值); its meters without a policy of "
            "their own follow at once; a missing or null field takes the building's",
            CREDIT_SCHEMA,
            {"overdraft_fen": 5000, "credit_cap_fen": 200000},
        )
    }

    def target(self, request: web.Request) -> int:
        """Return the account id."""
        return path_id(request, "account_id")


class MeterThresholdsView(BillingView):
    """A meter's own alarm levels (报警1/报警2) and overload limit: read them, or (admin) set them."""

    url = "/api/billing/meters/{entity_id}/thresholds"
    name = "billing:meter_thresholds"
    openapi = {
        "put": _doc(
            "Admin: set a meter's own alarm levels (报警1/报警2, fen) and overload limit (W), pushed to a meter-side "
            "meter; a missing or null field takes the building's",
            THRESHOLDS_SCHEMA,
            {"alarm1_fen": 40000, "alarm2_fen": 38000, "overload_w": 10000},
        )
    }

    async def get(self, request: web.Request) -> web.Response:
        """Return the meter's own thresholds and credit policy, those in force, and who changed them when."""
        return json_response(await self.billing.meter_credit(path_entity_id(request)))

    async def put(self, request: web.Request) -> web.Response:
        """Admin: set the thresholds (null: the building's)."""
        body = await self.body(request, THRESHOLDS_SCHEMA)
        return json_response(
            await self.billing.set_meter_thresholds(
                path_entity_id(request),
                self.operator(request, body),
                body.get("alarm1_fen"),
                body.get("alarm2_fen"),
                body.get("overload_w"),
            )
        )


class TopUpRuleView(BillingView):
    """Where an account's online and kiosk top-ups go when the tenant chose no meter: read it, or set it."""

    url = "/api/billing/accounts/{account_id:\\d+}/topup_rule"
    name = "billing:topup_rule"
    openapi = {
        "put": _doc(
            "Cashier or admin: the meter with the least money (lowest), or a split by whole percentages of the "
            "account's meter-side meters summing to 100 (shares; the fen left over go to the largest share)",
            TOPUP_RULE_SCHEMA,
            {"rule": "shares", "shares": {"meter.b1_f3_0301": 60, "meter.b1_f3_0302": 40}},
        )
    }

    async def get(self, request: web.Request) -> web.Response:
        """Return the account's top-up rule and shares."""
        return json_response(await self.billing.topup_rule(path_id(request, "account_id")))

    async def put(self, request: web.Request) -> web.Response:
        """Set the rule (shares only with "shares")."""
        body = await self.body(request, TOPUP_RULE_SCHEMA)
        return json_response(
            await self.billing.set_topup_rule(
                path_id(request, "account_id"), body["rule"], body.get("shares"), self.operator(request, body)
            )
        )


class ResolveTamperView(BillingView):
    """Resolve a tamper block."""

    url = "/api/billing/meters/{entity_id}/resolve_tamper"
    name = "billing:resolve_tamper"
    openapi = {"post": _doc("Admin: accept the meter's purchase count and unblock sales", RESOLVE_SCHEMA)}

    async def post(self, request: web.Request) -> web.Response:
        """Admin: accept the meter's purchase count and money, and unblock sales."""
        body = await self.body(request, RESOLVE_SCHEMA)
        return json_response(
            await self.billing.resolve_tamper(
                path_entity_id(request), self.operator(request, body), body["reason"]
            )
        )


class TariffsView(BillingView):
    """Tariffs."""

    url = "/api/billing/tariffs"
    name = "billing:tariffs"
    openapi = {"post": _doc("Add a tariff version (新费率启用)", TARIFF_SCHEMA)}

    async def get(self, request: web.Request) -> web.Response:
        """List tariff versions (optionally ?scope=building:<id>|meter:<entity_id>)."""
        return json_response(await self.billing.tariffs(request.query.get("scope")))

    async def post(self, request: web.Request) -> web.Response:
        """Add a tariff version for a building or a meter, effective from effective_ts (now by default)."""
        body = await self.body(request, TARIFF_SCHEMA)
        return json_response(
            await self.billing.set_tariff(
                body["scope"],
                body["spec"],
                body.get("effective_ts", self.billing.now()),
                self.operator(request, body),
            )
        )


class AlarmsView(BillingView):
    """Alarm history."""

    url = "/api/billing/alarms"
    name = "billing:alarms"

    async def get(self, request: web.Request) -> web.Response:
        """Return alarm crossings, newest first (optionally ?since=<POSIX s>&meter_entity_id=)."""
        return json_response(
            await self.billing.alarms(query_timestamp(request, "since"), request.query.get("meter_entity_id"))
        )


class ReconcileView(BillingView):
    """Run the reconciler."""

    url = "/api/billing/reconcile"
    name = "billing:reconcile"

    async def post(self, request: web.Request) -> web.Response:
        """Run a reconcile round now (deliveries, what meters should hold, due mirrors); return the outcomes."""
        return json_response(await self.billing.reconcile_round())


VIEWS = (
    TrialBalanceView,
    AccountsView,
    AccountView,
    AccountHistoryView,
    CloseAccountView,
    PaymentView,
    SalesView,
    RefundsView,
    TransactionView,
    ReverseView,
    MetersView,
    MeterView,
    MoveMeterView,
    ReplaceMeterView,
    MeterCreditView,
    AccountCreditView,
    MeterThresholdsView,
    TopUpRuleView,
    ResolveTamperView,
    TariffsView,
    AlarmsView,
    ReconcileView,
)
