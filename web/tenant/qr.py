"""QR codes as inline SVG for the kiosk screen (segno, pure Python)."""
from __future__ import annotations

import io

import segno


def qr_svg(text: str, scale: int = 8) -> str:
    """Return an inline SVG of a QR code for ``text``."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, border=2)
    return buffer.getvalue().decode()
