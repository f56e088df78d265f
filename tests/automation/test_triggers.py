"""Every trigger platform: state, numeric_state (edge-triggered), event, time, time_pattern; for: holds."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.automation.ticker import async_ensure_ticker
from scada_core.core import Core

from .conftest import local, setup_automations, tick

pytestmark = pytest.mark.timeout(30)


async def test_state_trigger_from_to_with_templated_data(core: Core, calls: list[dict[str, Any]]) -> None:
    core.states.async_set("acrel_dtsy1352.m1", "12.00", {"relay": "closed"})
    await setup_automations(core, """
        - id: relay_opened
          trigger:
            platform: state
            entity_id: acrel_dtsy1352.m1
            attribute: relay
            from: closed
            to: open
          action:
            service: test.record
            data:
              who: "{{ trigger.entity_id }}"
              was: "{{ trigger.from_state.attributes.relay }}"
              money: "{{ states('acrel_dtsy1352.m1') | float * 100 }}"
              is_it: "{{ is_state('acrel_dtsy1352.m1', '12.00') }}"
              year: "{{ now().year }}"
        """)
    core.states.async_set("acrel_dtsy1352.m1", "12.00", {"relay": "closed", "power_w": 5})
    core.states.async_set("acrel_dtsy1352.m1", "12.00", {"relay": "open"})
    core.states.async_set("acrel_dtsy1352.m1", "12.00", {"relay": "closed"})
    await core.async_block_till_done()
    assert calls == [
        {
            "who": "acrel_dtsy1352.m1",
            "was": "closed",
            "money": 1200.0,
            "is_it": True,
            "year": core.clock.now().year,
        }
    ]


async def test_state_trigger_for_holds_across_a_moved_clock(core: Core, calls: list[dict[str, Any]]) -> None:
    await tick(core, local(2026, 3, 2, 10, 0, 0))
    await setup_automations(core, """
        - id: offline
          trigger:
            platform: state
            entity_id: "modbus.gateway_*"
            to: unavailable
            for: {minutes: 5}
          action:
            service: test.record
            data: {gateway: "{{ trigger.entity_id }}"}
        """)
    core.states.async_set("modbus.gateway_a", "online")
    core.states.async_set("modbus.gateway_b", "online")
    core.states.async_set("modbus.gateway_a", "unavailable")
    core.states.async_set("modbus.gateway_b", "unavailable")
    await tick(core, local(2026, 3, 2, 10, 3, 0))
    core.states.async_set("modbus.gateway_b", "online")  # back before 5 minutes: no alarm for b
    await tick(core, local(2026, 3, 2, 10, 4, 59))
    assert calls == []
    await tick(core, local(2026, 3, 2, 10, 5, 0))
    await tick(core, local(2026, 3, 2, 10, 30, 0))
    assert calls == [{"gateway": "modbus.gateway_a"}]


async def test_numeric_state_fires_once_per_crossing(core: Core, calls: list[dict[str, Any]]) -> None:
    core.states.async_set("acrel_dtsy1352.m1", "30.00", {"remaining_fen": 3000})
    core.states.async_set("acrel_dtsy1352.m2", "5.00", {"remaining_fen": 500})  # already low at start
    await setup_automations(core, """
        - id: low
          mode: queued
          trigger:
            platform: numeric_state
            entity_id: acrel_dtsy1352.*
            attribute: remaining_fen
            below: 1000
          action:
            service: test.record
            data: {meter: "{{ trigger.entity_id }}", fen: "{{ trigger.value | int }}"}
        """)

    def money(entity_id: str, fen: int | None, state: str | None = None) -> None:
        attrs = {} if fen is None else {"remaining_fen": fen}
        core.states.async_set(entity_id, state or f"{(fen or 0) / 100:.2f}", attrs)

    money("acrel_dtsy1352.m1", 900)  # crosses: fires
    money("acrel_dtsy1352.m1", 800)  # still below: nothing
    money("acrel_dtsy1352.m1", None, "unavailable")  # offline blip: neither fires nor re-arms
    money("acrel_dtsy1352.m1", 700)
    money("acrel_dtsy1352.m2", 400)  # was below from the start: nothing
    money("acrel_dtsy1352.m1", 5000)  # leaves: re-armed
    money("acrel_dtsy1352.m1", 999)  # crosses again: fires
    await core.async_block_till_done()
    assert calls == [{"meter": "acrel_dtsy1352.m1", "fen": 900}, {"meter": "acrel_dtsy1352.m1", "fen": 999}]


async def test_numeric_state_with_for_and_above_below(core: Core, calls: list[dict[str, Any]]) -> None:
    await tick(core, local(2026, 3, 2, 9, 0, 0))
    core.states.async_set("modbus_meter.pump", "1", {"power_w": 100})
    await setup_automations(core, """
        - id: busy
          trigger:
            platform: numeric_state
            entity_id: modbus_meter.pump
            attribute: power_w
            above: 1000
            below: 5000
            for: "00:01:00"
          action: {service: test.record}
        """)
    core.states.async_set("modbus_meter.pump", "1", {"power_w": 2000})
    await tick(core, local(2026, 3, 2, 9, 0, 30))
    core.states.async_set("modbus_meter.pump", "1", {"power_w": 9000})  # out of range before the minute
    await tick(core, local(2026, 3, 2, 9, 2, 0))
    assert calls == []
    core.states.async_set("modbus_meter.pump", "1", {"power_w": 3000})
    await tick(core, local(2026, 3, 2, 9, 2, 30))
    assert calls == []
    await tick(core, local(2026, 3, 2, 9, 3, 0))
    await tick(core, local(2026, 3, 2, 9, 9, 0))
    assert len(calls) == 1


async def test_event_trigger_matches_event_data(core: Core, calls: list[dict[str, Any]]) -> None:
    await setup_automations(core, """
        - id: alarm2
          trigger:
            platform: event
            event_type: billing_alarm
            event_data: {level: alarm2, phase: enter}
          action:
            service: test.record
            data: {account: "{{ trigger.event.data.account_id }}", fen: "{{ trigger.event.data.value_fen }}"}
        """)
    fired = (("alarm1", "enter", 1, 900), ("alarm2", "leave", 1, 600), ("alarm2", "enter", 7, 450))
    for level, phase, account, fen in fired:
        data = {"level": level, "phase": phase, "account_id": account, "value_fen": fen}
        core.bus.async_fire("billing_alarm", data)
    await core.async_block_till_done()
    assert calls == [{"account": 7, "fen": 450}]


async def test_time_trigger_follows_the_moved_clock(core: Core, calls: list[dict[str, Any]]) -> None:
    await tick(core, local(2026, 3, 2, 7, 59, 58))
    await setup_automations(core, """
        - id: morning
          trigger: {platform: time, at: "08:00:00"}
          action: {service: test.record, data: {at: "{{ trigger.now.strftime('%H:%M:%S') }}"}}
        """)
    await tick(core, local(2026, 3, 2, 7, 59, 59))
    assert calls == []
    await tick(core, local(2026, 3, 2, 8, 0, 0, 400000))
    await tick(core, local(2026, 3, 2, 8, 0, 0, 900000))
    await tick(core, local(2026, 3, 2, 8, 0, 5))
    assert calls == [{"at": "08:00:00"}]
    # A stalled loop that skips a few seconds still catches the time.
    await tick(core, local(2026, 3, 3, 7, 59, 57))
    await tick(core, local(2026, 3, 3, 8, 0, 3))
    assert len(calls) == 2


async def test_time_pattern_every_five_minutes(core: Core, calls: list[dict[str, Any]]) -> None:
    await tick(core, local(2026, 3, 2, 10, 4, 58))
    await setup_automations(core, """
        - id: every5
          trigger: {platform: time_pattern, minutes: "/5"}
          action: {service: test.record, data: {at: "{{ trigger.now.strftime('%H:%M:%S') }}"}}
        - id: three_am
          trigger: {platform: time_pattern, hours: 3}
          action: {service: test.record, data: {at: "3am {{ trigger.now.strftime('%H:%M:%S') }}"}}
        """)
    for second in (59, 60, 61, 62):
        await tick(core, local(2026, 3, 2, 10, 4 + second // 60, second % 60))
    await tick(core, local(2026, 3, 2, 10, 9, 59))
    await tick(core, local(2026, 3, 2, 10, 10, 0))
    await tick(core, local(2026, 3, 3, 2, 59, 59))
    await tick(core, local(2026, 3, 3, 3, 0, 0))
    await tick(core, local(2026, 3, 3, 3, 0, 1))
    assert calls == [{"at": "10:05:00"}, {"at": "10:10:00"}, {"at": "03:00:00"}, {"at": "3am 03:00:00"}]


async def test_ticker_fires_time_changed_by_itself(core: Core) -> None:
    ticks: list[Any] = []
    core.bus.async_listen(EVENT_TIME_CHANGED, lambda event: ticks.append(event.data["now"]))
    core.clock.set_now(local(2030, 1, 1, 0, 0, 0))
    async_ensure_ticker(core)
    async_ensure_ticker(core)  # idempotent: one ticker
    for _ in range(40):
        if ticks:
            break
        await asyncio.sleep(0.05)
    assert ticks and ticks[0].year == 2030
