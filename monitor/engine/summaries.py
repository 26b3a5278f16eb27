"""Every figure the monitor needs, computed where the events live, in one pass over them.

One query reads the checked events once, joins each row to its agent (a table of one row per
agent) and groups by (agent, UTC day, segment, reason): the counts, sums, sums of squares and
cross-products of every metric and the figures reviews and costs use. The windows each group
falls in are read off its day and segment afterwards (`monitor.engine.segments`). Bad rows and
rows of unknown agents fall into their own groups, so the same pass counts them.
A second query bins each continuous metric of the drift windows (`monitor.engine.histograms`). Only
these tables, whose size depends on agents x days x bins, reach Python; windows, daily series and
months are added up here from them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from monitor.engine.ahead import ahead_columns, ahead_instants
from monitor.engine.histograms import histograms
from monitor.engine.kinds import KINDS, Columns, count_if, equals, part
from monitor.engine.plan import Plan, distinct
from monitor.engine.repeats import Repeats
from monitor.engine.segments import Segments
from monitor.engine.summary import WindowSummary
from monitor.engine.uncharted import FIRST_TIME, LAST_TIME, seen_columns, seen_instants
from playbook.core.model import Metric

DAY = 86_400
HISTORY = "history"  # every event before now: what months add up
Progress = Callable[[str], None]

BASE = ("tasks", "successes", "escalations", "rework_known", "reworked", "policy_known",
        "policy_hits", "rollback_known", "rolled_back", "feedback_n", "feedback_sum",
        "reviewer_minutes", "inference", "tooling", "human")  # fmt: skip


def base_aggregates(table: Any) -> dict[str, Any]:
    """The figures reviews and the cost page read, per group (empty cost cells count as 0).
    Written as the metric kinds write theirs (`equals`, `count_if`), so that a monitored metric
    computed alike (success rate, rework rate, ...) is the same aggregate, computed once."""
    return {
        "tasks": table.count(),
        "successes": count_if(equals(table.outcome, "success")),
        "escalations": count_if(equals(table.outcome, "escalated")),
        "rework_known": count_if(table.reworked.notnull()),
        "reworked": count_if(equals(table.reworked, True)),
        "policy_known": count_if(table.policy_hit.notnull()),
        "policy_hits": count_if(equals(table.policy_hit, True)),
        "rollback_known": count_if(table.rolled_back.notnull()),
        "rolled_back": count_if(equals(table.rolled_back, True)),
        "feedback_n": table.customer_feedback.count(),
        "feedback_sum": table.customer_feedback.sum(),
        "reviewer_minutes": table.reviewer_minutes.sum(),
        "inference": table.cost_usd.sum(),
        "tooling": table.tooling_cost_usd.sum(),
        "human": table.human_cost_usd.sum(),
    }


class Summaries:
    """The pass's small tables, with the arithmetic that answers each question from them."""

    def __init__(
        self, plan: Plan, groups: dict[str, np.ndarray], histograms: dict, present: Collection[str]
    ) -> None:
        self.plan = plan
        self.present = frozenset(present)  # the event columns the source has
        self.groups = groups
        self.histograms = histograms  # (agent, label, metric id) -> Histogram
        self.repeats: Repeats | None = None  # rows that repeat a task_id, when worth saying
        self.bits = {label: 1 << index for index, label in enumerate(plan.labels)}
        self.valid = np.array([reason is None for reason in groups["reason"]], dtype=bool)
        self._by_agent: dict[str, np.ndarray] = {}
        self._day_totals: dict[tuple[str, str], _DayTotals] = {}
        valid_rows = np.flatnonzero(self.valid)
        agents = groups["agent"][valid_rows]
        for agent in np.unique(agents.astype(str)) if len(agents) else []:
            self._by_agent[str(agent)] = valid_rows[agents == agent]

    # --- bad rows --------------------------------------------------------------------------

    def reason_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason, tasks in zip(self.groups["reason"], self.groups["tasks"], strict=True):
            if reason is not None:
                counts[reason] = counts.get(reason, 0) + int(tasks)
        return counts

    def valid_tasks(self) -> int:
        return int(self.groups["tasks"][self.valid].sum())

    def unknown_agents(self, limit: int = 10) -> dict[str, int]:
        counts: dict[str, int] = {}
        for agent, reason, tasks in zip(
            self.groups["agent"], self.groups["reason"], self.groups["tasks"], strict=True
        ):
            if reason == "unknown_agent":
                counts[str(agent)] = counts.get(str(agent), 0) + int(tasks)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return dict(ranked[:limit])

    # --- windows ---------------------------------------------------------------------------

    def _rows(self, agent: str, label: str) -> np.ndarray:
        """Indices of the agent's valid groups inside the window `label`."""
        rows = self._by_agent.get(agent, np.zeros(0, dtype=np.int64))
        bit = self.bits.get(label, 0)
        return rows[(self.groups["mask"][rows] & bit) != 0]

    def _sums(self, rows: np.ndarray) -> _Sums:
        return _Sums(self.groups, rows)

    def base(self, agent: str, label: str) -> dict[str, float]:
        sums = self._sums(self._rows(agent, label))
        return {name: sums[name] for name in BASE}

    def last_day(self, agent: str) -> date | None:
        """The UTC day of the agent's newest valid task before `now`, if any."""
        rows = self._rows(agent, HISTORY)
        if not len(rows):
            return None
        return date(1970, 1, 1) + timedelta(days=int(self.groups["day"][rows].max()))

    def window(self, agent: str, label: str, metric: Metric) -> WindowSummary:
        rows = self._rows(agent, label)
        start, end = self.plan.windows[agent][label]
        days = (end - start) / timedelta(days=1)
        summary = KINDS[metric.kind].summary(metric, self._sums(rows), days)
        summary.histogram = self.histograms.get((agent, label, metric.id))
        if metric.kind == "count":
            summary.daily = self._daily_matches(rows, metric, (start, end))
        return summary

    def _daily_matches(
        self, rows: np.ndarray, metric: Metric, window: tuple[datetime, datetime]
    ) -> np.ndarray:
        """Matches on each whole UTC day of the window, days without a task included (partial
        first and last days left out: they would look like quiet days)."""
        first = int(np.ceil(window[0].timestamp() / DAY))
        after = int(np.floor(window[1].timestamp() / DAY))
        daily = np.zeros(max(after - first, 0))
        days = self.groups["day"][rows]
        inside = (days >= first) & (days < after)
        matches = self.groups[part(metric, "k")][rows][inside]
        np.add.at(daily, (days[inside] - first).astype(np.int64), matches)
        return daily

    # --- days and months -------------------------------------------------------------------

    def series(self, agent: str, metric: Metric) -> list[tuple[date, float, int]]:
        """(day, value, n) on each UTC day of the series window (partial first and last days;
        value NaN where the day has none)."""
        label = self.plan.series_label
        if label is None or label not in self.plan.windows.get(agent, {}):
            return []
        start, end = self.plan.windows[agent][label]
        return self._daily(agent, label, metric, start, end)

    def daily(
        self, agent: str, metric: Metric, start: datetime, end: datetime
    ) -> list[tuple[date, float, int]]:
        """(day, value, n) on each UTC day of [start, end), from every event before `now` (the
        window `history`; value NaN where the day has none). The metric must be one of the
        plan's (`Plan.metrics`), whose aggregates the pass computed."""
        end = min(end, self.plan.now)
        if HISTORY not in self.plan.windows.get(agent, {}) or end <= start:
            return []
        return self._daily(agent, HISTORY, metric, start, end)

    def _daily(
        self, agent: str, label: str, metric: Metric, start: datetime, end: datetime
    ) -> list[tuple[date, float, int]]:
        totals = self._per_day(agent, label)
        first = int(start.timestamp() // DAY)
        last = int((end.timestamp() - 1e-6) // DAY)
        days = np.arange(first, last + 1)
        lengths = (np.minimum(end.timestamp(), (days + 1) * DAY)
                   - np.maximum(start.timestamp(), days * DAY)) / DAY  # fmt: skip
        values, counts = KINDS[metric.kind].daily(metric, totals.spread(days), lengths)
        return [
            (datetime.fromtimestamp(int(day) * DAY, UTC).date(), float(value), int(n))
            for day, value, n in zip(days, values, counts, strict=True)
        ]

    def months(self, agent: str) -> dict[str, dict[str, float]]:
        """Base figures per calendar month (UTC) of the agent's events before `now` (the window
        `history`)."""
        totals = self._per_day(agent, HISTORY)
        if not len(totals.days):
            return {}
        months = totals.days.astype("datetime64[D]").astype("datetime64[M]")
        unique, inverse = np.unique(months, return_inverse=True)
        sums = {name: np.bincount(inverse, totals.column(name), len(unique)) for name in BASE}
        return {
            str(month): {name: float(sums[name][index]) for name in BASE}
            for index, month in enumerate(unique)
        }

    def _per_day(self, agent: str, label: str) -> _DayTotals:
        key = (agent, label)
        if key not in self._day_totals:
            self._day_totals[key] = _DayTotals(self.groups, self._rows(agent, label))
        return self._day_totals[key]


class _DayTotals:
    """Column totals per UTC day over some groups; each column added up, for every day at once,
    when first asked for."""

    def __init__(self, groups: dict[str, np.ndarray], rows: np.ndarray) -> None:
        self.groups, self.rows = groups, rows
        self.days, self.inverse = np.unique(groups["day"][rows], return_inverse=True)
        self.columns: dict[str, np.ndarray] = {}

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            values = np.nan_to_num(self.groups[name][self.rows].astype(float))
            self.columns[name] = np.bincount(self.inverse, values, minlength=len(self.days))
        return self.columns[name]

    def spread(self, days: np.ndarray) -> Callable[[str], np.ndarray]:
        """`name -> totals on each of days` (0 on a day without groups)."""
        positions = np.searchsorted(self.days, days)
        found = (positions < len(self.days)) & (
            self.days[np.minimum(positions, max(len(self.days) - 1, 0))] == days
        ) if len(self.days) else np.zeros(len(days), dtype=bool)  # fmt: skip

        def column(name: str) -> np.ndarray:
            out = np.zeros(len(days))
            out[found] = self.column(name)[positions[found]]
            return out

        return column


class _Sums(Mapping[str, float]):
    """Column totals over some groups, each added up when first asked for."""

    def __init__(self, groups: dict[str, np.ndarray], rows: np.ndarray) -> None:
        self.groups, self.rows, self.cache = groups, rows, {}

    def __getitem__(self, name: str) -> float:
        if name not in self.cache:
            self.cache[name] = float(np.nansum(self.groups[name][self.rows]))
        return self.cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)


def summarise(events: Any, plan: Plan, *, progress: Progress = lambda _: None) -> Summaries:
    """Run the pass over `events` (`monitor.engine.events.Events`, opened with
    `agents_table(plan)` as its agents) for `plan`."""
    table = events.checked
    instants = (*seen_instants(plan.now), *ahead_instants(plan.now))
    segments = Segments(plan, with_days=True, instants=instants)
    day = events.engine.day_number(table.ts)
    joined = table.mutate(_segment=segments.number(table.ts, events.engine), _day=day)
    columns = Columns(joined, events.present)
    aggregates = base_aggregates(joined)
    aggregates |= {FIRST_TIME: joined.ts.min(), LAST_TIME: joined.ts.max()}
    for metric in distinct(plan.metrics.values()):
        aggregates |= KINDS[metric.kind].aggregates(metric, columns)
    computed, copies = _distinct(aggregates)
    query = joined.group_by(
        agent=joined.agent, day=joined._day, segment=joined._segment, reason=joined.reason
    ).aggregate(**computed)
    progress("reading and summarising the events")
    groups = events.fetch(query, progress=progress)
    spans = segments.spans(groups["segment"], groups["day"])
    groups["mask"] = spans.masks(groups["agent"])
    groups |= seen_columns(groups, spans, plan.now) | ahead_columns(groups, spans, plan.now)
    groups |= {name: groups[original] for name, original in copies.items()}
    reasons = {reason for reason in groups["reason"] if reason is not None}
    binned = histograms(events, events.valid(reasons), plan, progress)
    return Summaries(plan, groups, binned, events.present)


def _distinct(aggregates: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Each aggregate once: (the distinct ones, by name; name -> the name of its equal)."""
    first: dict[Any, str] = {}
    computed: dict[str, Any] = {}
    copies: dict[str, str] = {}
    for name, expression in aggregates.items():
        if (found := first.setdefault(expression.op(), name)) != name:
            copies[name] = found
        else:
            computed[name] = expression
    return computed, copies
