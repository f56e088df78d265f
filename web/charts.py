"""Server-side SVG bar charts (no JavaScript library, nothing fetched from the Internet)."""
from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT, PAD = 760, 220, 36
AXIS_PX = 13  # axis text in the chart's own units: at the width it is drawn (>= WIDTH) it stays >= 12 CSS px
LABEL_EM = 4.2  # room an axis label takes, in ems (five digits and a dash at ~0.6 em, plus a gap)


def bar_chart(points: list[tuple[str, float]], unit: str, empty: str = "", width: int = WIDTH) -> str:
    """Return an SVG bar chart of (label, value) points ``width`` units wide; ``empty`` when there is no value."""
    if not any(value for _label, value in points):
        return f'<p class="chart-empty">{escape(empty)}</p>' if empty else ""
    top = max(v for _l, v in points) or 1.0
    step = (width - 2 * PAD) / len(points)
    bars = []
    every = max(1, math.ceil(LABEL_EM * AXIS_PX / step))  # a label of ~5 characters never touches the next
    for index, (label, value) in enumerate(points):
        height = (HEIGHT - 2 * PAD) * value / top
        x = PAD + index * step
        bars.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{step * 0.8:.1f}" '
            f'height="{height:.1f}" class="bar"><title>{escape(label)}: {value:.2f} {escape(unit)}</title></rect>'
        )
        if index % every == 0:
            bars.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - PAD + AXIS_PX + 4}" text-anchor="middle" '
                        f'font-size="{AXIS_PX}" class="axis">{escape(label[-5:])}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" class="chart" role="img">'
        f'<text x="{PAD}" y="{PAD - 12}" font-size="{AXIS_PX}" class="axis">{top:.2f} {escape(unit)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{width - PAD}" y2="{HEIGHT - PAD}" class="base"/>'
        + "".join(bars) + "</svg>"
    )
