"""Unit economics for the cost page: cost per successful outcome by spend bucket, month by month.

Figures come from the monitor's snapshot (`costs`: tasks, successes and spend per bucket per
calendar month); budgets from the charters. Cost-shifting is called out plainly: when inference
per task falls but human time per task rises by more than was saved, the saving is not real.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from playbook.core.model import Charter

BUCKETS = ("inference", "tooling", "human")


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


def cost_shift(previous: Month, current: Month) -> str | None:
    """The plain warning when a cheaper model only moved the cost onto reviewers."""
    if not previous.tasks or not current.tasks:
        return None
    inference_before = previous.spend["inference"] / previous.tasks
    inference_now = current.spend["inference"] / current.tasks
    human_before = previous.spend["human"] / previous.tasks
    human_now = current.spend["human"] / current.tasks
    saved = inference_before - inference_now
    added = human_now - human_before
    if saved > 0 and added > saved:
        return (
            f"Cost-shifting in {current.month}: inference per task fell by ${saved:.3f} but human "
            f"time per task rose by ${added:.3f}. The saving is shifted to reviewers, not real."
        )
    return None


def shifts(months: list[Month]) -> list[str]:
    return [
        warning
        for previous, current in itertools.pairwise(months)
        if (warning := cost_shift(previous, current))
    ]
