"""The field layer's metrics: meters online per gateway, and per bus its line counters, sweeps and commands."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from scada_core.const import METRIC_PREFIX
from scada_core.metrics import MetricSource

from .const import CMD_DONE_STATES, CMD_OPEN_STATES

if TYPE_CHECKING:
    from .hub import ModbusHub

# Line counters (LinkStats fields) shown per bus as counters: field -> help.
LINE_COUNTERS = {
    "requests": "Modbus requests sent (every attempt)",
    "responses": "Modbus answers received",
    "timeouts": "Requests no answer came to in time",
    "crc_errors": "Answers that came garbled (bad CRC or frame)",
    "exceptions": "Modbus exception answers",
    "bytes_tx": "Bytes sent on the line",
    "bytes_rx": "Bytes received from the line",
    "disconnects": "Times the line went down",
}


def _gauge(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{METRIC_PREFIX}{name}", text, labels=labels)


def hub_source(hub: ModbusHub) -> MetricSource:
    """Return the metric source of ``hub``."""

    async def collect() -> Iterable[Metric]:
        meters = _gauge("gateway_meters", "Meters behind the gateway by whether they answer", ["gateway", "state"])
        gateway_up = _gauge("gateway_up", "1 while any line of the gateway is connected", ["gateway"])
        for gateway in hub.gateways:
            devices = [d for bus in gateway.buses for d in bus.devices]
            online = sum(1 for d in devices if d.online)
            meters.add_metric([gateway.name, "online"], online)
            meters.add_metric([gateway.name, "offline"], len(devices) - online)
            gateway_up.add_metric([gateway.name], 1 if gateway.online else 0)
        labels = ["bus", "gateway"]
        line = {field: CounterMetricFamily(f"{METRIC_PREFIX}bus_{field}", text, labels=labels)
                for field, text in LINE_COUNTERS.items()}
        bus_up = _gauge("bus_up", "1 while the line is connected", labels)
        sweeps = CounterMetricFamily(f"{METRIC_PREFIX}bus_sweeps", "Sweeps that polled at least one meter", labels=labels)
        duration = _gauge("bus_sweep_duration_seconds", "How long the last sweep took", labels)
        wire = _gauge("bus_sweep_wire_seconds",
                      "The least time the last sweep's exchanges take on the serial line (bytes and t3.5 silences)",
                      labels)
        ratio = _gauge("bus_sweep_wire_ratio", "Last sweep's duration over its wire time (1: the line is the limit)",
                       labels)
        commands = _gauge("bus_commands", "Open commands: queued (or waiting to retry) and in flight",
                          [*labels, "state"])
        finished = CounterMetricFamily(f"{METRIC_PREFIX}bus_commands_finished", "Commands closed, by outcome",
                                       labels=[*labels, "outcome"])
        for bus in hub.buses.values():
            key = [bus.name, bus.gateway.name]
            for field, family in line.items():
                family.add_metric(key, getattr(bus.link.stats, field))
            bus_up.add_metric(key, 1 if bus.link.connected else 0)
            sweeps.add_metric(key, bus.sweeps)
            if bus.sweep_duration is not None:
                duration.add_metric(key, bus.sweep_duration)
            if bus.sweep_duration is not None and bus.sweep_wire_time:
                wire.add_metric(key, bus.sweep_wire_time)
                ratio.add_metric(key, bus.sweep_duration / bus.sweep_wire_time)
            open_jobs = [job for job in bus.jobs.values() if job.state in CMD_OPEN_STATES]
            running = sum(1 for job in open_jobs if job.running)
            commands.add_metric([*key, "queued"], len(open_jobs) - running)
            commands.add_metric([*key, "in_flight"], running)
            for outcome in CMD_DONE_STATES:
                finished.add_metric([*key, outcome], bus.finished_commands[outcome])
        return [meters, gateway_up, *line.values(), bus_up, sweeps, duration, wire, ratio, commands, finished]

    return collect
