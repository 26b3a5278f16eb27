"""What agents cost: the spend buckets, human time priced, the cost-shift rule, cost per month.

Spend comes in three buckets: `inference` (the model), `tooling` (evals, observability, vector
search, ...) and `human` (reviewer minutes priced at the organisation's hourly rate). Cost-shifting
is one rule, used by the handbook's cost page and by agent reviews alike: when inference per task
falls but human time per task rises by more than was saved, the saving is not real. Month by month
figures come from the monitor's snapshot (`costs`); budgets from the charters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from playbook.core.charter import Charter

BUCKETS = ("inference", "tooling", "human")
MINUTES_PER_HOUR = 60.0


def human_cost_usd(reviewer_minutes: float, hourly_rate_usd: float) -> float:
    """Reviewer time in dollars: minutes / 60 * the organisation's hourly rate."""
    return reviewer_minutes / MINUTES_PER_HOUR * hourly_rate_usd


def human_cost_sql(minutes: str, hourly_rate_usd: float) -> str:
    """The same price as a SQL expression over a column of minutes (for the event engines)."""
    return f"{minutes} / {MINUTES_PER_HOUR!r} * {float(hourly_rate_usd)!r}"


@dataclass(frozen=True)
class Spend:
    """A period's tasks and its inference and human spend, in USD."""

    tasks: int
    inference: float
    human: float


@dataclass(frozen=True)
class CostShift:
    """Inference per task fell by `saved` but human time per task rose by `added`, more."""

    inference_before: float
    inference_now: float
    human_before: float
    human_now: float

    @property
    def saved(self) -> float:
        return self.inference_before - self.inference_now

    @property
    def added(self) -> float:
        return self.human_now - self.human_before


def cost_shift(previous: Spend, current: Spend) -> CostShift | None:
    """The cost-shift rule: a shift when inference per task fell and human cost per task rose
    by more than inference saved; None otherwise, or when either period has no task."""
    if not previous.tasks or not current.tasks:
        return None
    shift = CostShift(
        previous.inference / previous.tasks,
        current.inference / current.tasks,
        previous.human / previous.tasks,
        current.human / current.tasks,
    )
    return shift if shift.saved > 0 and shift.added > shift.saved else None


@dataclass(frozen=True)
class Month:
    month: str
    tasks: int
    successes: int
    spend: dict[str, float]  # by bucket
    budget: dict[str, float] | None  # monthly budget by bucket, when the charter has one

    @property
    def total(self) -> float:
        return sum(self.spend.values())

    def per_success(self, bucket: str | None = None) -> float | None:
        if not self.successes:
            return None
        amount = self.total if bucket is None else self.spend[bucket]
        return amount / self.successes

    @property
    def spend_of_tasks(self) -> Spend:
        return Spend(self.tasks, self.spend["inference"], self.spend["human"])

    @property
    def variance(self) -> float | None:
        return None if self.budget is None else self.total - sum(self.budget.values())


def months_for(charter: Charter | None, costs: list[dict[str, Any]]) -> list[Month]:
    budget = None
    if charter is not None and charter.budget is not None:
        monthly = charter.budget.monthly_usd
        budget = {bucket: getattr(monthly, bucket) for bucket in BUCKETS}
    return [
        Month(
            row["month"],
            int(row.get("tasks", 0)),
            int(row.get("successes", 0)),
            {bucket: float(row.get(bucket, 0.0) or 0.0) for bucket in BUCKETS},
            budget,
        )
        for row in sorted(costs, key=lambda r: r["month"])
    ]


def organisation_months(per_agent: list[list[Month]]) -> list[Month]:
    """All agents together, month by month (budgets added up where every agent has one)."""
    by_month: dict[str, list[Month]] = {}
    for months in per_agent:
        for month in months:
            by_month.setdefault(month.month, []).append(month)
    combined = []
    for name in sorted(by_month):
        rows = by_month[name]
        budgets = [row.budget for row in rows]
        budget = (
            {b: sum(x[b] for x in budgets) for b in BUCKETS}  # type: ignore[index]
            if all(x is not None for x in budgets)
            else None
        )
        combined.append(
            Month(
                name,
                sum(r.tasks for r in rows),
                sum(r.successes for r in rows),
                {b: sum(r.spend[b] for r in rows) for b in BUCKETS},
                budget,
            )
        )
    return combined


def month_shift(previous: Month, current: Month) -> str | None:
    """The cost page's warning when a cheaper model only moved the cost onto reviewers."""
    shift = cost_shift(previous.spend_of_tasks, current.spend_of_tasks)
    if shift is None:
        return None
    return (
        f"Cost-shifting in {current.month}: inference per task fell by ${shift.saved:.3f} but "
        f"human time per task rose by ${shift.added:.3f}. The saving is shifted to reviewers, not "
        "real."
    )


def shifts(months: list[Month]) -> list[str]:
    return [
        warning
        for previous, current in itertools.pairwise(months)
        if (warning := month_shift(previous, current))
    ]
