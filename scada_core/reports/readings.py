"""A meter's readings over a time range, oldest first, thinned to one per interval, read in batches: what a
readings export writes without ever holding the range (a year at one reading a minute is half a million rows)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from scada_core.storage.models import ReadingRow

from .table import kwh, yuan

if TYPE_CHECKING:
    from sqlalchemy.engine import Row

    from scada_core.storage.database import Database

# A readings export's columns (message keys) and the cells of one reading under them.
READING_COLUMNS = ("col_time", "col_total_kwh", "col_sharp", "col_peak", "col_flat", "col_valley", "col_remaining",
                   "col_purchase_count", "col_power")


def reading_cells(row: Row[Any], when: Callable[[float], str]) -> list[Any]:
    """Return one reading's cells: its time as ``when`` writes it, kWh and yuan exact."""
    return [when(row.ts), kwh(row.total_wh), kwh(row.sharp_wh), kwh(row.peak_wh), kwh(row.flat_wh),
            kwh(row.valley_wh), yuan(row.money_fen), row.purchase_count, row.power_w]


# Intervals a readings export may thin to (seconds; 0 keeps every reading).
INTERVALS = {"all": 0, "15m": 900, "1h": 3600, "1d": 86400}
_COLUMNS = (ReadingRow.id, ReadingRow.ts, ReadingRow.total_wh, ReadingRow.sharp_wh, ReadingRow.peak_wh,
            ReadingRow.flat_wh, ReadingRow.valley_wh, ReadingRow.money_fen, ReadingRow.purchase_count,
            ReadingRow.power_w)


async def reading_batches(
    db: Database, entity_id: str, since: float, until: float, interval_s: int, offset_s: int, size: int
) -> AsyncIterator[list[Row[Any]]]:
    """Yield the meter's readings in [since, until), oldest first, ``size`` read at a time (each read its own
    short transaction); with ``interval_s``, only the first reading of each interval (intervals start at local
    midnight: ``offset_s`` is the site's offset from UTC)."""
    after: tuple[float, int] | None = None
    last_bucket: int | None = None
    while True:
        statement = (
            select(*_COLUMNS)
            .where(ReadingRow.entity_id == entity_id, ReadingRow.ts >= since, ReadingRow.ts < until)
            .order_by(ReadingRow.ts, ReadingRow.id)
            .limit(size)
        )
        if after is not None:
            statement = statement.where(or_(ReadingRow.ts > after[0],
                                            and_(ReadingRow.ts == after[0], ReadingRow.id > after[1])))
        async with db.session() as session:
            rows = (await session.execute(statement)).all()
        if not rows:
            return
        after = (rows[-1].ts, rows[-1].id)
        if interval_s:
            kept = []
            for row in rows:
                bucket = int((row.ts + offset_s) // interval_s)
                if bucket != last_bucket:
                    kept.append(row)
                    last_bucket = bucket
            rows = kept
        if rows:
            yield rows
