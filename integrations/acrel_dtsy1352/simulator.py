"""Simulate Acrel DTSY1352 prepaid meters behind serial servers (Modbus TCP, RTU-over-TCP or a serial pty).

Python API (tests)::

    sim = Simulator(seed=1, speed=1.0, state_file=None)
    # plain meters: Simulator(profile=get_profile("adl400"), meter_defaults={"prepaid_on": False})
    server = await sim.async_add_server(units=range(1, 37), port=0, mode="rtu_over_tcp",
                                        timing=LineTiming(9600, turnaround_s=0.02))   # timing=None: no delays
    server.port; server.set_money(3, -500); server.set_power(3, 1500.0); server.set_offline(3)
    server.meter(3) -> SimMeter (all counters, thresholds, prices, forced state, encrypted/cipher_key)
    server.set_fault(3, silent=True) / crc=True / exception=4 / delay=2.0 / refuse=[0x0077]
    server.set_fault(3) clears
    server.drop_connections(); server.drop_every = N (hang up after every N requests)
    await sim.async_stop()
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from integrations.modbus.profile import DeviceProfile, get_profile
from scada_core.json_helpers import json_bytes

from .sim_meter import SimMeter
from .sim_pty import PtyCable
from .sim_server import MODE_RTU_OVER_TCP, MODE_SERIAL, MODE_TCP, Fault, LineTiming, SimServer

_LOGGER = logging.getLogger(__name__)

PROFILE_NAME = "dtsy1352"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
SAVE_INTERVAL_S = 10.0


def parse_units(text: str | Iterable[int]) -> list[int]:
    """Turn "1-36,40" (or a list of ints) into unit addresses."""
    units: set[int] = set() if isinstance(text, str) else {int(u) for u in text}
    for part in text.split(",") if isinstance(text, str) else ():
        first, _, last = part.strip().partition("-")
        low, high = int(first), int(last or first)
        if high < low:
            raise ValueError(f"range {part.strip()} runs backwards (write {high}-{low})")
        units.update(range(max(low, 0), min(high, 248) + 1))
        units.update({low, high})  # an address out of range is refused below, without building a huge range
    if not all(1 <= u <= 247 for u in units):
        raise ValueError("unit addresses are 1..247")
    return sorted(units)


class SimClock:
    """Simulated POSIX time: starts at wall time and runs ``speed`` times faster."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = speed
        self._start = time.time() if start is None else start
        self._mono = time.monotonic()

    def __call__(self) -> float:
        """Return the simulated time."""
        return self._start + (time.monotonic() - self._mono) * self.speed


class Simulator:
    """A set of simulated serial servers sharing a clock, a profile and a state file."""

    def __init__(
        self,
        *,
        seed: int = 1,
        speed: float = 1.0,
        state_file: Path | None = None,
        time_zone: str = DEFAULT_TIME_ZONE,
        profile: DeviceProfile | None = None,
        base_power_w: float = 2000.0,
        meter_defaults: dict[str, Any] | None = None,
    ) -> None:
        self.seed = seed
        self.clock = SimClock(speed)
        self.tz = ZoneInfo(time_zone)
        self.state_file = state_file
        self.profile = profile or get_profile(PROFILE_NAME)
        self.base_power_w = base_power_w
        self.meter_defaults = meter_defaults or {}
        self.servers: list[SimServer] = []
        self._cables: list[PtyCable] = []
        self._saved = self._load_state()
        self._saver: asyncio.Task[None] | None = None
        self._save_lock = asyncio.Lock()
        self._states: dict[str, dict[str, Any]] = {}  # each meter's state as last saved

    def _load_state(self) -> dict[str, Any]:
        if self.state_file is None or not self.state_file.is_file():
            return {}
        try:
            return dict(json.loads(self.state_file.read_text(encoding="utf-8")).get("meters", {}))
        except (OSError, ValueError) as err:
            _LOGGER.warning("Cannot read simulator state %s: %s; starting fresh", self.state_file, err)
            return {}

    def _new_meter(self, server_name: str, unit: int) -> SimMeter:
        key = f"{server_name}/{unit}"
        if key in self._saved:
            return SimMeter.from_state(self._saved[key])
        rng = random.Random(f"{self.seed}/{key}")
        settings: dict[str, Any] = {
            "base_power_w": self.base_power_w * rng.uniform(0.3, 1.7),
            "remaining_fen": rng.randrange(5000, 80000),
            **self.meter_defaults,
        }
        return SimMeter(unit=unit, seed=self.seed, last_ts=self.clock(), **settings)

    async def async_add_server(
        self,
        units: Iterable[int] | str,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        mode: str = MODE_RTU_OVER_TCP,
        serial_path: str | Path | None = None,
        timing: LineTiming | None = None,
        name: str | None = None,
        profile: DeviceProfile | None = None,
    ) -> SimServer:
        """Start one serial server with meters at ``units``; a serial_path with no tty behind becomes a pty link."""
        name = name or (str(serial_path) if mode == MODE_SERIAL else str(port or len(self.servers)))
        meters = {unit: self._new_meter(name, unit) for unit in parse_units(units)}
        path: str | None = None
        if mode == MODE_SERIAL:
            if serial_path is None:
                raise ValueError("serial mode needs a path")
            path = str(serial_path)
            if not Path(path).exists() or Path(path).is_symlink():
                cable = PtyCable(Path(path))
                cable.start()
                self._cables.append(cable)
                path = cable.server_path
        server = SimServer(profile or self.profile, meters, self.clock, self.tz, name=name, mode=mode, host=host,
                           port=port, serial_path=path, timing=timing,
                           on_write=self._save_written if self.state_file is not None else None)
        await server.async_start()
        self.servers.append(server)
        if self.state_file is not None and self._saver is None:
            self._saver = asyncio.get_running_loop().create_task(self._save_periodically())
        return server

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(SAVE_INTERVAL_S)
            await self.async_save()

    async def async_save(self) -> None:
        """Write every meter's counters to the state file (atomically)."""
        await self._save(None)

    async def _save_written(self, server: SimServer, unit: int) -> None:
        """Save before a write is answered, so a kill right after it rolls nothing back."""
        await self._save((server, unit))

    async def _save(self, written: tuple[SimServer, int] | None) -> None:
        """Save the written meter's fresh state (all meters' without one), the others' as last saved."""
        if self.state_file is None:
            return
        async with self._save_lock:
            now = self.clock()
            for server in self.servers:
                for unit, meter in server.meters.items():
                    key = f"{server.name}/{unit}"
                    if written is None or written == (server, unit) or key not in self._states:
                        meter.advance(now, self.tz)
                        self._states[key] = meter.to_state()
            data = json_bytes({"version": 1, "saved": now, "meters": dict(self._states)})
            await asyncio.to_thread(_write_atomic, self.state_file, data)

    async def async_stop(self) -> None:
        """Save state, stop every server and pty."""
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        await self.async_save()
        for server in self.servers:
            await server.async_stop()
        for cable in self._cables:
            cable.close()
        self.servers.clear()
        self._cables.clear()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)


# --- command line: python -m scada_core simulate dtsy1352 ... ---
def _unit_value(text: str) -> tuple[int, float]:
    unit, _, value = text.partition(":")
    return int(unit), float(value)


def _unit_list(text: str) -> list[int]:
    """Parse a unit list option ("1-36,40"); a mistake is a usage error, not a traceback."""
    try:
        return parse_units(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"bad unit list {text!r}: {err}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command line options."""
    parser.add_argument("--tcp", default="127.0.0.1:5020", help="HOST:PORT to listen on (port 0 = any free)")
    parser.add_argument(
        "--units", default="1-36", type=_unit_list, help="unit addresses, e.g. 1-36 or 1,2,5-9"
    )
    parser.add_argument("--rtu-over-tcp", action="store_true", help="RTU frames over TCP (transparent server)")
    parser.add_argument("--serial", type=Path, help="serial device, or a path where a pty link is created")
    parser.add_argument("--baud", type=int, help="simulate wire timing at this baud rate")
    parser.add_argument("--parity", default="N", choices=["N", "E", "O"])
    parser.add_argument("--stopbits", type=int, default=1, choices=[1, 2])
    parser.add_argument("--turnaround-ms", type=float, default=20.0, help="slave turnaround (with --baud)")
    parser.add_argument("--state", type=Path, help="JSON file keeping the meters' counters across restarts")
    parser.add_argument("--speed", type=float, default=1.0, help="time acceleration (60 = 1 h per minute)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--power", type=float, default=2000.0, help="mean base load per meter in W")
    parser.add_argument("--no-daily-shape", action="store_true", help="constant load instead of an office day")
    parser.add_argument("--time-zone", default=DEFAULT_TIME_ZONE)
    parser.add_argument("--profile", default=PROFILE_NAME,
                        help="device profile to serve (adl400 = plain meters: no prepaid logic)")
    parser.add_argument("--silent", default=[], type=_unit_list, help="units that never answer, e.g. 3,7")
    parser.add_argument("--crc", default=[], type=_unit_list, help="units whose replies carry a bad CRC")
    parser.add_argument("--exception", action="append", default=[], metavar="UNIT:CODE",
                        help="unit answers every request with this exception code")
    parser.add_argument("--refuse", action="append", default=[], metavar="UNIT:ADDRESS",
                        help="unit has no such register: answers exception 02 (e.g. 3:0x0077)")
    parser.add_argument("--slow", action="append", default=[], metavar="UNIT:SECONDS",
                        help="extra reply delay")
    parser.add_argument("--drop-every", type=int, help="close the TCP connection after every N requests")


def _meter_defaults(args: argparse.Namespace) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    if args.profile != PROFILE_NAME:
        defaults["prepaid_on"] = False
    if args.no_daily_shape:
        defaults["daily_shape"] = False
    return defaults


async def async_main(args: argparse.Namespace) -> None:
    """Run the simulator until interrupted."""
    profile = get_profile(args.profile)
    sim = Simulator(seed=args.seed, speed=args.speed, state_file=args.state, time_zone=args.time_zone,
                    base_power_w=args.power, profile=profile,
                    meter_defaults=_meter_defaults(args))
    timing = None
    if args.baud:
        timing = LineTiming(args.baud, args.parity, args.stopbits, args.turnaround_ms / 1000)
    host, _, port = args.tcp.rpartition(":")
    if args.serial:
        mode = MODE_SERIAL
    else:
        mode = MODE_RTU_OVER_TCP if args.rtu_over_tcp else MODE_TCP
    server = await sim.async_add_server(args.units, port=int(port), host=host or "127.0.0.1", mode=mode,
                                        serial_path=args.serial, timing=timing)
    for unit in args.silent:
        server.set_fault(unit, silent=True)
    for unit in args.crc:
        server.set_fault(unit, crc=True)
    for item in args.exception:
        unit, code = _unit_value(item)
        server.set_fault(unit, exception=int(code))
    for item in args.refuse:
        unit_text, _, address = item.partition(":")
        fault = server.faults.setdefault(int(unit_text), Fault())
        fault.refuse = (*fault.refuse, int(address, 0))
    for item in args.slow:
        unit, seconds = _unit_value(item)
        server.set_fault(unit, delay=seconds)
    server.drop_every = args.drop_every
    where = str(args.serial) if mode == MODE_SERIAL else f"({mode}) on {server.host}:{server.port}"
    print(f"serving {len(server.meters)} {profile.model or profile.name} units {where}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.async_stop()


__all__ = [
    "MODE_RTU_OVER_TCP", "MODE_SERIAL", "MODE_TCP", "LineTiming", "SimServer", "Simulator", "parse_units",
]
