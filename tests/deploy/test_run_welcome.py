"""`openprepay run --host --port` overrides `http:`; the first lines after start say where to open it and how to log
in; under systemd (Type=notify) it says READY=1, pings the watchdog and says STOPPING=1."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from scada_core.welcome import lan_addresses
from tests.helpers import WAIT_TIMEOUT, drop_schema, free_port, write_config

ROOT = Path(__file__).resolve().parents[2]
FAST_HASHING = {"memory_kib": 19456, "time_cost": 2, "parallelism": 1}
WATCHDOG_USEC = "200000"  # systemd's WatchdogSec=0.2: a ping every 0.1 s


async def next_message(sock: socket.socket) -> str:
    """Return the next datagram systemd would receive."""
    return (await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 4096), WAIT_TIMEOUT)).decode()


async def test_run_on_the_lan_tells_where_and_notifies_systemd(tmp_path: Path, db_settings: dict[str, str]) -> None:
    """--host 0.0.0.0 --port P listens on P (not the file's port), logs each URL of the staff page with its first
    login, and sends READY=1, then WATCHDOG=1 pings, then STOPPING=1 at SIGTERM, exiting 0."""
    folder = write_config(tmp_path / "cfg", {"http": {"host": "127.0.0.1", "port": free_port()},
                                             "web": {"password_hash": FAST_HASHING}}, db_settings)
    port, address = free_port(), f"@openprepay-test-{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_SCHEMA")}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind("\0" + address[1:])
        systemd.setblocking(False)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "scada_core", "run", "-c", str(folder), "--host", "0.0.0.0", "--port", str(port),
            cwd=ROOT, env={**env, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": WATCHDOG_USEC},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        assert process.stdout is not None
        try:
            lines: list[str] = []
            while not any(" staff: " in line for line in lines):
                line = (await asyncio.wait_for(process.stdout.readline(), WAIT_TIMEOUT)).decode()
                assert line, "".join(lines)
                lines.append(line)
            assert await next_message(systemd) == "READY=1"
            assert await next_message(systemd) == "WATCHDOG=1"
            assert await next_message(systemd) == "WATCHDOG=1"
            for host in ["127.0.0.1", *lan_addresses()]:
                assert f"http://{host}:{port}/ " in lines[-1]
            assert re.search(r"first login admin / \S{16} \(a one-time password", lines[-1]), lines[-1]
            async with aiohttp.ClientSession() as client, client.get(f"http://127.0.0.1:{port}/login") as resp:
                assert resp.status == 200
        finally:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), WAIT_TIMEOUT) == 0
            await drop_schema(tmp_path, db_settings)
        while (message := await next_message(systemd)) == "WATCHDOG=1":
            pass
        assert message == "STOPPING=1"


def test_host_override_is_held_to_the_loopback_rule(tmp_path: Path) -> None:
    """Without a section that authenticates requests, --host 0.0.0.0 is refused as the same key in the file is."""
    folder = write_config(tmp_path / "cfg", {"http": {"port": free_port()}})
    assert load_config(folder, {"host": "127.0.0.2"}).http["host"] == "127.0.0.2"
    with pytest.raises(ConfigError, match=r"http -> host: '0.0.0.0'"):
        load_config(folder, {"host": "0.0.0.0"})
