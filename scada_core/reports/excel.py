"""Write a report table to .xlsx bytes (openpyxl) with the same columns and totals as on screen; text stays text."""
from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from .cells import looks_like_formula
from .table import Table


def table_to_xlsx(table: Table) -> bytes:
    """Return the workbook bytes of one table (blocking: run it in an executor for big tables)."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31] or "report"
    sheet.append(table.columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(row)
    if table.totals is not None:
        sheet.append(table.totals)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for column in sheet.iter_cols():
        for cell in column:
            if isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
            elif looks_like_formula(cell.value):
                cell.data_type = "s"  # openpyxl made it a formula; text from a label or a name never is one
    for index, name in enumerate(table.columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(10, len(str(name)) * 2 + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
