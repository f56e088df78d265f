"""What administration commands print: aligned tables and the site's local time."""
from __future__ import annotations

from datetime import datetime, tzinfo


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print rows in aligned columns under a header."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def local_time(time_zone: tzinfo, ts: float | None) -> str:
    """Return a POSIX time in the site's time zone, to the minute ('-' for none)."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, time_zone).strftime("%Y-%m-%d %H:%M")
