"""The dashboard's batches (批量遥控): run as the field layer's saved batches, each meter's outcome audited.

push_tariff without a price pushes billing's tariff in force for each meter (the usual case; TOU: the table of
this month's season); push_settings without values pushes the alarm levels, overdraft and overload limit billing
holds for each meter.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.modbus import get_hub
from integrations.modbus.batch import BatchRequest, async_start_batch
from integrations.modbus.const import (
    CMD_CONFIRMED, CMD_EXPIRED, CMD_FAILED, CMD_QUEUED, CMD_RETRYING, CMD_SENT,
)
from scada_core.billing.tariffs import push_payload
from scada_core.const import ACTOR_STAFF
from scada_core.core import Context
from scada_core.exceptions import OpenPrepayError

from .audit import remote_of
from .const import BATCH_SERVICES
from .scoping import require_meters, scope_of

if TYPE_CHECKING:
    from aiohttp import web

    from integrations.modbus.store import CommandStore

    from .auth import WebOperator
    from .site import WebSite

SERVICE_PUSH_TARIFF = "push_tariff"
SERVICE_PUSH_SETTINGS = "push_settings"
ITEM_STATES = {
    CMD_QUEUED: "pending",
    CMD_SENT: "running",
    CMD_RETRYING: "running",
    CMD_CONFIRMED: "done",
    CMD_FAILED: "failed",
    CMD_EXPIRED: "failed",
}
FINISHED = ("done", "failed")


class BatchError(OpenPrepayError):
    """A batch that cannot start."""


class BatchAudit:
    """The dashboard's hook on one batch: each meter's data, then its audit record once its call returns."""

    def __init__(self, site: WebSite, operator: WebOperator, remote: str, service: str,
                 entity_ids: list[str]) -> None:
        self.site = site
        self.operator = operator
        self.remote = remote
        self.service = service
        self.running = set(entity_ids)  # calls of this run not returned yet: shown running, not done
        self.before: dict[str, dict[str, Any] | None] = {}

    async def data_for(self, entity_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Note the meter's relay before the call; give push_tariff without a price billing's tariff."""
        state = self.site.core.states.get(entity_id)
        self.before[entity_id] = (
            {k: state.attributes.get(k) for k in ("relay", "prepaid_mode")} if state is not None else None
        )
        if self.service == SERVICE_PUSH_TARIFF and not data and self.site.billing is not None:
            spec = await self.site.billing.tariff_for(entity_id)
            return push_payload(spec, self.site.core.clock.now().month)
        if self.service == SERVICE_PUSH_SETTINGS and not data and self.site.billing is not None:
            return await self.site.billing.desired_settings(entity_id) or data
        return data

    async def done(self, entity_id: str, result: Any, error: str | None) -> None:
        """Record the meter's outcome in the audit log."""
        self.site.grid.invalidate()
        await self.site.audit.record(self.remote, self.operator, f"meter:{self.service}", entity_id,
                                     before=self.before.get(entity_id),
                                     after=result if error is None else {"error": error}, ok=error is None)
        self.running.discard(entity_id)


class DashboardBatches:
    """Start batches on the selected meters and show their progress from the field layer's records."""

    def __init__(self, site: WebSite) -> None:
        self.site = site
        self.audits: dict[str, BatchAudit] = {}  # batches of this run with calls still running

    def _store(self) -> CommandStore:
        try:
            return get_hub(self.site.core).store
        except RuntimeError as err:
            raise BatchError(str(err)) from None

    async def start(self, operator: WebOperator, request: web.Request, service: str, entity_ids: list[str],
                    data: dict[str, Any]) -> tuple[str, int]:
        """Check the request, save the batch with every meter's command; return its id and size."""
        if service not in BATCH_SERVICES:
            raise BatchError(f"unknown batch service {service}")
        if not entity_ids:
            raise BatchError("no meters selected")
        store = self._store()
        meters = list(dict.fromkeys(entity_ids))
        require_meters(scope_of(self.site, operator), meters)
        audit = BatchAudit(self.site, operator, remote_of(request), service, meters)
        batch = BatchRequest(service, service, [(e, e.split(".", 1)[0]) for e in meters], data,
                             Context(user_id=operator.username, actor=ACTOR_STAFF))
        batch_id = await async_start_batch(self.site.core, store, batch, audit)
        if audit.running:
            self.audits[batch_id] = audit
        self.audits = {k: a for k, a in self.audits.items() if a.running}
        return batch_id, len(meters)

    async def history(self, limit: int, offset: int, operator: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Return a page of saved batches (``operator``'s only, when given), newest first (who, when, what,
        counts), and how many there are."""
        batches, total = await self._store().batches(limit, offset, operator)
        names = await self.site.auth.display_names(b["operator"] for b in batches if b["operator"])
        for batch in batches:
            batch["operator_name"] = names.get(batch["operator"], "")
        return batches, total

    async def get(self, batch_id: str) -> dict[str, Any] | None:
        """Return progress and every meter's outcome, as saved (a restart loses none of it)."""
        try:
            batch = await self._store().batch(batch_id)
        except BatchError:
            return None
        if batch is None:
            return None
        audit = self.audits.get(batch_id)
        items: dict[str, dict[str, Any]] = {}
        for command in batch["commands"]:
            state = ITEM_STATES[command["state"]]
            if state in FINISHED and audit is not None and command["entity_id"] in audit.running:
                state = "running"
            items[command["entity_id"]] = {"state": state, "result": command["result"],
                                           "error": command["error"]}
        states = [item["state"] for item in items.values()]
        done, failed = states.count("done"), states.count("failed")
        return {"id": batch_id, "service": batch["service"], "total": batch["total"], "done": done,
                "failed": failed, "finished": done + failed == batch["total"], "items": items,
                "operator": batch["operator"], "created_ts": batch["created_ts"]}
