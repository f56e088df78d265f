"""Migration 0019: ``alipay_orders`` becomes ``topup_orders`` with every row, index and constraint; and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from scada_core.storage.database import Database, resolve_url

INSERT = (
    "INSERT INTO {} (out_trade_no, account_id, amount_fen, channel, state, subject, created_ts, expire_ts,"
    " refunded_fen, credited, provider) VALUES ('{}', 1, 5000, 'wap', 'PENDING', 's', 1, 2, 0, false, '{}')"
)


async def _rows(db: Database, table: str) -> list[tuple[str, str, int]]:
    async with db.session() as session:
        result = await session.execute(text(f"SELECT out_trade_no, provider, amount_fen FROM {table} ORDER BY id"))
        return [tuple(row) for row in result]


async def _indexes(db: Database, table: str) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: {ix["name"] for ix in inspect(sync).get_indexes(table, schema=db.schema)}
        )


async def test_orders_survive_the_rename_and_back(db_settings: dict[str, str], tmp_path: Path) -> None:
    """Rows made at 0018 are in topup_orders after the upgrade, back in alipay_orders after the downgrade."""
    db = Database(resolve_url(tmp_path, db_settings["db_url"]), db_settings.get("db_schema"))
    try:
        await db.async_upgrade("0018_order_meter")
        async with db.session() as session:
            await session.execute(text(INSERT.format("alipay_orders", "TU1", "alipay")))
            await session.execute(text(INSERT.format("alipay_orders", "TW1", "wechatpay")))
        before = await _rows(db, "alipay_orders")
        assert len(before) == 2
        await db.async_upgrade("0019_topup_orders")
        assert await _rows(db, "topup_orders") == before
        assert {"ix_topup_orders_account_id", "ix_topup_orders_state", "ix_topup_orders_provider"} <= (
            await _indexes(db, "topup_orders")
        )
        with pytest.raises(IntegrityError):  # the unique out_trade_no came along
            async with db.session() as session:
                await session.execute(text(INSERT.format("topup_orders", "TU1", "alipay")))
        async with db.session() as session:  # the id sequence still numbers new rows
            await session.execute(text(INSERT.format("topup_orders", "TU2", "alipay")))
        await db.async_downgrade("0018_order_meter")
        assert await _rows(db, "alipay_orders") == [*before, ("TU2", "alipay", 5000)]
        assert "ix_alipay_orders_provider" in await _indexes(db, "alipay_orders")
        await db.async_upgrade("0019_topup_orders")
        assert await _rows(db, "topup_orders") == [*before, ("TU2", "alipay", 5000)]
    finally:
        if db.schema:
            async with db.engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
        await db.async_close()
