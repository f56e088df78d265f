"""Notify's metrics: messages waiting in the outbox, and messages sent and failed since start, per channel."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from scada_core.const import METRIC_PREFIX

from .const import CHANNEL_EMAIL, CHANNEL_SMS, EVENT_NOTIFY_FAILED, EVENT_NOTIFY_SENT

if TYPE_CHECKING:
    from scada_core.core import Event, EventBus

    from .outbox import Outbox

CHANNELS = (CHANNEL_SMS, CHANNEL_EMAIL)


class NotifyMetrics:
    """Count sent and failed messages as the workers announce them; read the outbox depth when asked."""

    def __init__(self, bus: EventBus, outbox: Outbox) -> None:
        self.outbox = outbox
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        bus.async_listen(EVENT_NOTIFY_SENT, self._on_sent)
        bus.async_listen(EVENT_NOTIFY_FAILED, self._on_failed)

    def _on_sent(self, event: Event) -> None:
        self.sent[event.data["channel"]] += 1

    def _on_failed(self, event: Event) -> None:
        self.failed[event.data["channel"]] += 1

    async def collect(self) -> Iterable[Metric]:
        """Return the outbox depth and the counters of every channel."""
        pending = await self.outbox.async_pending_by_channel()
        depth = GaugeMetricFamily(f"{METRIC_PREFIX}notify_outbox_pending", "Messages waiting to be sent",
                                  labels=["channel"])
        sent = CounterMetricFamily(f"{METRIC_PREFIX}notify_sent", "Messages sent since start", labels=["channel"])
        failed = CounterMetricFamily(f"{METRIC_PREFIX}notify_failed", "Messages given up since start (failed for good)",
                                     labels=["channel"])
        for channel in CHANNELS:
            depth.add_metric([channel], pending.get(channel, 0))
            sent.add_metric([channel], self.sent[channel])
            failed.add_metric([channel], self.failed[channel])
        return [depth, sent, failed]
