"""Serial RTU over a pty pair, YAML mistakes with file:line, meter-stamped readings, profile meters."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from integrations.acrel_dtsy1352.sim_pty import PtyCable
from integrations.acrel_dtsy1352.sim_server import MODE_SERIAL, MODE_TCP, LineTiming
from integrations.acrel_dtsy1352.simulator import Simulator
from integrations.modbus.errors import MeterCommandError
from integrations.modbus.profile import get_profile
from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from scada_core.storage.models import ReadingRow
from tests.helpers import wait_for

from .conftest import attr, gateway, make_sim, meters

pytestmark = pytest.mark.timeout(60)

DOMAIN = "acrel_dtsy1352"


async def test_serial_rtu_over_a_pty(sims, start_core) -> None:
    """The driver opens a real tty at 9600 8N1 and reads and sells through it, frames timed like the wire."""
    cable = PtyCable()
    cable.start()
    try:
        sim = make_sim(
            2, mode=MODE_SERIAL, serial_path=cable.server_path, timing=LineTiming(9600, "N", 1, 0.005)
        )
        await sim.async_start()
        sims.append(sim)
        serial = {
            "name": "usb0",
            "type": "serial",
            "port": cable.client_path,
            "baudrate": 9600,
            "timeout": 0.5,
            "retries": 1,
            "status_interval": 0.5,
        }
        core = await start_core({"modbus": [serial], DOMAIN: [meters("usb0", 2)]})
        meter = f"{DOMAIN}.m2"
        await wait_for(lambda: attr(core, meter, "online") is True, what="meter online over the pty")
        assert attr(core, meter, "purchase_count") == 1
        response = await core.services.async_call(
            DOMAIN, "sell", {"entity_id": meter, "amount_fen": 1234, "purchase_count": 2}
        )
        assert response["results"][meter]["purchase_count"] == 2 == sim.meter(2).purchase_count
        assert attr(core, "modbus.bus_usb0", "message_wait_ms") == pytest.approx(3.646, abs=0.01)
    finally:
        cable.close()


async def test_energy_reading_stamped_with_the_meter_clock(sims, start_core) -> None:
    """An energy read fires meter_reading with the meter's own time; the recorder stores it."""
    sim = make_sim(1)
    await sim.async_start()
    sims.append(sim)
    core = await start_core(
        {"modbus": [gateway("ss1", sim.port, energy_interval=0.3)], DOMAIN: [meters("ss1", 1)]}
    )
    await wait_for(lambda: attr(core, f"{DOMAIN}.m1", "online") is True, what="online")
    await wait_for(lambda: core.recorder.queue_length == 0 and core.recorder.rows_written > 0, what="flush")
    await core.recorder.async_flush()
    async with core.db.session() as session:
        rows = (await session.scalars(select(ReadingRow).where(ReadingRow.entity_id == f"{DOMAIN}.m1"))).all()
    assert rows, "no reading stored"
    row = rows[-1]
    assert abs(row.ts - time.time()) < 5 and row.ts == int(row.ts)  # the meter clock has whole seconds
    assert row.money_fen is not None and row.purchase_count == 1 and row.total_wh is not None


@pytest.mark.parametrize(
    ("gateways", "meter_lines", "expected"),
    [
        ("  baudrate: 9601\n", "", ["modbus.yaml:5:", "baudrate"]),
        ("- name: ss2\n  type: serial\n", "", ["modbus.yaml:5:", "modbus -> 1 -> port", "serial device"]),
        ("", "    - {name: c, address: 300}\n", ["meters.yaml:5:", "address", "at most 247"]),
        ("", "    - {name: c, address: 2}\n", ["meters.yaml:5:", "address 2 is used twice"]),
        ("", "    - {name: a, address: 9}\n", ["meters.yaml:5:", "meter name 'a' is used twice"]),
        ("", "    - {name: d, address: 9, cipher: acrel_tea, key: short}\n", ["meters.yaml:5:", "key"]),
    ],
)
def test_yaml_mistakes_name_file_and_line(
    tmp_path, gateways: str, meter_lines: str, expected: list[str]
) -> None:
    """A bad bus or meter definition in an included file is reported as file:line with the key."""
    (tmp_path / "configuration.yaml").write_text(
        "modbus: !include modbus.yaml\nacrel_dtsy1352: !include meters.yaml\n", encoding="utf-8"
    )
    (tmp_path / "modbus.yaml").write_text(
        "- name: ss1\n  type: rtu_over_tcp\n  host: 127.0.0.1\n  port: 5021\n" + gateways, encoding="utf-8"
    )
    (tmp_path / "meters.yaml").write_text(
        "- bus: ss1\n  meters:\n    - {name: a, address: 1}\n    - {name: b, address: 2}\n" + meter_lines,
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    for part in expected:
        assert part in str(err.value)


async def test_plain_meter_from_a_profile_alone(start_core) -> None:
    """An ADL400 defined only by its profile shows total kWh as state; trip and close confirm the relay."""
    sim = Simulator(profile=get_profile("adl400"), meter_defaults={"prepaid_on": False})
    server = await sim.async_add_server([7], mode=MODE_TCP)
    server.meter(7).energy_wh.update(flat=1_000_000.0)  # 1000.00 kWh
    try:
        core = await start_core(
            {
                "modbus": [gateway("annex", server.port, type="tcp")],
                "modbus_meter": [
                    {"bus": "annex", "profile": "adl400", "meters": [{"name": "pump", "address": 7}]}
                ],
            }
        )
        pump = "modbus_meter.pump"
        await wait_for(lambda: attr(core, pump, "online") is True, what="plain meter online")
        state = core.states.get(pump)
        assert float(state.state) == pytest.approx(1000.0, abs=0.1)
        assert 218.0 <= state.attributes["voltage_a"] <= 232.0
        assert state.attributes["billing"] == "server" and state.attributes["meter_type"] == "adl400"
        result = await core.services.async_call("modbus_meter", "trip", {"entity_id": pump})
        assert result["results"][pump]["relay"] == "open" and server.meter(7).forced == "trip"
        assert attr(core, pump, "relay_control") == 1
        result = await core.services.async_call("modbus_meter", "close", {"entity_id": pump})
        assert result["results"][pump]["relay"] == "closed" and server.meter(7).forced is None
    finally:
        await sim.async_stop()


async def test_profile_meter_close_confirms_the_relay(sims, start_core) -> None:
    """A profile meter whose relay stays open after close (a DTSY1352 in arrears) reports it."""
    sim = make_sim(1)
    sim.set_money(1, -500)
    await sim.async_start()
    sims.append(sim)
    core = await start_core(
        {
            "modbus": [gateway("ss1", sim.port)],
            "modbus_meter": [{"bus": "ss1", "profile": "dtsy1352", "meters": [{"name": "p1", "address": 1}]}],
        }
    )
    await wait_for(lambda: attr(core, "modbus_meter.p1", "online") is True, what="online")
    with pytest.raises(MeterCommandError, match="after close the meter reports the relay open"):
        await core.services.async_call("modbus_meter", "close", {"entity_id": "modbus_meter.p1"})

