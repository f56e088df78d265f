"""What an account spent on electricity per local day (consumption and monthly fees), for the tenant's estimate
of the days its money lasts and the cost beside each day's kWh."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import select

from .const import KIND_CONSUMPTION, KIND_FEE
from .models import TransactionRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


async def spent_by_day(
    session: AsyncSession, account_id: int, since_ts: float, tz: tzinfo, entity_id: str | None = None,
    until_ts: float | None = None,
) -> dict[date, int]:
    """Return the fen an account's meters (or its meter ``entity_id``) used up on each local day since
    ``since_ts`` (and before ``until_ts``, when given)."""
    stmt = select(TransactionRow.ts, TransactionRow.amount_fen).where(
        TransactionRow.account_id == account_id,
        TransactionRow.kind.in_((KIND_CONSUMPTION, KIND_FEE)),
        TransactionRow.ts >= since_ts,
    )
    if entity_id is not None:
        stmt = stmt.where(TransactionRow.meter_entity_id == entity_id)
    if until_ts is not None:
        stmt = stmt.where(TransactionRow.ts < until_ts)
    rows = await session.execute(stmt)
    spent: dict[date, int] = {}
    for ts, fen in rows:
        day = datetime.fromtimestamp(ts, tz).date()
        spent[day] = spent.get(day, 0) + int(fen)
    return spent
