"""The meter grid's data: one compact JSON of every meter, rebuilt at most once a second."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from scada_core.billing.models import AccountRow
from scada_core.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from scada_core.core import Event
from scada_core.json_helpers import json_bytes
from scada_core.meters import is_meter

from .const import GRID_CACHE_S

if TYPE_CHECKING:
    from .site import WebSite

DIRTY_EVENTS = ("billing_sale", "billing_alarm", "billing_payment_received")
COLUMNS = ("entity_id", "label", "building", "floor", "account_id", "account", "status", "flags", "remaining_fen",
           "power_w", "last_read", "room")


def flags_of(status: dict[str, Any], attrs: dict[str, Any]) -> str:
    """Return the marks of a meter: H hold, F forced off, T tripped (relay open), B blocked for sales."""
    marks = ""
    if attrs.get("prepaid_mode") == "hold":
        marks += "H"
    if attrs.get("prepaid_mode") == "forced_off":
        marks += "F"
    if attrs.get("relay") == "open":
        marks += "T"
    if status.get("blocked"):
        marks += "B"
    return marks


class GridData:
    """Build and cache the grid JSON."""

    def __init__(self, site: WebSite) -> None:
        self.site = site
        self._data: dict[str, Any] = {}
        self._body: bytes = b""
        self.gzipped: bytes = b""
        self.etag = ""
        self._built = 0.0
        self._dirty = True
        self._lock = asyncio.Lock()
        site.core.bus.async_listen(EVENT_STATE_CHANGED, self._state_changed)
        for event_type in DIRTY_EVENTS:
            site.core.bus.async_listen(event_type, self._changed)

    def _state_changed(self, event: Event) -> None:
        if is_meter(event.data.get("new_state")) or is_meter(event.data.get("old_state")):
            self._dirty = True

    def _changed(self, _event: Event) -> None:
        self._dirty = True

    async def _refresh(self) -> None:
        async with self._lock:
            if self._dirty and time.monotonic() - self._built > GRID_CACHE_S:
                self._dirty = False
                self._data = await self.build()
                body = json_bytes(self._data)
                if body != self._body:
                    self._body = body
                    self.gzipped = gzip.compress(body, compresslevel=5)
                    self.etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                self._built = time.monotonic()

    async def body(self) -> bytes:
        """Return the JSON bytes, rebuilt when older than GRID_CACHE_S (one build at a time)."""
        await self._refresh()
        return self._body

    async def data(self) -> dict[str, Any]:
        """Return the same data as a dict."""
        await self._refresh()
        return self._data

    async def scoped(self, buildings: frozenset[str]) -> dict[str, Any]:
        """Return the data of the meters in ``buildings`` only."""
        data = await self.data()
        building = COLUMNS.index("building")
        return {"columns": COLUMNS, "rows": [row for row in data["rows"] if row[building] in buildings]}

    def invalidate(self) -> None:
        """Force the next request to rebuild (after an operator action)."""
        self._dirty = True
        self._built = 0.0

    async def build(self) -> dict[str, Any]:
        """Return {columns, rows}: one list per meter."""
        core = self.site.core
        billing = self.site.billing
        directory = self.site.directory
        statuses: dict[str, dict[str, Any]] = {}
        names: dict[int, str] = {}
        if billing is not None:
            statuses = {s["entity_id"]: s for s in await billing.meter_statuses()}
            async with self.site.db.session() as session:  # names only: one query, not billing.accounts()' balances
                names = dict((await session.execute(select(AccountRow.id, AccountRow.name))).all())
        rows = []
        for entity_id in sorted(set(directory.meter_ids()) | set(statuses)):
            state = core.states.get(entity_id)
            attrs = state.attributes if state is not None else {}
            status = statuses.get(entity_id) or {
                "status": "offline" if state is None or state.state == STATE_UNAVAILABLE else "not_opened"
            }
            info = directory.classify(entity_id)
            account_id = status.get("account_id")
            rows.append([
                entity_id, info["label"], info["building"], info["floor"], account_id, names.get(account_id, ""),
                status["status"], flags_of(status, attrs), attrs.get("remaining_fen"), attrs.get("power_w"),
                attrs.get("last_read"), info["room"],
            ])
        return {"columns": COLUMNS, "rows": rows}
