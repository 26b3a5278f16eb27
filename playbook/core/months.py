"""Month-by-month spend, as the costs page and the home page's budget line show it.

Each agent's months come from the monitor's snapshot (`costs`: tasks, successes and spend by
bucket per calendar month, UTC), paired with the charter's monthly budget; the organisation's are
the agents' added up. A bucket the events do not record (its column is missing) is None: the
month's total adds the buckets that are known, its cost per successful task in that bucket is
unknown, and no cost shift is judged without both inference and human spend.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from playbook.core.charter import Charter
from playbook.core.costs import (
    BUCKETS,
    BudgetStatus,
    Spend,
    budget_status,
    charter_budget,
    material_shift,
    month_bounds,
    month_key,
    row_spend,
    shift_sentence,
)
from playbook.core.settings import CostSettings


@dataclass(frozen=True)
class Month:
    month: str
    tasks: int
    successes: int
    spend: dict[str, float | None]  # by bucket; None: not recorded in the events
    budget: dict[str, float] | None  # monthly budget by bucket, when the charter has one

    @property
    def total(self) -> float:
        """The known buckets' spend (a floor when `unknown` is not empty)."""
        return sum(amount for amount in self.spend.values() if amount is not None)

    @property
    def unknown(self) -> tuple[str, ...]:
        """The buckets whose spend the events do not record."""
        return tuple(bucket for bucket in BUCKETS if self.spend.get(bucket) is None)

    def per_success(self, bucket: str | None = None) -> float | None:
        """Spend per successful task, all known buckets or one (None: no success, or the
        bucket is not recorded)."""
        amount = self.total if bucket is None else self.spend.get(bucket)
        if not self.successes or amount is None:
            return None
        return amount / self.successes

    @property
    def spend_of_tasks(self) -> Spend | None:
        """The month as the cost-shift rule reads it; None without inference or human spend."""
        inference, human = self.spend.get("inference"), self.spend.get("human")
        if inference is None or human is None:
            return None
        return Spend(self.tasks, inference, human, self.successes, self.spend.get("tooling") or 0.0)

    def status(self, now: datetime, settings: CostSettings | None = None) -> BudgetStatus | None:
        """The month against its budget at `now` (None without a budget)."""
        if self.budget is None:
            return None
        return budget_status(self.month, self.spend, self.budget, now, settings)

    def months_long(self, now: datetime | None) -> float:
        """How much of a month these figures cover: the elapsed share for the month of `now`."""
        if now is None or month_key(now) != self.month:
            return 1.0
        start, end = month_bounds(self.month)
        return min(max((now - start) / (end - start), 0.0), 1.0)


def months_for(charter: Charter | None, costs: list[dict[str, Any]]) -> list[Month]:
    """A charter's months from its snapshot rows (a bucket's null stays unknown)."""
    budget = charter_budget(charter)
    return [
        Month(
            row["month"],
            int(row.get("tasks", 0)),
            int(row.get("successes", 0)),
            row_spend(row),
            budget,
        )
        for row in sorted(costs, key=lambda r: r["month"])
    ]


def organisation_months(per_agent: list[list[Month]]) -> list[Month]:
    """All agents together, month by month (budgets added up where every agent has one; a
    bucket unknown for any agent is unknown for the organisation)."""
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
        spend = {bucket: _sum([row.spend.get(bucket) for row in rows]) for bucket in BUCKETS}
        combined.append(
            Month(
                name,
                sum(r.tasks for r in rows),
                sum(r.successes for r in rows),
                spend,
                budget,
            )
        )
    return combined


def _sum(amounts: list[float | None]) -> float | None:
    return None if any(amount is None for amount in amounts) else sum(amounts)  # type: ignore[arg-type]


def month_shift(
    previous: Month,
    current: Month,
    settings: CostSettings | None = None,
    now: datetime | None = None,
) -> str | None:
    """The cost page's warning when a cheaper model only moved the cost onto reviewers, and the
    shift is material (`material_shift`); the month of `now` counts as the part of it elapsed."""
    before, after = previous.spend_of_tasks, current.spend_of_tasks
    if before is None or after is None:
        return None
    material = material_shift(before, after, months=current.months_long(now), settings=settings)
    if material is None:
        return None
    return f"Cost-shifting in {current.month}: {shift_sentence(material)}"


def shifts(
    months: list[Month], settings: CostSettings | None = None, now: datetime | None = None
) -> list[str]:
    return [
        warning
        for previous, current in itertools.pairwise(months)
        if (warning := month_shift(previous, current, settings, now))
    ]
