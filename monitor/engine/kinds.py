"""The metric kinds: for each, what the engine sums per window, how a window's value is read from
those sums, which drift tests it gets and its default effect floor. One class a kind, one registry.

How a metric comes from events (`compute` in the catalog):
- proportion: tasks matching `where` / tasks where the `where` columns are known;
- continuous: per task, the sum of the `sum` columns; the value is the mean; its distribution is a
  histogram over fixed log-spaced bins (`monitor.engine.summary`);
- ratio: the `sum` columns added over tasks / number of tasks matching `where`;
- count: tasks matching `where` per day of the window.
A task whose summed columns include an empty cell is left out of that metric (an unknown cost is
never counted as zero). A summed column the source does not have at all counts as zero beside one
it has (a spend bucket nobody records); with none of them, every task's value is unknown. A `where`
on a column the source lacks classifies no task. Either way the run warns (`lacking`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

import ibis
import ibis.expr.datatypes as dt
import numpy as np

from monitor.engine.summary import BINS_PER_DECADE, SMALLEST_DECADE, WindowSummary
from playbook.core.model import Metric

Sums = Mapping[str, float]
Array = np.ndarray
Column = Callable[[str], np.ndarray]  # a total per day, by aggregate name


class Columns:
    """Expressions over the checked events for one metric's `compute`."""

    def __init__(self, table: Any, present: set[str]) -> None:
        self.table = table
        self.present = present

    def constant(self, value: float | bool | None) -> Any:
        """`value` on every row, as a column (a metric whose columns the source lacks); None is
        a NULL number."""
        kind = dt.boolean if isinstance(value, bool) else dt.float64
        literal = ibis.null(kind) if value is None else ibis.literal(value, kind)
        return self.table.agent.isnull().ifelse(literal, literal)

    def value(self, metric: Metric) -> Any:
        """Per task, the sum of the `sum` columns the source has (NULL where one of them is
        empty); NULL on every task when it has none of them, as for an empty column: a latency
        nobody recorded is unknown, not 0."""
        kept = [self.table[c] for c in (metric.compute.sum or []) if c in self.present]  # type: ignore[union-attr]
        if not kept:
            return self.constant(None)
        total = kept[0]
        for column in kept[1:]:
            total = total + column
        return total if total.type() == dt.float64 else total.cast(dt.float64)

    def where(self, metric: Metric) -> Any:
        conditions = metric.compute.where or {}  # type: ignore[union-attr]
        if not all(column in self.present for column in conditions):
            return self.constant(False)
        tests = [equals(self.table[column], expected) for column, expected in conditions.items()]
        return _all(tests) if tests else self.constant(True)

    def known(self, metric: Metric) -> Any:
        conditions = metric.compute.where or {}  # type: ignore[union-attr]
        if not all(column in self.present for column in conditions):
            return self.constant(False)
        tests = [self.table[column].notnull() for column in conditions]
        return _all(tests) if tests else self.constant(True)


def lacking(metric: Metric, present: Collection[str]) -> list[str]:
    """The columns whose absence from the events leaves `metric` unmeasured (every task unknown,
    so `insufficient_data`): a `where` column, or all of the `sum` columns (a spend bucket the
    source lacks, beside one it has, counts as 0)."""
    compute = metric.compute
    if compute is None:
        return []
    missing = [column for column in compute.where or {} if column not in present]
    summed = compute.sum or []
    if summed and not any(column in present for column in summed):
        missing += [column for column in summed if column not in missing]
    return missing


def _all(conditions: list[Any]) -> Any:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def equals(column: Any, expected: str | bool | int | float) -> Any:
    """`column = expected` across types, as SQL would compare them: a flag or number in the
    catalog against a numeric column compares as a number, anything else as text."""
    kind = column.type()
    if isinstance(expected, bool | int | float) and (kind.is_numeric() or kind.is_boolean()):
        return column.cast(dt.float64) == ibis.literal(float(expected), dt.float64)
    if isinstance(expected, str) and kind.is_string():
        return column == ibis.literal(expected)
    text = str(expected).lower() if isinstance(expected, bool) else str(expected)
    return column.cast(dt.string) == ibis.literal(text)


def part(metric: Metric, name: str) -> str:
    """The column name of one aggregate: metrics computed alike share it."""
    return f"{_computation(metric)}_{name}"


# Each governance metric's computation id, by the metric's identity (the metric itself kept so
# that the id cannot be reused): a run asks ~10,000 times for 5 metrics' aggregates, and the
# dump and hash cost 0.07 CPU s a run. Governance models are not changed after they are loaded;
# a scheduler loads them again for each run, so the memo is emptied before it grows large.
_COMPUTATIONS: dict[int, tuple[Metric, str]] = {}
_MEMO_LIMIT = 4096


def _computation(metric: Metric) -> str:
    known = _COMPUTATIONS.get(id(metric))
    if known is not None and known[0] is metric:
        return known[1]
    compute = metric.compute.model_dump() if metric.compute else {}  # type: ignore[union-attr]
    key = json.dumps([metric.kind, compute], sort_keys=True, default=str)
    digest = f"m{hashlib.blake2s(key.encode(), digest_size=5).hexdigest()}"
    if len(_COMPUTATIONS) >= _MEMO_LIMIT:
        _COMPUTATIONS.clear()
    _COMPUTATIONS[id(metric)] = (metric, digest)
    return digest


@ibis.udf.agg.builtin(name="count_if")
def _count_if(condition: dt.boolean) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's and Spark's COUNT_IF: a tenth cheaper on a 10M-row pass than the SUM(CASE ...)
    Ibis writes for `condition.sum()`, and cheaper again than COUNT(*) FILTER (WHERE ...)."""


def count_if(condition: Any) -> Any:
    """Rows where `condition` is true (not where it is false or NULL); 0 for no such row (DuckDB's
    COUNT_IF is NULL when every condition is)."""
    return _count_if(condition).fill_null(0)


class Kind:
    name: ClassVar[str]
    description: ClassVar[str]
    histogram: ClassVar[bool] = False

    def aggregates(self, metric: Metric, columns: Columns) -> dict[str, Any]:
        raise NotImplementedError

    def summary(self, metric: Metric, sums: Sums, days: float) -> WindowSummary:
        raise NotImplementedError

    def daily(self, metric: Metric, column: Column, days: np.ndarray) -> tuple[Array, Array]:
        """(value, n) on many days at once, from each day's totals (`column(name)`) and length
        in days: what `summary` gives one day, NaN where it gives no value."""
        raise NotImplementedError


class Proportion(Kind):
    name = "proportion"
    description = "share of tasks matching `where`, of those where its columns are known"

    def aggregates(self, metric: Metric, columns: Columns) -> dict[str, Any]:
        known = columns.known(metric)
        return {
            part(metric, "n"): count_if(known),
            # `where` is unknown (NULL) wherever one of its columns is, so it counts known tasks
            part(metric, "k"): count_if(columns.where(metric)),
        }

    def summary(self, metric: Metric, sums: Sums, days: float) -> WindowSummary:
        n, k = int(sums[part(metric, "n")]), int(sums[part(metric, "k")])
        return WindowSummary(metric.id, self.name, n=n, matches=k, value=k / n if n else None)

    def daily(self, metric: Metric, column: Column, days: np.ndarray) -> tuple[Array, Array]:
        n = column(part(metric, "n"))
        return _divide(column(part(metric, "k")), n), n


class Continuous(Kind):
    name = "continuous"
    description = "per task, the sum of the `sum` columns; the mean, and its distribution"
    histogram = True

    def aggregates(self, metric: Metric, columns: Columns) -> dict[str, Any]:
        value = columns.value(metric)
        return {
            part(metric, "n"): value.count(),
            part(metric, "s"): value.sum(),
            part(metric, "ss"): (value * value).sum(),
        }

    def summary(self, metric: Metric, sums: Sums, days: float) -> WindowSummary:
        n = int(sums[part(metric, "n")])
        s, ss = float(sums[part(metric, "s")] or 0.0), float(sums[part(metric, "ss")] or 0.0)
        return WindowSummary(
            metric.id, self.name, n=n, value=s / n if n else None, sums={"s": s, "ss": ss}
        )

    def daily(self, metric: Metric, column: Column, days: np.ndarray) -> tuple[Array, Array]:
        n = column(part(metric, "n"))
        return _divide(column(part(metric, "s")), n), n


class Ratio(Kind):
    name = "ratio"
    description = "the `sum` columns added over tasks / the number of tasks matching `where`"

    def aggregates(self, metric: Metric, columns: Columns) -> dict[str, Any]:
        x = columns.value(metric)
        y = columns.where(metric).ifelse(1.0, 0.0)
        y_known = x.notnull().ifelse(y, ibis.null(dt.float64))
        return {
            part(metric, "n"): x.count(),
            part(metric, "sx"): x.sum(),
            part(metric, "sy"): y_known.sum(),
            part(metric, "sxx"): (x * x).sum(),
            part(metric, "syy"): (y_known * y_known).sum(),
            part(metric, "sxy"): (x * y_known).sum(),
        }

    def summary(self, metric: Metric, sums: Sums, days: float) -> WindowSummary:
        n = int(sums[part(metric, "n")])
        names = ("sx", "sy", "sxx", "syy", "sxy")
        values = {name: float(sums[part(metric, name)] or 0.0) for name in names}
        value = values["sx"] / values["sy"] if values["sy"] else None
        return WindowSummary(metric.id, self.name, n=n, value=value, sums=values)

    def daily(self, metric: Metric, column: Column, days: np.ndarray) -> tuple[Array, Array]:
        return _divide(column(part(metric, "sx")), column(part(metric, "sy"))), column(
            part(metric, "n")
        )


class Count(Kind):
    name = "count"
    description = (
        "tasks matching `where` per day of the window, of those where its columns are known"
    )

    def aggregates(self, metric: Metric, columns: Columns) -> dict[str, Any]:
        return {
            part(metric, "n"): count_if(columns.known(metric)),
            part(metric, "k"): count_if(columns.where(metric)),
        }

    def summary(self, metric: Metric, sums: Sums, days: float) -> WindowSummary:
        n, k = int(sums[part(metric, "n")]), int(sums[part(metric, "k")])
        # No task is a count of 0; tasks none of which say (the column is absent) is no count.
        unknown = n == 0 and sums["tasks"] > 0
        value = k / days if days and not unknown else None
        return WindowSummary(metric.id, self.name, n=n, matches=k, days=float(days), value=value)

    def daily(self, metric: Metric, column: Column, days: np.ndarray) -> tuple[Array, Array]:
        known = column(part(metric, "n"))
        matches = np.where((known == 0) & (column("tasks") > 0), np.nan, column(part(metric, "k")))
        return _divide(matches, days), known


def _divide(top: Array, bottom: Array) -> Array:
    """top / bottom, NaN where bottom is 0."""
    out = np.full(len(top), np.nan)
    np.divide(top, bottom, out=out, where=bottom != 0)
    return out


KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (Proportion(), Continuous(), Ratio(), Count())
}


def bin_expression(value: Any) -> Any:
    """`monitor.engine.summary.bin_codes` as an Ibis expression (the same codes, in SQL)."""
    magnitude = ibis.greatest(value.abs(), 10.0 ** (SMALLEST_DECADE - 1))
    scaled = (BINS_PER_DECADE * (magnitude.log10() - SMALLEST_DECADE)).floor()
    code = (1 + ibis.greatest(scaled, 0)).cast(dt.int64)
    return value.sign().cast(dt.int64) * code
