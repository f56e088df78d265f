"""The reconciler: at start-up and every few minutes, settle pending deliveries and push due tariffs."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .const import MODE_METER

if TYPE_CHECKING:
    from .service import BillingService

_LOGGER = logging.getLogger(__name__)


async def run_reconciler(service: BillingService) -> None:
    """Reconcile, push due tariffs and sync the prepaid meters whose mirror is due; sleep ``reconcile_interval``."""
    while True:
        try:
            await service.reconcile()
            await service.push_due_tariffs()
            for entity_id, mode in list(service._open_meters.items()):
                if mode != MODE_METER or not service.sync_due(entity_id):
                    continue
                async with service.meter_lock(entity_id):
                    await service.sync_meter(entity_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Reconciliation round failed")
        await asyncio.sleep(service.reconcile_interval)
