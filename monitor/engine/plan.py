"""What one summary pass computes: per agent its windows, its metrics, the histograms its drift
tests need; and the engine-side table of the agents that every event row is joined to.

`agents_table` is joined to the events on `agent` (a left join: rows of agents without a
charter stay, as `unknown_agent`); it carries each agent's place (a compact group key), the bounds
of its drift windows and which histograms its drift tests need. The summary pass reads the other
windows off its groups, from their UTC day and segment (`monitor.engine.segments`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis.expr.datatypes as dt

from playbook.core.model import Metric

UTC_TIME = dt.Timestamp(timezone="UTC")
AGENT_INDEX = "_agent_index"  # the agent's place in `agents_table`, for compact group keys


@dataclass
class Plan:
    """What to summarise: per agent its windows (label -> [start, end)), the metrics it needs,
    and the continuous metrics whose distribution its drift windows need."""

    now: datetime
    windows: dict[str, dict[str, tuple[datetime, datetime]]]
    metrics: dict[str, list[Metric]]
    histograms: dict[str, list[Metric]] = field(default_factory=dict)
    histogram_labels: tuple[str, ...] = ("recent", "baseline")
    series_label: str | None = None  # the window whose days the daily series covers

    @property
    def labels(self) -> list[str]:
        return sorted({label for windows in self.windows.values() for label in windows})


def distinct(metric_lists: Iterable[list[Metric]]) -> list[Metric]:
    seen: dict[str, Metric] = {}
    for metrics in metric_lists:
        for metric in metrics:
            seen.setdefault(metric.id, metric)
    return list(seen.values())


def agents_table(plan: Plan) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """`(columns, schema)` of a table of one row per agent (`Engine.small_table` makes it): its
    id, its place in the sorted ids, the bounds of its drift windows (`plan.histogram_labels`),
    and per continuous metric whether the agent's drift tests need its histogram."""
    agents = sorted(plan.windows)
    data: dict[str, list[Any]] = {"agent": agents, AGENT_INDEX: list(range(len(agents)))}
    schema: dict[str, Any] = {"agent": dt.string, AGENT_INDEX: dt.int64}
    for label in plan.histogram_labels:
        bounds = [plan.windows[agent].get(label, (None, None)) for agent in agents]
        start, end = bound_columns(label)
        data[start], data[end] = [b[0] for b in bounds], [b[1] for b in bounds]
        schema |= {start: UTC_TIME, end: UTC_TIME}
    for metric in distinct(plan.histograms.values()):
        data[histogram_flag(metric)] = [metric in plan.histograms.get(a, []) for a in agents]
        schema[histogram_flag(metric)] = dt.boolean
    return data, schema


def bound_columns(label: str) -> tuple[str, str]:
    """The agents table's columns that hold the start and the end of a drift window."""
    return f"{label}_start", f"{label}_end"


def histogram_flag(metric: Metric) -> str:
    return f"histogram_{metric.id}"
