"""Full status sweep of 4 buses × 36 DTSY1352 at 9600 8N1 (20 ms turnaround) vs the wire-time lower bound.

The simulator delays each reply by its wire time, so the bus, not the host, is the limit. The lower bound
of a sweep is, per request, (request + reply bytes) × 10 / baud + 2 × t3.5 + turnaround, summed per bus;
the slowest bus counts. Also compares bytes on the wire per meter reading with one request per value.
"""
from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from integrations.acrel_dtsy1352.sim_server import LineTiming
from integrations.acrel_dtsy1352.simulator import Simulator
from integrations.modbus.connection import char_time, t35
from integrations.modbus.profile import get_profile
from scada_core.bootstrap import async_from_config_dir
from scada_core.const import EVENT_STATE_CHANGED

BUSES = 4
METERS = 36
BAUD = 9600
TURNAROUND = 0.020
SWEEPS_MEASURED = 2


def per_value_bytes(block_start: int, block_count: int) -> tuple[int, int]:
    """Return (requests, bytes) to read every value of the status block one request per value."""
    profile = get_profile("dtsy1352")
    end = block_start + block_count
    values = [r for r in profile.registers if block_start <= r.address and r.end <= end]
    return len(values), sum(8 + 5 + 2 * r.width for r in values)


async def run(tmp: Path) -> dict[str, Any]:
    """Serve the tower, poll it with the driver, and return the figures."""
    simulator = Simulator(seed=1)
    ports = []
    for _ in range(BUSES):
        server = await simulator.async_add_server(
            range(1, METERS + 1), timing=LineTiming(BAUD, "N", 1, TURNAROUND)
        )
        ports.append(server.port)
    config = {
        "http": {"port": 0},
        "recorder": {"db_url": f"sqlite:///{tmp / 'bench.db'}"},
        "modbus": [
            {
                "name": f"ss{i + 1}",
                "type": "rtu_over_tcp",
                "host": "127.0.0.1",
                "port": port,
                "baudrate": BAUD,
                "timeout": 0.5,
                "retries": 1,
                "status_interval": 0.05,
                "energy_interval": 86400,
            }
            for i, port in enumerate(ports)
        ],
        "acrel_dtsy1352": [
            {
                "bus": f"ss{i + 1}",
                "meters": [{"name": f"s{i + 1}_m{u}", "address": u} for u in range(1, METERS + 1)],
            }
            for i in range(BUSES)
        ],
    }
    (tmp / "configuration.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    ends: dict[str, dict[int, dict[str, Any]]] = {f"modbus.bus_ss{i + 1}": {} for i in range(BUSES)}

    def on_state(event: Any) -> None:
        new = event.data["new_state"]
        if new is not None and new.entity_id in ends:
            ends[new.entity_id].setdefault(new.attributes["sweeps"], dict(new.attributes))

    core = await async_from_config_dir(tmp)
    core.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    # Sweep 1 reads status + energy extras, sweep 2 adds each meter's settings; then pure status.
    last = 2 + SWEEPS_MEASURED
    while any(last not in h for h in ends.values()):
        await asyncio.sleep(0.1)
    await core.async_stop()
    await simulator.async_stop()

    t35_s = t35(BAUD)
    char_s = char_time(BAUD)
    rows = []
    for entity_id, history in ends.items():
        for sweep in range(3, last + 1):
            before, after = history[sweep - 1], history[sweep]
            requests = after["requests"] - before["requests"]
            wire_bytes = (after["bytes_tx"] - before["bytes_tx"]) + (after["bytes_rx"] - before["bytes_rx"])
            bound = wire_bytes * char_s + requests * (2 * t35_s + TURNAROUND)
            rows.append(
                {
                    "bus": entity_id,
                    "duration": after["sweep_duration"],
                    "bound": bound,
                    "requests": requests,
                    "bytes": wire_bytes,
                }
            )
    return {"rows": rows}


def main() -> None:
    """Run the sweep and print the figures; the last line is one JSON object."""
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as name:
        started = time.monotonic()
        figures = asyncio.run(run(Path(name)))
    rows = figures["rows"]
    for row in rows:
        print(
            f"{row['bus']}: sweep {row['duration']:.3f} s, lower bound {row['bound']:.3f} s, "
            f"{row['requests']} requests, {row['bytes']} bytes, ratio {row['duration'] / row['bound']:.3f}"
        )
    slowest = max(rows, key=lambda r: r["duration"])
    slowest_bound = max(r["bound"] for r in rows)
    ratio = slowest["duration"] / slowest_bound
    per_reading = slowest["bytes"] / METERS
    value_requests, value_bytes = per_value_bytes(0x0200, 48)
    per_value_time = value_bytes * char_time(BAUD) + value_requests * (2 * t35(BAUD) + TURNAROUND)
    print(
        f"slowest bus sweep {slowest['duration']:.3f} s vs wire-time lower bound {slowest_bound:.3f} s: "
        f"ratio {ratio:.3f} (goal <= 1.10)"
    )
    print(
        f"bytes on the wire per meter reading: {per_reading:.0f} (1 request) vs {value_bytes} "
        f"({value_requests} requests, one per value); "
        f"wire time per meter {slowest['bound'] / METERS * 1000:.0f} ms "
        f"vs {per_value_time * 1000:.0f} ms"
    )
    print(f"(bench ran {time.monotonic() - started:.1f} s)")
    print(
        json.dumps(
            {
                "name": "poll_sweep",
                "value": round(slowest["duration"], 4),
                "unit": "s per full status sweep (36 meters, slowest of 4 buses, 9600 8N1, 20 ms turnaround)",
                "baseline": round(slowest_bound, 4),
                "ratio": round(ratio, 4),
                "goal_ratio_max": 1.10,
                "bytes_per_reading": round(per_reading, 1),
                "bytes_per_reading_one_request_per_value": value_bytes,
                "requests_per_reading_one_request_per_value": value_requests,
            }
        )
    )


if __name__ == "__main__":
    main()
