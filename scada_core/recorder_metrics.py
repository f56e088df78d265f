"""The recorder's metrics: rows waiting, rows written and the time its write transactions take."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily

from .const import METRIC_PREFIX
from .metrics import MetricSource

if TYPE_CHECKING:
    from .recorder import Recorder


def recorder_source(recorder: Recorder) -> MetricSource:
    """Return the metric source of ``recorder``."""

    async def collect() -> Iterable[Metric]:
        queued = GaugeMetricFamily(f"{METRIC_PREFIX}recorder_queue_rows", "Rows (states, readings) waiting to be written")
        queued.add_metric([], recorder.queue_length)
        written = CounterMetricFamily(f"{METRIC_PREFIX}recorder_rows_written", "Rows the recorder wrote")
        written.add_metric([], recorder.rows_written)
        writes = SummaryMetricFamily(
            f"{METRIC_PREFIX}recorder_write_seconds", "Recorder write transactions, from asking the write turn to commit",
            count_value=recorder.batches_written, sum_value=recorder.write_seconds,
        )
        failing = GaugeMetricFamily(f"{METRIC_PREFIX}recorder_failing", "1 while the recorder's last write failed")
        failing.add_metric([], 1 if recorder.error is not None else 0)
        return [queued, written, writes, failing]

    return collect
