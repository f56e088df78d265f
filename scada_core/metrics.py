"""The metrics of one core: parts register sources; /metrics renders them in the Prometheus text format."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

_LOGGER = logging.getLogger(__name__)

# A part's source: read the numbers it keeps (and maybe the database) and return them as metric families.
MetricSource = Callable[[], Awaitable[Iterable[Metric]]]


class _Gathered(Collector):
    """Yield families gathered beforehand: prometheus_client collects synchronously, our sources are async."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        """Return the gathered families."""
        return self._families


class Metrics:
    """Every metric source of one core (never the process-wide default registry: a process may run several)."""

    def __init__(self) -> None:
        self._sources: list[MetricSource] = []

    def register(self, source: MetricSource) -> None:
        """Add ``source``."""
        self._sources.append(source)

    async def async_collect(self) -> list[Metric]:
        """Return every source's families; a failing source is logged and left out, never the whole page."""
        families: list[Metric] = []
        for source in self._sources:
            try:
                families.extend(await source())
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable: the rest still counts
                _LOGGER.exception("Metric source %s failed", getattr(source, "__qualname__", source))
        return families

    async def async_render(self) -> bytes:
        """Return every metric in the Prometheus text exposition format (version 0.0.4)."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Gathered(await self.async_collect()))
        return generate_latest(registry)
