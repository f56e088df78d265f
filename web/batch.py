"""Run one meter service on many meters concurrently and keep each meter's outcome for the progress view.

push_tariff without a price pushes billing's tariff in force for each meter (the usual case; TOU: the table of
this month's season).
"""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scada_core.billing.tariffs import push_payload
from scada_core.const import ACTOR_STAFF
from scada_core.core import Context
from scada_core.exceptions import OpenPrepayError

from .audit import remote_of
from .const import BATCH_CONCURRENCY, BATCH_SERVICES

if TYPE_CHECKING:
    from aiohttp import web

    from .auth import WebOperator
    from .site import WebSite

MAX_JOBS = 50
SERVICE_PUSH_TARIFF = "push_tariff"


class BatchError(OpenPrepayError):
    """A batch that cannot start."""


@dataclass
class BatchItem:
    """One meter's part of a batch."""

    state: str = "pending"  # pending, running, done, failed
    result: Any = None
    error: str | None = None


@dataclass
class BatchJob:
    """A service on a set of meters."""

    id: str
    service: str
    data: dict[str, Any]
    items: dict[str, BatchItem] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return progress and every meter's outcome."""
        states = [i.state for i in self.items.values()]
        return {
            "id": self.id, "service": self.service, "total": len(states),
            "done": states.count("done"), "failed": states.count("failed"),
            "finished": all(s in ("done", "failed") for s in states),
            "items": {e: {"state": i.state, "result": i.result, "error": i.error} for e, i in self.items.items()},
        }


class BatchRunner:
    """Start and remember batches (the newest MAX_JOBS)."""

    def __init__(self, site: WebSite) -> None:
        self.site = site
        self.jobs: dict[str, BatchJob] = {}
        self._limit = asyncio.Semaphore(BATCH_CONCURRENCY)

    def get(self, batch_id: str) -> BatchJob | None:
        """Return a batch."""
        return self.jobs.get(batch_id)

    def start(self, operator: WebOperator, request: web.Request, service: str, entity_ids: list[str],
              data: dict[str, Any]) -> BatchJob:
        """Check the request and start every meter's call as its own task."""
        if service not in BATCH_SERVICES:
            raise BatchError(f"unknown batch service {service}")
        if not entity_ids:
            raise BatchError("no meters selected")
        job = BatchJob(secrets.token_hex(8), service, data, {e: BatchItem() for e in dict.fromkeys(entity_ids)})
        self.jobs[job.id] = job
        while len(self.jobs) > MAX_JOBS:
            self.jobs.pop(next(iter(self.jobs)))
        remote = remote_of(request)
        for entity_id in job.items:
            self.site.core.async_create_task(self._run(job, entity_id, operator, remote), f"batch {job.id}")
        return job

    async def _run(self, job: BatchJob, entity_id: str, operator: WebOperator, remote: str) -> None:
        item = job.items[entity_id]
        state = self.site.core.states.get(entity_id)
        before = {k: state.attributes.get(k) for k in ("relay", "prepaid_mode")} if state is not None else None
        domain = entity_id.split(".", 1)[0]
        async with self._limit:
            item.state = "running"
            try:
                data = job.data
                if job.service == SERVICE_PUSH_TARIFF and not data and self.site.billing is not None:
                    spec = await self.site.billing.tariff_for(entity_id)
                    data = push_payload(spec, self.site.core.clock.now().month)
                response = await self.site.core.services.async_call(
                    domain, job.service, {"entity_id": entity_id, **data},
                    Context(user_id=operator.username, actor=ACTOR_STAFF))
                item.result = ((response or {}).get("results") or {}).get(entity_id, response)
                item.state = "done"
            except Exception as err:  # noqa: BLE001 - every meter's failure is shown, none stops the others
                item.error = str(err) or type(err).__name__
                item.state = "failed"
        self.site.grid.invalidate()
        await self.site.audit.record(remote, operator, f"meter:{job.service}", entity_id, before=before,
                                     after=item.result if item.state == "done" else {"error": item.error},
                                     ok=item.state == "done")
