"""Staff API: Alipay orders and security events (read-only; the staff web guards /api/ by role)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from scada_core.http import View, error_response, json_response

if TYPE_CHECKING:
    from scada_core.core import Core

    from .payments import AlipayPayments

MAX_LIMIT = 1000


def _limit(request: web.Request) -> int | None:
    raw = request.query.get("limit", "100")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_LIMIT else None


class OrdersView(View):
    """An account's top-up orders."""

    url = "/api/alipay/orders"
    name = "api:alipay:orders"
    tag = "alipay"
    openapi = {
        "get": {
            "parameters": [
                {"name": "account_id", "in": "query", "required": True, "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100}},
            ],
            "responses": {"200": {"description": "orders, newest first"}, "400": {"description": "bad query"}},
        }
    }

    def __init__(self, core: Core, payments: AlipayPayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def get(self, request: web.Request) -> web.Response:
        """List an account's orders (state PENDING/PAID/CLOSED/REFUNDED, credited, receipt)."""
        account = request.query.get("account_id", "")
        limit = _limit(request)
        if not account.isdigit() or limit is None:
            return error_response(f"account_id (integer) and limit 1..{MAX_LIMIT} expected", 400)
        orders = await self.payments.store.for_account(int(account), limit)
        return json_response([o.as_dict() for o in orders])


class SecurityEventsView(View):
    """Refused notifications and logins."""

    url = "/api/alipay/security_events"
    name = "api:alipay:security_events"
    tag = "alipay"
    openapi = {
        "get": {
            "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100}}],
            "responses": {"200": {"description": "security events, newest first"}},
        }
    }

    def __init__(self, core: Core, payments: AlipayPayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def get(self, request: web.Request) -> web.Response:
        """List the newest security events (forged/mismatched/replayed notifies, failed tenant logins)."""
        limit = _limit(request)
        if limit is None:
            return error_response(f"limit must be 1..{MAX_LIMIT}", 400)
        return json_response(await self.payments.store.security_events(limit))
