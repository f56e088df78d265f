"""What a receipt states beside the amount: the money before and after it (the meter's for a meter-side meter,
else the account's wallet), the price in force at its time, the kWh the amount stands for at that price, and the
meter's purchase count (购电次数) after it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select

from . import ledger
from .const import DELIVERY_DELIVERED
from .delivery import deliveries_of, register_count
from .models import EntryRow
from .tariffs import price_now

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlalchemy.ext.asyncio import AsyncSession

    from .models import TransactionRow
    from .tariff_store import Tariffs

HELD_THROUGH = select(func.coalesce(func.sum(EntryRow.amount_fen), 0)).where(
    EntryRow.account == bindparam("account"), EntryRow.transaction_id <= bindparam("transaction_id")
)


async def receipt_facts(
    session: AsyncSession, row: TransactionRow, tariffs: Tariffs, time_zone: ZoneInfo
) -> dict[str, Any]:
    """Return before_fen, after_fen, price (yuan/kWh, None when unknown), kwh and purchase_count of a transaction
    (None for what it does not have)."""
    legs = dict(await ledger.entries_of(session, row.id))
    holders = [ledger.meter_account(row.meter_entity_id)] if row.meter_entity_id else []
    holders += [ledger.tenant_account(row.account_id)] if row.account_id else []
    holder = next((h for h in holders if h in legs), None)
    before = after = None
    if holder is not None:
        after = -int((await session.execute(HELD_THROUGH, {"account": holder, "transaction_id": row.id})).scalar_one())
        before = after + legs[holder]
    price = kwh = None
    if row.meter_entity_id and row.building:
        spec = await tariffs.tariff_spec(session, row.meter_entity_id, row.building, row.ts)
        price = price_now(spec, datetime.fromtimestamp(row.ts, time_zone))
        if price is not None and Decimal(price) > 0:
            kwh = f"{Decimal(abs(row.amount_fen)) / 100 / Decimal(price):.2f}"
    counts = [d["purchase_count"] for d in await deliveries_of(session, row.id)
              if d["status"] == DELIVERY_DELIVERED and d["purchase_count"] is not None]
    return {"before_fen": before, "after_fen": after, "price": price, "kwh": kwh,
            "purchase_count": register_count(counts[-1]) if counts else None}
