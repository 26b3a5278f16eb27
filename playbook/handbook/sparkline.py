"""Sparklines: a tiny inline SVG of a metric's daily series for the dashboard, no axes.

Drawn from the snapshot's daily points (`{"day", "value", "n"}`); a day without tasks is a gap,
never a 0. The last known point is marked. The SVG is one line of inline HTML, so it can sit in a
Markdown table cell; its only text is a `<title>` (escaped for HTML and Markdown) naming the metric
and the last value for screen readers and hover. It draws in `currentColor`, so it follows the
page's light or dark scheme.
"""

from __future__ import annotations

import math
from typing import Any

from playbook.core import markdown

WIDTH, HEIGHT = 96, 20  # pixels
PAD = 2.5  # room for the last point's mark inside the box
DAYS = 56  # the latest eight weeks


def _values(series: list[dict[str, Any]]) -> list[float | None]:
    values: list[float | None] = []
    for point in series[-DAYS:]:
        value = point.get("value")
        known = isinstance(value, (int, float)) and math.isfinite(value) and point.get("n", 1) != 0
        values.append(float(value) if known else None)
    return values


def _path(values: list[float | None]) -> tuple[str, tuple[float, float] | None]:
    """The SVG path data (a new sub-path after each gap) and the last known point."""
    known = [v for v in values if v is not None]
    low, high = min(known), max(known)
    span = high - low
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    commands: list[str] = []
    last: tuple[float, float] | None = None
    pen_down = False
    for index, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        x = PAD + index * step
        y = HEIGHT / 2 if span == 0 else PAD + (high - value) / span * (HEIGHT - 2 * PAD)
        commands.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
        last = (x, y)
    return " ".join(commands), last


def sparkline_svg(series: list[dict[str, Any]], title: str, tone: str = "") -> markdown.Markup:
    """The series' sparkline, or the words "no data" when no day had a value."""
    values = _values(series)
    if not any(value is not None for value in values):
        return markdown.Markup('<span class="govkit-nodata">no data</span>')
    path, last = _path(values)
    assert last is not None
    classes = "govkit-spark" + (f" govkit-spark--{tone}" if tone else "")
    mark = f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.2"/>'
    return markdown.Markup(
        f'<svg class="{classes}" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}"><title>{markdown.escape(title)}</title>'
        f'<path d="{path}"/>{mark}</svg>'
    )
