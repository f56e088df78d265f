"""Helpers the test folders share: free ports, polling, configuration folders, PostgreSQL schema cleanup and
benchmarks run in a fresh process."""
from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from scada_core.const import DEFAULT_DB_FILE
from scada_core.storage.database import Database, resolve_url

T = TypeVar("T")
# A scraped sample: its name and its labels, sorted.
SampleKey = tuple[str, tuple[tuple[str, str], ...]]

POLL_INTERVAL = 0.01  # seconds between two looks at a condition
WAIT_TIMEOUT = 15.0  # seconds before a condition that never holds fails the test
RECORDER_COMMIT_INTERVAL = 0.05  # seconds: tests see recorded rows soon after the state changes


BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


async def bench_figures(script: str, *args: str) -> dict[str, Any]:
    """Run ``bench/<script>`` with ``args`` in a fresh process (its peak memory is its own) and return the JSON
    object of its last line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH_DIR / script), *args, cwd=BENCH_DIR.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


def free_port() -> int:
    """Return a loopback TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The sample names a metric family of each type writes (a family declared with no sample yet has these too).
SAMPLE_SUFFIXES = {"counter": ("_total",), "summary": ("_sum", "_count"), "histogram": ("_bucket", "_sum", "_count")}


async def scrape_text(base: str, headers: Mapping[str, str] | None = None) -> str:
    """GET ``base``/metrics from this machine; assert it answers in the Prometheus text format."""
    async with aiohttp.ClientSession() as client, client.get(f"{base}/metrics", headers=headers) as response:
        assert response.status == 200, (response.status, await response.text())
        assert response.content_type == "text/plain"
        return await response.text()


async def scrape(base: str, headers: Mapping[str, str] | None = None) -> dict[SampleKey, float]:
    """GET ``base``/metrics and return every sample, parsed by prometheus_client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await scrape_text(base, headers))
        for sample in family.samples
    }


def sample_names(text: str) -> set[str]:
    """Return every sample name the metric families of ``text`` declare, with or without samples yet."""
    return {
        f"{family.name}{suffix}"
        for family in text_string_to_metric_families(text)
        for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))
    }


def sample(samples: Mapping[SampleKey, float], name: str, **labels: str) -> float | None:
    """Return the value of one scraped sample (None when absent)."""
    return samples.get((name, tuple(sorted(labels.items()))))


async def wait_for(predicate: Callable[[], Any], timeout: float = WAIT_TIMEOUT, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


async def until(
    fetch: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = WAIT_TIMEOUT
) -> T:
    """Await ``fetch`` until ``check`` holds on its result; return it, or fail with the last one after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        await asyncio.sleep(POLL_INTERVAL)


def write_config(
    folder: Path,
    sections: Mapping[str, Any] | None = None,
    recorder: Mapping[str, Any] | None = None,
    includes: Mapping[str, str] | None = None,
) -> Path:
    """Write ``folder``/configuration.yaml and return ``folder``.

    HTTP listens on a port the system picks; the recorder commits every 50 ms to ``recorder``'s database
    (a SQLite file in ``folder`` when it names no db_url); ``sections`` come last and win; ``includes``
    maps a section to a file in ``folder`` that configuration.yaml ``!include``s.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "http": {"port": 0},
        "recorder": {
            "db_url": f"sqlite:///{folder / DEFAULT_DB_FILE}",
            "commit_interval": RECORDER_COMMIT_INTERVAL,
            **(recorder or {}),
        },
        **(sections or {}),
    }
    included = "".join(f"{section}: !include {name}\n" for section, name in (includes or {}).items())
    (folder / "configuration.yaml").write_text(
        yaml.safe_dump(config, allow_unicode=True) + included, encoding="utf-8"
    )
    return folder


async def close_database(db: Database) -> None:
    """Drop ``db``'s PostgreSQL schema, if it has one, and close it."""
    try:
        if db.schema:
            async with db.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
    finally:
        await db.async_close()


async def drop_schema(tmp_path: Path, db_settings: Mapping[str, str]) -> None:
    """Drop the PostgreSQL schema ``db_settings`` names, if it names one."""
    if db_settings.get("db_schema"):
        await close_database(Database(resolve_url(tmp_path, db_settings["db_url"]), db_settings["db_schema"]))
