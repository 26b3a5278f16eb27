"""What agents cost: the spend buckets, human time priced, budgets, and the cost-shift rule.

Spend comes in three buckets: `inference` (the model), `tooling` (evals, observability, vector
search, ...) and `human` (reviewer minutes priced at the organisation's hourly rate). Month by
month figures come from the monitor's snapshot (`costs`); budgets from the charters
(`budget.monthly_usd`, the three buckets together).

Budgets: a finished month is over or under its budget; the month in progress is also *projected*,
linearly, by the share of the month elapsed (spend so far / share elapsed), once
`CostSettings.projection_after` of it has passed. The monitor's `BudgetOverrun` alert and the
handbook's costs page use the same `BudgetStatus`.

Cost-shifting: when inference per task falls but human cost per task rises by more than was
saved, the saving is not real. It is warned about (costs page, agent reviews) only when it is
material (`material_shift`): the rise exceeds the saving by more than a share of the cost per
successful task, and both the saving and the rise are above a floor in dollars a month.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from playbook.core.charter import Charter
from playbook.core.clock import parse_window
from playbook.core.settings import CostSettings

BUCKETS = ("inference", "tooling", "human")
SPEND_COLUMNS = ("cost_usd", "tooling_cost_usd", "reviewer_minutes")  # human: minutes, priced
BUCKET_COLUMNS = dict(zip(BUCKETS, SPEND_COLUMNS, strict=True))  # each bucket's event column
BUCKET_WORDS = {"inference": "inference", "tooling": "tooling", "human": "human time"}
MINUTES_PER_HOUR = 60.0


def unrecorded(present: Collection[str]) -> tuple[str, ...]:
    """The buckets whose event column is not among `present`: their spend is unknown, not $0."""
    return tuple(bucket for bucket, column in BUCKET_COLUMNS.items() if column not in present)


def bucket_words(buckets: Iterable[str], joiner: str = ", ") -> str:
    """`inference, human time`: buckets as people read them."""
    return joiner.join(BUCKET_WORDS[bucket] for bucket in buckets)


def recorded_spend(
    figures: Mapping[str, float], present: Collection[str]
) -> dict[str, float | None]:
    """Spend by bucket from summed figures (`monitor.engine.summaries.BASE`); None for a bucket
    whose event column is not among `present`."""
    missing = unrecorded(present)
    return {
        bucket: None if bucket in missing else float(figures.get(bucket, 0.0)) for bucket in BUCKETS
    }


def row_spend(row: Mapping[str, Any]) -> dict[str, float | None]:
    """A snapshot cost row's spend by bucket: a null bucket stays unknown (not recorded), a
    bucket the row lacks (an older snapshot) is $0."""
    return {
        bucket: None if bucket in row and row[bucket] is None else float(row.get(bucket, 0.0))
        for bucket in BUCKETS
    }


def human_cost_usd(reviewer_minutes: float, hourly_rate_usd: float) -> float:
    """Reviewer time in dollars: minutes / 60 * the organisation's hourly rate."""
    return reviewer_minutes / MINUTES_PER_HOUR * hourly_rate_usd


def human_cost_sql(minutes: str, hourly_rate_usd: float) -> str:
    """The same price as a SQL expression over a column of minutes (for the event engines)."""
    return f"{minutes} / {MINUTES_PER_HOUR!r} * {float(hourly_rate_usd)!r}"


DAYS_PER_MONTH = 30  # a review period's budget and a shift's dollars a month use a 30-day month
OVER, PROJECTED_OVER, UNDER = "over", "projected_over", "under"
UNKNOWN = "unknown"  # not over, but a bucket the budget plans is not recorded: under is unproven
MINUS = "\u2212"  # a real minus sign in figures people read
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class Spend:
    """A period's tasks (and successes, when known) and its spend by bucket, in USD."""

    tasks: int
    inference: float
    human: float
    successes: int | None = None
    tooling: float = 0.0

    @property
    def total(self) -> float:
        return self.inference + self.tooling + self.human

    @property
    def outcomes(self) -> int:
        """What a cost per outcome divides by: the successes, or the tasks when not known."""
        return self.successes or self.tasks


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
class MaterialShift:
    """A cost shift worth a warning, with the figures that make it material."""

    shift: CostShift
    saved_per_month: float  # inference saving per task x tasks, in USD a month
    added_per_month: float  # human cost rise per task x tasks, in USD a month
    rise_share: float  # (rise - saving) per successful task / the cost per successful task before
    settings: CostSettings


def material_shift(
    previous: Spend, current: Spend, *, months: float, settings: CostSettings | None = None
) -> MaterialShift | None:
    """The cost-shift rule with materiality: a shift (`cost_shift`) whose human cost rise exceeds
    the inference saving by more than `settings.shift_share` of the cost per successful task
    (before), the saving and the rise each above `settings.shift_floor_usd_per_month`. `months`:
    the current period's length in months (its tasks make the dollars a month)."""
    settings = settings or CostSettings()
    shift = cost_shift(previous, current)
    if shift is None or months <= 0:
        return None
    saved = shift.saved * current.tasks / months
    added = shift.added * current.tasks / months
    before = previous.total / previous.outcomes
    rise = (shift.added - shift.saved) * current.tasks / current.outcomes
    share = rise / before if before > 0 else math.inf
    floor = settings.shift_floor_usd_per_month
    if saved <= floor or added <= floor or share <= settings.shift_share:
        return None
    return MaterialShift(shift, saved, added, share, settings)


def shift_sentence(material: MaterialShift) -> str:
    """The warning, in plain words, with the thresholds that made it one."""
    shift, settings = material.shift, material.settings
    return (
        f"Inference per task fell by {per_task_usd(shift.saved)} (from "
        f"{per_task_usd(shift.inference_before)} to {per_task_usd(shift.inference_now)}; "
        f"{monthly_usd(material.saved_per_month)} a month), but human time per task rose by "
        f"{per_task_usd(shift.added)} (from {per_task_usd(shift.human_before)} to "
        f"{per_task_usd(shift.human_now)}; {monthly_usd(material.added_per_month)} a month): "
        f"cost per successful task is up {material.rise_share:.0%}, more than the "
        f"{settings.shift_share:.0%} threshold. The saving is shifted to reviewers, not real."
    )


def shift_rule(settings: CostSettings | None = None, source: str = "") -> str:
    """The materiality rule in one sentence, with its thresholds (for pages and reviews);
    `source` (e.g. ` (monitor.yaml)`) is added before the full stop."""
    settings = settings or CostSettings()
    return (
        "A cost shift is reported only when it is material: inference per task fell, human cost "
        "per task rose by more than that saving, the rise exceeds the saving by more than "
        f"{settings.shift_share:.0%} of the cost per successful task, and the saving and the "
        f"rise are each above {monthly_usd(settings.shift_floor_usd_per_month)} a month{source}."
    )


def per_task_usd(value: float) -> str:
    """`$1.25`, or three significant digits below a dollar (`$0.0123`)."""
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:#.3g}"


def dollars(value: float) -> str:
    """A budget-sized amount: whole dollars from $100 (`$3,912`), cents below (`$42.50`)."""
    size = abs(value)
    text = f"${size:,.0f}" if size >= 100 else f"${size:,.2f}"
    return f"{MINUS}{text}" if value < 0 else text


def signed_share(share: float) -> str:
    """`+21%`, `\u22128%`: a relative difference with its sign (a real minus)."""
    return f"{'+' if share >= 0 else MINUS}{abs(share):.0%}"


def monthly_usd(value: float) -> str:
    """Whole dollars: `$1,234`."""
    return f"{MINUS}${-value:,.0f}" if value < 0 else f"${value:,.0f}"


_UNIT_WORDS = {"h": "hour", "d": "day", "w": "week"}


def window_words(window: str) -> str:
    """`7d` -> `7 days`, `1w` -> `1 week`, `12h` -> `12 hours` (a validated window)."""
    count, unit = int(window[:-1]), _UNIT_WORDS[window[-1]]
    return f"{count} {unit}{'' if count == 1 else 's'}"


# --- months and budgets ------------------------------------------------------------------------


def month_key(moment: datetime) -> str:
    """`YYYY-MM` of the calendar month (UTC) a moment falls in."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a `YYYY-MM` month, UTC."""
    year, number = map(int, month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def month_name(month: str) -> str:
    """`2026-11` -> `November 2026`."""
    year, number = month.split("-")
    return f"{MONTH_NAMES[int(number) - 1]} {year}"


@dataclass(frozen=True)
class BudgetStatus:
    """A month's spend against its budget at some moment: finished, or in progress and (once
    `projection_after` has passed) projected linearly to the whole month. A bucket whose spend
    is None is not recorded: the total adds the others, so it is a floor, and a month cannot be
    shown under a budget that plans the missing bucket (`UNKNOWN`); over it still can."""

    month: str
    spend: dict[str, float | None]  # by bucket
    budget: dict[str, float]  # by bucket
    elapsed: float  # share of the month passed, 0 to 1 (1: the month is over)
    projecting: bool  # a projection is made (the month is in progress and old enough)

    @property
    def total(self) -> float:
        return sum(amount for amount in self.spend.values() if amount is not None)

    @property
    def unknown(self) -> tuple[str, ...]:
        """The buckets the budget plans (above $0) whose spend is not recorded."""
        return tuple(
            bucket
            for bucket, amount in self.spend.items()
            if amount is None and self.budget.get(bucket, 0.0) > 0
        )

    @property
    def budget_total(self) -> float:
        return sum(self.budget.values())

    @property
    def finished(self) -> bool:
        return self.elapsed >= 1.0

    @property
    def projected(self) -> float | None:
        """The month's spend projected linearly, or None (finished, or too early to say)."""
        return self.total / self.elapsed if self.projecting else None

    @property
    def variance(self) -> float:
        return self.total - self.budget_total

    @property
    def state(self) -> str:
        """OVER: spend passed the budget; PROJECTED_OVER: on course to pass it; else UNKNOWN
        when a bucket the budget plans is not recorded, UNDER when all are."""
        if self.total > self.budget_total:
            return OVER
        projected = self.projected
        if projected is not None and projected > self.budget_total:
            return PROJECTED_OVER
        return UNKNOWN if self.unknown else UNDER

    @staticmethod
    def relative(amount: float, budget: float) -> float | None:
        """`amount - budget` as a share of the budget (None for a zero budget)."""
        return (amount - budget) / budget if budget > 0 else None


def budget_status(
    month: str,
    spend: dict[str, float | None],
    budget: dict[str, float],
    now: datetime,
    settings: CostSettings | None = None,
) -> BudgetStatus:
    """`month`'s spend against `budget` as it stands at `now` (spend: events before `now`)."""
    settings = settings or CostSettings()
    start, end = month_bounds(month)
    elapsed = min(max((now - start) / (end - start), 0.0), 1.0)
    projecting = elapsed < 1.0 and now - start >= parse_window(settings.projection_after)
    return BudgetStatus(month, dict(spend), dict(budget), elapsed, projecting)


def charter_budget(charter: Charter | None) -> dict[str, float] | None:
    """The charter's monthly budget by bucket, or None without one."""
    if charter is None or charter.budget is None:
        return None
    monthly = charter.budget.monthly_usd
    return {bucket: getattr(monthly, bucket) for bucket in BUCKETS}
