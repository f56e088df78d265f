"""Whole system: YAML mistakes with file:line, the automation API over HTTP, alarm records."""
from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scada_core.automation.alarms import list_alarms
from scada_core.bootstrap import async_setup_core
from scada_core.config import load_config
from scada_core.core import Core
from scada_core.exceptions import ConfigError
from tests.helpers import wait_for, write_config

from .conftest import INCLUDES, record_service, stop_ticker

pytestmark = pytest.mark.timeout(60)

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"

BROKEN = """\
- id: a
  trigger:
    - platform: state
      entity_id: acrel_dtsy1352.m1
      for: soon
  action:
    - service: test.record
- id: b
  trigger:
    - platform: teleport
  action:
    - choose:
        - conditions:
            - condition: numeric_state
              entity_id: acrel_dtsy1352.m1
              above: 10
              below: 5
          sequence:
            - service: notify.sms
              data:
                message: "{{ oops"
- id: c
  trigger: {platform: time_pattern, minutes: "/75"}
  action: {service: test}
"""


def split_config(folder: Path, recorder: dict[str, str], automations: str, friendly: str = "") -> None:
    """Write a configuration that includes automations.yaml and friendly_credit.yaml."""
    (folder / "automations.yaml").write_text(textwrap.dedent(automations), encoding="utf-8")
    (folder / "friendly_credit.yaml").write_text(textwrap.dedent(friendly) or "{}\n", encoding="utf-8")
    write_config(folder, recorder=recorder, includes=INCLUDES)


def test_yaml_mistakes_name_file_and_line(tmp_path: Path) -> None:
    split_config(tmp_path, {"commit_interval": "1"}, BROKEN, "calendar:\n  holidays:\n    - \"2026-02-30\"\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    errors = "\n".join(info.value.errors)
    assert "automations.yaml:5: automation -> 0 -> trigger -> 0 -> for: invalid duration 'soon'" in errors
    assert "automations.yaml:10: automation -> 1 -> trigger -> 0 -> platform: unknown trigger" in errors
    assert "automations.yaml:16:" in errors and "above (10.0) must be less than below (5.0)" in errors
    assert "automations.yaml:21:" in errors and "invalid template" in errors
    assert "automations.yaml:23:" in errors and "step in '/75'" in errors
    assert "friendly_credit.yaml:3:" in errors and "invalid date" in errors
    twice = "- {id: a, trigger: {platform: event, event_type: x}, action: {delay: 1}}\n" * 2
    split_config(tmp_path, {}, twice)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.errors == ["automations.yaml:2: automation -> 1 -> id: duplicate automation id 'a'"]


def test_demo_rules_and_calendar_are_valid() -> None:
    from integrations.automation import CONFIG_SCHEMA as AUTOMATION_SCHEMA
    from integrations.friendly_credit import CONFIG_SCHEMA as FRIENDLY_SCHEMA
    from scada_core.yaml_loader import load_yaml

    rules = AUTOMATION_SCHEMA({"automation": load_yaml(DEMO / "automations.yaml", DEMO)})["automation"]
    shipped = {"low_balance_alarm1", "low_balance_alarm2", "arrears", "overload", "device_offline"}
    assert shipped <= {r["id"] for r in rules}
    section = load_yaml(DEMO / "friendly_credit.yaml", DEMO)
    friendly = FRIENDLY_SCHEMA({"friendly_credit": section})["friendly_credit"]
    assert any(h.name == "春节" for h in friendly["calendar"]["holidays"])


Starter = Callable[[str, str], Coroutine[Any, Any, Core]]


@pytest.fixture
async def start(tmp_path: Path, db_settings: dict[str, str]) -> AsyncIterator[Starter]:
    """Start a whole core from a config dir; stop it afterwards."""
    started: list[Core] = []

    async def go(automations: str, friendly: str = "") -> Core:
        split_config(tmp_path, db_settings, automations, friendly)
        core = await async_setup_core(load_config(tmp_path))
        stop_ticker(core)
        started.append(core)
        return core

    yield go
    for core in started:
        await core.async_stop()


async def test_api_lists_triggers_and_traces(start: Starter) -> None:
    core = await start("""
        - id: warn_low
          alias: 余额预警
          trigger: {platform: event, event_type: billing_alarm, event_data: {level: alarm1}}
          action:
            - service: test.record
              data: {fen: "{{ trigger.event.data.value_fen }}"}
            - service: notify.sms
              data: {target: ["13800000000"], message: "余额 {{ trigger.event.data.value_fen | yuan }} 元"}
        """)
    calls = record_service(core, "test", "record")
    core.bus.async_fire("billing_alarm", {"level": "alarm1", "value_fen": 850, "phase": "enter"})
    automation = core.data["automation"].get("warn_low")
    await wait_for(lambda: automation.traces.all() and automation.traces.all()[0].result)
    base = f"http://127.0.0.1:{core.http.port}/api"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/automations") as resp:
            listed = await resp.json()
        assert listed[0]["id"] == "warn_low" and listed[0]["last_result"] == "error"
        async with http.get(f"{base}/automations/warn_low/traces") as resp:
            traces = await resp.json()
        assert traces[0]["trigger"]["event"]["data"]["value_fen"] == 850
        assert traces[0]["actions"][0]["result"] is None and traces[0]["actions"][0]["data"] == {"fen": 850}
        assert traces[0]["actions"][1]["data"]["message"] == "余额 8.50 元"
        assert traces[0]["actions"][1]["error"] == "service notify.sms not found"
        async with http.post(f"{base}/automations/warn_low/trigger", json={"variables": {}}) as resp:
            assert resp.status == 200
            manual = await resp.json()
        assert manual["trigger"]["platform"] == "manual" and manual["result"] == "error"
        assert "has no attribute 'event'" in manual["error"]  # the template's failure is explained
        async with http.get(f"{base}/automations/nope/traces") as resp:
            assert resp.status == 404
        async with http.get(f"{base}/openapi.json") as resp:
            assert "/api/automations/{automation_id}/traces" in (await resp.json())["paths"]
    assert calls == [{"fen": 850}]


async def test_alarms_are_recorded_and_listed(start: Starter) -> None:
    core = await start("""
        - id: overload
          trigger: {platform: event, event_type: billing_alarm, event_data: {level: overload, phase: enter}}
          action:
            - service: automation.raise_alarm
              data:
                entity_id: "{{ trigger.event.data.meter_entity_id }}"
                kind: overload
                level: critical
                message: "过载 {{ trigger.event.data.meter_entity_id }}"
        - id: cleared
          trigger: {platform: event, event_type: billing_alarm, event_data: {phase: leave}}
          action:
            service: automation.clear_alarm
            data:
              entity_id: "{{ trigger.event.data.meter_entity_id }}"
              kind: "{{ trigger.event.data.level }}"
        """)
    alarm_events: list[dict[str, Any]] = []
    core.bus.async_listen("alarm", lambda event: alarm_events.append(dict(event.data)))
    start_ts = core.clock.timestamp()
    def traces() -> list[Any]:
        return [t for a in core.data["automation"].automations.values() for t in a.traces.all()]

    steps = (("m1", "enter"), ("m1", "enter"), ("m2", "enter"), ("m1", "leave"))
    for meter, phase in steps:
        runs = len(traces())
        event = {"level": "overload", "phase": phase, "meter_entity_id": f"acrel_dtsy1352.{meter}"}
        core.bus.async_fire("billing_alarm", event)
        await wait_for(lambda: len(traces()) > runs and all(t.result for t in traces()))
    assert core.db is not None
    every = await list_alarms(core.db, start_ts - 1, None, False)
    assert [(a["entity_id"], a["kind"], a["level"], a["active"]) for a in every] == [
        ("acrel_dtsy1352.m1", "overload", "critical", False),
        ("acrel_dtsy1352.m2", "overload", "critical", True),
    ]
    assert every[0]["message"] == "过载 acrel_dtsy1352.m1" and every[0]["cleared_at"] >= every[0]["time"]
    active = await list_alarms(core.db, None, None, active_only=True)
    assert [a["entity_id"] for a in active] == ["acrel_dtsy1352.m2"]
    assert await list_alarms(core.db, None, start_ts - 1, False) == []
    assert [e["phase"] for e in alarm_events] == ["raise", "raise", "clear"]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{core.http.port}/api/alarms?active=1") as resp:
            assert [a["entity_id"] for a in await resp.json()] == ["acrel_dtsy1352.m2"]
