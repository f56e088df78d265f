"""notify.sms end to end: the service stores, the outbox sends through the simulated modem on a real pty."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from integrations.notify.const import STATUS_FAILED, STATUS_PENDING, STATUS_SENT, STATUS_UNCONFIRMED
from integrations.notify.models import OutboxRow
from integrations.sms_modem.simulator import ModemSimulator
from scada_core.core import Core
from scada_core.exceptions import ServiceValidationError

from .conftest import sms_sections

pytestmark = pytest.mark.timeout(40)

StartCore = Callable[..., Awaitable[Core]]


async def _rows(core: Core) -> list[OutboxRow]:
    return await core.data["notify"].outbox.async_list("sms")


async def _wait_rows(core: Core, predicate: Callable[[list[OutboxRow]], bool], timeout: float = 10) -> list[OutboxRow]:
    async with asyncio.timeout(timeout):
        while not predicate(rows := await _rows(core)):
            await asyncio.sleep(0.05)
    return rows


async def _rows_after_stop(core: Core) -> list[OutboxRow]:
    """Read the outbox of a stopped core, then close the connection the read opened (nothing else would)."""
    outbox = core.data["notify"].outbox
    try:
        return await outbox.async_list("sms")
    finally:
        await outbox.db.async_close()


def _all_sent(rows: list[OutboxRow]) -> bool:
    return bool(rows) and all(r.status == STATUS_SENT for r in rows)


async def test_ascii_goes_seven_bit(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    result = await core.services.async_call(
        "notify", "sms", {"target": ["+8613800138000", "13900139000"], "message": "Meter {{ m }}: {{ v | yuan }} CNY",
                          "data": {"m": "B1-0301", "v": 1234}}
    )
    assert len(result["ids"]) == 2
    await _wait_rows(core, _all_sent)
    received = simulator.received()
    assert sorted(r["number"] for r in received) == ["+8613800138000", "13900139000"]
    assert all(r["dcs"] == 0x00 and r["text"] == "Meter B1-0301: 12.34 CNY" for r in received)


async def test_long_chinese_goes_in_three_linked_parts(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    text = ("尊敬的用户您好，您的电表余额不足，请及时充值以免断电。" * 6)[:150]
    await core.services.async_call("notify", "sms", {"target": "+8613800138000", "message": text})
    [row] = await _wait_rows(core, _all_sent)
    parts = simulator.received()
    assert len(parts) == 3
    assert {p["concat"]["reference"] for p in parts} == {row.concat_ref}
    assert [p["concat"]["seq"] for p in parts] == [1, 2, 3]
    assert "".join(p["text"] for p in parts) == text
    assert row.parts_sent == row.parts_total == 3
    assert row.refs == ",".join(str(p["mr"]) for p in parts)


async def test_fails_twice_then_sent_exactly_once(
    simulator: ModemSimulator, start_core: StartCore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    core = await start_core(sms_sections(simulator))
    simulator.fail_next(42, times=2)
    await core.services.async_call("notify", "sms", {"target": "+8613800138000", "message": "余额不足"})
    [row] = await _wait_rows(core, _all_sent)
    assert [r["result"] for r in simulator.records] == ["+CMS ERROR: 42", "+CMS ERROR: 42", "ok"]
    assert len(simulator.received()) == 1
    assert row.attempts == 2
    assert "network congestion" in row.last_error
    assert caplog.text.count("网络拥塞") == 2


async def test_permanent_error_is_not_retried(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    simulator.fail_next(50, times=3)
    await core.services.async_call("notify", "sms", {"target": "+8613800138000", "message": "测试"})
    [row] = await _wait_rows(core, lambda rows: rows[0].status != STATUS_PENDING)
    assert row.status == STATUS_FAILED
    assert "未开通短信业务" in row.last_error
    assert len(simulator.records) == 1


async def test_registration_drop_holds_the_queue(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    modem = core.data["sms_modem"]
    assert await modem.async_wait_ready(5)
    simulator.set_registered(False)
    async with asyncio.timeout(5):
        while core.states.get("sms_modem.modem").state != "not_registered":
            await asyncio.sleep(0.02)
    await core.services.async_call("notify", "sms", {"target": ["10086", "10010"], "message": "排队中"})
    await asyncio.sleep(0.4)
    assert simulator.received() == []
    assert core.states.get("sms_modem.modem").attributes["queue_length"] == 2
    simulator.set_registered(True)
    rows = await _wait_rows(core, _all_sent)
    assert len(simulator.received()) == 2 and all(r.attempts == 0 for r in rows)
    async with asyncio.timeout(5):
        while core.states.get("sms_modem.modem").attributes["queue_length"] != 0:
            await asyncio.sleep(0.02)


async def test_stale_message_expires_instead_of_going_out_late(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    assert await core.data["sms_modem"].async_wait_ready(5)
    simulator.set_registered(False)
    async with asyncio.timeout(5):
        while core.states.get("sms_modem.modem").state != "not_registered":
            await asyncio.sleep(0.02)
    await core.services.async_call("notify", "sms", {"target": "10086", "message": "昨天的预警"})
    core.clock.set_now(core.clock.utcnow() + timedelta(days=2))
    simulator.set_registered(True)
    [row] = await _wait_rows(core, lambda rows: rows[0].status != STATUS_PENDING)
    assert row.status == STATUS_FAILED and row.last_error.startswith("expired")
    assert simulator.received() == []


async def test_silent_modem_loses_nothing(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    assert await core.data["sms_modem"].async_wait_ready(5)
    simulator.set_silent(True)
    await core.services.async_call("notify", "sms", {"target": ["10086", "10010", "10000"], "message": "静默"})
    async with asyncio.timeout(5):
        while core.states.get("sms_modem.modem").state != "offline":
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert simulator.received() == []
    simulator.set_silent(False)
    await _wait_rows(core, _all_sent)
    assert sorted(r["number"] for r in simulator.received()) == ["10000", "10010", "10086"]


async def test_rate_limit_spaces_messages(simulator: ModemSimulator, start_core: StartCore) -> None:
    sections = sms_sections(simulator)
    sections["notify"]["sms"]["rate_per_minute"] = 200  # at least 0.3 s between two messages
    core = await start_core(sections)
    await core.services.async_call("notify", "sms", {"target": ["10086", "10010", "10000"], "message": "限速"})
    await _wait_rows(core, _all_sent)
    stamps = [r["ts"] for r in simulator.received()]
    assert len(stamps) == 3
    assert all(later - earlier >= 0.25 for earlier, later in zip(stamps, stamps[1:]))


async def test_stop_lets_the_message_in_flight_finish(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    simulator.cmgs_delay = 0.4
    await core.services.async_call("notify", "sms", {"target": "10086", "message": "停机前最后一条"})
    async with asyncio.timeout(5):
        while not any(c.startswith("AT+CMGS=") for c in simulator.commands):
            await asyncio.sleep(0.01)
    await core.async_stop()
    [row] = await _rows_after_stop(core)
    assert row.status == STATUS_SENT and row.refs == str(simulator.received()[0]["mr"])


async def test_stop_while_the_network_is_silent_records_the_part_unconfirmed(
    simulator: ModemSimulator, start_core: StartCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping while a written PDU waits for its +CMGS: past the grace the part is recorded unconfirmed (so the next
    start does not send it again) before the database closes."""
    monkeypatch.setattr("integrations.notify.worker.STOP_GRACE", 0.2)
    core = await start_core(sms_sections(simulator))
    simulator.cmgs_delay = 3600
    await core.services.async_call("notify", "sms", {"target": "10086", "message": "停机时还在等网络"})
    await simulator.wait_command("AT+CMGS=")
    await core.async_stop()
    [row] = await _rows_after_stop(core)
    assert (row.status, row.parts_sent, row.refs) == (STATUS_UNCONFIRMED, 1, "?")


async def test_late_cmgs_is_waited_for_not_resent(simulator: ModemSimulator, start_core: StartCore) -> None:
    """The network answers +CMGS after 1.5 s (the modem used to give up after 1 s here and send again): one SMS."""
    simulator.cmgs_delay = 1.5
    core = await start_core(sms_sections(simulator))
    await core.services.async_call("notify", "sms", {"target": "10086", "message": "只发一次"})
    [row] = await _wait_rows(core, _all_sent, timeout=20)
    [record] = simulator.records
    assert record["result"] == "ok" and record["text"] == "只发一次"
    assert row.refs == str(record["mr"]) and row.attempts == 0


async def test_unanswered_part_is_unconfirmed_never_resent(simulator: ModemSimulator, start_core: StartCore) -> None:
    """No +CMGS within network_timeout: the part may have gone, so the message ends 'unconfirmed' and is not resent;
    the rest of a long message still goes, and the next message too."""
    sections = sms_sections(simulator)
    sections["sms_modem"]["network_timeout"] = 0.5
    core = await start_core(sections)
    assert await core.data["sms_modem"].async_wait_ready(5)
    simulator.cmgs_delay = 3600  # the network never answers the first part
    text = "".join(chr(0x4E00 + i) for i in range(100))  # two linked parts
    await core.services.async_call("notify", "sms", {"target": "10086", "message": text})
    async with asyncio.timeout(10):  # the modem gives the first part up and is reset
        while core.states.get("sms_modem.modem").state != "offline":
            await asyncio.sleep(0.02)
    simulator.cmgs_delay = 0
    [row] = await _wait_rows(core, lambda rows: rows[0].status != STATUS_PENDING, timeout=20)
    assert row.status == STATUS_UNCONFIRMED
    assert row.refs == f"?,{simulator.received()[0]['mr']}" and row.parts_sent == row.parts_total == 2
    assert "no +CMGS within 0.5 s" in row.last_error
    assert [r["concat"]["seq"] for r in simulator.received()] == [2]
    await core.services.async_call("notify", "sms", {"target": "10010", "message": "下一条"})
    await _wait_rows(core, lambda rows: len(rows) == 2 and rows[1].status == STATUS_SENT)
    assert sum(c.startswith("AT+CMGS=") for c in simulator.commands) == 3
    base = f"http://127.0.0.1:{core.http.port}/api/notify/outbox"
    async with aiohttp.ClientSession() as http, http.get(base, params={"status": "unconfirmed"}) as response:
        assert [r["target"] for r in await response.json()] == ["10086"]


async def test_account_target_with_template(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    contacts = {7: {"phone": "+8613911112222", "name": "王小明", "email": None}}
    core.data["notify_contacts"] = contacts.get
    await core.services.async_call(
        "notify", "sms",
        {"target": {"account_id": 7}, "template": "low_balance_1",
         "data": {"meter": "B1-F3-0301", "balance_fen": 1850, "alarm1_fen": 2000}},
    )
    [row] = await _wait_rows(core, _all_sent)
    assert row.account_id == "7"
    [pdu] = simulator.received()
    assert pdu["number"] == "+8613911112222"
    assert pdu["text"] == "【测试大厦】尊敬的王小明：您的电表B1-F3-0301剩余金额18.50元，已低于一级预警值20.00元，请及时充值。"
    await core.services.async_call("notify", "sms", {"target": {"account_id": "7"}, "message": "第二条"})
    await _wait_rows(core, lambda rows: len(rows) == 2 and _all_sent(rows))
    assert simulator.received()[1]["number"] == "+8613911112222"
    contacts[9] = {"phone": None, "name": "无号码", "email": None}
    with pytest.raises(ServiceValidationError, match="account 9 has no phone"):
        await core.services.async_call("notify", "sms", {"target": {"account_id": 9}, "message": "x"})
    with pytest.raises(ServiceValidationError, match="account 8"):
        await core.services.async_call("notify", "sms", {"target": {"account_id": 8}, "message": "x"})


async def test_english_template_and_missing_variable(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    data: dict[str, Any] = {"site": "Demo Tower", "tenant": "Ms Li", "meter": "B2-0101", "balance_fen": 0}
    await core.services.async_call("notify", "sms", {"target": "10086", "template": "arrears", "language": "en", "data": data})
    await _wait_rows(core, _all_sent)
    [pdu] = simulator.received()
    assert pdu["dcs"] == 0x00
    assert pdu["text"].startswith("[Demo Tower] Dear Ms Li: meter B2-0101 is in arrears (balance 0.00 yuan)")
    with pytest.raises(ServiceValidationError, match="alarm1_fen"):
        await core.services.async_call("notify", "sms", {"target": "10086", "template": "low_balance_1", "data": data})


async def test_delivery_report_is_stored_and_listed(simulator: ModemSimulator, start_core: StartCore) -> None:
    core = await start_core(sms_sections(simulator))
    await core.services.async_call("notify", "sms", {"target": "+8613800138000", "message": "回执"})
    await _wait_rows(core, lambda rows: rows[0].delivery == "delivered")
    base = f"http://127.0.0.1:{core.http.port}/api/notify/outbox"
    async with aiohttp.ClientSession() as http:
        async with http.get(base, params={"channel": "sms", "status": "sent"}) as response:
            assert response.status == 200
            [row] = await response.json()
        async with http.get(base, params={"status": "failed"}) as response:
            assert await response.json() == []
        async with http.get(base, params={"limit": "0"}) as response:
            assert response.status == 400
        for bad in ({"status": "已发送"}, {"status": "SENT"}, {"channel": "fax"}):
            async with http.get(base, params=bad) as response:
                assert response.status == 400
                assert "must be one of" in (await response.json())["error"]
    assert row["target"] == "+8613800138000" and row["body"] == "回执" and row["delivery"] == "delivered"


async def test_old_sent_and_failed_messages_are_purged_pending_ones_kept(
    simulator: ModemSimulator, start_core: StartCore
) -> None:
    """Past keep_days, sent and failed messages go; a message still waiting for the network stays."""
    core = await start_core(sms_sections(simulator, keep_days=30))
    outbox = core.data["notify"].outbox
    await core.services.async_call("notify", "sms", {"target": "10086", "message": "已发送"})
    simulator.fail_next(50, times=1)
    await core.services.async_call("notify", "sms", {"target": "10010", "message": "号码停机"})
    await _wait_rows(core, lambda rows: len(rows) == 2 and all(r.status != STATUS_PENDING for r in rows))
    simulator.set_registered(False)
    async with asyncio.timeout(5):
        while core.states.get("sms_modem.modem").state != "not_registered":
            await asyncio.sleep(0.02)
    await core.services.async_call("notify", "sms", {"target": "10000", "message": "排队中"})

    assert await outbox.async_purge(30) == 0, "nothing is 30 days old yet"
    core.clock.set_now(core.clock.utcnow() + timedelta(days=31))
    assert await outbox.async_purge(30) == 2
    [left] = await _rows(core)
    assert (left.target, left.status) == ("10000", STATUS_PENDING)


async def test_an_account_that_declined_texts_gets_none(simulator: ModemSimulator, start_core: StartCore) -> None:
    """The consent hook (the tenant pages' 短信提醒 switch) stops messages to the account, not to numbers given
    directly (a login code, staff alerts); a tenant who says yes again gets them again."""
    core = await start_core(sms_sections(simulator))
    core.data["notify_contacts"] = {7: {"phone": "+8613911112222", "name": "王小明", "email": None}}.get
    declined = {"7"}
    core.data["notify_consent"] = lambda account_id, channel: not (str(account_id) in declined and channel == "sms")
    skipped = await core.services.async_call("notify", "sms", {"target": {"account_id": 7}, "message": "低额提醒"})
    assert skipped["ids"] == []
    await core.services.async_call("notify", "sms", {"target": ["+8613911112222"], "message": "验证码 123456"})
    declined.clear()
    await core.services.async_call("notify", "sms", {"target": {"account_id": 7}, "message": "低额提醒二"})
    rows = await _wait_rows(core, lambda rows: len(rows) == 2 and _all_sent(rows))
    assert sorted(r.body for r in rows) == ["低额提醒二", "验证码 123456"]
