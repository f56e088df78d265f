"""A report table: the same columns, rows and totals on screen and in Excel."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def yuan(fen: int | None) -> Decimal | None:
    """Return fen as exact yuan (Decimal with 2 places)."""
    return None if fen is None else (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def kwh(wh: int | None) -> Decimal | None:
    """Return Wh as kWh (Decimal with 2 places)."""
    return None if wh is None else (Decimal(int(wh)) / 1000).quantize(Decimal("0.01"))


@dataclass
class Table:
    """Columns, rows and an optional totals row; numbers are Decimal/int so Excel keeps them numeric."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    totals: list[Any] | None = None

    def add_totals(self, label: str, numeric_from: int) -> None:
        """Append a totals row summing every column from ``numeric_from`` on."""
        totals: list[Any] = [label] + [""] * (numeric_from - 1)
        for index in range(numeric_from, len(self.columns)):
            values = [r[index] for r in self.rows if isinstance(r[index], (int, Decimal))]
            totals.append(sum(values, Decimal(0)) if any(isinstance(v, Decimal) for v in values) else sum(values))
        self.totals = totals

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly view."""
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "totals": self.totals}
