"""Signed order references: one secret per database, made once (even when two processes race), kept."""
from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from integrations.topup.models import TopUpSecretRow
from integrations.topup.references import OrderReferences
from scada_core.storage.database import Database


async def test_references_survive_a_restart_and_name_one_order(database: Database) -> None:
    """Two processes' first use at once makes one secret; a later process verifies what they signed; another
    order's reference, a changed one and non-ASCII text are refused."""
    first, second = OrderReferences(database), OrderReferences(database)
    ref_a, ref_b = await asyncio.gather(first.sign("TU1"), second.sign("TU1"))
    assert ref_a == ref_b and len(ref_a) == 64
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(TopUpSecretRow)) == 1
    later = OrderReferences(database)
    assert await later.verify("TU1", ref_a)
    assert not await later.verify("TU2", ref_a)
    assert not await later.verify("TU1", ref_a[:-1] + ("0" if ref_a[-1] != "0" else "1"))
    assert not await later.verify("TU1", "é" * 64)
    assert not await later.verify("TU1", "")
    assert await later.sign("TU2") != ref_a


async def test_migration_0012_goes_down_and_up(database: Database) -> None:
    """The secrets table comes and goes with its migration alone."""
    await database.async_downgrade("0012_topup_secret-1")
    assert "0010_payment_provider" in await database.async_current_revisions()
    await database.async_upgrade()
    assert await OrderReferences(database).sign("TU1")
