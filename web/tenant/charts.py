"""Small server-side SVG bar charts drawn for the phone's width (text at 12 px or more as shown), inline in the
page: each bar carries its label and value for the tap caption (tenant.js)."""
from __future__ import annotations

from html import escape

WIDTH = 340  # a 390-px phone's card holds 342 px: drawn at the size it is shown, nothing shrinks
HEIGHT = 190
PAD_LEFT = 44
PAD_BOTTOM = 24
PAD_TOP = 22
FONT = 12


def bar_chart(points: list[tuple[str, float]], title: str, unit: str, label_every: int = 1,
              notes: list[str] | None = None) -> str:
    """Return an SVG bar chart of (label, value) points with a title and the maximum on the axis; a tap on a
    bar shows its label, value and note (e.g. the day's cost)."""
    peak = max((v for _, v in points), default=0) or 1
    inner_w = WIDTH - PAD_LEFT - 8
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="0" y="15" font-size="{FONT + 1}">{escape(title)} ({escape(unit)})</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" font-size="{FONT}" text-anchor="end">{peak:.0f}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + inner_h}" font-size="{FONT}" text-anchor="end">0</text>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + inner_h}" stroke="#999"/>',
    ]
    for index, (label, value) in enumerate(points):
        height = inner_h * value / peak
        x = PAD_LEFT + index * step + step * 0.15
        y = PAD_TOP + inner_h - height
        note = f" · {notes[index]}" if notes and notes[index] else ""
        middle = PAD_LEFT + (index + 0.5) * step
        parts.append(  # the whole column answers a tap (a transparent line as wide as the column), not the bar only
            f'<line x1="{middle:.1f}" y1="{PAD_TOP}" x2="{middle:.1f}" y2="{PAD_TOP + inner_h}" stroke="transparent" '
            f'stroke-width="{step:.1f}" pointer-events="stroke" '
            f'data-bar="{escape(label)}: {value:.2f} {escape(unit)}{escape(note)}"/>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" fill="#1677ff" '
            f'pointer-events="none"><title>{escape(label)}: {value:g} {escape(unit)}</title></rect>'
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - 6}" font-size="{FONT}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
