"""REST routes of the field layer: command records and batches."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from aiohttp import web

from scada_core.const import ATTR_ENTITY_ID
from scada_core.core import humanize_invalid
from scada_core.exceptions import ServiceNotFound, ServiceValidationError
from scada_core.http import KEY_SCOPE, View, error_response, json_response, read_json, request_context
from scada_core.openapi import request_body
from scada_core.permissions import OUT_OF_SCOPE

from .batch import BatchRequest, async_start_batch

if TYPE_CHECKING:
    from scada_core.core import Context, Core

    from .hub import ModbusHub

_LOGGER = logging.getLogger(__name__)

BATCH_SCHEMA = vol.Schema(
    {
        vol.Required("service"): vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$"),
        vol.Required(ATTR_ENTITY_ID): vol.All([str], vol.Length(min=1)),
        vol.Optional("data", default={}): dict,
    }
)


def in_scope(request: web.Request, entity_ids: list[str]) -> bool:
    """Tell whether every meter is in the buildings the request's operator is kept to (if kept)."""
    scope = request.get(KEY_SCOPE)
    return scope is None or all(scope.entity_ok(entity_id) for entity_id in entity_ids)


class CommandView(View):
    """One command record."""

    url = "/api/field/commands/{command_id:[0-9a-f]{32}}"
    name = "api:field:command"
    tag = "field"
    scope_aware = True
    openapi = {
        "get": {
            "responses": {"200": {"description": "the command"}, "404": {"description": "no such command"}}
        }
    }

    def __init__(self, core: Core, hub: ModbusHub) -> None:
        super().__init__(core)
        self.hub = hub

    async def get(self, request: web.Request) -> web.Response:
        """Return a command: state (queued/sent/retrying/confirmed/failed/expired), result, error."""
        record = await self.hub.store.get(request.match_info["command_id"])
        if record is None:
            return error_response("command not found", 404)
        if not in_scope(request, [record["entity_id"]]):
            return error_response(OUT_OF_SCOPE, 403)
        return json_response(record)


class BatchView(View):
    """One batch's progress."""

    url = "/api/field/batches/{batch_id:[0-9a-f]{32}}"
    name = "api:field:batch"
    tag = "field"
    scope_aware = True
    openapi = {
        "get": {
            "responses": {
                "200": {"description": "total/pending/done/failed"},
                "404": {"description": "no such batch"},
            }
        }
    }

    def __init__(self, core: Core, hub: ModbusHub) -> None:
        super().__init__(core)
        self.hub = hub

    async def get(self, request: web.Request) -> web.Response:
        """Return a batch: total, pending, done, failed and each command."""
        batch = await self.hub.store.batch(request.match_info["batch_id"])
        if batch is None:
            return error_response("batch not found", 404)
        if not in_scope(request, [command["entity_id"] for command in batch["commands"]]):
            return error_response(OUT_OF_SCOPE, 403)
        return json_response(batch)


class BatchRunView(View):
    """Start one service on many meters."""

    url = "/api/field/batch"
    name = "api:field:batch_run"
    tag = "field"
    openapi = {
        "post": {
            "requestBody": request_body(
                BATCH_SCHEMA, {"service": "acrel_dtsy1352.trip", "entity_id": ["acrel_dtsy1352.b1_f3_0301"]}
            ),
            "responses": {
                "200": {"description": "batch_id and total"},
                "400": {"description": "invalid request"},
            },
        }
    }

    def __init__(self, core: Core, hub: ModbusHub) -> None:
        super().__init__(core)
        self.hub = hub

    async def post(self, request: web.Request) -> web.Response:
        """Validate, save the batch and every meter's command, then answer; the commands run on."""
        try:
            body = BATCH_SCHEMA(await read_json(request))
        except vol.Invalid as err:
            raise ServiceValidationError(f"invalid batch: {humanize_invalid(err)}") from None
        batch_id = await async_run_batch(
            self.core, self.hub, body["service"], body[ATTR_ENTITY_ID], body["data"], request_context(request)
        )
        return json_response({"batch_id": batch_id, "total": len(body[ATTR_ENTITY_ID])})


async def async_run_batch(
    core: Core, hub: ModbusHub, service: str, entity_ids: list[str], data: dict[str, Any], context: Context
) -> str:
    """Check the service and its data once and that every meter is a field meter, then start the batch."""
    domain, name = service.split(".", 1)
    registered = core.services.async_services().get(domain, {}).get(name)
    if registered is None:
        raise ServiceNotFound(domain, name)
    if registered.schema is not None:
        try:
            registered.schema({ATTR_ENTITY_ID: entity_ids, **data})
        except vol.Invalid as err:
            raise ServiceValidationError(f"invalid data for {service}: {humanize_invalid(err)}") from None
    missing = [e for e in entity_ids if e not in hub.devices]
    if missing:
        raise ServiceValidationError(f"not field meters: {', '.join(missing)}")
    request = BatchRequest(service, name, [(entity_id, domain) for entity_id in entity_ids], data, context)
    return await async_start_batch(core, hub.store, request)
