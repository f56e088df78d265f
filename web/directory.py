"""The meter directory: building (from billing's YAML), floor, room and label (the site's overlay) of each meter.

YAML wins: gateways, buses, meters and buildings are declared in YAML and read-only here. The overlay only adds
floor, room and label, which no YAML declares; it is edited in the UI or imported from a CSV/XLSX sheet.
"""
from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any

from openpyxl import load_workbook
from sqlalchemy import select

from scada_core.meters import meter_states
from scada_core.reports.cells import csv_cell, from_csv_cell

from .models import MeterDirectoryRow

if TYPE_CHECKING:
    from scada_core.core import Core

FLOOR_IN_NAME = re.compile(r"(?:^|_)f(\d+)(?:_|$)")
ROOM_IN_NAME = re.compile(r"_(\d{3,5})$")
COLUMNS = ("entity_id", "floor", "room", "label")


class MeterDirectory:
    """Where each meter is and what it is called (kept in memory, written through to the database)."""

    def __init__(self, core: Core) -> None:
        assert core.db is not None
        self.core = core
        self.db = core.db
        self._overlay: dict[str, dict[str, str | None]] = {}
        self._places: dict[str, dict[str, str]] = {}  # classify's lasting part, per meter

    async def async_load(self) -> None:
        """Read the overlay."""
        async with self.db.session() as session:
            rows = (await session.execute(select(MeterDirectoryRow))).scalars()
            self._overlay = {r.entity_id: {"floor": r.floor, "room": r.room, "label": r.label} for r in rows}
        self._places.clear()

    def meter_ids(self) -> list[str]:
        """Return every meter entity id, sorted."""
        return [state.entity_id for state in meter_states(self.core.states)]

    def classify(self, entity_id: str) -> dict[str, Any]:
        """Return {building, floor, room, label} of a meter: overlay first, then what its name tells."""
        place = self._places.get(entity_id)
        if place is None:
            place = self._places[entity_id] = self._place(entity_id)
        label = place["label"]
        if not self._overlay.get(entity_id, {}).get("label") and (state := self.core.states.get(entity_id)):
            label = state.attributes.get("friendly_name") or label
        return {**place, "label": label}

    def _place(self, entity_id: str) -> dict[str, str]:
        """Work out where a meter is from the overlay and its name (kept until the overlay changes)."""
        name = entity_id.split(".", 1)[-1]
        overlay = self._overlay.get(entity_id, {})
        floor_match = FLOOR_IN_NAME.search(name)
        room_match = ROOM_IN_NAME.search(name)
        billing = self.core.data.get("billing")
        return {
            "building": billing.building_of(entity_id) if billing is not None else "",
            "floor": overlay.get("floor") or (f"{int(floor_match.group(1))}F" if floor_match else ""),
            "room": overlay.get("room") or (room_match.group(1) if room_match else ""),
            "label": overlay.get("label") or name,
        }

    def display_name(self, entity_id: str) -> str:
        """Return how people call a meter: ``3F-0301 演示商铺301`` (floor-room, then its label); a meter with a
        room but no label of its own is ``3F-0301`` (its YAML name is the advanced line's)."""
        info = self.classify(entity_id)
        place = "-".join(part for part in (info["floor"], info["room"]) if part)
        if info["room"] and info["label"] == entity_id.split(".", 1)[-1]:
            return place
        return f"{place} {info['label']}" if place else info["label"]

    def resolve(self, text: str) -> str | None:
        """Return the meter a person means by its entity id, its name, its room (``0301``), floor-room
        (``3F-0301``) or display name; None when no meter or more than one matches."""
        wanted = text.strip().casefold()
        if not wanted:
            return None
        matches = set()
        for entity_id in self.meter_ids():
            info = self.classify(entity_id)
            names = {entity_id, entity_id.split(".", 1)[-1], info["room"], self.display_name(entity_id),
                     "-".join(part for part in (info["floor"], info["room"]) if part)}
            if wanted in {name.casefold() for name in names if name}:
                matches.add(entity_id)
        return matches.pop() if len(matches) == 1 else None

    def parse_sheet(self, filename: str, content: bytes) -> list[dict[str, Any]]:
        """Read rows of a CSV or XLSX sheet (header row: entity_id, floor, room, label)."""
        if filename.lower().endswith(".xlsx"):
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            lines = [["" if v is None else str(v) for v in row] for row in book.active.iter_rows(values_only=True)]
        else:
            lines = [[from_csv_cell(v) for v in line] for line in csv.reader(io.StringIO(content.decode("utf-8-sig")))]
        if not lines:
            return []
        header = [h.strip().lower() for h in lines[0]]
        return [
            {"line": number, **{key: (line[header.index(key)].strip() if key in header and header.index(key) < len(line)
                                      else "") for key in COLUMNS}}
            for number, line in enumerate(lines[1:], start=2)
            if any(cell.strip() for cell in line)
        ]

    def check_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return each row with its error message keys (empty list = importable)."""
        known = set(self.meter_ids())
        seen: set[str] = set()
        for row in rows:
            errors: list[str] = []
            if not row["entity_id"]:
                errors.append("err_no_entity")
            elif row["entity_id"] not in known:
                errors.append("err_unknown_meter")
            elif row["entity_id"] in seen:
                errors.append("err_duplicate_row")
            if len(row["floor"]) > 32 or len(row["room"]) > 64 or len(row["label"]) > 128:
                errors.append("err_too_long")
            seen.add(row["entity_id"])
            row["errors"] = errors
        return rows

    async def save(self, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Store error-free rows; return (before, after) of each."""
        changes = []
        async with self.db.write() as session:
            for row in rows:
                if row.get("errors"):
                    continue
                current = await session.get(MeterDirectoryRow, row["entity_id"])
                before = self.classify(row["entity_id"])
                if current is None:
                    current = MeterDirectoryRow(entity_id=row["entity_id"])
                    session.add(current)
                current.floor, current.room, current.label = row["floor"] or None, row["room"] or None, row["label"] or None
                self._overlay[row["entity_id"]] = {"floor": current.floor, "room": current.room, "label": current.label}
                self._places.pop(row["entity_id"], None)
                changes.append((before, self.classify(row["entity_id"])))
        return changes

    def template_csv(self) -> str:
        """Return the import template: the header and every meter with what is known today."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for entity_id in self.meter_ids():
            info = self.classify(entity_id)
            writer.writerow([csv_cell(v) for v in (entity_id, info["floor"], info["room"], info["label"])])
        return out.getvalue()
