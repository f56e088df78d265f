"""The AT dialogue against the modem simulator on a real pty: init, health, errors, reports, silence, the CLI."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol

from integrations.sms_modem import CONFIG_SCHEMA, async_setup
from integrations.sms_modem.at import AtChannel
from integrations.sms_modem.errors import CmsError, ModemError, ModemNotReady, ModemTimeout, SendUnconfirmed
from integrations.sms_modem.modem import SmsModem, parse_registration
from integrations.sms_modem.pdu import encode_submit
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.core import Core

from .conftest import MODEM_TEST_SETTINGS

pytestmark = pytest.mark.timeout(30)


async def _modem(core: Core, simulator: ModemSimulator, **settings: Any) -> SmsModem:
    config = CONFIG_SCHEMA({"sms_modem": {"port": simulator.port, **MODEM_TEST_SETTINGS, **settings}})["sms_modem"]
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


async def _wait_modem(modem: SmsModem, predicate: Callable[[SmsModem], bool], timeout: float = 10) -> None:
    """Wait (on the modem's change notifications) until ``predicate`` holds."""
    changed = asyncio.Event()
    remove = modem.add_listener(changed.set)
    try:
        async with asyncio.timeout(timeout):
            while not predicate(modem):
                changed.clear()
                await changed.wait()
    finally:
        remove()


async def test_send_queued_behind_a_failing_health_check_leaves_no_prompt_hanging(
    core: Core, simulator: ModemSimulator
) -> None:
    """A send waiting for the line while a health check times out must not write AT+CMGS into the closing port.

    Otherwise the modem sits at '> ' reading every later command as PDU text and never answers again.
    """
    modem = await _modem(core, simulator)
    checks = simulator.commands.count("AT+CSQ") + 1
    simulator.ignore_next("AT+CSQ")
    await simulator.wait_command("AT+CSQ", checks)
    with pytest.raises(ModemError):
        await modem.async_send_pdu(modem.encode("10086", "排在健康检查之后", 1)[0])
    assert await modem.async_wait_ready(10), "the modem stayed locked at the '> ' prompt"
    assert await modem.async_send_pdu(modem.encode("10086", "再发一次", 2)[0]) == 1
    assert [r["text"] for r in simulator.received()] == ["再发一次"]


async def test_modem_left_at_the_prompt_is_recovered_with_esc(core: Core, simulator: ModemSimulator) -> None:
    """A process killed between AT+CMGS and its PDU leaves the modem at '> ': initialisation starts with ESC."""
    fd = os.open(simulator.tty_name, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"AT+CMGS=20\r")
        await simulator.wait_command("AT+CMGS=20")
    finally:
        os.close(fd)
    modem = await _modem(core, simulator)
    assert await modem.async_send_pdu(modem.encode("10086", "恢复", 1)[0]) == 1
    assert [r["text"] for r in simulator.received()] == ["恢复"]


async def test_closing_at_the_prompt_sends_esc(simulator: ModemSimulator) -> None:
    """A line closed while the modem waits for the PDU first sends ESC, so the next user finds a working modem."""
    simulator.prompt_delay = 1.0  # the close comes while the prompt is still awaited
    channel = AtChannel(simulator.port, 115200, lambda line, pdu: None)
    await channel.async_open()
    [pdu] = encode_submit("10086", "不该发出")
    send = asyncio.ensure_future(channel.send_pdu(pdu, 5, prompt_timeout=10))
    await simulator.wait_command("AT+CMGS=")
    await channel.async_close()
    with pytest.raises(ModemNotReady):
        await send
    await simulator.wait(lambda sim: [r["result"] for r in sim.records] == ["aborted"])
    await channel.async_open()
    try:
        assert await channel.command("AT+CSQ", 2) == ["+CSQ: 23,99"]
    finally:
        await channel.async_close()
    assert simulator.received() == []


@pytest.mark.parametrize("fault", ["no +CMGS", "no prompt"])
async def test_send_timeout_reopens_after_the_reconnect_delay(
    core: Core, simulator: ModemSimulator, fault: str
) -> None:
    """After a send times out the port reopens after the reconnect delay, not at the next health check (an hour)."""
    modem = await _modem(core, simulator, health_interval=3600, network_timeout=0.5)
    [pdu] = modem.encode("10086", "超时", 1)
    if fault == "no +CMGS":
        simulator.cmgs_delay = 3600
    else:
        simulator.ignore_next(f"AT+CMGS={pdu.tpdu_length}")
    opened = simulator.commands.count("AT+CMEE=1")
    with pytest.raises((ModemTimeout, SendUnconfirmed)):
        await modem.async_send_pdu(pdu)
    assert not modem.ready
    await simulator.wait_command("AT+CMEE=1", opened + 1)
    assert await modem.async_wait_ready(10)


async def test_registration_read_and_announced(core: Core, simulator: ModemSimulator) -> None:
    """+CREG answers (health check) and +CREG URCs: home and roaming can send; searching, denied, none cannot."""
    modem = await _modem(core, simulator)
    channel_reply = await modem.channel.command("AT+CREG?", 2)
    assert channel_reply == ["+CREG: 1,1"]  # the real form, with '+' and <n>=1 set at initialisation
    cases = [(5, "roaming", "online"), (3, "denied", "not_registered"), (0, "not_registered", "not_registered"),
             (2, "searching", "not_registered"), (1, "home", "online")]
    for announce in (True, False):  # by URC at once, or by the next AT+CREG? health check
        for stat, name, state in cases:
            simulator.set_registration(stat, announce=announce)
            await _wait_modem(modem, lambda m, name=name: m.attributes()["registration"] == name)
            assert core.states.get("sms_modem.modem").state == state
            assert modem.registered is (state == "online")


def test_registration_parsing_ignores_location_fields() -> None:
    """<stat> is found by position: 2nd in a read reply, 1st in a URC, whatever location fields follow."""
    assert parse_registration('+CREG: 2,5,"1234","5678"', solicited=True) == 5
    assert parse_registration('+CREG: 5,"1234","5678"', solicited=False) == 5
    assert parse_registration("+CEREG: 1,1,\"1A2B\",\"01C3D4E5\",7", solicited=True) == 1
    assert parse_registration("+CREG: 3", solicited=False) == 3
    assert parse_registration("+CREG: 0", solicited=True) is None


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"send_timeout": 35}, "replaced by network_timeout"), ({"network_timeout": -1}, "value must be at least"),
     ({"network_timeout": "两分钟"}, "expected float")],
)
def test_network_timeout_config_errors_are_clear(setting: dict[str, Any], message: str) -> None:
    with pytest.raises(vol.Invalid, match=message):
        CONFIG_SCHEMA({"sms_modem": {"port": "/dev/ttyUSB2", **setting}})


async def test_stop_ends_the_supervisor_even_when_a_cancel_is_lost(
    core: Core, simulator: ModemSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.11's wait_for returns an answer that arrives with the cancel and drops the cancel; the stop that
    sent it must not then wait out the health interval (it took the whole 20 s stop timeout)."""
    modem = await _modem(core, simulator, health_interval=3600)
    check_health = modem._check_health
    entered = asyncio.Event()

    async def swallowing_check() -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()  # as the lost cancel leaves it: the check returns normally
        await check_health()

    monkeypatch.setattr(modem, "_check_health", swallowing_check)
    modem.check_soon()
    await entered.wait()
    stopping = asyncio.create_task(modem.async_stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    stopping.cancel()  # (ends it when it hangs, which fails the test below)
    await asyncio.wait({stopping})
    assert stopping in done, "the stop waited for a supervisor that had lost its cancel"
