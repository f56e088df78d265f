"""Event bus, state machine, services and entities."""
from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
import voluptuous as vol

from scada_core.const import EVENT_STATE_CHANGED, GC_THRESHOLD_0, MATCH_ALL, STATE_UNAVAILABLE
from scada_core.core import Core, Event, ServiceCall
from scada_core.entity import Entity
from scada_core.exceptions import EntityNotFound, ServiceNotFound, ServiceValidationError


async def test_bus_listen_once_and_unsubscribe(core: Core) -> None:
    seen: list[str] = []
    remove = core.bus.async_listen("ping", lambda e: seen.append(f"all:{e.data['n']}"))
    core.bus.async_listen_once("ping", lambda e: seen.append(f"once:{e.data['n']}"))
    core.bus.async_fire("ping", {"n": 1})
    core.bus.async_fire("ping", {"n": 2})
    remove()
    core.bus.async_fire("ping", {"n": 3})
    assert seen == ["all:1", "once:1", "all:2"]
    assert core.bus.listener_count("ping") == 0


async def test_bus_async_listener_and_failing_listener(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    got: list[Event] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0)
        got.append(event)

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    core.bus.async_listen("x", broken)
    core.bus.async_listen(MATCH_ALL, slow)
    core.bus.async_fire("x", {"a": 1})
    await core.async_block_till_done()
    assert [e.event_type for e in got] == ["x"]
    assert "listener bug" in caplog.text


async def test_state_machine_changes_and_reports(core: Core) -> None:
    changes: list[Event] = []
    core.bus.async_listen(EVENT_STATE_CHANGED, changes.append)
    assert core.states.async_set("meter.a", "10.00", {"power_w": 5})
    first = core.states.get("meter.a")
    assert first is not None
    assert not core.states.async_set("meter.a", "10.00", {"power_w": 5}), "unchanged state must not fire"
    assert core.states.async_set("meter.a", "10.00", {"power_w": 6})
    second = core.states.get("meter.a")
    assert second is not None
    assert second.last_changed == first.last_changed, "attribute-only change keeps last_changed"
    assert second.last_updated >= first.last_updated
    attributes = {"power_w": 6}
    core.states.async_set("meter.a", "9.00", attributes)
    attributes["power_w"] = 7
    third = core.states.get("meter.a")
    assert third is not None and third.attributes == {"power_w": 6}, "the state keeps its own copy"
    for change in (lambda a: a.update(power_w=8), lambda a: a.__setitem__("x", 1), lambda a: a.pop("power_w")):
        with pytest.raises(TypeError):
            change(third.attributes)
    assert third.attributes == {"power_w": 6}, "listeners share the attributes and cannot change them"
    assert len(changes) == 3
    assert changes[-1].data["old_state"].state == "10.00"
    assert changes[-1].data["new_state"].state == "9.00"
    with pytest.raises(ValueError):
        core.states.async_set("Bad Id", "1")
    assert core.states.async_entity_ids("meter") == ["meter.a"]
    core.states.async_remove("meter.a")
    assert core.states.get("meter.a") is None
    assert changes[-1].data["new_state"] is None


async def test_services_validate_and_respond(core: Core) -> None:
    calls: list[ServiceCall] = []

    async def handler(call: ServiceCall) -> dict[str, Any]:
        calls.append(call)
        return {"doubled": call.data["amount"] * 2}

    core.services.async_register("billing", "double", handler, vol.Schema({vol.Required("amount"): int}))
    assert await core.services.async_call("billing", "double", {"amount": 21}) == {"doubled": 42}
    with pytest.raises(ServiceValidationError, match="amount"):
        await core.services.async_call("billing", "double", {"amount": "lots"})
    with pytest.raises(ServiceValidationError, match="extra keys not allowed"):
        await core.services.async_call("billing", "double", {"amount": 1, "oops": 2})
    with pytest.raises(ServiceNotFound):
        await core.services.async_call("billing", "nope", {})
    assert len(calls) == 1


class Lamp(Entity):
    """A tiny entity for tests."""

    def __init__(self, object_id: str) -> None:
        super().__init__()
        self.entity_id = f"lamp.{object_id}"
        self._attr_name = object_id
        self._attr_state = "off"

    async def turn(self, to: str) -> dict[str, str]:
        self._attr_state = to
        self.async_write_state()
        return {"state": to}


async def test_entity_writes_only_changes_and_entity_services(core: Core) -> None:
    changes: list[Event] = []
    core.bus.async_listen(EVENT_STATE_CHANGED, changes.append)
    lamps = [Lamp("a"), Lamp("b")]
    await core.async_add_entities(lamps)
    assert len(changes) == 2
    assert not lamps[0].async_write_state()
    lamps[0]._attr_available = False
    assert lamps[0].async_write_state()
    assert core.states.get("lamp.a").state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    core.services.async_register_entity_service("lamp", "turn", {vol.Required("to"): vol.In(["on", "off"])}, "turn")
    result = await core.services.async_call("lamp", "turn", {"entity_id": ["lamp.b"], "to": "on"})
    assert result == {"results": {"lamp.b": {"state": "on"}}}
    assert core.states.get("lamp.b").state == "on"  # type: ignore[union-attr]
    with pytest.raises(EntityNotFound):
        await core.services.async_call("lamp", "turn", {"entity_id": "lamp.zzz", "to": "on"})
    with pytest.raises(ValueError):
        await core.async_add_entities([Lamp("a")])


async def test_stop_runs_callbacks_and_cancels_tasks(tmp_path: Any) -> None:
    core = Core(tmp_path)
    stopped: list[str] = []
    core.async_on_stop(lambda: stopped.append("first"))
    core.async_on_stop(lambda: stopped.append("second"))
    task = core.async_create_task(asyncio.sleep(3600), "sleeper")
    await core.async_start()
    await core.async_stop()
    assert stopped == ["second", "first"]
    assert task.cancelled()


async def test_running_core_freezes_startup_objects_and_restores_the_collector(tmp_path: Any) -> None:
    """While running (a process of its own: openprepay run), start-up objects are frozen and young objects
    collected less often; stop undoes it. A core sharing its process (the tests) leaves the collector alone."""
    before = gc.get_threshold()
    shared = Core(tmp_path)
    await shared.async_start()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    await shared.async_stop()
    core = Core(tmp_path, tune_collector=True)
    lamp = Lamp("a")
    await core.async_add_entities([lamp])
    await core.async_start()
    try:
        assert gc.get_threshold() == (GC_THRESHOLD_0, *before[1:])
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(lamp) and lamp not in gc.get_objects(), "a frozen entity is not rescanned"
    finally:
        await core.async_stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
