"""GET /api/notify/outbox (admins only): what was sent, what waits and why it failed; secrets shown masked."""
from __future__ import annotations

from aiohttp import web

from scada_core.http import View, json_response
from scada_core.params import query_choice, query_int

from .const import (
    CHANNEL_EMAIL,
    CHANNEL_SMS,
    DOMAIN,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_SENT,
    STATUS_UNCONFIRMED,
)

MAX_LIMIT = 1000
CHANNELS = (CHANNEL_SMS, CHANNEL_EMAIL)
STATUSES = (STATUS_PENDING, STATUS_SENT, STATUS_UNCONFIRMED, STATUS_FAILED)


class OutboxView(View):
    """The notification outbox, newest first."""

    url = "/api/notify/outbox"
    name = "api:notify:outbox"
    tag = "notify"
    admin_only = True
    openapi = {
        "get": {
            "parameters": [
                {"name": "channel", "in": "query", "schema": {"type": "string", "enum": list(CHANNELS)}},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "default": 100, "minimum": 1, "maximum": MAX_LIMIT}},
            ],
            "responses": {"200": {"description": "outbox rows"}, "400": {"description": "bad query"}},
        }
    }

    async def get(self, request: web.Request) -> web.Response:
        """List outbox messages (?channel=sms|email, ?status=pending|sent|unconfirmed|failed, ?limit=)."""
        rows = await self.core.data[DOMAIN].outbox.async_recent(
            query_int(request, "limit", 100, 1, MAX_LIMIT),
            query_choice(request, "channel", CHANNELS),
            query_choice(request, "status", STATUSES),
        )
        return json_response([row.as_dict() for row in rows])
