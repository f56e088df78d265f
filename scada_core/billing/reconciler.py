"""The reconciler: at start-up and every few minutes (and at local midnight when a month begins), settle pending
deliveries, bring meters to what they should hold and mirror the prepaid meters whose mirror is due."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import BillingService

_LOGGER = logging.getLogger(__name__)


async def run_reconciler(service: BillingService) -> None:
    """Run a reconcile round, then sleep ``reconcile_interval`` (or until the next month begins)."""
    while True:
        try:
            await service.reconcile_round()
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Reconciliation round failed")
        await asyncio.sleep(service.next_round_delay())
