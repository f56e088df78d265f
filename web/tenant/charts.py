"""Small server-side SVG bar charts (no JavaScript needed on the phone)."""
from __future__ import annotations

from html import escape

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 44
PAD_BOTTOM = 28
PAD_TOP = 22


def bar_chart(points: list[tuple[str, float]], title: str, unit: str, label_every: int = 1) -> str:
    """Return an SVG bar chart of (label, value) points with a title and the maximum on the axis."""
    peak = max((v for _, v in points), default=0) or 1
    inner_w = WIDTH - PAD_LEFT - 8
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="{PAD_LEFT}" y="15" font-size="13">{escape(title)}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" font-size="10" text-anchor="end">{peak:g}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + inner_h}" font-size="10" text-anchor="end">0 {escape(unit)}</text>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + inner_h}" stroke="#999"/>',
    ]
    for index, (label, value) in enumerate(points):
        height = inner_h * value / peak
        x = PAD_LEFT + index * step + step * 0.15
        y = PAD_TOP + inner_h - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" fill="#1677ff">'
            f"<title>{escape(label)}: {value:g} {escape(unit)}</title></rect>"
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - 10}" font-size="10" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
