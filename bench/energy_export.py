"""A year of daily energy for many meters exported as the energy report does it (per day × meter, TOU split, the
cost billing charged, subtotals per floor): rows/s and peak memory of the streamed path (a few meters' days per
batch into XlsxWriter's constant-memory sheet) against XlsxWriter writing the same rows from a list in memory (the
plain reference: what the library alone costs).
`--meters N` (1,000 by default: 365,000 meter-days; the issue's case is 10,000), `--streamed-only` skips the
reference (the memory test runs it so). Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from datetime import date
from pathlib import Path
from typing import Any

from exports import measure, peak_rss_mb, print_figures, written_from_memory

from scada_core.reports.energy import LINE_ROW, detail_columns, energy_lines, line_cells, report_meters
from scada_core.reports.excel import XlsxSheet
from scada_core.reports.rollup import date_day
from scada_core.storage.database import Database, resolve_url

DAYS = 365
FIRST = date_day(date(2025, 1, 1))
LABELS = {"subtotal": "小计", "total": "合计"}


def entity(n: int) -> str:
    """Return the bench's meter n."""
    return f"acrel_dtsy1352.m{n:05d}"


def place(entity_id: str) -> dict[str, Any]:
    """Put meter n on floor n mod 30 of one building."""
    return {"building": "b1", "floor": f"{int(entity_id[-5:]) % 30 + 1}F"}


def fill(path: Path, meters: int) -> None:
    """Store a year of split days and one consumption charge per meter-day."""
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO energy_daily (entity_id, day, first_wh, last_wh, use_wh, readings, sharp_wh, peak_wh,"
            " flat_wh, valley_wh, sharp_last_wh, peak_last_wh, flat_last_wh, valley_last_wh)"
            " VALUES (?, ?, 0, 0, 10000, 48, 1000, 3000, 4000, 2000, 0, 0, 0, 0)",
            ((entity(n), FIRST + d) for n in range(meters) for d in range(DAYS)))
        conn.executemany(
            "INSERT INTO billing_transactions (kind, idempotency_key, ts, operator_id, operator_role, reason,"
            " meter_entity_id, amount_fen) VALUES ('consumption', ?, ?, 'billing', 'system', '', ?, 850)",
            ((f"{n}:{d}", (FIRST + d) * 86400 + 36000.0, entity(n)) for n in range(meters) for d in range(DAYS)))
    conn.close()


async def streamed_export(folder: Path, meters: int) -> dict[str, float]:
    """Fill the database, export the year streamed; return meter rows written, rows/s and memory."""
    url = resolve_url(folder, f"sqlite:///{folder / 'e.db'}")
    db = Database(url)
    await db.async_upgrade()
    await db.async_close()
    fill(folder / "e.db", meters)
    before = peak_rss_mb()
    db = Database(url)
    began = time.perf_counter()
    chosen = await report_meters(db, FIRST, FIRST + DAYS - 1, 0, "floor", place)
    sheet = XlsxSheet("energy", detail_columns("floor"), folder / "streamed.xlsx")
    written = 0
    async for batch in energy_lines(db, chosen, FIRST, FIRST + DAYS - 1, 0, "day"):
        sheet.append([line_cells(line, str, LABELS) for line in batch])
        written += sum(1 for line in batch if line.kind == LINE_ROW)
    sheet.save()
    elapsed = time.perf_counter() - began
    await db.async_close()
    return {"rows": written, "rows_per_s": written / elapsed, "peak_rss_mb": peak_rss_mb(),
            "rss_before_export_mb": before}


def from_memory(folder: Path, rows: int) -> float:
    """Return rows/s of XlsxWriter writing rows of the same shape from a list (the reference)."""
    cells = [["1F", "2025-01-01", entity(n), entity(n), 1.0, 3.0, 4.0, 2.0, 0.0, 10.0, 8.5] for n in range(rows)]
    return written_from_memory(folder / "plain.xlsx", detail_columns("floor"), cells)


async def main() -> None:
    """Export streamed, then (unless --streamed-only) write the same number of rows from memory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--streamed-only", action="store_true")
    args = parser.parse_args()
    figures, reference = await measure(lambda folder: streamed_export(folder, args.meters), from_memory,
                                       args.streamed_only)
    print_figures("energy_report_export", f"energy rows ({args.meters:,} meters × {DAYS} days)", figures, reference,
                  meters=args.meters)

if __name__ == "__main__":
    asyncio.run(main())
