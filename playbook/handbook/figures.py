"""Figures as people read them: a metric's value in its unit, a change with the relative change
beside it ("-4.1 pts (-4.6%)", "+1.2 s (+25%)", "+$0.03 (+30%)", with a real minus sign), and
"no data" where a window had no task, never a 0 that was not measured.

A share (a proportion metric, or the unit "share of tasks") shows as a percentage and changes in
percentage points; USD with a dollar sign; seconds and minutes abbreviated; any other unit is
written after the number as the catalog spells it.
"""

from __future__ import annotations

import math
from datetime import UTC

from playbook.core.clock import parse_instant
from playbook.core.model import Metric

NO_DATA = "no data"
MINUS = "\u2212"  # the minus sign, not a hyphen
_SHORT_UNITS = {"seconds": "s", "second": "s", "s": "s", "minutes": "min", "minute": "min"}


def _style(metric: Metric) -> str:
    unit = metric.unit.strip().lower()
    if metric.kind == "proportion" or unit.startswith("share"):
        return "share"
    if unit in {"usd", "$", "us$"} or unit.startswith(("usd ", "$ ")):
        return "usd"
    return "plain"


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _signed(text: str, value: float, signed: bool) -> str:
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed else text


def _number(value: float) -> str:
    """Three significant digits without an exponent; thousands separated."""
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{magnitude:,.0f}"
    if magnitude == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{magnitude:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{magnitude:.0f}"


def _money(value: float) -> str:
    magnitude = abs(value)
    return f"${magnitude:,.2f}" if magnitude >= 1 or magnitude == 0 else f"${_number(magnitude)}"


def _in_unit(value: float, metric: Metric, *, signed: bool) -> str:
    style = _style(metric)
    if style == "usd":
        text = _money(value)
    else:
        unit = _SHORT_UNITS.get(metric.unit.strip().lower(), metric.unit.strip())
        text = f"{_number(value)} {unit}".strip()
    return _signed(text, value, signed)


def value_text(value: float | None, metric: Metric, n: int | None = None) -> str:
    """A value in its metric's unit ("4.6%", "$1.03", "5.13 s"); NO_DATA without tasks."""
    if not _known(value) or n == 0:
        return NO_DATA
    assert value is not None
    if _style(metric) == "share":
        return _signed(f"{_number(value * 100)}%", value, False)
    return _in_unit(value, metric, signed=False)


def relative_text(baseline: float, recent: float) -> str | None:
    """ "+25%": the change relative to the baseline; None from a baseline of 0."""
    if baseline == 0:
        return None
    relative = (recent - baseline) / abs(baseline)
    percent = abs(relative) * 100
    text = f"{percent:.0f}%" if percent >= 99.5 else f"{percent:.1f}%"
    return _signed(text, relative, True)


def change_text(
    baseline: float | None,
    recent: float | None,
    metric: Metric,
    *,
    n_baseline: int | None = None,
    n_recent: int | None = None,
) -> str:
    """The change from baseline to recent in the metric's unit, the relative change beside it;
    NO_DATA when either window had no task."""
    if not (_known(baseline) and _known(recent)) or 0 in (n_baseline, n_recent):
        return NO_DATA
    assert baseline is not None and recent is not None
    delta = recent - baseline
    if _style(metric) == "share":
        absolute = _signed(f"{_number(delta * 100)} pts", delta, True)
    else:
        absolute = _in_unit(delta, metric, signed=True)
    relative = relative_text(baseline, recent)
    return f"{absolute} ({relative})" if relative else absolute


def points_text(effect: float | None) -> str:
    """A change of a share, in percentage points ("+15.7 pts")."""
    if not _known(effect):
        return NO_DATA
    assert effect is not None
    return _signed(f"{_number(effect * 100)} pts", effect, True)


def statistic_text(value: float | None) -> str:
    """A p- or q-value or a test statistic: four significant digits, "-" when not computed."""
    return "-" if not _known(value) else f"{value:.4g}"


def moment_text(text: str | None) -> str:
    """An ISO 8601 instant as people read it: `2026-11-24 12:00 UTC` (as written if unreadable)."""
    if not text:
        return "unknown"
    try:
        moment = parse_instant(text)
    except ValueError:
        return text
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
