"""REST API of automations (list, traces, manual trigger) and of alarm records."""
from __future__ import annotations

import asyncio
from typing import Any

import voluptuous as vol
from aiohttp import web

from scada_core.automation.alarms import list_alarms
from scada_core.automation.engine import Automation, AutomationManager
from scada_core.core import Core, humanize_invalid
from scada_core.const import MAX_TIMESTAMP
from scada_core.http import View, error_response, json_response, read_json
from scada_core.openapi import request_body
from scada_core.params import query_choice, query_timestamp

from .const import TRIGGER_WAIT

TRUE = ("1", "true", "yes")
TRIGGER_SCHEMA = vol.Schema(
    {vol.Optional("skip_condition", default=True): bool, vol.Optional("variables", default={}): vol.Any(None, dict)}
)


class _AutomationView(View):
    tag = "automation"

    def __init__(self, core: Core, manager: AutomationManager) -> None:
        super().__init__(core)
        self.manager = manager

    def _automation(self, request: web.Request) -> Automation | None:
        return self.manager.get(request.match_info["automation_id"])


class AutomationsView(_AutomationView):
    """Every automation."""

    url = "/api/automations"
    name = "api:automations"

    async def get(self, request: web.Request) -> web.Response:
        """List the automations with their mode, state and last result."""
        return json_response([a.summary() for a in self.manager.automations.values()])


class AutomationTracesView(_AutomationView):
    """The recent runs of one automation."""

    url = "/api/automations/{automation_id}/traces"
    name = "api:automation_traces"
    openapi = {
        "get": {
            "responses": {
                "200": {"description": "traces, newest first"},
                "404": {"description": "no such automation"},
            }
        }
    }

    async def get(self, request: web.Request) -> web.Response:
        """Return the last runs of one automation: trigger, conditions and each action's result or error."""
        automation = self._automation(request)
        if automation is None:
            return error_response(f"automation {request.match_info['automation_id']} not found", 404)
        return json_response([trace.as_dict() for trace in automation.traces.all()])


class AutomationTriggerView(_AutomationView):
    """Run one automation by hand."""

    url = "/api/automations/{automation_id}/trigger"
    name = "api:automation_trigger"
    openapi = {
        "post": {
            "requestBody": request_body(TRIGGER_SCHEMA),
            "responses": {
                "200": {"description": "the run's trace"},
                "202": {"description": "the run goes on; its trace so far"},
                "404": {"description": "no such automation"},
            },
        }
    }

    async def post(self, request: web.Request) -> web.Response:
        """Run the automation now (conditions skipped unless asked) and return its trace."""
        automation = self._automation(request)
        if automation is None:
            return error_response(f"automation {request.match_info['automation_id']} not found", 404)
        try:
            body: dict[str, Any] = TRIGGER_SCHEMA(await read_json(request))
        except vol.Invalid as err:
            return error_response(f"invalid request: {humanize_invalid(err)}", 400)
        variables = body["variables"] or {}
        trigger = {"platform": "manual", "description": "triggered through the API"}
        skip_condition = body["skip_condition"]
        task = self.core.async_create_task(
            automation.async_trigger({**variables, "trigger": trigger}, skip_condition),
            f"automation {automation.id} (api)",
        )
        done, _ = await asyncio.wait({task}, timeout=TRIGGER_WAIT)
        if done:
            return json_response(task.result().as_dict())
        latest = automation.traces.all()[0]
        return json_response(latest.as_dict(), status=202)


class AlarmsView(View):
    """Recorded alarms."""

    url = "/api/alarms"
    name = "api:alarms"
    tag = "automation"
    openapi = {
        "get": {
            "parameters": [
                {"name": name, "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": MAX_TIMESTAMP},
                 "description": "POSIX seconds"}
                for name in ("since", "until")
            ]
            + [{"name": "active", "in": "query", "schema": {"type": "boolean"}}]
        }
    }

    async def get(self, request: web.Request) -> web.Response:
        """List alarms raised in [since, until), optionally only the active ones."""
        if self.core.db is None:
            return error_response("no database", 503)
        since, until = query_timestamp(request, "since"), query_timestamp(request, "until")
        active = query_choice(request, "active", (*TRUE, "0", "false", "no")) in TRUE
        return json_response(await list_alarms(self.core.db, since, until, active))
