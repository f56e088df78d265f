"""`openprepay db backup|restore|check` on a ledger being written: the backup is taken while sales run, restored
into a fresh directory and checked; a newer database is overwritten only with --force; a corrupted row is named."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from scada_core.__main__ import main
from scada_core.bootstrap import open_database
from scada_core.config import load_config
from tests.helpers import wait_for, write_config

from .conftest import ADMIN, CASHIER

pytestmark = pytest.mark.timeout(120)

M1, M2 = "acrel_dtsy1352.m1", "acrel_dtsy1352.m2"
LEDGER = text(
    "SELECT t.id, t.kind, t.idempotency_key, t.amount_fen, e.account, e.amount_fen FROM billing_transactions t "
    "JOIN billing_entries e ON e.transaction_id = t.id ORDER BY t.id, e.id"
)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the command line in-process, off the event loop; return its exit code and what it printed."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out + err


async def ledger_rows(config: Path, statement: Any = LEDGER) -> list[tuple[Any, ...]]:
    """Return rows of the database a configuration names."""
    db = open_database(load_config(config, probe_ports=False))
    try:
        async with db.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(statement)]
    finally:
        await db.async_close()


async def execute(config: Path, statement: str) -> None:
    """Change the database a configuration names with one SQL statement (the corruption a check must find)."""
    db = open_database(load_config(config, probe_ports=False))
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await db.async_close()


async def test_backup_while_selling_then_restore_and_check(
    start_site: Any, db_kind: str, db_settings: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup taken mid-way through a run of sales restores (the server stopped, from a fresh directory) to a
    ledger that balances and is exactly the live one up to that moment (no transaction half there); restore
    refuses a newer database unless --force; the check names a corrupted entry and a meter above its mirror."""
    site = await start_site(units=2)
    live = site.core.config.config_dir
    for meter in (M1, M2):
        await site.billing.open_account(f"shop {meter}", [meter], ADMIN)
    sold = 0
    stop = asyncio.Event()

    async def sell(meter: str) -> None:
        nonlocal sold
        for n in range(1000):
            if stop.is_set():
                return
            await site.billing.sell(meter, 100 + n, "cash", f"{meter}-{n}", CASHIER)
            sold += 1

    sales = [asyncio.create_task(sell(meter)) for meter in (M1, M2)]
    first, second = tmp_path / "backups" / "first.db", tmp_path / "backups" / "second.db"
    try:
        await wait_for(lambda: sold >= 6, what="sales under way")
        code, out = await cli(capsys, "db", "backup", str(first), "-c", str(live))
        assert code == 0, out
        at_backup = sold
        await wait_for(lambda: sold >= at_backup + 6, what="sales after the backup")
    finally:
        stop.set()
        await asyncio.gather(*sales)
    assert (await cli(capsys, "db", "backup", str(second), "-c", str(live)))[0] == 0
    live_rows = await ledger_rows(live)
    code, out = await cli(capsys, "db", "restore", str(first), "-c", str(live))
    assert code == 1 and "newer than the backup" in out and "--force" in out, out
    await site.core.async_stop()

    # A fresh directory: its own SQLite file; on PostgreSQL the same schema (pg_restore keeps a schema's name).
    fresh = write_config(tmp_path / "fresh", {"core": {"time_zone": "Asia/Shanghai"}},
                         {} if db_kind == "sqlite" else db_settings)
    assert (await cli(capsys, "db", "restore", str(second), "-c", str(fresh)))[0] == 0  # not newer: no --force
    assert await ledger_rows(fresh) == live_rows
    # Sales settled: the check names a corrupted entry and a meter that reported more than its mirror holds.
    [(tid, kind)] = await ledger_rows(fresh, text(
        "SELECT id, kind FROM billing_transactions WHERE id = (SELECT max(transaction_id) FROM billing_entries)"))
    await execute(fresh, f"UPDATE billing_entries SET amount_fen = amount_fen + 7 WHERE id = "
                         f"(SELECT min(id) FROM billing_entries WHERE transaction_id = {tid})")
    [(held,)] = await ledger_rows(fresh, text(
        f"SELECT -sum(amount_fen) FROM billing_entries WHERE account = 'meter:{M1}'"))
    [(count,)] = await ledger_rows(fresh, text(f"SELECT purchase_count FROM billing_meters WHERE entity_id = '{M1}'"))
    await execute(fresh, "INSERT INTO readings (entity_id, ts, received_ts, total_wh, money_fen, purchase_count) "
                         f"VALUES ('{M1}', 4e9, 4e9, 0, {held + 500}, {count})")
    code, out = await cli(capsys, "db", "check", "-c", str(fresh))
    assert code == 1, out
    assert f"transaction {tid} ({kind}" in out and "entries sum to 7 fen" in out, out
    assert f"meter {M1}" in out and "500 fen not in the ledger" in out, out

    code, out = await cli(capsys, "db", "restore", str(first), "-c", str(fresh))
    assert code == 1 and "newer" in out
    assert (await cli(capsys, "db", "restore", str(first), "-c", str(fresh), "--force"))[0] == 0
    code, out = await cli(capsys, "db", "check", "-c", str(fresh))
    assert code == 0 and "OK" in out, out
    restored = await ledger_rows(fresh)
    restored_ids = {row[0] for row in restored}
    assert restored == [row for row in live_rows if row[0] in restored_ids]  # every transaction whole
    assert 6 <= len(restored_ids) < len({row[0] for row in live_rows})
