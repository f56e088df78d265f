"""The AT dialogue against the modem simulator on a real pty: init, health, errors, reports, silence, the CLI."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.sms_modem import CONFIG_SCHEMA, async_setup
from integrations.sms_modem.at import AtChannel
from integrations.sms_modem.errors import CmsError
from integrations.sms_modem.modem import SmsModem
from integrations.sms_modem.pdu import encode_submit
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.core import Core

from .conftest import MODEM_TEST_SETTINGS

pytestmark = pytest.mark.timeout(30)


async def _modem(core: Core, simulator: ModemSimulator) -> SmsModem:
    config = CONFIG_SCHEMA({"sms_modem": {"port": simulator.port, **MODEM_TEST_SETTINGS}})["sms_modem"]
    assert await async_setup(core, config)
    modem: SmsModem = core.data["sms_modem"]
    core.async_on_stop(simulator.async_stop)
    assert await modem.async_wait_ready(5)
    return modem


async def test_initialises_and_shows_health(core: Core, simulator: ModemSimulator) -> None:
    await _modem(core, simulator)
    for command in ("AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0", "AT+CSQ", "AT+CREG?"):
        assert command in simulator.commands
    assert simulator.commands.index("ATE0") < simulator.commands.index("AT+CMGF=0")
    state = core.states.get("sms_modem.modem")
    assert state is not None and state.state == "online"
    assert state.attributes["rssi"] == 23
    assert state.attributes["signal_dbm"] == -67
    assert state.attributes["registration"] == "home"
    assert state.attributes["sim"] == "READY"
    assert state.attributes["smsc"] == "+8613800100500"  # read with AT+CSCA? since the config names none


async def test_cms_error_has_a_clear_cause(core: Core, simulator: ModemSimulator) -> None:
    modem = await _modem(core, simulator)
    simulator.fail_next(330)
    with pytest.raises(CmsError) as err:
        await modem.async_send_pdu(modem.encode("+8613800138000", "测试", 1)[0])
    assert err.value.code == 330
    assert not err.value.retryable
    assert "短信中心号码未知" in err.value.cause()
    assert "SMSC address unknown" in err.value.cause("en")


async def test_delivery_report_is_routed_apart_from_replies(core: Core, simulator: ModemSimulator) -> None:
    modem = await _modem(core, simulator)
    reports: list[dict] = []
    core.bus.async_listen("sms_delivery_report", lambda event: reports.append(dict(event.data)))
    simulator.auto_reports = False
    mr = await modem.async_send_pdu(modem.encode("+8613800138000", "hello", 1)[0])
    await simulator.send_status_report(mr, status=0)
    await simulator.send_status_report(mr + 100, status=0x45)
    # A command right after the URCs must still get its own reply.
    mr2 = await modem.async_send_pdu(modem.encode("+8613800138000", "again", 2)[0])
    assert mr2 == mr + 1
    for _ in range(50):
        if len(reports) == 2:
            break
        await asyncio.sleep(0.02)
    assert reports[0] == {"mr": mr, "recipient": "+8613800138000", "status": 0, "outcome": "delivered"}
    assert reports[1]["outcome"] == "failed"


async def test_silent_modem_goes_offline_and_comes_back(core: Core, simulator: ModemSimulator) -> None:
    modem = await _modem(core, simulator)
    simulator.set_silent(True)
    for _ in range(100):
        if core.states.get("sms_modem.modem").state == "offline":
            break
        await asyncio.sleep(0.05)
    assert core.states.get("sms_modem.modem").state == "offline"
    assert "no answer" in core.states.get("sms_modem.modem").attributes["last_error"]
    simulator.set_silent(False)
    assert await modem.async_wait_ready(10)
    assert core.states.get("sms_modem.modem").state == "online"


async def test_simulate_command_line(tmp_path: Path) -> None:
    """`python -m scada_core simulate sms_modem --link PATH` answers on the link and records to JSONL."""
    link, record = tmp_path / "ttyModem", tmp_path / "rec.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "scada_core", "simulate", "sms_modem", "--link", str(link), "--record", str(record),
         "--fail", "332x1"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        while "SMS modem simulator on" not in await asyncio.to_thread(process.stdout.readline):
            assert process.poll() is None
        channel = AtChannel(str(link), 115200, lambda line, pdu: None)
        await channel.async_open()
        try:
            assert await channel.command("AT+CSQ", 2) == ["+CSQ: 23,99"]
            [pdu] = encode_submit("+8613800138000", "你好，世界")
            with pytest.raises(CmsError):
                await channel.send_pdu(pdu, 2)
            assert await channel.send_pdu(pdu, 2) == 1
        finally:
            await channel.async_close()
    finally:
        process.terminate()
        process.wait(10)
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert [line["result"] for line in lines] == ["+CMS ERROR: 332", "ok"]
    assert lines[1]["text"] == "你好，世界"
    assert not link.exists()


async def test_modem_unplugged_and_back(core: Core, simulator: ModemSimulator, tmp_path: Path) -> None:
    """The port vanishes (USB modem reset) and comes back on the same path: the modem reconnects by itself."""
    modem = await _modem(core, simulator)
    await simulator.async_stop()
    async with asyncio.timeout(10):
        while core.states.get("sms_modem.modem").state != "offline":
            await asyncio.sleep(0.05)
    replacement = ModemSimulator(simulator.link)
    await replacement.async_start()
    core.async_on_stop(replacement.async_stop)
    assert await modem.async_wait_ready(15)
    assert await modem.async_send_pdu(modem.encode("10086", "back", 1)[0]) == 1
    assert replacement.received()[0]["text"] == "back"
