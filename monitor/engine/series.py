"""What the handbook charts, per agent: each monitored metric day by day, spend month by month, and
the drift windows. Published in the monitor's snapshot as `series`, `costs` and `windows`.

- `series`: for each metric of the charter's monitor section, one point per UTC day from the start
  of the baseline to `now`, computed exactly as `monitor.engine.metrics` computes a window (the
  first and last day may be partial: a count metric is then per day of the part covered). A day
  without a task has `n` 0 and `value` null (a count metric: 0).
- `costs`: per calendar month (UTC) of the agent's events before `now`, from the month of its first
  event to the month of `now` (a month without tasks is listed with zeros). Unlike the metrics, an
  empty cost cell counts as 0 here: these are totals of what was recorded, not per-task figures.
  A bucket whose column the events lack is null in every month: unknown, not $0.
- `windows`: the baseline and recent windows, half-open [from, to), as ISO 8601 UTC (`...Z`);
  `baseline` is null for a charter without a monitor section.

All of it is added up from the engine's summary pass (`monitor.engine.summaries`): no second scan.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from monitor.engine.summaries import BASE, Summaries
from playbook.core.charter import Charter
from playbook.core.clock import iso
from playbook.core.costs import recorded_spend
from playbook.core.governance import Governance
from playbook.core.windows import BASELINE, RECENT, charter_windows

SIGNIFICANT_DIGITS = 6  # daily values are rounded: enough for a chart, and the snapshot stays small
COST_DECIMALS = 4  # monthly spend in USD, to a hundredth of a cent

Trend = dict[str, Any]  # {"series": ..., "costs": ..., "windows": ...}


def agent_trends(
    summaries: Summaries, governance: Governance, charters: list[Charter], now: datetime
) -> dict[str, Trend]:
    """`{agent: {"series": {metric: [point, ...]}, "costs": [month, ...], "windows": {...}}}`."""
    return {
        charter.id: {
            "series": daily_series(summaries, governance, charter),
            "costs": monthly_costs(summaries, charter, now),
            "windows": trend_windows(charter, now),
        }
        for charter in charters
    }


def trend_windows(charter: Charter, now: datetime) -> dict[str, dict[str, str] | None]:
    """`{"baseline": {"from", "to"} | None, "recent": {"from", "to"}}`, half-open, ISO 8601 Z."""
    windows = {window.label: window for window in charter_windows(charter, now)}
    bounds: dict[str, dict[str, str] | None] = {}
    for label in (BASELINE, RECENT):
        window = windows.get(label)
        bounds[label] = None if window is None else _bounds(window.start, window.end)
    return bounds


def _bounds(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": iso(start) or "", "to": iso(end) or ""}


def daily_series(
    summaries: Summaries, governance: Governance, charter: Charter
) -> dict[str, list[dict[str, Any]]]:
    """`{metric: [{"day": "YYYY-MM-DD", "value": float | None, "n": int}, ...]}` for each metric
    of the charter's monitor section, days in order."""
    if charter.monitor is None:
        return {}
    series: dict[str, list[dict[str, Any]]] = {}
    for metric_id in charter.monitor.metrics:
        points = summaries.series(charter.id, governance.metric(metric_id))
        series[metric_id] = [
            {"day": day.isoformat(), "value": _rounded(value), "n": n} for day, value, n in points
        ]
    return series


def monthly_costs(summaries: Summaries, charter: Charter, now: datetime) -> list[dict[str, Any]]:
    """`[{"month": "YYYY-MM", "tasks", "successes", "inference", "tooling", "human"}]` over every
    event before `now`, from the month of the first to the month of `now`; empty cells count 0,
    a bucket the events do not record is None."""
    found = summaries.months(charter.id)
    if not found:
        return []
    return [
        _month_row(month, found.get(month), summaries.present)
        for month in _months(min(found), _month(now.date()))
    ]


def _month_row(
    month: str, figures: dict[str, float] | None, present: Collection[str]
) -> dict[str, Any]:
    figures = figures or dict.fromkeys(BASE, 0.0)
    spend = recorded_spend(figures, present)
    return {
        "month": month,
        "tasks": int(figures["tasks"]),
        "successes": int(figures["successes"]),
    } | {bucket: None if amount is None else round(amount, COST_DECIMALS)
         for bucket, amount in spend.items()}  # fmt: skip


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months(first: str, last: str) -> list[str]:
    """`YYYY-MM` from `first` to `last`, both included."""
    year, month = map(int, first.split("-"))
    months = []
    while (current := f"{year:04d}-{month:02d}") <= last:
        months.append(current)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _rounded(value: float | None) -> float | None:
    """JSON has no NaN or infinity (null instead); 6 significant digits are plenty for a chart."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
