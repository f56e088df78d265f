"""`openprepay db upgrade` on a database made by the oldest release: it lists what it will apply, asks for a backup
first (or refuses without a terminal), and the upgrade keeps every row of every table with its values."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Boolean, Column, Float, Integer, LargeBinary, MetaData, String, Table, select

from scada_core.__main__ import main
from scada_core.bootstrap import open_database
from scada_core.config import load_config
from scada_core.db_upgrade import EXIT_DECLINED, EXIT_NOT_ASKED, QUESTION
from scada_core.storage.database import Database, alembic_config
from tests.helpers import drop_schema, write_config

Rows = dict[str, dict[str, Any]]  # table -> its one row (column -> value)

# What later migrations did on purpose to the oldest schema: tables renamed, columns dropped (and why).
RENAMED = {"alipay_orders": "topup_orders"}  # 0019: every provider's orders
DROPPED = {("billing_tariff_versions", "pushed")}  # 0014: billing reconciles what meters hold instead
# Columns added since, with the value old rows must get.
DEFAULTS = {("topup_orders", "provider"): "alipay", ("tenant_credentials", "sms_alerts"): True}


def first_revisions(db: Database) -> list[str]:
    """Return the first revision of every migration branch (core's, billing's and each integration's), base first."""
    script = ScriptDirectory.from_config(alembic_config(db.versions))
    return [rev.revision for rev in reversed(list(script.walk_revisions())) if getattr(rev.module, "branch_labels", None)]


def sample(table: Table, column: Column[Any], index: int) -> Any:
    """Return a value of ``column``'s type that no other column of the row holds."""
    kind = column.type
    if isinstance(kind, Boolean):
        return index % 2 == 0
    if isinstance(kind, Integer):
        return 1000 + index
    if isinstance(kind, Float):
        return index + 0.5
    if isinstance(kind, String):
        return f"{table.name}.{column.name}"[-(kind.length or 255):]
    if isinstance(kind, LargeBinary):
        return bytes([index])
    raise AssertionError(f"no sample value for {table.name}.{column.name} of type {kind!r}: add one")


async def reflect(db: Database) -> MetaData:
    """Return the tables the database holds now (but Alembic's own)."""
    metadata = MetaData()
    async with db.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
    metadata.remove(metadata.tables["alembic_version"])
    return metadata


async def read_row(db: Database, table: Table, key: dict[str, Any]) -> dict[str, Any] | None:
    """Return the row of ``table`` with primary key ``key``."""
    async with db.session() as session:
        query = select(table).where(*(table.c[name] == value for name, value in key.items()))
        row = (await session.execute(query)).mappings().one_or_none()
    return dict(row) if row is not None else None


async def build_oldest(config: Path) -> Rows:
    """Make the oldest release's database with one row in every table (foreign keys pointing at their rows)."""
    db = open_database(load_config(config))
    try:
        for revision in first_revisions(db):
            await db.async_upgrade(revision)
        metadata, rows = await reflect(db), {}
        for table in metadata.sorted_tables:
            row = {column.name: sample(table, column, index) for index, column in enumerate(table.columns)}
            for column in table.columns:
                for key in column.foreign_keys:
                    row[column.name] = rows[key.column.table.name][key.column.name]
            async with db.session() as session:
                await session.execute(table.insert().values(row))
            rows[table.name] = await read_row(db, table, {c.name: row[c.name] for c in table.primary_key.columns})
        return rows
    finally:
        await db.async_close()


async def check_kept(config: Path, before: Rows) -> None:
    """Assert every row is there with its values, and columns added since have their defaults."""
    db = open_database(load_config(config))
    try:
        metadata = await reflect(db)
        for name, old in before.items():
            table = metadata.tables[RENAMED.get(name, name)]
            kept = {column: value for column, value in old.items() if (name, column) not in DROPPED}
            key = {c.name: old[c.name] for c in table.primary_key.columns}
            row = await read_row(db, table, key)
            assert row is not None, f"{name}: the row is gone"
            assert {column: row[column] for column in kept} == kept, name
            for column in table.columns:
                if column.name not in old:
                    assert row[column.name] is not None or column.nullable, f"{table.name}.{column.name}"
                    expected = DEFAULTS.get((table.name, column.name), row[column.name])
                    assert row[column.name] == expected, f"{table.name}.{column.name}"
    finally:
        await db.async_close()


async def revisions(config: Path) -> set[str]:
    """Return the revisions the configuration's database is at."""
    db = open_database(load_config(config))
    try:
        return await db.async_current_revisions()
    finally:
        await db.async_close()


def upgrade(config: Path, *options: str) -> int:
    """Run `openprepay db upgrade -c config` in this process."""
    return main(["db", "upgrade", "-c", str(config), *options])


def test_upgrade_from_the_oldest_release_asks_then_keeps_every_row(
    tmp_path: Path, db_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a terminal it refuses (exit 2) and changes nothing; on a terminal it lists the pending migrations and
    asks for a backup first: 'n' changes nothing, 'y' upgrades keeping every row; then it is up to date."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = write_config(tmp_path / "cfg", {}, db_settings)
    try:
        before = asyncio.run(build_oldest(config))
        oldest = asyncio.run(revisions(config))
        assert len(before) > 20 and "alipay_orders" in before and "billing_entries" in before
        capsys.readouterr()
        with open(os.devnull) as devnull:
            monkeypatch.setattr(sys, "stdin", devnull)
            assert upgrade(config) == EXIT_NOT_ASKED
        out, err = capsys.readouterr()
        assert "0019_topup_orders  Payments: the orders table is every provider's" in out
        assert "openprepay db backup PATH" in err and "--yes" in err
        assert asyncio.run(revisions(config)) == oldest

        terminal, answers = os.openpty()
        with open(answers) as tty, open(terminal, "wb", buffering=0) as keyboard:
            monkeypatch.setattr(sys, "stdin", tty)
            keyboard.write(b"n\n")
            assert upgrade(config) == EXIT_DECLINED
            assert "nothing changed" in capsys.readouterr().out
            assert asyncio.run(revisions(config)) == oldest
            keyboard.write(b"y\n")
            assert upgrade(config) == 0
        out = capsys.readouterr().out
        assert QUESTION in out and "upgraded: database at" in out
        asyncio.run(check_kept(config, before))
        assert upgrade(config, "--yes") == 0
        assert "up to date" in capsys.readouterr().out
    finally:
        asyncio.run(drop_schema(tmp_path, db_settings))
