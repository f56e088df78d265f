"""Sales per second and latency through the billing API, and the ledger alone against a plain executemany.

1. The service runs as `python -m scada_core run` with 20 DTSY1352 meters behind 4 simulated serial servers
   (their own processes, Modbus TCP, no wire timing); 20 concurrent HTTP clients each sell to their own meter. Every sale is
   committed pending, written with the next purchase count, read back and committed delivered. Each client's first
   sale is not counted (the first burst after a start opens the connections; its worst is printed on its own).
   Run on SQLite and, when reachable, on PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test).
2. The ledger alone: balanced sale postings (transaction + 2 entries + receipt number), one database transaction
   each as a sale posts them (a write body: on SQLite one trip to the writer's thread), against the same rows
   written by the raw driver one transaction each (sqlite3 / asyncpg: the baseline of the ratio), on SQLite also
   by sqlite3 in a thread one trip each (the ceiling of a writer that never blocks the event loop), and against
   all of them inserted with one plain executemany.
Last line: one JSON object.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import text

from scada_core.billing import ledger
from scada_core.storage.database import Database, resolve_url

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 20
GATEWAYS = 4  # serial servers, 5 meters each (a bus carries one Modbus transaction at a time)
SALES_PER_CLIENT = 25
LEDGER_ROWS = 2000
PG_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CASHIER = {"id": "bench", "role": "cashier"}


def free_port() -> int:
    """Return a free TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def pg_available() -> bool:
    """Tell whether PostgreSQL answers at PG_URL."""
    db = Database(resolve_url(Path("."), PG_URL))
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - no server: skip PostgreSQL
        return False
    finally:
        await db.async_close()


async def spawn(*args: str, log: Path, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start ``python -m scada_core <args>`` logging to ``log``."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scada_core",
            *args,
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env=env or dict(os.environ),
        )


async def stop(process: asyncio.subprocess.Process) -> None:
    """Stop a child we started."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def api_sales(tmp: Path, db_settings: dict[str, str]) -> dict[str, float]:
    """Return sales/s and latency percentiles through the API for one database."""
    http_port = free_port()
    ports = [free_port() for _ in range(GATEWAYS)]
    sims = [
        await spawn(
            "simulate",
            "dtsy1352",
            "--tcp",
            f"127.0.0.1:{port}",
            "--units",
            f"1-{CLIENTS // GATEWAYS}",
            "--power",
            "0",
            log=tmp / "sim.log",
        )
        for port in ports
    ]
    config_dir = tmp / f"cfg-{uuid.uuid4().hex[:6]}"
    config_dir.mkdir()
    config = {
        "http": {"port": http_port},
        "recorder": {**db_settings},
        "modbus": [
            {
                "name": f"gw{g}",
                "type": "tcp",
                "host": "127.0.0.1",
                "port": port,
                "timeout": 1.0,
                "status_interval": 5,
            }
            for g, port in enumerate(ports, 1)
        ],
        "acrel_dtsy1352": [
            {
                "bus": f"gw{g}",
                "meters": [{"name": f"m{g}_{u}", "address": u} for u in range(1, CLIENTS // GATEWAYS + 1)],
            }
            for g in range(1, GATEWAYS + 1)
        ],
        "billing": {
            "buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1"}}},
            "operator_from_body": True,
        },
    }
    (config_dir / "configuration.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    service = await spawn("run", "-c", str(config_dir), log=tmp / "service.log", env=env)
    base = f"http://127.0.0.1:{http_port}"
    meters = [
        f"acrel_dtsy1352.m{g}_{u}" for g in range(1, GATEWAYS + 1) for u in range(1, CLIENTS // GATEWAYS + 1)
    ]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
            for _ in range(600):
                try:
                    async with http.get(f"{base}/api/states?domain=acrel_dtsy1352") as response:
                        states = await response.json()
                    if len(states) == CLIENTS and all(s["attributes"].get("online") for s in states):
                        break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("service did not come up: " + (tmp / "service.log").read_text()[-2000:])
            for meter in meters:
                async with http.post(
                    f"{base}/api/billing/accounts",
                    json={"name": meter, "meters": [meter], "operator": CASHIER},
                ) as r:
                    assert r.status == 200, await r.text()
            latencies: list[float] = []
            cold: list[float] = []
            counted_from: list[float] = []

            async def client(meter: str) -> None:
                # The first sale is not counted: the first burst after a start opens the pool's connections and
                # prepares their statements (its worst is printed on its own). The clients go on at once, so the
                # counted sales start as they would run all day, not as one thundering herd.
                for n in range(SALES_PER_CLIENT + 1):
                    body = {
                        "meter_entity_id": meter,
                        "amount_fen": 100,
                        "idempotency_key": f"{meter}-{n}-{uuid.uuid4().hex}",
                        "operator": CASHIER,
                    }
                    began = time.perf_counter()
                    if n == 1:
                        counted_from.append(began)
                    async with http.post(f"{base}/api/billing/sales", json=body) as response:
                        data = await response.json()
                    (latencies if n else cold).append(time.perf_counter() - began)
                    assert response.status == 200 and data["deliveries"][0]["status"] == "delivered", data

            await asyncio.gather(*(client(m) for m in meters))
            elapsed = time.perf_counter() - min(counted_from)
            async with http.get(f"{base}/api/billing/trial_balance") as response:
                assert (await response.json())["balanced"]
        latencies.sort()
        return {
            "sales_per_s": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "cold_max_ms": max(cold) * 1000,
        }
    finally:
        await stop(service)
        for sim in sims:
            await stop(sim)


def rows_for(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the transaction and entry rows of ``n`` sale postings."""
    txs = [
        {
            "id": i + 1,
            "kind": "sale",
            "idempotency_key": f"k{i}",
            "ts": 0.0,
            "operator_id": "bench",
            "operator_role": "cashier",
            "reason": "",
            "amount_fen": 100,
            "building": "b1",
            "receipt_seq": i + 1,
            "receipt_no": f"b1-{i + 1:08d}",
        }
        for i in range(n)
    ]
    entries = [
        {"transaction_id": i + 1, "account": account, "amount_fen": amount}
        for i in range(n)
        for account, amount in (("cash", 100), (f"meter:m{i % 20}", -100))
    ]
    return txs, entries


async def ledger_alone(tmp: Path, url: str, schema: str | None, mode: str = "write") -> float:
    """Return balanced postings per second, one database transaction each: ``write`` as a sale posts (a write
    body, ``Database.run_write``), ``session`` in an async session (``ledger.post``); ``batched``: all in one."""
    db = Database(resolve_url(tmp, url), schema)
    await db.async_upgrade()
    operator = ledger.Operator("bench", "cashier")

    def posting(i: int, session: Any) -> None:
        ledger.post_sync(
            session,
            kind="sale",
            idempotency_key=f"k{i}",
            entries=[("cash", 100), (f"meter:m{i % 20}", -100)],
            operator=operator,
            ts=0.0,
            amount_fen=100,
            building="b1",
        )

    began = time.perf_counter()
    if mode == "write":
        for i in range(LEDGER_ROWS):
            await db.run_write(functools.partial(posting, i))
    elif mode == "batched":
        async with db.session() as session:
            for i in range(LEDGER_ROWS):
                await session.run_sync(functools.partial(posting, i))
    else:
        for i in range(LEDGER_ROWS):
            async with db.session() as session:
                await session.run_sync(functools.partial(posting, i))
    elapsed = time.perf_counter() - began
    async with db.session() as session:
        assert (await ledger.trial_balance(session))["balanced"]
    if schema:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await db.async_close()
    return LEDGER_ROWS / elapsed


SQLITE_TABLES = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, kind, idempotency_key UNIQUE, ts, operator_id, operator_role, reason, "
    "amount_fen, building, receipt_seq, receipt_no)",
    "CREATE TABLE e (id INTEGER PRIMARY KEY, transaction_id, account, amount_fen)",
    "CREATE INDEX ix_e ON e(account)",
    "CREATE TABLE c (building PRIMARY KEY, last_seq)",
)
PG_TABLES = (
    "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, kind TEXT, idempotency_key TEXT UNIQUE, ts FLOAT, operator_id TEXT, "
    "operator_role TEXT, reason TEXT, amount_fen BIGINT, building TEXT, receipt_seq INT, receipt_no TEXT)",
    "CREATE TABLE e (id BIGSERIAL PRIMARY KEY, transaction_id BIGINT, account TEXT, amount_fen BIGINT)",
    "CREATE INDEX ix_e ON e(account)",
    "CREATE TABLE c (building TEXT PRIMARY KEY, last_seq INT)",
)


def _sqlite_plain(path: Path) -> sqlite3.Connection:
    """Return a sqlite3 connection (autocommit: transactions begun by hand) to new plain tables."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for ddl in SQLITE_TABLES:
        conn.execute(ddl)
    conn.execute("INSERT INTO c VALUES ('b1', 0)")
    return conn


def _sqlite_posting(conn: sqlite3.Connection, tx: dict[str, Any], legs: list[dict[str, Any]]) -> None:
    """Write one posting with sqlite3 itself: bump the receipt counter, insert the transaction and its two
    entries, commit (the same rows and indexes as the ledger's)."""
    conn.execute("BEGIN IMMEDIATE")
    seq = conn.execute("UPDATE c SET last_seq = last_seq + 1 WHERE building = 'b1' RETURNING last_seq").fetchone()[0]
    row = {**tx, "receipt_seq": seq, "receipt_no": f"b1-{seq:08d}"}
    tid = conn.execute(
        "INSERT INTO t (kind, idempotency_key, ts, operator_id, operator_role, reason, amount_fen, building, "
        "receipt_seq, receipt_no) VALUES (:kind, :idempotency_key, :ts, :operator_id, :operator_role, :reason, "
        ":amount_fen, :building, :receipt_seq, :receipt_no) RETURNING id",
        row,
    ).fetchone()[0]
    conn.executemany(
        "INSERT INTO e (transaction_id, account, amount_fen) VALUES (?, ?, ?)",
        [(tid, e["account"], e["amount_fen"]) for e in legs],
    )
    conn.execute("COMMIT")


def sqlite_one_each(tmp: Path) -> float:
    """Return postings per second written by sqlite3 itself, one transaction each, in the caller's thread."""
    txs, entries = rows_for(LEDGER_ROWS)
    conn = _sqlite_plain(tmp / "plain-each.db")
    began = time.perf_counter()
    for i, tx in enumerate(txs):
        _sqlite_posting(conn, tx, entries[2 * i : 2 * i + 2])
    elapsed = time.perf_counter() - began
    conn.close()
    return LEDGER_ROWS / elapsed


async def sqlite_one_hop_each(tmp: Path) -> float:
    """Return postings per second written by sqlite3 itself in a thread, one trip from the event loop each: the
    most a writer that never blocks the loop can do (the sqlite3 baseline plus one thread hop per posting)."""
    txs, entries = rows_for(LEDGER_ROWS)
    conn = _sqlite_plain(tmp / "plain-hop.db")
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as thread:
        began = time.perf_counter()
        for i, tx in enumerate(txs):
            await loop.run_in_executor(thread, _sqlite_posting, conn, tx, entries[2 * i : 2 * i + 2])
        elapsed = time.perf_counter() - began
    conn.close()
    return LEDGER_ROWS / elapsed


async def pg_tables(schema: str) -> Any:
    """Return an asyncpg connection to a new schema holding the plain tables."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute(f'SET search_path TO "{schema}"')
    for ddl in PG_TABLES:
        await conn.execute(ddl)
    return conn


async def pg_one_each(schema: str) -> float:
    """Return postings per second written by asyncpg itself, one transaction each (as sqlite_one_each)."""
    txs, entries = rows_for(LEDGER_ROWS)
    conn = await pg_tables(schema)
    await conn.execute("INSERT INTO c VALUES ('b1', 0)")
    began = time.perf_counter()
    for i, tx in enumerate(txs):
        async with conn.transaction():
            seq = await conn.fetchval("UPDATE c SET last_seq = last_seq + 1 WHERE building = 'b1' RETURNING last_seq")
            tid = await conn.fetchval(
                "INSERT INTO t (kind, idempotency_key, ts, operator_id, operator_role, reason, amount_fen, building, "
                "receipt_seq, receipt_no) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
                tx["kind"], tx["idempotency_key"], tx["ts"], tx["operator_id"], tx["operator_role"], tx["reason"],
                tx["amount_fen"], tx["building"], seq, f"b1-{seq:08d}",
            )
            await conn.executemany(
                "INSERT INTO e (transaction_id, account, amount_fen) VALUES ($1, $2, $3)",
                [(tid, e["account"], e["amount_fen"]) for e in entries[2 * i : 2 * i + 2]],
            )
    elapsed = time.perf_counter() - began
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()
    return LEDGER_ROWS / elapsed


def sqlite_executemany(tmp: Path) -> float:
    """Return postings per second for the same rows inserted with sqlite3 executemany (one transaction)."""
    txs, entries = rows_for(LEDGER_ROWS)
    conn = sqlite3.connect(tmp / "plain.db")
    conn.execute("PRAGMA journal_mode=WAL")
    for ddl in SQLITE_TABLES:
        conn.execute(ddl)
    began = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO t VALUES (:id, :kind, :idempotency_key, :ts, :operator_id, :operator_role, :reason, :amount_fen, :building, :receipt_seq, :receipt_no)",
            txs,
        )
        conn.executemany(
            "INSERT INTO e (transaction_id, account, amount_fen) VALUES (:transaction_id, :account, :amount_fen)",
            entries,
        )
    elapsed = time.perf_counter() - began
    conn.close()
    return LEDGER_ROWS / elapsed


async def pg_executemany(schema: str) -> float:
    """Return postings per second for the same rows inserted with asyncpg executemany (one transaction)."""
    txs, entries = rows_for(LEDGER_ROWS)
    conn = await pg_tables(schema)
    began = time.perf_counter()
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO t VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)", [tuple(r.values()) for r in txs]
        )
        await conn.executemany(
            "INSERT INTO e (transaction_id, account, amount_fen) VALUES ($1,$2,$3)",
            [tuple(r.values()) for r in entries],
        )
    elapsed = time.perf_counter() - began
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()
    return LEDGER_ROWS / elapsed


async def main() -> None:
    """Run every measurement and print the figures."""
    results: dict[str, Any] = {"name": "sales", "unit": "ledger postings/s on SQLite, one transaction each"}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        have_pg = await pg_available()
        kinds = {"sqlite": {"db_url": f"sqlite:///{tmp / 'bench.db'}"}}
        if have_pg:
            kinds["postgresql"] = {"db_url": PG_URL, "db_schema": f"bench_{uuid.uuid4().hex[:8]}"}
        for kind, settings in kinds.items():
            figures = await api_sales(tmp, settings)
            print(
                f"API sales on {kind}: {figures['sales_per_s']:.1f} sales/s, p50 {figures['p50_ms']:.1f} ms, "
                f"p99 {figures['p99_ms']:.1f} ms ({CLIENTS} clients x {SALES_PER_CLIENT} sales; the first burst "
                f"after the start, one sale each, not counted: worst {figures['cold_max_ms']:.0f} ms)"
            )
            results[f"{kind}_sales_per_s"] = round(figures["sales_per_s"], 1)
            results[f"{kind}_p50_ms"] = round(figures["p50_ms"], 1)
            results[f"{kind}_p99_ms"] = round(figures["p99_ms"], 1)
            results[f"{kind}_cold_burst_max_ms"] = round(figures["cold_max_ms"])
            if kind == "postgresql":
                db = Database(resolve_url(tmp, PG_URL), settings["db_schema"])
                async with db.engine.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings["db_schema"]}" CASCADE'))
                await db.async_close()
        ours = await ledger_alone(tmp, f"sqlite:///{tmp / 'ledger.db'}", None)
        in_session = await ledger_alone(tmp, f"sqlite:///{tmp / 'ledger-session.db'}", None, "session")
        each = sqlite_one_each(tmp)
        hop = await sqlite_one_hop_each(tmp)
        plain = sqlite_executemany(tmp)
        batched = await ledger_alone(tmp, f"sqlite:///{tmp / 'ledger-batched.db'}", None, "batched")
        print(
            f"ledger alone on sqlite: {ours:,.0f} postings/s one transaction each as a sale posts (a write body), "
            f"{in_session:,.0f}/s in an async session; sqlite3 itself one transaction each {each:,.0f}/s (ratio "
            f"{ours / each:.3f}), the same with one thread hop each {hop:,.0f}/s (the ceiling of a writer that "
            f"does not block the loop: ratio {hop / each:.3f}; ours against it {ours / hop:.3f}); all in one "
            f"transaction {batched:,.0f}/s; plain executemany {plain:,.0f}/s (ratio {ours / plain:.4f})"
        )
        results.update(
            ledger_sqlite_per_s=round(ours),
            ledger_sqlite_session_per_s=round(in_session),
            ledger_sqlite_raw_each_per_s=round(each),
            ledger_sqlite_raw_each_ratio=round(ours / each, 3),
            ledger_sqlite_raw_one_hop_each_per_s=round(hop),
            ledger_sqlite_ceiling_ratio=round(hop / each, 3),
            ledger_sqlite_raw_one_hop_ratio=round(ours / hop, 3),
            ledger_sqlite_executemany_per_s=round(plain),
            ledger_sqlite_executemany_ratio=round(ours / plain, 4),
            ledger_sqlite_one_transaction_per_s=round(batched),
        )
        if have_pg:
            pg_ours = await ledger_alone(tmp, PG_URL, f"bench_{uuid.uuid4().hex[:8]}")
            pg_each = await pg_one_each(f"bench_{uuid.uuid4().hex[:8]}")
            pg_plain = await pg_executemany(f"bench_{uuid.uuid4().hex[:8]}")
            print(
                f"ledger alone on postgresql: {pg_ours:,.0f} postings/s one transaction each; asyncpg itself one "
                f"transaction each {pg_each:,.0f}/s (ratio {pg_ours / pg_each:.3f}); plain executemany "
                f"{pg_plain:,.0f}/s (ratio {pg_ours / pg_plain:.4f})"
            )
            results.update(
                ledger_pg_per_s=round(pg_ours),
                ledger_pg_raw_each_per_s=round(pg_each),
                ledger_pg_raw_each_ratio=round(pg_ours / pg_each, 3),
                ledger_pg_executemany_per_s=round(pg_plain),
                ledger_pg_executemany_ratio=round(pg_ours / pg_plain, 4),
            )
    results["value"] = round(ours)
    results["baseline"] = round(each)
    results["ratio"] = round(ours / each, 3)
    results["ratio_of"] = "ledger postings/s, one transaction each / the same rows by sqlite3 itself, one each"
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
