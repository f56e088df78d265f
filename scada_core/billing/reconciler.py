"""The reconciler: at start-up and every few minutes (and at local midnight when a month begins), settle pending
deliveries, bring meters to what they should hold and mirror the prepaid meters whose mirror is due."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .const import MODE_METER
from .desired import OUTCOME_HELD, next_month_start

if TYPE_CHECKING:
    from .books import Books
    from .charging import MeterMirror
    from .delivery import Deliveries
    from .desired import DesiredState
    from .opened import OpenedMeters

_LOGGER = logging.getLogger(__name__)


class Reconciler:
    """Run reconcile rounds over deliveries, desired state and the meter mirror."""

    def __init__(
        self,
        books: Books,
        opened: OpenedMeters,
        deliveries: Deliveries,
        desired: DesiredState,
        mirror: MeterMirror,
        interval: float,
    ) -> None:
        self.books = books
        self.opened = opened
        self.deliveries = deliveries
        self.desired = desired
        self.mirror = mirror
        self.interval = interval

    async def round(self) -> dict[str, int]:
        """One round: settle pending deliveries, push what meters should hold, mirror due meters.

        Returns the delivery outcomes plus how many meters were pushed (``desired_pushed``) or could not be
        (``desired_failed``, ``desired_offline``).
        """
        outcomes = await self.deliveries.reconcile()
        for outcome in (await self.desired.push(blind=False)).values():
            if outcome != OUTCOME_HELD:
                outcomes[f"desired_{outcome}"] = outcomes.get(f"desired_{outcome}", 0) + 1
        for entity_id in self.opened.opened(MODE_METER):
            if self.mirror.sync_due(entity_id):
                async with self.books.meter_lock(entity_id):
                    await self.mirror.sync_meter(entity_id)
        return outcomes

    def next_round_delay(self) -> float:
        """Return the seconds to the next round: the interval, or less to be on time for a new month (when a
        TOU season may change the meter's table)."""
        now = self.books.clock.now()
        until_month = (next_month_start(now) - now).total_seconds()
        return max(min(self.interval, until_month), 0.0)

    async def run(self) -> None:
        """Run a round, then sleep until the next one."""
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception("Reconciliation round failed")
            await asyncio.sleep(self.next_round_delay())
