"""A million readings exported: rows/s and peak memory of the streamed path (database batches into XlsxWriter's
constant-memory sheet, as /meters/<id>/readings.xlsx writes them) against XlsxWriter writing the same rows from a
list already in memory (the plain reference: what the library alone costs).
Last line: one JSON object.
"""
from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from scada_core.reports.excel import XlsxSheet
from scada_core.reports.readings import READING_COLUMNS, reading_batches, reading_cells
from scada_core.storage.database import Database, resolve_url

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far (VmHWM), in MB."""
    found = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


async def main() -> None:
    """Store the readings, export them streamed, then write the same rows from memory."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        db = Database(resolve_url(folder, f"sqlite:///{folder / 'r.db'}"))
        await db.async_upgrade()
        await db.async_close()
        with sqlite3.connect(folder / "r.db") as conn:
            conn.executemany(
                "INSERT INTO readings (entity_id, ts, received_ts, total_wh, sharp_wh, peak_wh, flat_wh, valley_wh,"
                " money_fen, purchase_count, power_w) VALUES ('m.x', ?, ?, ?, 0, 0, ?, 0, 1000, 1, 500)",
                ((1e9 + i * 30, 1e9 + i * 30, i * 10, i * 10) for i in range(ROWS)))
        conn.close()
        before = peak_rss_mb()
        db = Database(resolve_url(folder, f"sqlite:///{folder / 'r.db'}"))
        began = time.perf_counter()
        sheet = XlsxSheet("readings", list(READING_COLUMNS), folder / "streamed.xlsx")
        written = 0
        async for batch in reading_batches(db, "m.x", 0, 2e9, 0, 0, 2000):
            sheet.append([reading_cells(row, str) for row in batch])
            written += len(batch)
        sheet.save()
        streamed = written / (time.perf_counter() - began)
        peak = peak_rss_mb()
        await db.async_close()
        rows = [[str(1e9 + i * 30), i / 100, 0.0, 0.0, i / 100, 0.0, 10.0, 1, 500] for i in range(ROWS)]
        began = time.perf_counter()
        plain = XlsxSheet("readings", list(READING_COLUMNS), folder / "plain.xlsx")
        plain.append(rows)
        plain.save()
        reference = ROWS / (time.perf_counter() - began)
    print(f"{written:,} readings exported streamed at {streamed:,.0f} rows/s, peak memory {peak:.0f} MB "
          f"({before:.0f} MB before the export); XlsxWriter alone from memory {reference:,.0f} rows/s")
    print(json.dumps({"name": "readings_export", "value": round(streamed), "unit": "rows/s",
                      "baseline": round(reference), "ratio": round(streamed / reference, 3), "rows": written,
                      "peak_rss_mb": round(peak), "rss_before_export_mb": round(before)}))


if __name__ == "__main__":
    asyncio.run(main())
