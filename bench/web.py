"""Dashboard latency with 10,000 meters, and the yearly energy report: daily rollups vs a raw GROUP BY.

Part 1 starts a real core (billing + web, SQLite) whose state machine holds 10,000 DTSY1352 meter states
(set directly: no simulator can serve 10,000 meters here) and changes 55 of them a second (as a 3-minute
scan of that site would), logs in 20 clients and measures the home page (the overview with its floor map,
GET /), its table tab (GET /?tab=table) and the plain grid data endpoint they draw from (GET /web/grid.json,
the baseline) — p50/p99, full fetches, no ETag revalidation — while the 20 clients run concurrently, plus the
grid's and the overview's uncached build times. ``--part overview`` runs only this part and ends with its JSON
(value: the overview's p99; baseline: the grid data's p99).

Part 2 fills a migrated SQLite database with 30-minute readings of 1,000 meters over one year (17.52 M rows,
generated inside SQLite with a recursive CTE) and times the yearly per-meter energy report two ways: summed
daily rollups (energy_daily) and one plain GROUP BY over the raw readings. ``--meters``/``--days`` scale it
down for a quick run (the printed note says so). Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)  # this script is bench/web.py: keep it from shadowing the `web` package

import aiohttp
import yaml

from scada_core.bootstrap import async_from_config_dir
from scada_core.reports.queries import day_bounds, energy_per_meter, energy_per_meter_raw
from scada_core.reports.rollup import async_rollup, date_day
from scada_core.storage.database import Database, resolve_url

GRID_METERS = 10_000
CLIENTS = 20
REQUESTS_PER_CLIENT = 50
PASSWORD = "grid-pass-4821"  # not containing the user name (the password rule)
OFFSET_S = 8 * 3600
YEAR_START = date(2025, 1, 1)


def percentile(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def login(session: aiohttp.ClientSession, base: str) -> None:
    """Log in through the form (CSRF pair from the login page)."""
    async with session.get(f"{base}/login") as resp:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
    async with session.post(f"{base}/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf}) as resp:
        assert resp.status == 200


async def grid_bench(folder: Path) -> dict[str, Any]:
    """Return p50/p99 of the grid page and its JSON with 20 concurrent clients."""
    config = {"core": {"time_zone": "Asia/Shanghai"}, "http": {"port": 0}, "recorder": {"commit_interval": 1},
              "billing": {"buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1"}}}},
              "web": {}}
    (folder / "configuration.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    core = await async_from_config_dir(folder)
    try:
        now = time.time()
        for n in range(GRID_METERS):
            core.states.async_set(
                f"acrel_dtsy1352.b{n // 5000 + 1}_f{n // 100 % 50 + 1}_{n:05d}", f"{(n % 900) + 0.45:.2f}",
                {"remaining_fen": (n % 900) * 100 + 45, "purchase_count": 1, "total_wh": n * 10, "power_w": n % 5000,
                 "relay": "closed", "prepaid_mode": "normal", "online": True, "last_read": now, "billing": "meter"},
            )
        site = core.data["web"]
        assert len(site.directory.meter_ids()) == GRID_METERS, "the meters must declare themselves (billing=meter)"
        await site.auth.create_operator("bench", "bench", "viewer", PASSWORD, must_change=False)
        started = time.perf_counter()
        body = json.dumps(await site.grid.build(), separators=(",", ":"))
        build_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        await site.overview.build()
        overview_build_ms = (time.perf_counter() - started) * 1000
        base = f"http://127.0.0.1:{core.http.port}"
        timings: dict[str, list[float]] = {"/": [], "/?tab=table": [], "/web/grid.json": []}
        mix = ["/", "/?tab=table", "/web/grid.json", "/web/grid.json"]  # each page then the data it draws

        async def client(session: aiohttp.ClientSession) -> None:
            for i in range(REQUESTS_PER_CLIENT):
                path = mix[i % len(mix)]
                t0 = time.perf_counter()
                async with session.get(base + path) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                timings[path].append((time.perf_counter() - t0) * 1000)

        async def field_updates() -> None:
            # A site this size scanned every 3 minutes changes about 55 meter states a second.
            n = 0
            while True:
                for _ in range(11):
                    n = (n + 7919) % GRID_METERS
                    entity_id = f"acrel_dtsy1352.b{n // 5000 + 1}_f{n // 100 % 50 + 1}_{n:05d}"
                    state = core.states.get(entity_id)
                    core.states.async_set(entity_id, state.state, {**state.attributes, "power_w": n % 4000,
                                                                    "last_read": time.time()})
                await asyncio.sleep(0.2)

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as warm:
            await login(warm, base)
            for path in timings:
                async with warm.get(base + path) as resp:
                    await resp.read()
        sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(CLIENTS)]
        try:
            await asyncio.gather(*(login(session, base) for session in sessions))  # logins are not timed
            updates = asyncio.create_task(field_updates())
            wall = time.perf_counter()
            await asyncio.gather(*(client(session) for session in sessions))
            wall = time.perf_counter() - wall
            updates.cancel()
        finally:
            for session in sessions:
                await session.close()
    finally:
        await core.async_stop()
    result = {
        "grid_json_bytes": len(body),
        "grid_build_ms": round(build_ms, 1),
        "overview_build_ms": round(overview_build_ms, 1),
        "page_p50_ms": round(percentile(timings["/"], 0.5), 1),
        "page_p99_ms": round(percentile(timings["/"], 0.99), 1),
        "table_p50_ms": round(percentile(timings["/?tab=table"], 0.5), 1),
        "table_p99_ms": round(percentile(timings["/?tab=table"], 0.99), 1),
        "json_p50_ms": round(percentile(timings["/web/grid.json"], 0.5), 1),
        "json_p99_ms": round(percentile(timings["/web/grid.json"], 0.99), 1),
        "requests_per_s": round(CLIENTS * REQUESTS_PER_CLIENT / wall, 1),
    }
    print(f"grid, {GRID_METERS} meters, {CLIENTS} clients: JSON {len(body) / 1e6:.2f} MB, uncached build "
          f"{build_ms:.0f} ms, overview build {overview_build_ms:.0f} ms; overview + floor map p50 "
          f"{result['page_p50_ms']} ms p99 {result['page_p99_ms']} ms; table tab p50 {result['table_p50_ms']} ms "
          f"p99 {result['table_p99_ms']} ms; "
          f"data p50 {result['json_p50_ms']} ms p99 {result['json_p99_ms']} ms; {result['requests_per_s']} req/s")
    return result


def fill_readings(path: Path, meters: int, days: int) -> int:
    """Insert 48 readings a day per meter inside SQLite (indexes dropped during the load, rebuilt after)."""
    start_ts = date_day(YEAR_START) * 86400 - OFFSET_S
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")  # 1 GB page cache and in-memory sorting for the index builds
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("DROP INDEX IF EXISTS ix_readings_entity_ts")
    con.execute("DROP INDEX IF EXISTS ix_readings_ts")
    con.execute(
        """
        WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i + 1 < ?),
                       s(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM s WHERE j + 1 < ?)
        INSERT INTO readings (entity_id, ts, received_ts, total_wh, power_w)
        SELECT printf('acrel_dtsy1352.m%04d', i), ? + j * 1800.0, ? + j * 1800.0,
               i * 1000 + j * (200 + i % 50), 400 + i % 50 FROM m, s
        """,
        (meters, days * 48, start_ts, start_ts),
    )
    con.commit()
    con.execute("CREATE INDEX ix_readings_entity_ts ON readings (entity_id, ts)")
    con.execute("CREATE INDEX ix_readings_ts ON readings (ts)")
    con.commit()
    count = con.execute("SELECT count(*) FROM readings").fetchone()[0]
    con.close()
    return int(count)


async def report_bench(folder: Path, meters: int, days: int) -> dict[str, Any]:
    """Return the yearly report's times by rollups and by the raw GROUP BY."""
    db_path = folder / "energy.db"
    db = Database(resolve_url(folder, f"sqlite:///{db_path}"))
    await db.async_upgrade()
    await db.async_close()
    t0 = time.perf_counter()
    rows = await asyncio.to_thread(fill_readings, db_path, meters, days)
    fill_s = time.perf_counter() - t0
    db = Database(resolve_url(folder, f"sqlite:///{db_path}"))
    try:
        t0 = time.perf_counter()
        await async_rollup(db, OFFSET_S)
        rollup_s = time.perf_counter() - t0
        first, last = YEAR_START, YEAR_START + timedelta(days=days - 1)
        lo, hi = day_bounds(first, last, OFFSET_S)
        fast, slow = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            by_rollup = await energy_per_meter(db, date_day(first), date_day(last))
            fast.append(time.perf_counter() - t0)
        for _ in range(1 if rows > 5_000_000 else 3):  # the raw GROUP BY takes minutes at full scale
            t0 = time.perf_counter()
            by_raw = await energy_per_meter_raw(db, lo, hi)
            slow.append(time.perf_counter() - t0)
        assert len(by_rollup) == len(by_raw) == meters
        # Rollups count use from the day before's last reading, so the first day's first reading is the base:
        # both agree on every meter here because the series starts on the first day.
        assert by_rollup == by_raw
    finally:
        await db.async_close()
    result = {
        "rows": rows, "fill_s": round(fill_s, 1), "rollup_build_s": round(rollup_s, 1),
        "rollup_query_ms": round(statistics.median(fast) * 1000, 1),
        "raw_group_by_ms": round(statistics.median(slow) * 1000, 1),
    }
    result["ratio"] = round(result["raw_group_by_ms"] / max(result["rollup_query_ms"], 0.001), 1)
    scale = "" if (meters, days) == (1000, 365) else f" (SCALED DOWN from 1000 meters x 365 days)"
    print(f"energy report, {meters} meters x {days} days = {rows:,} readings{scale}: fill {fill_s:.1f} s, "
          f"rollup build {rollup_s:.1f} s (one-off; kept incrementally afterwards); yearly per-meter report "
          f"by rollups {result['rollup_query_ms']} ms vs raw GROUP BY {result['raw_group_by_ms']} ms "
          f"-> {result['ratio']}x")
    return result


async def main() -> None:
    """Run both parts and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--part", choices=("all", "overview"), default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "grid").mkdir()
        grid = await grid_bench(Path(tmp) / "grid")
        if args.part == "overview":
            print(json.dumps({
                "name": "web_overview", "value": grid["page_p99_ms"],
                "unit": f"ms p99 of the overview with its floor map, {GRID_METERS} meters, {CLIENTS} clients",
                "baseline": grid["json_p99_ms"], "ratio": round(grid["page_p99_ms"] / grid["json_p99_ms"], 2),
                "ratio_of": "overview page p99 / grid data endpoint p99", **grid,
            }, ensure_ascii=False))
            return
        report = await report_bench(Path(tmp), args.meters, args.days)
    print(json.dumps({
        "name": "web", "value": report["rollup_query_ms"], "unit": "ms (yearly energy report, daily rollups)",
        "baseline": report["raw_group_by_ms"], "ratio": report["ratio"],
        "report_meters": args.meters, "report_days": args.days, **{f"report_{k}": v for k, v in report.items()
                                                                  if k != "ratio"},
        **{f"grid_{k}" if not k.startswith("grid") else k: v for k, v in grid.items()},
    }, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
