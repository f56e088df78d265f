"""Billing's metrics: sales and top-ups since start (by payment method), and deliveries waiting for their meter."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select

from scada_core.const import METRIC_PREFIX

from .const import DELIVERY_PENDING, EVENT_BILLING_PAYMENT_RECEIVED, EVENT_BILLING_SALE
from .models import DeliveryRow

if TYPE_CHECKING:
    from scada_core.core import Event, EventBus
    from scada_core.storage.database import Database

PENDING_DELIVERIES = select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == DELIVERY_PENDING)


class BillingMetrics:
    """Count sales and top-ups as billing announces them; read the pending deliveries when asked."""

    def __init__(self, bus: EventBus, db: Database) -> None:
        self.db = db
        self.sales: Counter[str] = Counter()  # by method
        self.sales_fen: Counter[str] = Counter()
        self.topups: Counter[str] = Counter()
        self.topups_fen: Counter[str] = Counter()
        bus.async_listen(EVENT_BILLING_SALE, self._on_sale)
        bus.async_listen(EVENT_BILLING_PAYMENT_RECEIVED, self._on_topup)

    def _on_sale(self, event: Event) -> None:
        self.sales[event.data["method"]] += 1
        self.sales_fen[event.data["method"]] += event.data["amount_fen"]

    def _on_topup(self, event: Event) -> None:
        self.topups[event.data["method"]] += 1
        self.topups_fen[event.data["method"]] += event.data["amount_fen"]

    async def collect(self) -> Iterable[Metric]:
        """Return the counters and the pending deliveries."""
        families = []
        for name, text, counts in (
            ("sales", "Sales posted since start (counter and online), by payment method", self.sales),
            ("sales_fen", "Money of those sales in fen (0.01 CNY)", self.sales_fen),
            ("topups", "Online payments (top-ups) received since start, by payment method", self.topups),
            ("topups_fen", "Money of those top-ups in fen (0.01 CNY)", self.topups_fen),
        ):
            family = CounterMetricFamily(f"{METRIC_PREFIX}{name}", text, labels=["method"])
            for method, value in sorted(counts.items()):
                family.add_metric([method], value)
            families.append(family)
        async with self.db.session() as session:
            pending = int(await session.scalar(PENDING_DELIVERIES) or 0)
        deliveries = GaugeMetricFamily(f"{METRIC_PREFIX}deliveries_pending",
                                       "Money committed for a meter, not yet confirmed on it")
        deliveries.add_metric([], pending)
        return [*families, deliveries]
