"""The offline report (失联设备) on screen and in Excel: when a device was last seen, or that it never was."""
from __future__ import annotations

import io
import re
import time
from datetime import datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from integrations.acrel_dtsy1352.sim_meter import SimMeter
from integrations.acrel_dtsy1352.sim_server import MODE_TCP, SimServer
from integrations.modbus.profile import get_profile
from scada_core.storage.models import ReadingRow
from tests.helpers import free_port, wait_for

from .conftest import TZ, WebEnv

ANSWERS, NEVER, SEEN_BEFORE, DEAD_LINE = (f"acrel_dtsy1352.b1_f2_{n}" for n in ("m1", "m9", "m8", "m7"))
DEAD_GATEWAY = "modbus.gateway_gw2"


@pytest.mark.timeout(90)
async def test_offline_report_says_never_for_a_meter_that_never_answered(start_web: Any) -> None:
    """A unit the simulator does not serve and a gateway that never connects are 'never' seen, on the page and
    in the export; a meter seen before the start shows its last recorded reading, not the start-up time."""
    sim = SimServer(get_profile("dtsy1352"), {1: SimMeter(unit=1, remaining_fen=0, base_power_w=0.0, overdraft_fen=0,
                                                           last_ts=time.time())}, time.time, TZ, mode=MODE_TCP, port=0)
    await sim.async_start()
    try:
        line = {"timeout": 0.3, "retries": 0, "status_interval": 0.3, "offline_after": 2, "reconnect_max": 0.3}
        env: WebEnv = await start_web(extra={
            "modbus": [{"name": "gw1", "type": "tcp", "host": "127.0.0.1", "port": sim.port, **line},
                       {"name": "gw2", "type": "tcp", "host": "127.0.0.1", "port": free_port(), **line}],
            "acrel_dtsy1352": [
                {"bus": "gw1", "meters": [{"name": "b1_f2_m1", "address": 1}, {"name": "b1_f2_m9", "address": 9},
                                          {"name": "b1_f2_m8", "address": 8}]},
                {"bus": "gw2", "meters": [{"name": "b1_f2_m7", "address": 7}]},
            ],
        })
        seen_ts = env.core.clock.timestamp() - 3 * 3600
        async with env.site.db.session() as session:  # what the recorder kept of m8 before this start
            await session.execute(insert(ReadingRow), [{"entity_id": SEEN_BEFORE, "ts": seen_ts, "received_ts": seen_ts,
                                                        "total_wh": 1000}])
        states = env.core.states
        await wait_for(lambda: states.get(ANSWERS).attributes.get("online") is True
                       and all(states.get(e).state == "unavailable" for e in (NEVER, SEEN_BEFORE, DEAD_LINE)),
                       timeout=30, what="m1 online, the others offline")
        await env.operator("boss", "admin")
        client, csrf = await env.login("boss")
        async with client.get(env.base + "/reports?kind=offline") as resp:
            page = await resp.text()
        rows = {cells[0]: cells[1:] for cells in (re.findall(r"<td[^>]*>([^<]*)</td>", row)
                                                  for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)) if cells}
        assert ANSWERS not in rows
        seen = datetime.fromtimestamp(seen_ts, TZ).strftime("%Y-%m-%d %H:%M:%S")
        assert {e: rows[e][-1] for e in (NEVER, SEEN_BEFORE, DEAD_LINE, DEAD_GATEWAY)} == {
            NEVER: "从未", SEEN_BEFORE: seen, DEAD_LINE: "从未", DEAD_GATEWAY: "从未"}, rows
        assert (rows[NEVER][0], rows[DEAD_GATEWAY][0]) == ("电表", "通讯管理机"), "the kind in the page's language"
        async with client.get(env.base + "/reports?kind=offline&format=xlsx") as resp:
            assert resp.status == 200
            sheet = list(load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
        exported = {row[0]: row[-1] for row in sheet[1:]}
        assert {e: exported[e] for e in (NEVER, SEEN_BEFORE, DEAD_LINE, DEAD_GATEWAY)} == {
            NEVER: "从未", SEEN_BEFORE: seen, DEAD_LINE: "从未", DEAD_GATEWAY: "从未"}, exported
        async with client.post(env.base + "/language", data={"csrf": csrf, "language": "en"}) as resp:
            assert resp.status == 200
        async with client.get(env.base + "/reports?kind=offline") as resp:
            english = await resp.text()
            assert ">never<" in english and ">meter<" in english and ">gateway<" in english
    finally:
        await sim.async_stop()
