"""The demo seed on a copy of the shipped demo tower: most shops opened, every status colour, 60 days of sales
and readings, meters and books in agreement at the next start, and a second run that changes nothing."""
from __future__ import annotations

import asyncio
import collections
from datetime import datetime
from zoneinfo import ZoneInfo
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from scada_core.billing.const import KIND_SALE
from scada_core.billing.models import AccountRow, TransactionRow
from scada_core.bootstrap import async_setup_core, open_database
from scada_core.config import load_config
from integrations.dtsy1352_simulator.seed import DAYS, SeedRefused, async_seed
from scada_core.storage.models import ReadingRow
from tests.demo import copy_demo
from tests.helpers import wait_for

pytestmark = pytest.mark.timeout(180)


async def _rows(config: Path, statement: Any) -> list[Any]:
    db = open_database(load_config(config))
    try:
        async with db.session() as session:
            return list((await session.execute(statement)).all())
    finally:
        await db.async_close()


@pytest.fixture(autouse=True)
def own_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo keeps its own SQLite file, as it does when run (never the suite's shared PostgreSQL)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


async def test_seed_the_demo_tower_then_start_it(tmp_path: Path) -> None:
    """After the seed the tower starts with opened shops in every status, a held and a silent meter, balanced
    books, no tamper block, 60 days of readings and sales; the seed then refuses to run twice."""
    config = copy_demo(tmp_path / "demo", wire_timing=False)
    said = await async_seed(config)
    assert said.startswith("seeded 126 shops"), said
    tz = ZoneInfo(load_config(config).core["time_zone"])
    sales = await _rows(config, select(TransactionRow.ts).where(TransactionRow.kind == KIND_SALE))
    days = {datetime.fromtimestamp(ts, tz).date() for (ts,) in sales}
    assert len(sales) > 200 and len(days) > DAYS * 0.6, (len(sales), len(days))
    meter = "acrel_dtsy1352.b1_f2_0201"
    [(first, last, count)] = await _rows(config, select(func.min(ReadingRow.ts), func.max(ReadingRow.ts),
                                                        func.count()).where(ReadingRow.entity_id == meter))
    assert last - first > (DAYS - 1) * 86400 and count >= DAYS * 8
    assert await async_seed(config) == "already seeded: nothing changed"
    [(first_key,)] = await _rows(config, select(AccountRow.open_key).where(AccountRow.id == 1))
    assert first_key == "tenant-provision:acrel_dtsy1352.b1_f3_0301"  # the README's demo tenant is account 1

    core = await async_setup_core(load_config(config))
    try:
        billing = core.data["billing"]
        await wait_for(lambda: (s := core.states.get("acrel_dtsy1352.b1_f2_0201")) is not None
                       and s.attributes.get("online") is True, what="the tower answers", timeout=60)

        async def statuses() -> collections.Counter[str]:
            return collections.Counter(s["status"] for s in await billing.meter_statuses())

        deadline = asyncio.get_running_loop().time() + 90
        while (counted := await statuses())["offline"] != 1 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(1)
        assert counted["not_opened"] == 18 and counted["offline"] == 1, counted
        assert counted["alarm1"] + counted["alarm2"] >= 5 and counted["arrears"] >= 2, counted
        every = await billing.meter_statuses()
        assert not any(s["blocked"] for s in every), [s for s in every if s["blocked"]]  # meters and books agree
        trial = await billing.trial_balance()
        assert trial["balanced"] and trial["total_fen"] == 0
        opened = [s["entity_id"] for s in every if s["account_id"] is not None]
        held = [e for e in opened if (await billing.meter_status(e))["control"]["holder"] == "staff"]
        assert len(held) == 1, held  # 保电 by staff (the others may be held by prepaid control on a holiday)
        categories = collections.Counter((await billing.meter_categories()).values())
        assert categories == {"office": 76, "retail": 33, "catering": 22, "public_lighting": 12, "important": 1}
        assert (await billing.meter_categories())[held[0]] == "important"
        assert [p["action"] for p in await billing.load_plans()] == ["trip", "limit"]
    finally:
        await core.async_stop()


async def test_seed_refuses_a_database_with_real_accounts(tmp_path: Path) -> None:
    """Demo data is never mixed into a site's own accounts."""
    config = copy_demo(tmp_path / "demo", wire_timing=False)
    db = open_database(load_config(config))
    await db.async_upgrade()
    async with db.write() as session:
        session.add(AccountRow(building="b1", name="真实商户", status="open", overdraft_fen=0, opened_ts=0.0,
                               open_key="real-1"))
    await db.async_close()
    with pytest.raises(SeedRefused):
        await async_seed(config)
    assert len(await _rows(config, select(AccountRow.id))) == 1
