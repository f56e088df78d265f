"""The core's metrics: the route's switch, a proxy on this machine, the recorder's writes, the event-loop lag."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scada_core.bootstrap import async_from_config_dir
from scada_core.core import Core
from scada_core.loop_lag import LoopLag
from tests.helpers import sample, scrape, wait_for, write_config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Core]]]:
    """Start bare cores (no integration) with the given http section; stop them afterwards."""
    cores: list[Core] = []

    async def run(http: dict[str, Any]) -> Core:
        cores.append(await async_from_config_dir(write_config(tmp_path / str(len(cores)), {"http": http})))
        return cores[-1]

    yield run
    for core in cores:
        await core.async_stop()


async def _get(core: Core, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as client, client.get(
            f"http://127.0.0.1:{core.http.port}/metrics", headers=headers) as resp:
        return resp.status


async def test_recorder_writes_show_and_a_proxy_here_is_no_loopback(start) -> None:
    """The recorder's rows and write transactions count up; a request on loopback that an untrusted proxy
    forwarded is refused (its client may be anyone); ``metrics: false`` removes the route."""
    core = await start({"port": 0})
    base = f"http://127.0.0.1:{core.http.port}"
    first = await scrape(base)
    writes = sample(first, "openprepay_recorder_write_seconds_count")
    core.states.async_set("sensor.x", "1")
    await wait_for(lambda: core.recorder.batches_written > writes, what="a recorder write")
    later = await scrape(base)
    assert sample(later, "openprepay_recorder_write_seconds_count") > writes
    assert sample(later, "openprepay_recorder_write_seconds_sum") > sample(first, "openprepay_recorder_write_seconds_sum")
    assert sample(later, "openprepay_recorder_rows_written_total") >= 1
    assert sample(later, "openprepay_recorder_failing") == 0
    assert await _get(core, {"X-Forwarded-For": "203.0.113.9"}) == 401

    off = await start({"port": 0, "metrics": False})
    assert await _get(off) == 404


async def test_loop_lag_measures_a_blocked_loop() -> None:
    """A loop blocked for 0.2 s runs the next measure at least 0.15 s late (it was due within 0.05 s)."""
    lag = LoopLag(0.05)
    task = asyncio.get_running_loop().create_task(lag.run())
    try:
        await wait_for(lambda: lag.samples >= 1, what="a first measure")
        samples = lag.samples
        time.sleep(0.2)  # noqa: ASYNC251 - blocking the loop on purpose
        await wait_for(lambda: lag.samples > samples, what="the measure after the block")
        assert lag.last >= 0.15 and lag.total >= 0.15
        families = {family.name: family for family in await lag.metrics()}
        assert families["openprepay_event_loop_lag_seconds"].samples[0].value == lag.last
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
