"""The core REST API: health, states, services and the OpenAPI document."""
from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from .const import HEALTH_DEGRADED, HEALTH_OK, __version__
from .core import CoreState, valid_entity_id
from .http import KEY_OPERATOR, KEY_SCOPE, View, error_response, json_response, read_json, request_context
from .openapi import request_body

SERVICE_RESPONSES = {
    "200": {"description": "the service's response"},
    "400": {"description": "invalid service data"},
    "404": {"description": "unknown entity"},
    "409": {"description": "refused by control precedence (e.g. a staff forced trip outranks the caller)"},
}


class HealthView(View):
    """Liveness and health: 200 only while every configured part works."""

    url = "/api/health"
    name = "api:health"
    openapi = {
        "get": {
            "responses": {
                "200": {"description": "ok: running, every configured part set up, the recorder writing; "
                                       "backup_age_seconds: since the last scheduled backup (null: none)"},
                "503": {"description": "status degraded: 'failed' names the parts that are down, and why (a "
                                       "scheduled backup older than twice its interval too)"},
            }
        }
    }

    public = True

    async def get(self, request: web.Request) -> web.Response:
        """Tell whether the server runs with every part the configuration names; name those down."""
        failed = dict(sorted(self.core.config.failed_components.items()))
        recorder = self.core.recorder
        if recorder is not None and recorder.error is not None:
            failed["recorder"] = recorder.error
        backups = recorder.backups if recorder is not None else None
        if backups is not None and (problem := backups.problem()) is not None:
            failed["backup"] = problem
        healthy = not failed and self.core.state is CoreState.RUNNING
        return json_response(
            {
                "status": HEALTH_OK if healthy else HEALTH_DEGRADED,
                "version": __version__,
                "state": self.core.state.value,
                "components": sorted(self.core.config.components),
                "failed": failed,
                "backup_age_seconds": None if backups is None or (age := backups.age()) is None else round(age),
            },
            status=200 if healthy else 503,
        )


class StatesView(View):
    """Every state."""

    url = "/api/states"
    name = "api:states"

    scope_aware = True

    async def get(self, request: web.Request) -> web.Response:
        """List the state of every entity (optionally ?domain=); an operator kept to buildings sees their meters."""
        domain = request.query.get("domain")
        states = self.core.states.async_all(domain)
        if (scope := request.get(KEY_SCOPE)) is not None:
            states = [s for s in states if scope.entity_ok(s.entity_id)]
        return json_response([s.as_dict() for s in states])


class StateView(View):
    """One entity's state."""

    url = "/api/states/{entity_id}"
    name = "api:state"
    openapi = {"get": {"responses": {"200": {"description": "the state"}, "404": {"description": "no such entity"}}}}

    async def get(self, request: web.Request) -> web.Response:
        """Return one entity's state."""
        entity_id = request.match_info["entity_id"]
        state = self.core.states.get(entity_id) if valid_entity_id(entity_id) else None
        if state is None:
            return error_response(f"entity {entity_id} not found", 404)
        return json_response(state.as_dict())


class ServicesView(View):
    """Every registered service."""

    url = "/api/services"
    name = "api:services"
    scope_aware = True  # names only

    async def get(self, request: web.Request) -> web.Response:
        """List the services by domain."""
        return json_response(
            {
                domain: {name: {"description": s.description} for name, s in services.items()}
                for domain, services in self.core.services.async_services().items()
            }
        )


class ServiceCallView(View):
    """Call a service."""

    url = "/api/services/{domain}/{service}"
    name = "api:service_call"

    def openapi_paths(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Document each registered service as its own path, its data typed from the service's schema."""
        return {
            f"/api/services/{domain}/{name}": {
                "post": {
                    "summary": service.description or f"{domain}.{name}",
                    "operationId": f"service_{domain}_{name}",
                    "requestBody": request_body(service.schema or vol.Schema({}, extra=vol.ALLOW_EXTRA)),
                    "responses": SERVICE_RESPONSES,
                }
            }
            for domain, services in sorted(self.core.services.async_services().items())
            for name, service in sorted(services.items())
        }

    async def post(self, request: web.Request) -> web.Response:
        """Call domain.service with the JSON body as its data; return its response. A service that takes an
        operator gets the caller's own, whatever the body says."""
        data: dict[str, Any] = await read_json(request)
        if (operator := request.get(KEY_OPERATOR)) is not None and self.core.services.takes_operator(
            request.match_info["domain"], request.match_info["service"]
        ):
            data["operator"] = operator
        response = await self.core.services.async_call(
            request.match_info["domain"], request.match_info["service"], data, request_context(request)
        )
        return json_response(response if response is not None else {})


class OpenApiView(View):
    """The API description."""

    url = "/api/openapi.json"
    name = "api:openapi"
    scope_aware = True  # the routes, no data

    async def get(self, request: web.Request) -> web.Response:
        """Return the OpenAPI 3 document of every API route."""
        return json_response(self.core.http.openapi_document())


CORE_VIEWS = (HealthView, StatesView, StateView, ServicesView, ServiceCallView, OpenApiView)
