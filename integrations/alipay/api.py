"""Staff API: Alipay orders and security events (read-only; the staff web guards /api/ by role)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from scada_core.const import DB_INT_MAX
from scada_core.http import View, json_response
from scada_core.params import bad_request, query_int

if TYPE_CHECKING:
    from scada_core.core import Core

    from .payments import AlipayPayments

MAX_LIMIT = 1000
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100, "minimum": 1, "maximum": MAX_LIMIT}}


class OrdersView(View):
    """An account's top-up orders."""

    url = "/api/alipay/orders"
    name = "api:alipay:orders"
    tag = "alipay"
    openapi = {
        "get": {
            "parameters": [
                {"name": "account_id", "in": "query", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}},
                LIMIT,
            ],
            "responses": {"200": {"description": "orders, newest first"}, "400": {"description": "bad query"}},
        }
    }

    def __init__(self, core: Core, payments: AlipayPayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def get(self, request: web.Request) -> web.Response:
        """List an account's orders (state PENDING/PAID/CLOSED/REFUNDED, credited, receipt)."""
        account = query_int(request, "account_id", minimum=1)
        if account is None:
            raise bad_request("account_id is required")
        orders = await self.payments.store.for_account(account, query_int(request, "limit", 100, 1, MAX_LIMIT))
        return json_response([o.as_dict() for o in orders])


class SecurityEventsView(View):
    """Refused notifications and logins (with their addresses): for admins only."""

    url = "/api/alipay/security_events"
    name = "api:alipay:security_events"
    tag = "alipay"
    admin_only = True
    openapi = {
        "get": {
            "parameters": [LIMIT],
            "responses": {"200": {"description": "security events, newest first"}},
        }
    }

    def __init__(self, core: Core, payments: AlipayPayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def get(self, request: web.Request) -> web.Response:
        """List the newest security events (forged/mismatched/replayed notifies, failed tenant logins)."""
        return json_response(
            await self.payments.store.security_events(query_int(request, "limit", 100, 1, MAX_LIMIT))
        )
