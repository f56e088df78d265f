"""Helpers for automation tests: load rules from YAML text, record service calls, move the clock and tick."""
from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

import integrations.automation as automation_integration
import integrations.friendly_credit as friendly_credit_integration
from scada_core.automation.const import EVENT_TIME_CHANGED
from scada_core.automation.engine import AutomationManager
from scada_core.automation.ticker import DATA_TICKER
from scada_core.core import Core, ServiceCall

TZ = ZoneInfo("Asia/Shanghai")
# The sections a whole-system configuration keeps in files of their own, and those files.
INCLUDES = {"automation": "automations.yaml", "friendly_credit": "friendly_credit.yaml"}


def local(*args: int) -> datetime:
    """Return an aware Asia/Shanghai datetime."""
    return datetime(*args, tzinfo=TZ)


def stop_ticker(core: Core) -> None:
    """Cancel the real one-second ticker so only the test's ticks count."""
    task = core.data.get(DATA_TICKER)
    if task is not None:
        task.cancel()


async def setup_friendly_credit(core: Core, text: str = "") -> Any:
    """Validate ``text`` as the friendly_credit section and set the integration up."""
    section = yaml.safe_load(textwrap.dedent(text)) or {}
    config = friendly_credit_integration.CONFIG_SCHEMA({"friendly_credit": section})["friendly_credit"]
    assert await friendly_credit_integration.async_setup(core, config)
    stop_ticker(core)
    return core.data["friendly_credit"]


async def setup_automations(core: Core, text: str) -> AutomationManager:
    """Validate ``text`` as automations.yaml and set the integration up on ``core``."""
    section = yaml.safe_load(textwrap.dedent(text))
    config = automation_integration.CONFIG_SCHEMA({"automation": section})["automation"]
    assert await automation_integration.async_setup(core, config)
    stop_ticker(core)
    return core.data["automation"]


def record_service(core: Core, domain: str, service: str, response: Any = None) -> list[dict[str, Any]]:
    """Register domain.service recording each call's data; return the list of calls."""
    calls: list[dict[str, Any]] = []

    def handle(call: ServiceCall) -> Any:
        calls.append(dict(call.data))
        return response

    core.services.async_register(domain, service, handle)
    return calls


async def tick(core: Core, moment: datetime) -> None:
    """Move the clock to ``moment``, fire one time_changed and wait for what it started."""
    core.clock.set_now(moment)
    core.bus.async_fire(EVENT_TIME_CHANGED, {"now": core.clock.now()})
    await core.async_block_till_done()


@pytest.fixture
def calls(core: Core) -> list[dict[str, Any]]:
    """Calls of the test.record service."""
    return record_service(core, "test", "record")
