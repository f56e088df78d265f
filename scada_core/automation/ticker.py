"""Fire ``time_changed`` once a second, reading core.clock, so time triggers follow a moved clock."""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .const import EVENT_TIME_CHANGED

if TYPE_CHECKING:
    from ..core import Core

DATA_TICKER = "automation_ticker"


def async_ensure_ticker(core: Core) -> None:
    """Start the one-second ticker unless it already runs (tests may also fire time_changed)."""
    if core.data.get(DATA_TICKER) is not None:
        return
    # Not a tracked core task: async_block_till_done must not wait for a loop that never ends.
    task = asyncio.get_running_loop().create_task(_tick_forever(core), name="time_changed ticker")
    core.data[DATA_TICKER] = task
    core.async_on_stop(task.cancel)


async def _tick_forever(core: Core) -> None:
    """Sleep to the next whole second of the clock, then fire time_changed with the clock's now."""
    while True:
        await asyncio.sleep(1.0 - time.time() % 1.0 + 0.001)
        core.bus.async_fire(EVENT_TIME_CHANGED, {"now": core.clock.now()})
