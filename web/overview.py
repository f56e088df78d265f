"""The home page's figures: meters per status, today's and this month's money and energy, a 30-day trend, the top
consumers and the alarms in force. Built from the grid's data and the daily rollups, at most once per
OVERVIEW_CACHE_S, so a room of screens costs one build."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from scada_core.reports.queries import energy_per_day, energy_per_meter, net_sales_per_day
from scada_core.reports.rollup import date_day

from .const import OVERVIEW_CACHE_MAX, OVERVIEW_CACHE_S, STATUSES, TOP_CONSUMERS, TREND_DAYS
from .grid import COLUMNS

if TYPE_CHECKING:
    from scada_core.permissions import Scope

    from .site import WebSite

STATUS, FLAGS = COLUMNS.index("status"), COLUMNS.index("flags")


@dataclass
class Overview:
    """What the manager sees in one look."""

    total: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    tripped: int = 0
    held: int = 0
    online_rate: float | None = None  # share of meters answering (None without meters)
    sales_today_fen: int = 0
    sales_month_fen: int = 0
    energy_today_wh: int = 0
    energy_month_wh: int = 0
    trend: list[tuple[date, int, int]] = field(default_factory=list)  # (day, fen, Wh), oldest first
    top: list[tuple[str, int]] = field(default_factory=list)  # (entity_id, Wh this month), biggest first
    alarms: list[dict[str, Any]] = field(default_factory=list)


class OverviewData:
    """Build and cache the overview."""

    def __init__(self, site: WebSite) -> None:
        self.site = site
        self._built: dict[frozenset[str] | None, tuple[float, Overview]] = {}  # per set of buildings kept to
        self._lock = asyncio.Lock()

    async def get(self, scope: Scope | None = None) -> Overview:
        """Return the overview (of ``scope``'s buildings), rebuilt when older than OVERVIEW_CACHE_S (one build at a
        time)."""
        key = None if scope is None else scope.buildings
        async with self._lock:
            built = self._built.get(key)
            if built is None or time.monotonic() - built[0] >= OVERVIEW_CACHE_S:
                if len(self._built) >= OVERVIEW_CACHE_MAX:
                    self._built.clear()
                built = self._built[key] = (time.monotonic(), await self.build(scope))
            return built[1]

    async def build(self, scope: Scope | None = None) -> Overview:
        """Count the grid's meters and read the money and energy of the last TREND_DAYS days (of ``scope``'s
        buildings only, when given)."""
        grid = self.site.grid
        rows = (await grid.data() if scope is None else await grid.scoped(scope.buildings))["rows"]
        view = Overview(total=len(rows), statuses={status: 0 for status in STATUSES})
        for row in rows:
            view.statuses[row[STATUS]] = view.statuses.get(row[STATUS], 0) + 1
            view.tripped += "T" in row[FLAGS]
            view.held += "H" in row[FLAGS]
        if rows:
            view.online_rate = 1 - view.statuses["offline"] / len(rows)
        today = self.site.core.clock.now().date()
        first = min(today - timedelta(days=TREND_DAYS - 1), today.replace(day=1))
        db, offset = self.site.db, self.site.offset_s
        buildings = None if scope is None else scope.buildings
        meters = None if scope is None else [row[0] for row in rows]
        sales = await net_sales_per_day(db, date_day(first), date_day(today), offset, buildings)
        energy = await energy_per_day(db, date_day(first), date_day(today), meters)
        days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        view.trend = [(d, sales.get(date_day(d), 0), energy.get(date_day(d), 0)) for d in days][-TREND_DAYS:]
        month = [date_day(d) for d in days if d >= today.replace(day=1)]
        view.sales_today_fen, view.energy_today_wh = sales.get(date_day(today), 0), energy.get(date_day(today), 0)
        view.sales_month_fen = sum(sales.get(d, 0) for d in month)
        view.energy_month_wh = sum(energy.get(d, 0) for d in month)
        used = await energy_per_meter(db, date_day(today.replace(day=1)), date_day(today))
        if meters is not None:
            kept = set(meters)
            used = {entity_id: wh for entity_id, wh in used.items() if entity_id in kept}
        view.top = sorted(((e, wh) for e, wh in used.items() if wh > 0), key=lambda item: -item[1])[:TOP_CONSUMERS]
        billing = self.site.billing
        view.alarms = await billing.active_alarms() if billing is not None else []
        if scope is not None:
            view.alarms = [alarm for alarm in view.alarms if scope.entity_ok(alarm["meter_entity_id"])]
        return view
