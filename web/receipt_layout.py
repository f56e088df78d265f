"""The receipt's layout an admin edits in the UI (收据样式): title, footer, which optional fields print, a logo.

Stored in the database so it outlives a restart; until an admin saves one the built-in layout prints. A site's own
``<config>/templates/receipt.html`` (ReceiptTemplates) still wins over the built-in template and receives the
layout as ``layout``.
"""
from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final


from .models import ReceiptLayoutRow

if TYPE_CHECKING:
    from scada_core.clock import Clock
    from scada_core.storage.database import Database

LAYOUT_ID: Final = 1
# The fields a receipt may leave out; the receipt number, tenant, amount (and in words), operator and time always print.
OPTIONAL_FIELDS: Final = ("building", "account_id", "meter", "method", "balance_before", "balance_after", "price",
                          "kwh", "purchase_count", "signature")
MAX_TITLE: Final = 64
MAX_FOOTER: Final = 256
MAX_LOGO_BYTES: Final = 512 * 1024
MAX_LOGO_PIXELS: Final = 2000 * 2000
LOGO_TYPES: Final = {"PNG": "image/png", "JPEG": "image/jpeg"}


class LayoutError(ValueError):
    """A layout that cannot be saved: ``key`` is the message to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class ReceiptLayout:
    """What a receipt prints besides its fixed fields."""

    title: str = ""  # empty: "<site> <kind>收据"
    footer: str = ""
    fields: tuple[str, ...] = OPTIONAL_FIELDS
    logo: bytes | None = field(default=None, repr=False)
    logo_type: str | None = None

    @property
    def logo_uri(self) -> str | None:
        """The logo as a data: URI (the PDF and the print page embed it: no URL to fetch)."""
        if not self.logo or not self.logo_type:
            return None
        return f"data:{self.logo_type};base64,{base64.b64encode(self.logo).decode()}"

    def shows(self, name: str) -> bool:
        """Tell whether an optional field prints."""
        return name in self.fields


def checked_logo(content: bytes) -> tuple[bytes, str]:
    """Return a PNG or JPEG logo and its media type, or raise LayoutError (blocking: Pillow decodes it)."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - Pillow comes with WeasyPrint

    if len(content) > MAX_LOGO_BYTES:
        raise LayoutError("err_logo_size")
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind, pixels = image.format, image.width * image.height
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise LayoutError("err_logo_type") from None
    if kind not in LOGO_TYPES:
        raise LayoutError("err_logo_type")
    if pixels > MAX_LOGO_PIXELS:
        raise LayoutError("err_logo_size")
    return content, LOGO_TYPES[kind]


def checked_text(text: str, limit: int) -> str:
    """Return a title or footer without control characters, or raise when it is too long."""
    cleaned = "".join(char for char in text.strip() if char.isprintable())
    if len(cleaned) > limit:
        raise LayoutError("err_layout_long")
    return cleaned


class ReceiptLayouts:
    """Read and save the layout (kept in memory, written through)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.current = ReceiptLayout()

    async def async_load(self) -> None:
        """Read the saved layout, if any."""
        async with self.db.session() as session:
            row = await session.get(ReceiptLayoutRow, LAYOUT_ID)
        if row is not None:
            self.current = self._layout(row)

    @staticmethod
    def _layout(row: ReceiptLayoutRow) -> ReceiptLayout:
        fields = tuple(name for name in json.loads(row.fields) if name in OPTIONAL_FIELDS)
        return ReceiptLayout(row.title, row.footer, fields, row.logo, row.logo_type)

    async def save(self, layout: ReceiptLayout, operator: str) -> None:
        """Store a layout and use it from the next receipt on."""
        async with self.db.write() as session:
            row = await session.get(ReceiptLayoutRow, LAYOUT_ID)
            if row is None:
                row = ReceiptLayoutRow(id=LAYOUT_ID)
                session.add(row)
            row.title, row.footer, row.fields = layout.title, layout.footer, json.dumps(list(layout.fields))
            row.logo, row.logo_type = layout.logo, layout.logo_type
            row.updated_ts, row.operator = self.clock.timestamp(), operator
        self.current = layout

    def summary(self) -> dict[str, object]:
        """The layout as the audit log records it (the logo by size only)."""
        layout = self.current
        return {"title": layout.title, "footer": layout.footer, "fields": list(layout.fields),
                "logo_bytes": len(layout.logo or b"")}
