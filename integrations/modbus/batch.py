"""Batches: one service on many meters, every meter's command saved with the batch in one transaction.

Each meter's service call runs as its own task; the command it submits is staged (``current_batch``), saved
with every other meter's, then queued on its bus. Progress and results are read back from the records, so a
restart loses neither.
"""
from __future__ import annotations

import asyncio
import contextvars
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from scada_core.const import ATTR_ENTITY_ID

from .errors import MeterCommandError

if TYPE_CHECKING:
    from scada_core.core import Context, Core

    from .job import CommandJob
    from .store import CommandStore


class BatchHook(Protocol):
    """What a caller adds to each meter's call (the dashboard: the data of each meter, its audit record)."""

    async def data_for(self, entity_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Return the service data of one meter."""

    async def done(self, entity_id: str, result: Any, error: str | None) -> None:
        """Note one meter's outcome once its call has returned."""


@dataclass
class BatchRequest:
    """One service to run on many meters."""

    service: str  # the batch is saved under this name
    name: str  # the service each meter runs
    targets: list[tuple[str, str]]  # (entity_id, the domain whose service ``name`` runs on it)
    data: dict[str, Any]
    context: Context


@dataclass(eq=False)
class BatchItem:
    """One meter's part of a batch: its command is staged, then saved with the whole batch, then queued."""

    batch_id: str
    entity_id: str
    kind: str
    job: CommandJob | None = None
    error: str | None = None
    result: Any = None
    staged: asyncio.Event = field(default_factory=asyncio.Event)
    committed: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def release(self, error: BaseException | None = None) -> None:
        """Let the staged command go to its bus, or fail its service call with ``error``."""
        if self.job is None or self.committed.done():
            return
        if error is None:
            self.committed.set_result(None)
        else:
            self.committed.set_exception(MeterCommandError(f"batch {self.batch_id} not saved: {error}"))


# Set by a batch run so the command its service call creates is counted in that batch.
current_batch: contextvars.ContextVar[BatchItem | None] = contextvars.ContextVar(
    "current_batch", default=None
)


async def async_start_batch(
    core: Core, store: CommandStore, request: BatchRequest, hook: BatchHook | None = None
) -> str:
    """Call the service on each meter as its own task, save every command at once; return the batch id."""
    batch_id = uuid.uuid4().hex
    items: list[BatchItem] = []
    for entity_id, domain in request.targets:
        item = BatchItem(batch_id, entity_id, request.name)
        items.append(item)
        token = current_batch.set(item)
        try:
            core.async_create_task(_run_item(core, item, domain, request, hook), f"batch {batch_id}")
        finally:
            current_batch.reset(token)
    try:
        await asyncio.gather(*(item.staged.wait() for item in items))
        await store.insert_batch(batch_id, request.service, items, request.context.user_id)
    except BaseException as err:
        for item in items:
            item.release(err)
        raise
    for item in items:
        item.release()
    return batch_id


async def _run_item(
    core: Core, item: BatchItem, domain: str, request: BatchRequest, hook: BatchHook | None
) -> None:
    """Call the service on one meter; its command is staged for the batch, or its outcome noted."""
    result: Any = None
    error: str | None = None
    try:
        data = request.data if hook is None else await hook.data_for(item.entity_id, request.data)
        response = await core.services.async_call(
            domain, request.name, {ATTR_ENTITY_ID: item.entity_id, **data}, request.context
        )
        result = ((response or {}).get("results") or {}).get(item.entity_id, response)
    except Exception as err:  # noqa: BLE001 - the outcome is in the batch's records
        error = str(err) or type(err).__name__
    except asyncio.CancelledError:
        error = "cancelled"
        raise
    finally:
        if item.job is None:
            item.result, item.error = result, error
        item.staged.set()
    if hook is not None:
        await hook.done(item.entity_id, result, error)
