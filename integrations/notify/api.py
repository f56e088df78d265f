"""GET /api/notify/outbox (admins only): what was sent, what waits and why it failed; secrets shown masked."""
from __future__ import annotations

from aiohttp import web

from scada_core.http import View, error_response, json_response

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
CHANNELS = [CHANNEL_SMS, CHANNEL_EMAIL]
STATUSES = [STATUS_PENDING, STATUS_SENT, STATUS_UNCONFIRMED, STATUS_FAILED]


class OutboxView(View):
    """The notification outbox, newest first."""

    url = "/api/notify/outbox"
    name = "api:notify:outbox"
    tag = "notify"
    admin_only = True
    openapi = {
        "get": {
            "parameters": [
                {"name": "channel", "in": "query", "schema": {"type": "string", "enum": CHANNELS}},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUSES}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100}},
            ],
            "responses": {"200": {"description": "outbox rows"}, "400": {"description": "bad query"}},
        }
    }

    async def get(self, request: web.Request) -> web.Response:
        """List outbox messages (?channel=sms|email, ?status=pending|sent|unconfirmed|failed, ?limit=)."""
        limit = request.query.get("limit", "100")
        if not limit.isdigit() or not 0 < int(limit) <= MAX_LIMIT:
            return error_response(f"limit must be 1..{MAX_LIMIT}", 400)
        channel, status = request.query.get("channel"), request.query.get("status")
        if channel is not None and channel not in CHANNELS:
            return error_response(f"channel must be one of {', '.join(CHANNELS)}", 400)
        if status is not None and status not in STATUSES:
            return error_response(f"status must be one of {', '.join(STATUSES)}", 400)
        rows = await self.core.data[DOMAIN].outbox.async_recent(int(limit), channel, status)
        return json_response([row.as_dict() for row in rows])
