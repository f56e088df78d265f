"""Event-loop lag: how late the loop runs a callback it was asked to run a fixed time ahead."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric, SummaryMetricFamily

from .const import METRIC_PREFIX


class LoopLag:
    """Sleep ``interval`` seconds again and again; the time past each wake-up is the lag (loop's monotonic clock)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = 0.0
        self.samples = 0
        self.total = 0.0

    async def run(self) -> None:
        """Measure until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.last = max(0.0, loop.time() - due)
            self.samples += 1
            self.total += self.last

    async def metrics(self) -> Iterable[Metric]:
        """Return the last lag and the lag summed over every measure."""
        last = GaugeMetricFamily(f"{METRIC_PREFIX}event_loop_lag_seconds",
                                 "How late the event loop ran the last callback scheduled ahead")
        last.add_metric([], self.last)
        summed = SummaryMetricFamily(f"{METRIC_PREFIX}event_loop_lag_measured_seconds",
                                     "Event-loop lag over every measure (rate of sum / rate of count: the mean)",
                                     count_value=self.samples, sum_value=self.total)
        return [last, summed]
