"""Write report tables to .xlsx (openpyxl's write-only workbook): the same columns and totals as on screen, money
as numbers with two decimals, text that looks like a formula kept as text. Rows go to disk as they are appended,
so a table of any length is written without being held in memory."""
from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .cells import looks_like_formula
from .table import Table

BOLD = Font(bold=True)


class XlsxSheet:
    """One sheet being written: a bold header row, then rows appended (blocking: run it in an executor)."""

    def __init__(self, title: str, columns: list[str]) -> None:
        self.book = Workbook(write_only=True)
        self.sheet: WriteOnlyWorksheet = self.book.create_sheet(title[:31] or "report")
        for index, name in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = max(10, len(str(name)) * 2 + 2)
        self.append([columns], bold=True)

    def append(self, rows: Iterable[list[Any]], bold: bool = False) -> None:
        """Write rows below the last (``bold``: a header or totals row)."""
        for row in rows:
            self.sheet.append([self._cell(value, bold) for value in row])

    def _cell(self, value: Any, bold: bool) -> Any:
        if not (bold or isinstance(value, Decimal) or looks_like_formula(value)):
            return value
        cell = WriteOnlyCell(self.sheet, value=value)
        if bold:
            cell.font = BOLD
        if isinstance(value, Decimal):
            cell.number_format = "0.00"
        elif looks_like_formula(value):
            cell.data_type = "s"  # openpyxl made it a formula; text from a label or a name never is one
        return cell

    def save(self, target: Path | IO[bytes]) -> None:
        """Finish the workbook into ``target`` (a path or a binary file)."""
        self.book.save(target)


def table_to_xlsx(table: Table) -> bytes:
    """Return the workbook bytes of one table held in memory (blocking: run it in an executor)."""
    sheet = XlsxSheet(table.title, table.columns)
    sheet.append(table.rows)
    if table.totals is not None:
        sheet.append([table.totals], bold=True)
    out = io.BytesIO()
    sheet.save(out)
    return out.getvalue()
