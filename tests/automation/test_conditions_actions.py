"""Conditions (state, numeric_state, time, holiday, template, and/or/not), actions, modes and traces."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from scada_core.core import Core

from .conftest import local, setup_automations, setup_friendly_credit, tick

pytestmark = pytest.mark.timeout(30)

CONDITION_RULES = """
- id: checks
  trigger: {platform: event, event_type: go}
  condition:
    - condition: state
      entity_id: acrel_dtsy1352.m1
      attribute: relay
      state: closed
    - condition: numeric_state
      entity_id: acrel_dtsy1352.m1
      attribute: remaining_fen
      below: 1000
    - condition: or
      conditions:
        - condition: time
          after: "08:00"
          before: "18:00"
          weekday: [mon, tue, wed, thu, fri]
        - condition: template
          value_template: "{{ trigger.event.data.force }}"
    - condition: not
      conditions:
        - condition: holiday
  action: {service: test.record, data: {ok: true}}
"""


async def test_conditions_gate_the_run_and_are_traced(core: Core, calls: list[dict[str, Any]]) -> None:
    await setup_friendly_credit(core, """
        calendar:
          holidays: [{start: 2026-10-01, end: 2026-10-07, name: 国庆节}]
        """)
    manager = await setup_automations(core, CONDITION_RULES)
    core.states.async_set("acrel_dtsy1352.m1", "5.00", {"relay": "closed", "remaining_fen": 500})

    async def go(moment: Any, force: bool = False) -> bool:
        await tick(core, moment)
        before = len(calls)
        core.bus.async_fire("go", {"force": force})
        await core.async_block_till_done()
        return len(calls) > before

    assert await go(local(2026, 3, 2, 10, 0))  # Monday, working hours
    assert not await go(local(2026, 3, 2, 19, 0))  # evening
    assert await go(local(2026, 3, 2, 19, 0), force=True)  # template says yes
    assert not await go(local(2026, 3, 7, 10, 0))  # Saturday
    assert not await go(local(2026, 10, 2, 10, 0), force=True)  # national day holiday (a Friday)
    core.states.async_set("acrel_dtsy1352.m1", "15.00", {"relay": "closed", "remaining_fen": 1500})
    assert not await go(local(2026, 3, 2, 10, 0))
    core.states.async_set("acrel_dtsy1352.m1", "5.00", {"relay": "open", "remaining_fen": 500})
    assert not await go(local(2026, 3, 2, 10, 0))

    trace = manager.get("checks").traces.all()[0].as_dict()
    assert trace["result"] == "conditions_failed"
    assert trace["conditions"] == [{"path": "condition/0", "condition": "state", "result": False}]
    holiday_run = manager.get("checks").traces.all()[2].as_dict()
    results = {c["path"]: c["result"] for c in holiday_run["conditions"]}
    assert results["condition/3/conditions/0"] is True  # it is a holiday
    assert results["condition/3"] is False  # so "not holiday" fails


async def test_time_window_wrapping_midnight(core: Core, calls: list[dict[str, Any]]) -> None:
    await setup_automations(core, """
        - id: night
          trigger: {platform: event, event_type: go}
          condition: {condition: time, after: "22:00:00", before: "06:00"}
          action: {service: test.record}
        """)
    for hour, expected in ((23, 1), (3, 2), (6, 2), (12, 2)):
        await tick(core, local(2026, 3, 2, hour, 0))
        core.bus.async_fire("go")
        await core.async_block_till_done()
        assert len(calls) == expected


async def test_choose_delay_condition_and_event_actions(core: Core, calls: list[dict[str, Any]]) -> None:
    events: list[dict[str, Any]] = []
    core.bus.async_listen("tenant_warned", lambda event: events.append(dict(event.data)))
    manager = await setup_automations(core, """
        - id: route
          mode: queued
          trigger: {platform: event, event_type: billing_alarm}
          action:
            - choose:
                - conditions:
                    - condition: template
                      value_template: "{{ trigger.event.data.level == 'arrears' }}"
                  sequence:
                    - service: test.record
                      data: {branch: arrears, fen: "{{ trigger.event.data.value_fen | yuan }}"}
                - conditions:
                    condition: template
                    value_template: "{{ trigger.event.data.level == 'alarm1' }}"
                  sequence: [{service: test.record, data: {branch: alarm1}}]
              default:
                - service: test.record
                  data: {branch: other}
            - delay: 0.01
            - event: tenant_warned
              event_data: {level: "{{ trigger.event.data.level }}"}
            - condition: template
              value_template: "{{ trigger.event.data.level != 'tamper' }}"
            - service: test.record
              data: {branch: end}
        """)
    for level in ("arrears", "alarm1", "tamper"):
        core.bus.async_fire("billing_alarm", {"level": level, "value_fen": -250})
        await core.async_block_till_done()
    assert calls == [
        {"branch": "arrears", "fen": "-2.50"},
        {"branch": "end"},
        {"branch": "alarm1"},
        {"branch": "end"},
        {"branch": "other"},
    ]
    assert events == [{"level": "arrears"}, {"level": "alarm1"}, {"level": "tamper"}]
    tamper, _alarm1, arrears = (t.as_dict() for t in manager.get("route").traces.all())
    assert tamper["result"] == "stopped"
    assert arrears["result"] == "finished"
    paths = [a["path"] for a in arrears["actions"]]
    assert paths == ["action/0", "action/0/choose/0/sequence/0", "action/1", "action/2", "action/4"]
    assert arrears["actions"][0]["result"] == "choice 0"
    assert arrears["actions"][1]["data"] == {"branch": "arrears", "fen": "-2.50"}


async def test_a_failing_automation_never_stops_the_others(core: Core, calls: list[dict[str, Any]]) -> None:
    manager = await setup_automations(core, """
        - id: broken
          trigger: {platform: event, event_type: go}
          action:
            - service: notify.sms
              data: {target: ["13800000000"], message: hi}
            - service: test.record
              data: {from: broken}
        - id: tolerant
          trigger: {platform: event, event_type: go}
          action:
            - service: notify.sms
              continue_on_error: true
              data: {target: ["13800000000"], message: hi}
            - service: test.record
              data: {from: tolerant}
        - id: sandboxed
          trigger: {platform: event, event_type: go}
          action:
            - service: test.record
              data: {escape: "{{ ''.__class__.__mro__[1].__subclasses__() }}"}
        - id: fine
          trigger: {platform: event, event_type: go}
          action: {service: test.record, data: {from: fine}}
        """)
    core.bus.async_fire("go")
    await core.async_block_till_done()
    assert {c["from"] for c in calls} == {"tolerant", "fine"}
    broken = manager.get("broken").traces.all()[0].as_dict()
    assert broken["result"] == "error"
    assert "service notify.sms not found" in broken["error"]
    assert broken["actions"][0]["error"] == "service notify.sms not found"
    assert len(broken["actions"]) == 1
    tolerant = manager.get("tolerant").traces.all()[0].as_dict()
    assert tolerant["result"] == "finished" and "error" in tolerant["actions"][0]
    sandboxed = manager.get("sandboxed").traces.all()[0].as_dict()
    assert sandboxed["result"] == "error" and "unsafe" in sandboxed["error"]


async def test_modes_single_and_queued(core: Core) -> None:
    started: list[str] = []

    async def slow(call: Any) -> None:
        started.append(call.data["mode"])
        await asyncio.sleep(0.05)

    core.services.async_register("test", "slow", slow)
    manager = await setup_automations(core, """
        - id: single
          trigger: {platform: event, event_type: go}
          action: {service: test.slow, data: {mode: single}}
        - id: queued
          mode: queued
          trigger: {platform: event, event_type: go}
          action: {service: test.slow, data: {mode: queued}}
        """)
    for _ in range(3):
        core.bus.async_fire("go")
    await core.async_block_till_done()
    assert started.count("single") == 1
    assert started.count("queued") == 3
    results = [t.result for t in manager.get("single").traces.all()]
    assert sorted(results) == ["finished", "skipped", "skipped"]


async def test_turn_off_and_trigger_services(core: Core, calls: list[dict[str, Any]]) -> None:
    await setup_automations(core, """
        - id: rule
          trigger: {platform: event, event_type: go}
          condition: {condition: template, value_template: "{{ false }}"}
          action: {service: test.record}
        """)
    await core.services.async_call("automation", "turn_off", {"id": "rule"})
    assert core.states.get("automation.rule").state == "off"
    trace = await core.services.async_call("automation", "trigger", {"id": "rule"})
    assert trace is not None and trace["result"] == "finished" and len(calls) == 1  # conditions skipped
    trace = await core.services.async_call("automation", "trigger", {"id": "rule", "skip_condition": False})
    assert trace is not None and trace["result"] == "conditions_failed"
