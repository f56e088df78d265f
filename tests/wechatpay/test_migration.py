"""Migration 0010: orders made before it are Alipay's, and each provider's sweeps take only its own orders."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from integrations.topup.orders import OrderStore
from scada_core.clock import Clock
from scada_core.storage.database import Database, resolve_url
from tests.helpers import close_database


async def test_existing_orders_become_alipay_orders(db_settings: dict[str, str], tmp_path: Path) -> None:
    """An order stored at 0007 is an Alipay order after the upgrade; WeChat Pay's store does not sweep it."""
    db = Database(resolve_url(tmp_path, db_settings["db_url"]), db_settings.get("db_schema"))
    try:
        await db.async_upgrade("0007_alipay")
        async with db.session() as session:
            await session.execute(
                text(
                    "INSERT INTO alipay_orders (out_trade_no, account_id, amount_fen, channel, state,"
                    " subject, created_ts, expire_ts, refunded_fen, credited)"
                    " VALUES ('TU1', 1, 5000, 'wap', 'PENDING', 's', 1, 2, 0, false)"
                )
            )
        await db.async_upgrade()
        alipay, wechat = OrderStore(db, Clock(), "alipay", "TU"), OrderStore(db, Clock(), "wechatpay", "TW")
        assert (await alipay.get("TU1")).provider == "alipay"  # type: ignore[union-attr]
        assert [o.out_trade_no for o in await alipay.due_for_query(10)] == ["TU1"]
        assert await wechat.due_for_query(10) == []
        created = await wechat.create(1, 2000, "qr", "s", 900)
        assert created.provider == "wechatpay" and created.out_trade_no.startswith("TW")
        assert [o.out_trade_no for o in await wechat.due_for_query(created.created_ts + 1)] == [
            created.out_trade_no
        ]
        assert [o.out_trade_no for o in await alipay.due_for_query(created.created_ts + 1)] == ["TU1"]
        assert {o.out_trade_no for o in await alipay.for_account(1)} == {"TU1", created.out_trade_no}
        await db.async_downgrade("0010_payment_provider-1")  # back out this migration alone
        assert "0007_alipay" in await db.async_current_revisions()
        async with db.session() as session:
            row = (
                (await session.execute(text("SELECT * FROM alipay_orders WHERE out_trade_no = 'TU1'")))
                .mappings()
                .one()
            )
        assert "provider" not in row
    finally:
        await close_database(db)
