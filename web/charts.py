"""Server-side SVG bar charts (no JavaScript library)."""
from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 760, 220, 36


def bar_chart(points: list[tuple[str, float]], unit: str) -> str:
    """Return an SVG bar chart of (label, value) points."""
    if not points:
        return ""
    top = max(v for _l, v in points) or 1.0
    step = (WIDTH - 2 * PAD) / len(points)
    bars = []
    every = max(1, len(points) // 12)
    for index, (label, value) in enumerate(points):
        height = (HEIGHT - 2 * PAD) * value / top
        x = PAD + index * step
        bars.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{step * 0.8:.1f}" '
            f'height="{height:.1f}" class="bar"><title>{escape(label)}: {value:.2f} {escape(unit)}</title></rect>'
        )
        if index % every == 0:
            bars.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" '
                        f'class="axis">{escape(label[-5:])}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img">'
        f'<text x="{PAD}" y="{PAD - 12}" class="axis">{top:.1f} {escape(unit)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="base"/>'
        + "".join(bars) + "</svg>"
    )
