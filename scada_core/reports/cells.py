"""Spreadsheet cells from untrusted text: a label or name that looks like a formula stays text (OWASP CSV injection)."""
from __future__ import annotations

from typing import Any

# What makes Excel, LibreOffice and WPS read a cell as a formula (or a DDE command).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_PREFIX = "'"


def looks_like_formula(value: Any) -> bool:
    """Tell whether ``value`` is text a spreadsheet would evaluate."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: Any) -> Any:
    """Return ``value`` for a CSV file: formula-like text gets the quote prefix that keeps it text."""
    return CSV_TEXT_PREFIX + value if looks_like_formula(value) else value


def from_csv_cell(text: str) -> str:
    """Undo :func:`csv_cell` on an imported cell."""
    rest = text[len(CSV_TEXT_PREFIX):]
    return rest if text.startswith(CSV_TEXT_PREFIX) and looks_like_formula(rest) else text
