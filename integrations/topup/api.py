"""Staff API: every provider's top-up orders and the security events (read-only; the staff web guards /api/ by
role). Alipay's older addresses (/api/alipay/orders, /api/alipay/security_events) answer the same, deprecated."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from scada_core.const import DB_INT_MAX
from scada_core.http import View, json_response
from scada_core.params import bad_request, query_int

from .const import DOMAIN

if TYPE_CHECKING:
    from scada_core.core import Core

    from .orders import OrderLog

MAX_LIMIT = 1000
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100, "minimum": 1, "maximum": MAX_LIMIT}}


class OrderLogView(View):
    """A read-only view of the order log every provider writes."""

    tag = DOMAIN
    openapi: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, core: Core, log: OrderLog) -> None:
        super().__init__(core)
        self.log = log

    @classmethod
    def at(cls, url: str, name: str, tag: str) -> type[OrderLogView]:
        """The same view at an older address, documented as deprecated in favour of this one."""
        note = f"Deprecated: use {cls.url}, which answers the same."
        openapi = {method: {**doc, "deprecated": True, "description": note} for method, doc in cls.openapi.items()}
        return type(cls.__name__, (cls,), {"url": url, "name": name, "tag": tag, "openapi": openapi})


class OrdersView(OrderLogView):
    """An account's top-up orders, whichever provider took them."""

    url = f"/api/{DOMAIN}/orders"
    name = f"api:{DOMAIN}:orders"
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

    async def get(self, request: web.Request) -> web.Response:
        """List an account's orders (provider, state PENDING/PAID/CLOSED/REFUNDED, credited, receipt)."""
        account = query_int(request, "account_id", minimum=1)
        if account is None:
            raise bad_request("account_id is required")
        orders = await self.log.for_account(account, query_int(request, "limit", 100, 1, MAX_LIMIT))
        return json_response([o.as_dict() for o in orders])


class SecurityEventsView(OrderLogView):
    """Refused notifications and logins (with their addresses): for admins only."""

    url = f"/api/{DOMAIN}/security_events"
    name = f"api:{DOMAIN}:security_events"
    admin_only = True
    openapi = {
        "get": {
            "parameters": [LIMIT],
            "responses": {"200": {"description": "security events, newest first"}},
        }
    }

    async def get(self, request: web.Request) -> web.Response:
        """List the newest security events (forged/mismatched/replayed notifies, failed tenant logins)."""
        return json_response(await self.log.security_events(query_int(request, "limit", 100, 1, MAX_LIMIT)))


VIEWS: tuple[type[OrderLogView], ...] = (OrdersView, SecurityEventsView)
