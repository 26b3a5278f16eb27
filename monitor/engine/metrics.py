"""Per agent and window, the catalog's metrics computed from the `events` table.

Windows are half-open, [start, end). Aggregation stays in SQL (one GROUP BY over every window of
every agent); only continuous metrics of the two drift windows come back as per-task arrays,
because their test ranks values.

How each kind is computed (`compute` in the catalog):
- proportion: tasks matching `where` / tasks where the `where` columns are known;
- continuous: per task, the sum of the `sum` columns; the value is the mean;
- ratio: the `sum` columns added over tasks / number of tasks matching `where`;
- count: tasks matching `where` per day of the window.
A task whose summed columns include an empty cell is left out of that metric (an unknown cost is
never counted as zero); a column the source does not have at all counts as zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from monitor.engine import sql
from monitor.engine.events import EventStore
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.core.model import Metric
from playbook.core.windows import BASELINE, RECENT, charter_windows


def charter_metric_ids(charter: Charter) -> list[str]:
    """Every event-computed metric a charter needs, in a stable order."""
    ids = list(charter.monitor.metrics) if charter.monitor else []
    ids += [g.metric for g in charter.guardrails]
    ids += [s.metric for s in charter.stop_conditions]
    ids.append(charter.north_star.metric)
    return list(dict.fromkeys(ids))


@dataclass
class WindowStats:
    """A metric over one window of one agent: its value and what its test needs."""

    metric: str
    kind: str
    n: int = 0
    value: float | None = None
    matches: int = 0  # proportion and count: tasks matching `where`
    days: float = 0.0  # count: window length
    sums: dict[str, float] = field(default_factory=dict)  # ratio: sx, sy, sxx, syy, sxy
    values: np.ndarray | None = None  # continuous, drift windows only


# Turns the aggregate columns of one result row (and the window's length in days) into WindowStats.
Reader = Callable[[list, float], WindowStats]


class MetricSql:
    """SQL expressions for one catalog metric, given the columns the source has."""

    def __init__(self, metric: Metric, present: set[str]) -> None:
        assert metric.compute is not None
        self.metric = metric
        conditions = metric.compute.where or {}
        if all(column in present for column in conditions):
            self.where = _where(conditions)
            self.where_known = _known(conditions)
        else:  # the source lacks a column the metric needs: no task can be classified
            self.where = self.where_known = "false"
        self.value = _sum(metric.compute.sum or [], present)


def _where(conditions: dict[str, object]) -> str:
    parts = [f'"{column}" = {sql.value(value)}' for column, value in conditions.items()]
    return " AND ".join(parts) or "true"


def _known(conditions: dict[str, object]) -> str:
    return " AND ".join(f'"{column}" IS NOT NULL' for column in conditions) or "true"


def _sum(columns: list[str], present: set[str]) -> str:
    kept = [f'"{column}"' for column in columns if column in present]
    return f"({' + '.join(kept)})" if kept else "0.0"


def compute(
    store: EventStore, governance: Governance, charters: list[Charter], now: datetime
) -> dict[tuple[str, str, str], WindowStats]:
    """`{(agent, window label, metric): WindowStats}` for every window of every charter."""
    rows = [
        (charter.id, window.label, window.start, window.end)
        for charter in charters
        for window in charter_windows(charter, now)
    ]
    _create_windows(store, rows)
    metrics = _metrics_needed(governance, charters)
    sql = {m.id: MetricSql(m, store.columns) for m in metrics}
    if not rows or not metrics:
        return {}
    results = _window_stats(store, charters, metrics, sql)
    continuous = [metric for metric in metrics if metric.kind == "continuous"]
    if continuous:
        window_keys = [(agent, label) for agent, label, _, _ in rows]
        _attach_samples(store, continuous, sql, window_keys, results)
    return results


def _metrics_needed(governance: Governance, charters: list[Charter]) -> list[Metric]:
    """The catalog metrics any of the charters needs, each once, in a stable order."""
    metric_ids = list(dict.fromkeys(m for c in charters for m in charter_metric_ids(c)))
    return [governance.metric(metric_id) for metric_id in metric_ids]


def _create_windows(store: EventStore, rows: list[tuple[str, str, datetime, datetime]]) -> None:
    """The temporary table `windows`: one row per (agent, window), `wid` its index in `rows`."""
    connection = store.connection
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE windows "
        "(wid INTEGER, agent VARCHAR, label VARCHAR, start_ts TIMESTAMPTZ, end_ts TIMESTAMPTZ)"
    )
    if rows:
        # One statement: DuckDB runs executemany() as one statement per row, which is slow.
        placeholders = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
        values = [value for wid, row in enumerate(rows) for value in (wid, *row)]
        connection.execute(f"INSERT INTO windows VALUES {placeholders}", values)


def _window_stats(
    store: EventStore, charters: list[Charter], metrics: list[Metric], sql: dict[str, MetricSql]
) -> dict[tuple[str, str, str], WindowStats]:
    """One GROUP BY over every window: each charter's metrics in each of its windows."""
    selects, readers = aggregates(metrics, sql)
    query = f"""
        SELECT w.agent, w.label, epoch(w.end_ts - w.start_ts) / 86400.0 AS days,
               {", ".join(selects)}
        FROM windows w LEFT JOIN events e
          ON e.agent = w.agent AND e.ts >= w.start_ts AND e.ts < w.end_ts
        GROUP BY ALL
    """
    needed = {(c.id, m) for c in charters for m in charter_metric_ids(c)}
    results: dict[tuple[str, str, str], WindowStats] = {}
    for record in store.connection.execute(query).fetchall():
        agent, label, days, *values = record
        for metric in metrics:
            if (agent, metric.id) in needed:
                results[(agent, label, metric.id)] = readers[metric.id](values, days)
    return results


def aggregates(
    metrics: list[Metric], sql: dict[str, MetricSql]
) -> tuple[list[str], dict[str, Reader]]:
    """SELECT expressions for every metric over events aliased `e` (one group = one window), and
    per metric a reader turning the row's aggregate columns back into WindowStats."""
    selects: list[str] = []
    readers: dict[str, Reader] = {}
    for metric in metrics:
        expr = sql[metric.id]
        base = len(selects)
        if metric.kind == "proportion":
            selects += [
                f"count(e.ts) FILTER (WHERE {expr.where_known})",
                f"count(e.ts) FILTER (WHERE {expr.where_known} AND {expr.where})",
            ]
            readers[metric.id] = _proportion_reader(metric, base)
        elif metric.kind == "continuous":
            selects += [f"count({expr.value})", f"avg({expr.value})"]
            readers[metric.id] = _continuous_reader(metric, base)
        elif metric.kind == "ratio":
            x = expr.value
            y = f"CASE WHEN {expr.where} THEN 1.0 ELSE 0.0 END"
            selects += [
                f"count({x})",
                f"sum({x})",
                f"sum(CASE WHEN {x} IS NOT NULL THEN {y} END)",
                f"sum({x} * {x})",
                f"sum(CASE WHEN {x} IS NOT NULL THEN {y} * {y} END)",
                f"sum({x} * {y})",
            ]
            readers[metric.id] = _ratio_reader(metric, base)
        else:  # count
            selects += ["count(e.ts)", f"count(e.ts) FILTER (WHERE {expr.where})"]
            readers[metric.id] = _count_reader(metric, base)
    return selects, readers


def _proportion_reader(metric: Metric, at: int):
    def read(values: list, days: float) -> WindowStats:
        n, k = int(values[at]), int(values[at + 1])
        return WindowStats(metric.id, metric.kind, n=n, matches=k, value=k / n if n else None)

    return read


def _continuous_reader(metric: Metric, at: int):
    def read(values: list, days: float) -> WindowStats:
        n, mean = int(values[at]), values[at + 1]
        return WindowStats(metric.id, metric.kind, n=n, value=mean)

    return read


def _ratio_reader(metric: Metric, at: int):
    def read(values: list, days: float) -> WindowStats:
        n = int(values[at])
        names = ("sx", "sy", "sxx", "syy", "sxy")
        sums = {name: float(values[at + 1 + i] or 0.0) for i, name in enumerate(names)}
        value = sums["sx"] / sums["sy"] if sums["sy"] else None
        return WindowStats(metric.id, metric.kind, n=n, value=value, sums=sums)

    return read


def _count_reader(metric: Metric, at: int):
    def read(values: list, days: float) -> WindowStats:
        n, c = int(values[at]), int(values[at + 1])
        value = c / days if days else None
        return WindowStats(metric.id, metric.kind, n=n, matches=c, days=float(days), value=value)

    return read


def _attach_samples(
    store: EventStore,
    metrics: list[Metric],
    sql: dict[str, MetricSql],
    window_keys: list[tuple[str, str]],
    results: dict[tuple[str, str, str], WindowStats],
) -> None:
    """Per-task values of the continuous metrics in the recent and baseline windows: one scan,
    one column per metric (NaN where a task has no value), split by window in numpy."""
    columns = ", ".join(
        f"COALESCE({sql[metric.id].value}, 'NaN'::DOUBLE) AS v{index}"
        for index, metric in enumerate(metrics)
    )
    arrays = store.connection.execute(
        f"""
        SELECT w.wid, {columns}
        FROM windows w JOIN events e
          ON e.agent = w.agent AND e.ts >= w.start_ts AND e.ts < w.end_ts
        WHERE w.label IN ('{RECENT}', '{BASELINE}')
        ORDER BY w.wid
        """
    ).fetchnumpy()
    wids = np.asarray(arrays["wid"])
    if len(wids) == 0:
        return
    boundaries = np.flatnonzero(wids[1:] != wids[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(wids)]))
    for index, metric in enumerate(metrics):
        values = np.asarray(arrays[f"v{index}"], dtype=float)
        for start, end in zip(starts, ends, strict=True):
            agent, label = window_keys[int(wids[start])]
            stats = results.get((agent, label, metric.id))
            if stats is not None:
                window_values = values[start:end]
                stats.values = window_values[~np.isnan(window_values)]
