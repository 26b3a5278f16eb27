"""What the handbook charts, per agent: each monitored metric day by day, spend month by month, and
the drift windows. Published in the monitor's snapshot as `series`, `costs` and `windows`.

- `series`: for each metric of the charter's monitor section, one point per UTC day from the start
  of the baseline to `now`, computed exactly as `monitor.engine.metrics` computes a window (the
  first and last day may be partial: a count metric is then per day of the part covered). A day
  without a task has `n` 0 and `value` null (a count metric: 0).
- `costs`: per calendar month (UTC) of the agent's events before `now`, from the month of its first
  event to the month of `now` (a month without tasks is listed with zeros). Unlike the metrics, an
  empty cost cell counts as 0 here: these are totals of what was recorded, not per-task figures.
- `windows`: the baseline and recent windows, half-open [from, to), as ISO 8601 UTC (`...Z`);
  `baseline` is null for a charter without a monitor section.

Both queries cover every agent at once: one GROUP BY (agent, day), one GROUP BY (agent, month).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from monitor.engine.events import EventStore
from monitor.engine.metrics import MetricSql, aggregates
from playbook.core.charter import Charter
from playbook.core.clock import iso
from playbook.core.governance import Governance
from playbook.core.windows import BASELINE, RECENT, charter_windows

SIGNIFICANT_DIGITS = 6  # daily values are rounded: enough for a chart, and the snapshot stays small
COST_DECIMALS = 4  # monthly spend in USD, to a hundredth of a cent

Trend = dict[str, Any]  # {"series": ..., "costs": ..., "windows": ...}


def agent_trends(
    store: EventStore, governance: Governance, charters: list[Charter], now: datetime
) -> dict[str, Trend]:
    """`{agent: {"series": {metric: [point, ...]}, "costs": [month, ...], "windows": {...}}}`."""
    series = daily_series(store, governance, charters, now)
    costs = monthly_costs(store, charters, now)
    return {
        charter.id: {
            "series": series.get(charter.id, {}),
            "costs": costs.get(charter.id, []),
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
    store: EventStore, governance: Governance, charters: list[Charter], now: datetime
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """`{agent: {metric: [{"day": "YYYY-MM-DD", "value": float | None, "n": int}, ...]}}` for
    every charter with a monitor section, each metric's days in order."""
    monitored = [charter for charter in charters if charter.monitor is not None]
    spans = []
    for charter in monitored:
        baseline = next(w for w in charter_windows(charter, now) if w.label == BASELINE)
        if baseline.start < now:
            spans.append((charter.id, baseline.start, now))
    result: dict[str, dict[str, list[dict[str, Any]]]] = {
        charter.id: {metric_id: [] for metric_id in charter.monitor.metrics}  # type: ignore[union-attr]
        for charter in monitored
    }
    metric_ids = list(dict.fromkeys(m for c in monitored for m in c.monitor.metrics))  # type: ignore[union-attr]
    if not spans or not metric_ids:
        return result
    metrics = [governance.metric(metric_id) for metric_id in metric_ids]
    sql = {metric.id: MetricSql(metric, store.columns) for metric in metrics}
    selects, readers = aggregates(metrics, sql)

    connection = store.connection
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE series_spans "
        "(agent VARCHAR, start_ts TIMESTAMPTZ, end_ts TIMESTAMPTZ)"
    )
    placeholders = ", ".join(["(?, ?, ?)"] * len(spans))
    connection.execute(
        f"INSERT INTO series_spans VALUES {placeholders}",  # noqa: S608 -- placeholders only
        [value for span in spans for value in span],
    )
    # The day grid (clipped to each span) LEFT JOIN the span's events by day: one group per
    # (agent, day), empty days included. The metric expressions name event columns only.
    query = f"""
        WITH grid AS (
            SELECT s.agent, d.g_day,
                   greatest(s.start_ts, d.g_day) AS g_start,
                   least(s.end_ts, d.g_day + INTERVAL 1 DAY) AS g_end
            FROM series_spans s,
                 generate_series(date_trunc('day', s.start_ts),
                                 s.end_ts - INTERVAL 1 MICROSECOND, INTERVAL 1 DAY) d(g_day)
        ), e AS (
            SELECT ev.*, date_trunc('day', ev.ts) AS g_event_day
            FROM events ev JOIN series_spans s
              ON ev.agent = s.agent AND ev.ts >= s.start_ts AND ev.ts < s.end_ts
        )
        SELECT g.agent, CAST(g.g_day AS DATE) AS g_date,
               epoch(g.g_end - g.g_start) / 86400.0 AS g_days,
               {", ".join(selects)}
        FROM grid g LEFT JOIN e ON e.agent = g.agent AND e.g_event_day = g.g_day
        GROUP BY ALL
        ORDER BY g.agent, g_date
    """  # noqa: S608 -- assembled from MetricSql's validated column names
    for agent, day, days, *values in connection.execute(query).fetchall():
        for metric_id, points in result[agent].items():
            stats = readers[metric_id](values, days)
            points.append({"day": day.isoformat(), "value": _rounded(stats.value), "n": stats.n})
    return result


def monthly_costs(
    store: EventStore, charters: list[Charter], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """`{agent: [{"month": "YYYY-MM", "tasks", "successes", "inference", "tooling", "human"}]}`
    over every event before `now`; an empty cost cell counts as 0."""
    rows = store.connection.execute(
        """
        SELECT agent, strftime(ts, '%Y-%m') AS month, count(*) AS tasks,
               count(*) FILTER (WHERE outcome = 'success') AS successes,
               COALESCE(sum(cost_usd), 0.0), COALESCE(sum(tooling_cost_usd), 0.0),
               COALESCE(sum(human_cost_usd), 0.0)
        FROM events WHERE ts < ?
        GROUP BY ALL
        ORDER BY agent, month
        """,
        [now],
    ).fetchall()
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for agent, month, tasks, successes, inference, tooling, human in rows:
        found.setdefault(agent, {})[month] = {
            "month": month,
            "tasks": int(tasks),
            "successes": int(successes),
            "inference": round(float(inference), COST_DECIMALS),
            "tooling": round(float(tooling), COST_DECIMALS),
            "human": round(float(human), COST_DECIMALS),
        }
    last = _month(now.date())
    costs: dict[str, list[dict[str, Any]]] = {}
    for charter in charters:
        months = found.get(charter.id)
        if not months:
            costs[charter.id] = []
            continue
        costs[charter.id] = [
            months.get(month) or _empty_month(month) for month in _months(min(months), last)
        ]
    return costs


def _empty_month(month: str) -> dict[str, Any]:
    return {
        "month": month,
        "tasks": 0,
        "successes": 0,
        "inference": 0.0,
        "tooling": 0.0,
        "human": 0.0,
    }


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
