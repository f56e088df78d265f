"""A million readings exported: rows/s and peak memory of the streamed path (database batches into XlsxWriter's
constant-memory sheet, as /meters/<id>/readings.xlsx writes them) against XlsxWriter writing the same rows from a
list already in memory (the plain reference: what the library alone costs).
`--rows N` exports N readings (a million by default); `--streamed-only` skips the reference (the memory test runs
it so). Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from scada_core.reports.excel import XlsxSheet
from scada_core.reports.readings import READING_COLUMNS, reading_batches, reading_cells
from scada_core.storage.database import Database, resolve_url


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far (VmHWM), in MB."""
    found = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


async def streamed_export(folder: Path, count: int) -> dict[str, float]:
    """Store ``count`` readings of one meter, export them streamed; return rows written, rows/s and memory."""
    db = Database(resolve_url(folder, f"sqlite:///{folder / 'r.db'}"))
    await db.async_upgrade()
    await db.async_close()
    with sqlite3.connect(folder / "r.db") as conn:
        conn.executemany(
            "INSERT INTO readings (entity_id, ts, received_ts, total_wh, sharp_wh, peak_wh, flat_wh, valley_wh,"
            " money_fen, purchase_count, power_w) VALUES ('m.x', ?, ?, ?, 0, 0, ?, 0, 1000, 1, 500)",
            ((1e9 + i * 30, 1e9 + i * 30, i * 10, i * 10) for i in range(count)))
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
    elapsed = time.perf_counter() - began
    await db.async_close()
    return {"rows": written, "rows_per_s": written / elapsed, "peak_rss_mb": peak_rss_mb(),
            "rss_before_export_mb": before}


def written_from_memory(path: Path, columns: list[str], rows: list[list[Any]]) -> float:
    """Return rows/s of XlsxWriter writing ``rows`` from a list already in memory (the plain reference)."""
    began = time.perf_counter()
    plain = XlsxSheet("reference", columns, path)
    plain.append(rows)
    plain.save()
    return len(rows) / (time.perf_counter() - began)


def from_memory(folder: Path, count: int) -> float:
    """Return rows/s of XlsxWriter writing the same rows from a list (the reference)."""
    rows = [[str(1e9 + i * 30), i / 100, 0.0, 0.0, i / 100, 0.0, 10.0, 1, 500] for i in range(count)]
    return written_from_memory(folder / "plain.xlsx", list(READING_COLUMNS), rows)


def print_figures(name: str, what: str, figures: dict[str, float], reference: float | None, **extra: Any) -> None:
    """Print the streamed export's figures (``what`` it exported) for people, then as the JSON last line."""
    print(f"{figures['rows']:,.0f} {what} exported streamed at {figures['rows_per_s']:,.0f} rows/s, peak memory "
          f"{figures['peak_rss_mb']:.0f} MB ({figures['rss_before_export_mb']:.0f} MB before the export)"
          + (f"; XlsxWriter alone from memory {reference:,.0f} rows/s" if reference else ""))
    print(json.dumps({"name": name, "value": round(figures["rows_per_s"]), "unit": "rows/s",
                      "baseline": round(reference) if reference else None,
                      "ratio": round(figures["rows_per_s"] / reference, 3) if reference else None,
                      "rows": figures["rows"], **extra, "peak_rss_mb": round(figures["peak_rss_mb"], 1),
                      "rss_before_export_mb": round(figures["rss_before_export_mb"], 1)}))


async def measure(
    export: Callable[[Path], Awaitable[dict[str, float]]], reference: Callable[[Path, int], float],
    streamed_only: bool,
) -> tuple[dict[str, float], float | None]:
    """Run ``export`` in a scratch folder, then (unless ``streamed_only``) the reference for as many rows."""
    with tempfile.TemporaryDirectory() as name:
        figures = await export(Path(name))
        return figures, None if streamed_only else reference(Path(name), int(figures["rows"]))


async def main() -> None:
    """Export streamed, then (unless --streamed-only) write the same rows from memory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--streamed-only", action="store_true")
    args = parser.parse_args()
    figures, reference = await measure(lambda folder: streamed_export(folder, args.rows), from_memory,
                                       args.streamed_only)
    print_figures("readings_export", "readings", figures, reference)


if __name__ == "__main__":
    asyncio.run(main())
