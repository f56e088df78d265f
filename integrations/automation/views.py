"""REST API of automations (list, traces, manual trigger) and of alarm records."""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from scada_core.automation.alarms import list_alarms
from scada_core.automation.engine import Automation, AutomationManager
from scada_core.core import Core
from scada_core.const import MAX_TIMESTAMP
from scada_core.http import View, error_response, json_response, read_json
from scada_core.params import query_choice, query_timestamp

from .const import TRIGGER_WAIT

TRUE = ("1", "true", "yes")


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
            "requestBody": {
                "description": "optional {skip_condition: bool (default true), variables: {...}}",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
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
        body: dict[str, Any] = await read_json(request)
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return error_response("variables must be an object", 400)
        trigger = {"platform": "manual", "description": "triggered through the API"}
        skip_condition = bool(body.get("skip_condition", True))
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
