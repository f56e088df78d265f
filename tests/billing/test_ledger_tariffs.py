"""The ledger and tariffs alone (no meters): balanced postings, unique keys, gap-free receipts, prices by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from scada_core.billing import ledger, tariffs
from scada_core.billing.books import Books
from scada_core.billing.errors import BillingError
from scada_core.billing.models import ReceiptCounterRow, TransactionRow
from scada_core.billing.tariff_store import validate_spec
from ..conftest import DB_KINDS

pytestmark = pytest.mark.timeout(60)

TZ = ZoneInfo("Asia/Shanghai")
OP = ledger.Operator("c1", "cashier")


async def _post(
    database, key: str, amount: int = 100, building: str = "b1", kind: str = "sale"
) -> ledger.TransactionRow:
    async with database.session() as session:
        return await ledger.post(
            session,
            kind=kind,
            idempotency_key=key,
            entries=[("cash", amount), ("tenant:1", -amount)],
            operator=OP,
            ts=0.0,
            amount_fen=amount,
            building=building,
        )


async def test_postings_balance_and_keys_are_unique(database) -> None:
    """A transaction must balance; a key is used once; the trial balance sums every account to zero."""
    async with database.session() as session:
        with pytest.raises(ValueError, match="unbalanced"):
            await ledger.post(
                session,
                kind="sale",
                idempotency_key="bad",
                entries=[("cash", 100), ("tenant:1", -99)],
                operator=OP,
                ts=0.0,
                amount_fen=100,
            )
    await _post(database, "k1", 250)
    with pytest.raises(IntegrityError):
        await _post(database, "k1", 250)
    await _post(database, "k2", 50, kind="consumption")
    async with database.session() as session:
        assert await ledger.held(session, "tenant:1") == 300
        assert await ledger.balance(session, "cash") == 300
        trial = await ledger.trial_balance(session)
    assert trial == {
        "accounts": {"cash": 300, "tenant:1": -300},
        "total_fen": 0,
        "unbalanced_transactions": 0,
        "balanced": True,
    }


async def test_post_once_hands_back_the_first_transaction_of_a_taken_key(database, core) -> None:
    """A second posting under a key raises KeyTaken (from the IntegrityError, the write rolled back), and the
    books return the first transaction as a repeat; a key never taken raises the original error."""
    first = await _post(database, "once-1", 250)
    posting = {"kind": "sale", "entries": [("cash", 99), ("tenant:1", -99)], "operator": OP, "ts": 0.0,
               "amount_fen": 99, "building": "b1"}
    with pytest.raises(ledger.KeyTaken) as taken:
        async with database.write() as session:
            await ledger.post_once(session, "once-1", **posting)
    assert taken.value.key == "once-1" and isinstance(taken.value.__cause__, IntegrityError)
    books = Books(database, core.clock, core.bus, {}, core.async_create_task)
    earlier = await books.taken(taken.value)
    assert earlier["repeated"] and earlier["transaction"]["id"] == first.id
    assert earlier["transaction"]["amount_fen"] == 250
    async with database.session() as session:
        assert await ledger.held(session, "tenant:1") == 250  # the second posting left nothing
    orphan = ledger.KeyTaken("never-posted")
    orphan.__cause__ = IntegrityError("INSERT", {}, Exception("another constraint"))
    with pytest.raises(IntegrityError):
        await books.taken(orphan)


async def test_a_receipt_number_past_eight_digits_keeps_every_digit(database) -> None:
    """Receipt numbers are the building and at least eight digits: the 100,000,000th keeps its nine (as it is
    written on SQLite, where it is numbered at posting, and on PostgreSQL, at commit)."""
    first = await _post(database, "first", building="b9")
    assert first.receipt_no == "b9-00000001"
    async with database.session() as session:
        await session.execute(
            update(ReceiptCounterRow).where(ReceiptCounterRow.building == "b9").values(last_seq=99_999_999)
        )
    later = await _post(database, "later", building="b9")
    assert (later.receipt_seq, later.receipt_no) == (100_000_000, "b9-100000000")
    async with database.session() as session:
        stored = await session.get(TransactionRow, later.id)
    assert (stored.receipt_seq, stored.receipt_no) == (100_000_000, "b9-100000000")


async def test_receipt_numbers_gap_free_per_building_under_concurrency(database) -> None:
    """Concurrent sales get consecutive receipt numbers per building; a rolled-back sale leaves no gap."""

    async def failing() -> None:
        async with database.session() as session:
            await ledger.next_receipt(session, "b1")
            raise RuntimeError("sale refused after numbering")

    with pytest.raises(RuntimeError):
        await failing()
    if database.dialect == "sqlite":  # one writer: run them one after another
        rows = [await _post(database, f"s{i}", building="b1" if i % 3 else "b2") for i in range(30)]
    else:
        rows = await asyncio.gather(
            *(_post(database, f"s{i}", building="b1" if i % 3 else "b2") for i in range(30))
        )
    b1 = sorted(r.receipt_seq for r in rows if r.building == "b1")
    b2 = sorted(r.receipt_seq for r in rows if r.building == "b2")
    assert b1 == list(range(1, 21)) and b2 == list(range(1, 11))
    assert {r.receipt_no for r in rows if r.receipt_seq == 1} == {"b1-00000001", "b2-00000001"}


@pytest.mark.parametrize("db_kind", [kind for kind in DB_KINDS if kind == "postgresql"])
async def test_an_open_sale_does_not_hold_the_buildings_receipt_counter(database) -> None:
    """PostgreSQL writers run side by side: a sale still checking and delivering inside its transaction does not
    stop another sale of the building from committing (the counter row is locked only at commit); numbers follow
    the commits, gap-free."""
    async with database.session() as slow:
        first = await ledger.post(
            slow, kind="sale", idempotency_key="slow", entries=[("cash", 100), ("tenant:1", -100)],
            operator=OP, ts=0.0, amount_fen=100, building="b1",
        )
        quick = await asyncio.wait_for(_post(database, "quick"), 5)  # waited for the slow one's commit before
        assert quick.receipt_no == "b1-00000001"
    assert first.receipt_seq == 2 and first.receipt_no == "b1-00000002"
    async with database.session() as session:
        stored = await ledger.find_transaction(session, "slow")
    assert stored is not None and stored.receipt_no == "b1-00000002"


def test_flat_rounds_half_up_to_fen() -> None:
    """0.6123 yuan/kWh x 1.234 kWh = 0.7555782 yuan -> 76 fen; 5 Wh at 1 yuan = 0.5 fen -> 1 fen."""
    flat = validate_spec({"kind": "flat", "price": "0.6123"})
    assert tariffs.charge(flat, 1234, datetime(2026, 1, 1, tzinfo=TZ)).fen == 76
    assert (
        tariffs.charge(validate_spec({"kind": "flat", "price": "1"}), 5, datetime(2026, 1, 1, tzinfo=TZ)).fen
        == 1
    )


def test_tou_by_local_time_and_season() -> None:
    """Rates follow the local time of the reading; July uses its season's periods; before 00:00 wraps."""
    tou = validate_spec(
        {
            "kind": "tou",
            "prices": {"sharp": "1.5", "peak": "1.2", "flat": "0.8", "valley": "0.3"},
            "periods": [
                {"start": "08:00", "rate": "flat"},
                {"start": "10:00", "rate": "peak"},
                {"start": "19:00", "rate": "sharp"},
                {"start": "21:00", "rate": "flat"},
                {"start": "23:00", "rate": "valley"},
            ],
            "seasons": [
                {
                    "months": [7, 8],
                    "periods": [{"start": "00:00", "rate": "valley"}, {"start": "12:00", "rate": "sharp"}],
                }
            ],
        }
    )

    def at(month: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, month, 3, hour, minute, tzinfo=TZ)

    assert tariffs.rate_at(tou, at(3, 7, 59)) == "valley"  # still the 23:00 period of the day before
    assert tariffs.rate_at(tou, at(3, 8)) == "flat"
    assert tariffs.rate_at(tou, at(3, 20, 30)) == "sharp"
    assert tariffs.rate_at(tou, at(7, 13)) == "sharp" and tariffs.rate_at(tou, at(7, 9)) == "valley"
    # 2.5 kWh at 20:30 (sharp 1.5) = 3.75 yuan; 2.5 kWh at 02:00 (valley 0.3) = 0.75 yuan.
    assert tariffs.charge(tou, 2500, at(3, 20, 30)) == tariffs.Charge(375, {"sharp": 2500})
    assert tariffs.charge(tou, 2500, at(3, 2)).fen == 75
    # A UTC timestamp is priced by its Shanghai hour: 12:30 UTC is 20:30 in Shanghai.
    utc_noon = datetime(2026, 3, 3, 12, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert tariffs.rate_at(tou, datetime.fromtimestamp(utc_noon, TZ)) == "sharp"


def test_tiered_bands_by_cumulative_use() -> None:
    """Bands apply to the period's cumulative use: 180 kWh used, 50 more = 20 @0.5 + 30 @0.6 = 28.00 yuan."""
    tiered = validate_spec(
        {
            "kind": "tiered",
            "period": "year",
            "bands": [
                {"up_to_kwh": 200, "price": "0.5"},
                {"up_to_kwh": 400, "price": "0.6"},
                {"price": "0.9"},
            ],
        }
    )
    day = datetime(2026, 5, 1, tzinfo=TZ)
    assert tariffs.charge(tiered, 50_000, day, used_wh=180_000) == tariffs.Charge(
        2800, {"band1": 20_000, "band2": 30_000}
    )
    # 390 kWh used, 20 more: 10 @0.6 + 10 @0.9 = 15.00; far past the last bound stays at 0.9.
    assert tariffs.charge(tiered, 20_000, day, used_wh=390_000).fen == 1500
    assert tariffs.charge(tiered, 1000, day, used_wh=900_000).fen == 90
    assert tariffs.period_key(tiered, day) == "2026"


def test_bad_tariff_is_refused_with_the_reason() -> None:
    """A price with 5 decimals or an unknown rate names the mistake."""
    with pytest.raises(BillingError, match="at most 4 decimals"):
        validate_spec({"kind": "flat", "price": "0.12345"})
    with pytest.raises(BillingError, match="invalid tariff"):
        validate_spec(
            {"kind": "tou", "prices": {"peak": "1"}, "periods": [{"start": "08:00", "rate": "noon"}]}
        )
