"""Shared by the wiring import tests: the demo tower's simulators and its rows in the wiring workbook."""
from __future__ import annotations

import io
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_RTU_OVER_TCP, SimServer
from integrations.modbus.profile import get_profile
from integrations.modbus.wiring_sheet import GATEWAY_COLUMNS, METER_COLUMNS, SHEET_GATEWAYS, SHEET_METERS

from .conftest import TZ

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
NO_WIRING = {"modbus": None, "acrel_dtsy1352": None}
FLOOR_RE = re.compile(r"_f(\d+)_(\d+)$")


@pytest.fixture
async def tower() -> AsyncIterator[dict[str, SimServer]]:
    """The demo's 4 simulated serial servers (units 1-36 each, RTU over TCP) on free ports."""
    servers = yaml.safe_load((DEMO / "dtsy1352_simulator.yaml").read_text(encoding="utf-8"))["servers"]
    sims: dict[str, SimServer] = {}
    for server in servers:
        first, last = (int(n) for n in server["units"].split("-"))
        meters = {u: SimMeter(unit=u, remaining_fen=10000 + u, last_ts=time.time()) for u in range(first, last + 1)}
        sims[server["name"]] = SimServer(get_profile("dtsy1352"), meters, time.time, TZ, name=server["name"],
                                         mode=MODE_RTU_OVER_TCP, port=0)
        await sims[server["name"]].async_start()
    yield sims
    for sim in sims.values():
        await sim.async_stop()


def demo_rows(sims: dict[str, SimServer]) -> tuple[list[list[Any]], list[list[Any]]]:
    """Return the demo's gateways (on the simulators' ports) and meters as template rows."""
    gateways = [[g["name"], g["label"], g["type"], g["host"], sims[g["name"]].port, g["baudrate"]]
                for g in yaml.safe_load((DEMO / "modbus.yaml").read_text(encoding="utf-8"))]
    meters = []
    for group in yaml.safe_load((DEMO / "acrel_dtsy1352.yaml").read_text(encoding="utf-8")):
        for meter in group["meters"]:
            floor, room = FLOOR_RE.search(meter["name"]).groups()  # type: ignore[union-attr]
            meters.append([meter["name"], "dtsy1352", group["bus"], meter["address"], "b1", f"{floor}F", room,
                           f"商铺{room}", "零售", ""])  # a load category by its name
    return gateways, meters


def fill(template: bytes, gateways: list[list[Any]], meters: list[list[Any]]) -> bytes:
    """Return the downloaded template with its example rows replaced by these."""
    book = load_workbook(io.BytesIO(template))
    for sheet, rows in zip(book.worksheets, (gateways, meters), strict=True):
        sheet.delete_rows(2, sheet.max_row)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def workbook(gateways: list[list[Any]], meters: list[list[Any]]) -> bytes:
    """Return a workbook in the template's shape holding these rows."""
    book = Workbook()
    for index, (title, columns, rows) in enumerate(((SHEET_GATEWAYS, GATEWAY_COLUMNS, gateways),
                                                     (SHEET_METERS, METER_COLUMNS, meters))):
        sheet = book.active if index == 0 else book.create_sheet(title)
        sheet.title = title
        sheet.append([f"{zh} {key}" for key, zh in columns])
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


