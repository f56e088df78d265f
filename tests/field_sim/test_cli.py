"""`python -m scada_core simulate dtsy1352` serves meters, injects faults from flags and saves state on Ctrl-C."""
from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymodbus.exceptions import ModbusIOException

from integrations.acrel_dtsy1352.pdu import purchase_request
from integrations.modbus.profile import get_profile

pytestmark = pytest.mark.timeout(40)
PROJECT = Path(__file__).resolve().parents[2]


async def test_simulate_command(tmp_path: Path, make_client: Callable[..., Any]) -> None:
    """Start the CLI on a free port, read a meter, see a --silent unit time out, stop it, find the state file."""
    state = tmp_path / "cli.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scada_core", "simulate", "dtsy1352", "--tcp", "127.0.0.1:0", "--units", "1-4",
        "--rtu-over-tcp", "--baud", "9600", "--turnaround-ms", "5", "--silent", "3", "--state", str(state),
        cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        match = None
        for _ in range(10):
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()  # type: ignore[union-attr]
            if match := re.search(r"^serving 4 DTSY1352 units \(rtu_over_tcp\) on 127\.0\.0\.1:(\d+)", line):
                break
        assert match
        client = await make_client(int(match.group(1)), rtu=True, timeout=0.5)
        response = await client.read_holding_registers(0x0200, count=48, device_id=2)
        values = get_profile("dtsy1352").decode(0x0200, response.registers)
        assert values["meter_type_code"] == 5 and values["relay"] == "closed"
        with pytest.raises(ModbusIOException):
            await client.read_holding_registers(0x0200, count=48, device_id=3)
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 20)
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert sorted(saved["meters"]) == ["0/1", "0/2", "0/3", "0/4"]


async def test_a_kill_right_after_a_write_loses_nothing(
    tmp_path: Path, make_client: Callable[..., Any]
) -> None:
    """The meter's state is on disk before the simulator answers a sale or a trip: SIGKILL loses neither."""
    state = tmp_path / "kill.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scada_core", "simulate", "dtsy1352", "--tcp", "127.0.0.1:0", "--units", "1-2",
        "--state", str(state), cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        match = None
        for _ in range(10):
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()  # type: ignore[union-attr]
            if match := re.search(r"^serving 2 DTSY1352 units \(tcp\) on 127\.0\.0\.1:(\d+)", line):
                break
        assert match
        client = await make_client(int(match.group(1)))
        sold = await client.execute(False, purchase_request(1, 5000, 2))
        assert sold.ok and sold.purchase_count == 2
        assert not (await client.write_registers(0x0057, [1, 1], device_id=2)).isError()
    finally:
        proc.kill()
        await asyncio.wait_for(proc.wait(), 20)
    saved = json.loads(state.read_text(encoding="utf-8"))["meters"]
    assert saved["0/1"]["purchase_count"] == 2
    assert saved["0/2"]["forced"] == "trip"


@pytest.mark.parametrize("option", ["--units", "--silent"])
async def test_simulate_command_refuses_a_backwards_unit_range(option: str) -> None:
    """A unit range written backwards is a usage error naming it (it served no meters, or a traceback)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scada_core", "simulate", "dtsy1352", "--tcp", "127.0.0.1:0", option, "5-1",
        cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert f"argument {option}: bad unit list '5-1': range 5-1 runs backwards (write 1-5)" in err.decode()
    assert "Traceback" not in err.decode()
