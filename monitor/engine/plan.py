"""What one summary pass computes: per agent its windows, its metrics, the histograms its drift
tests need; and the engine-side table that carries each agent's windows to every event row.

`windows_table` is joined to the events on `agent` (a left join: rows of agents without a
charter stay, as `unknown_agent`); `window_mask` then gives each row one bit per window label it
falls in, so one GROUP BY serves every window of every agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from playbook.core.model import Metric

UTC_TIME = dt.Timestamp(timezone="UTC")
AGENT_INDEX = "_agent_index"  # the agent's place in `windows_table`, for compact group keys


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


def windows_table(plan: Plan) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """`(columns, schema)` of a table of one row per agent (`Engine.small_table` makes it): its
    id, per window label `<label>_start` and `<label>_end`, and per continuous metric whether the
    agent's drift tests need its histogram."""
    agents = sorted(plan.windows)
    data: dict[str, list[Any]] = {"agent": agents, AGENT_INDEX: list(range(len(agents)))}
    schema: dict[str, Any] = {"agent": dt.string, AGENT_INDEX: dt.int64}
    for label in plan.labels:
        bounds = [plan.windows[agent].get(label, (None, None)) for agent in agents]
        data[f"{label}_start"] = [start for start, _ in bounds]
        data[f"{label}_end"] = [end for _, end in bounds]
        schema |= {f"{label}_start": UTC_TIME, f"{label}_end": UTC_TIME}
    for metric in distinct(plan.histograms.values()):
        data[histogram_flag(metric)] = [metric in plan.histograms.get(a, []) for a in agents]
        schema[histogram_flag(metric)] = dt.boolean
    return data, schema


def histogram_flag(metric: Metric) -> str:
    return f"histogram_{metric.id}"


def window_mask(joined: Any, plan: Plan, labels: Iterable[str] | None = None) -> Any:
    """The windows a row falls in, one bit a window label (its place in `plan.labels`); only the
    bits of `labels` when given (each bit costs two comparisons on every row). A row of an agent
    without that window compares with NULL, which a CASE reads as false: no COALESCE (a tenth of
    the summary query's CPU on 10M rows)."""
    mask = ibis.literal(0, dt.int64)
    wanted = plan.labels if labels is None else set(labels)
    for index, label in enumerate(plan.labels):
        if label not in wanted:
            continue
        inside = (joined.ts >= joined[f"{label}_start"]) & (joined.ts < joined[f"{label}_end"])
        mask = mask + inside.ifelse(1 << index, 0)
    return mask
