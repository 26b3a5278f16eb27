"""Static SVG trend charts for the handbook, drawn with matplotlib from the monitor's daily series.

`series` is the snapshot's list of `{"day": "YYYY-MM-DD", "value": float | None, "n": int}`. A
window (`baseline`, `recent`) is half-open, [start, end): a `date` stands for its midnight UTC, a
`datetime` (aware, or naive meaning UTC) is used as it is, so the snapshot's `windows` can be passed
exactly. Each point sits at noon of its day; a day belongs to a window when its noon does.

Output is deterministic (fixed SVG hash salt, no date in the metadata, text kept as text), so the
same data gives byte-identical SVG and a rebuilt site only changes where the data did. The figure
is drawn on an explicit Agg canvas, never through pyplot: nothing is registered globally and
nothing is left open.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any

WIDTH, HEIGHT = 640, 240  # pixels
MIN_SPAN = timedelta(days=7)  # the x axis shows at least a week
LEGEND_WIDTH = 24  # characters per legend line
DPI = 72  # one SVG user unit per pixel
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
SERIES, BASELINE, RECENT, BAND = "#0072B2", "#999999", "#E69F00", "#009E73"
STOP, GUARDRAIL, ALERT = "#D55E00", "#CC79A7", "#D55E00"
RC = {
    "svg.hashsalt": "govkit",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#666666",
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "path.simplify": True,
    # Titles, units and labels come from YAML: text as written, never mathtext ("$" pairs) or
    # LaTeX (a matplotlibrc's usetex), either of which would fail or misdraw a unit like "$ / task".
    "text.parse_math": False,
    "text.usetex": False,
}

Window = tuple[date, date]
# No date (determinism) and no creator: the matplotlib version would change every SVG on upgrade.
METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def trend_chart_svg(
    *,
    title: str,
    unit: str,
    series: list[dict[str, Any]],
    baseline: Window | None,
    recent: Window | None,
    band: tuple[float, float] | None,
    thresholds: list[tuple[str, float]],
    alerts: list[tuple[date, str]],
) -> str:
    """A 640x240 SVG: the daily series, the shaded windows, the baseline band (mean ± 2 standard
    deviations of the baseline's daily values unless given), threshold lines and alert markers."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    days = [_noon(point["day"]) for point in series]
    values = [_number(point.get("value")) for point in series]
    if band is None:
        band = baseline_band(series, baseline)

    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.09, 0.14, 0.69, 0.72))
        figure.text(0.01, 0.955, title, fontsize=10, fontweight="bold", va="top")
        axes.set_ylabel(unit, fontsize=8)
        _time_axis(axes, days, baseline, recent)
        _shade_windows(axes, baseline, recent)
        if band is not None:
            axes.axhspan(band[0], band[1], color=BAND, alpha=0.15, lw=0, label="baseline ±2 sd")
        _draw_series(axes, days, values, band, thresholds)
        _alert_markers(axes, alerts)
        _legend(axes)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata=METADATA)
    return _finish(
        out.getvalue(),
        title,
        chart_alt_text(
            title=title,
            unit=unit,
            series=series,
            baseline=baseline,
            recent=recent,
            band=band,
            thresholds=thresholds,
            alerts=alerts,
        ),
    )


def _time_axis(
    axes: Any, days: list[datetime], baseline: Window | None, recent: Window | None
) -> None:
    """X range: every day's half-day either side and both windows, at least MIN_SPAN wide, with
    concise date ticks; no ticks when there is nothing to place."""
    from matplotlib import dates as mdates

    spans = [s for w in (baseline, recent) if w for s in (_instant(w[0]), _instant(w[1]))]
    edges = [d - timedelta(hours=12) for d in days] + [d + timedelta(hours=12) for d in days]
    edges += spans
    if not edges:
        axes.set_xticks([])
        return
    last = max(edges)
    first = min(min(edges), last - MIN_SPAN)
    axes.set_xlim(mdates.date2num(first), mdates.date2num(last))
    locator = mdates.AutoDateLocator(maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _shade_windows(axes: Any, baseline: Window | None, recent: Window | None) -> None:
    from matplotlib import dates as mdates

    for window, colour, label in ((baseline, BASELINE, "baseline"), (recent, RECENT, "recent")):
        if window:
            start, end = (mdates.date2num(_instant(moment)) for moment in window)
            axes.axvspan(start, end, color=colour, alpha=0.18, lw=0, label=label)


def _draw_series(
    axes: Any,
    days: list[datetime],
    values: list[float],
    band: tuple[float, float] | None,
    thresholds: list[tuple[str, float]],
) -> None:
    """The daily values with the y range and threshold lines, or "no data" when none is known."""
    known = [v for v in values if not math.isnan(v)]
    if not known:
        axes.set_yticks([])
        axes.text(
            0.5,
            0.5,
            "no data",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="#444444",
            fontsize=11,
        )
        return
    axes.plot(days, values, color=SERIES, lw=1.4, marker="o", ms=2.2, label="daily")
    _limits(axes, known, band, thresholds)
    _thresholds(axes, thresholds)


def _alert_markers(axes: Any, alerts: list[tuple[date, str]]) -> None:
    """A dotted line and a triangle on top of the chart where each alert started (a date: at
    its noon), for the alerts within the x range."""
    from matplotlib import dates as mdates

    low, high = axes.get_xlim()
    for moment, _ in alerts:
        x = mdates.date2num(_noon(moment) if type(moment) is date else _instant(moment))
        if low <= x <= high:
            axes.axvline(x, color=ALERT, lw=1.0, ls=(0, (1, 1.5)))
            axes.plot(
                [x],
                [1.0],
                marker="v",
                ms=6,
                color=ALERT,
                clip_on=False,
                transform=axes.get_xaxis_transform(),
                label="alert",
            )


def _legend(axes: Any) -> None:
    """One legend entry per label, right of the plot; none when nothing is labelled."""
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        axes.legend(
            unique.values(),
            unique.keys(),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=7.5,
            frameon=False,
            borderaxespad=0.0,
        )


def chart_alt_text(
    *,
    title: str,
    unit: str,
    series: list[dict[str, Any]],
    baseline: Window | None,
    recent: Window | None,
    band: tuple[float, float] | None,
    thresholds: list[tuple[str, float]],
    alerts: list[tuple[date, str]],
) -> str:
    """One sentence with the figures the chart shows, for the image's alt text."""
    points = [p for p in series if p.get("value") is not None and math.isfinite(p["value"])]
    if not points:
        return f"{title}: no data in the period."
    last = points[-1]
    parts = [f"{title} ({unit}): last value {_fmt(last['value'])} on {last['day']}"]
    base = _mean(_inside(series, baseline))
    if base is not None:
        parts.append(f"baseline mean {_fmt(base)}")
    band = band if band is not None else baseline_band(series, baseline)
    if band is not None:
        parts.append(f"baseline band {_fmt(band[0])} to {_fmt(band[1])}")
    latest = _mean(_inside(series, recent))
    if latest is not None:
        parts.append(f"recent mean {_fmt(latest)}")
    if thresholds:
        named = [label if _fmt(v) in label else f"{label} at {_fmt(v)}" for label, v in thresholds]
        parts.append("thresholds " + ", ".join(named))
    if alerts:
        listed = ", ".join(f"{label} from {moment.isoformat()[:10]}" for moment, label in alerts)
        parts.append(f"{len(alerts)} alert{'s' if len(alerts) > 1 else ''}: {listed}")
    else:
        parts.append("no alerts")
    return "; ".join(parts) + "."


def baseline_band(
    series: list[dict[str, Any]], baseline: Window | None
) -> tuple[float, float] | None:
    """Mean ± 2 sample standard deviations of the baseline's daily values (at least two); not
    below 0 when no value is (a rate, a cost or a duration is never negative)."""
    values = _inside(series, baseline)
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    low = mean - 2 * sd
    return (max(low, 0.0) if min(values) >= 0 else low), mean + 2 * sd


def _inside(series: list[dict[str, Any]], window: Window | None) -> list[float]:
    if window is None:
        return []
    start, end = _instant(window[0]), _instant(window[1])
    values = (_number(p.get("value")) for p in series if start <= _noon(p["day"]) < end)
    return [v for v in values if not math.isnan(v)]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _limits(
    axes: Any,
    known: list[float],
    band: tuple[float, float] | None,
    thresholds: list[tuple[str, float]],
) -> None:
    """Y range: the data and band, widened to show a threshold unless it would flatten the data."""
    low, high = min(known), max(known)
    if band is not None:
        low, high = min(low, band[0]), max(high, band[1])
    reach = max(high - low, abs(high) * 0.05, 1e-9)
    for _, value in thresholds:
        if low - 2 * reach <= value <= high + 2 * reach:
            low, high = min(low, value), max(high, value)
    pad = (high - low) * 0.08 or max(abs(high) * 0.1, 0.01)  # a flat series: a little room
    axes.set_ylim(low - pad, high + pad)
    axes.ticklabel_format(axis="y", useOffset=False)


def _thresholds(axes: Any, thresholds: list[tuple[str, float]]) -> None:
    """A line per threshold in range, named in the legend (stop: dashed vermillion, guardrail:
    dotted purple); one off the scale gets a legend entry saying so, and no line."""
    from matplotlib.lines import Line2D

    low, high = axes.get_ylim()
    for label, value in thresholds:
        stop = label.lower().startswith("stop")
        style = {"color": STOP if stop else GUARDRAIL, "ls": "--" if stop else ":", "lw": 1.3}
        if low <= value <= high:
            axes.axhline(value, label=_wrap(label), **style)
        else:
            where = "above" if value > high else "below"
            note = _wrap(f"{label} ({_fmt(value)}, {where} the chart)")
            axes.add_line(Line2D([], [], label=note, **style))


def _wrap(label: str) -> str:
    return "\n".join(textwrap.wrap(label, LEGEND_WIDTH)) or label


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def _finish(svg: str, title: str, description: str) -> str:
    """Inline-ready SVG: no XML declaration or DOCTYPE, pixel size, a <title> and a <desc>."""
    svg = svg[svg.index("<svg") :]
    opening = _SVG_OPEN.search(svg)
    assert opening is not None
    tag = re.sub(r'\swidth="[^"]*"', f' width="{WIDTH}"', opening.group(0), count=1)
    tag = re.sub(r'\sheight="[^"]*"', f' height="{HEIGHT}"', tag, count=1)
    tag = tag.replace("<svg ", '<svg role="img" ', 1)
    accessible = f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    body = svg[opening.end() :]
    return tag + accessible + "\n".join(line for line in body.splitlines() if line.strip()) + "\n"


def _noon(day: str | date) -> datetime:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if isinstance(day, datetime):
        day = day.date()
    return datetime.combine(day, time(12), tzinfo=UTC)


def _instant(moment: date) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.combine(moment, time(), tzinfo=UTC)


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
