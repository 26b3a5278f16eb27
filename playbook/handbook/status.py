"""What the handbook shows first: how fresh the monitor's results are, and the home status strip.

Results are *stale* when the run they come from is older than twice the monitor's schedule
interval (`every` in monitor.yaml), or than 24 hours when none is set: every monitor page then
says so. Age is measured to the build's moment (`MonitorView.built_at`, read once at the command
line); a build that was given only a day is taken to be as of the end of that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from playbook import results
from playbook.core import costs, months
from playbook.core.clock import midnight, parse_instant, parse_interval
from playbook.core.rollout_status import PhaseStatus, late_phases
from playbook.core.settings import MonitorSettings
from playbook.handbook.costs_page import FLAGS
from playbook.handbook.view import MonitorView

DEFAULT_STALE_AFTER = timedelta(hours=24)
SEVERITIES = ("critical", "warning")
_STATUSES = (*results.STATUS_ORDER, results.NOT_MONITORED)


def stale_after(settings: MonitorSettings) -> timedelta:
    """Twice the schedule interval, or DEFAULT_STALE_AFTER without one."""
    return 2 * parse_interval(settings.every) if settings.every else DEFAULT_STALE_AFTER


def build_moment(view: MonitorView, today: date) -> datetime:
    """The build's moment: the one the command read, else the end of its `today`."""
    return view.built_at if view.built_at is not None else midnight(today + timedelta(days=1))


@dataclass(frozen=True)
class Freshness:
    """How old the monitor's results are at build time, and whether that is too old."""

    run_at: datetime
    as_of: datetime
    limit: timedelta

    @property
    def age(self) -> timedelta:
        return max(self.as_of - self.run_at, timedelta(0))

    @property
    def stale(self) -> bool:
        return self.age > self.limit

    @property
    def age_text(self) -> str:
        return duration_text(self.age)

    @property
    def limit_text(self) -> str:
        return duration_text(self.limit)


def freshness(view: MonitorView, settings: MonitorSettings, as_of: datetime) -> Freshness:
    return Freshness(parse_instant(view.now), as_of, stale_after(settings))


def duration_text(span: timedelta) -> str:
    """`45 minutes`, `12 hours`, `3 days`: the largest whole unit, for people."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class BudgetLine:
    """The run's month against budget, for the agents with a budget and spend that month: the
    organisation's total (`playbook.core.costs.BudgetStatus`, so spend so far and, once the month
    is old enough, its projection) and the agents over budget or on course to be."""

    total: costs.BudgetStatus
    over: list[str]  # names of the agents whose spend this month passed their budget
    projected_over: list[str]  # names of those on course to pass it by the month's end
    budgeted: int  # agents with a budget and spend this month

    @property
    def month(self) -> str:
        return self.total.month

    @property
    def summary(self) -> str:
        """`$5,683 so far of $12,640; $7,104 projected` (`at least $5,683 ...` while a budgeted
        bucket is not recorded)."""
        total = self.total
        floor = "at least " if total.unknown else ""
        text = f"{floor}{costs.dollars(total.total)}{'' if total.finished else ' so far'} of "
        text += costs.dollars(total.budget_total)
        projected = total.projected
        return text + (f"; {costs.dollars(projected)} projected" if projected is not None else "")

    @property
    def flags(self) -> list[tuple[str, str]]:
        """(words, badge tone), worst first, by the costs page's rule (`BudgetStatus.state`): the
        organisation over its budget or on course to exceed it, then how many agents are;
        `within budget` when none is, unless spend a budget plans is not recorded."""
        flags = []
        if self.total.state in FLAGS:
            words, tone = FLAGS[self.total.state]
            flags.append((f"organisation {words}", tone))
        elif self.total.state == costs.UNKNOWN:
            flags.append(
                (f"{costs.bucket_words(self.total.unknown)} spend not recorded", "neutral")
            )
        for state, names in ((costs.OVER, self.over), (costs.PROJECTED_OVER, self.projected_over)):
            if names:
                words, tone = FLAGS[state]
                flags.append((f"{len(names)} of {self.budgeted} agents {words}", tone))
        return flags or [("within budget", "ok")]


def budget_line(governance: Any, view: MonitorView) -> BudgetLine | None:
    """Month-to-date spend of the run's month against the budgets of the charters that set one,
    as of the run; None without any budgeted spend that month."""
    now = parse_instant(view.now)
    month, settings = costs.month_key(now), governance.monitor.costs
    budgeted: list[months.Month] = []
    over: list[str] = []
    projected_over: list[str] = []
    for charter in governance.agents:
        result = view.agents.get(charter.id)
        rows = [cost.to_json() for cost in result.costs] if result else []
        current = [m for m in months.months_for(charter, rows) if m.month == month]
        status = current[0].status(now, settings) if current else None
        if status is None:
            continue
        budgeted.append(current[0])
        named = {costs.OVER: over, costs.PROJECTED_OVER: projected_over}.get(status.state)
        if named is not None:
            named.append(charter.name)
    if not budgeted:
        return None
    (together,) = months.organisation_months([[m] for m in budgeted])
    total = together.status(now, settings)
    assert total is not None  # every month added has a budget
    return BudgetLine(total, over, projected_over, len(budgeted))


@dataclass(frozen=True)
class StatusStrip:
    """The home page's first lines: agents by status, firing alerts by severity, the last run,
    money and late rollout phases."""

    agents_by_status: list[tuple[str, int]]
    firing_by_severity: list[tuple[str, int]]
    freshness: Freshness | None
    budget: BudgetLine | None
    late: list[PhaseStatus]

    @property
    def firing(self) -> int:
        return sum(count for _, count in self.firing_by_severity)


def firing_by_severity(view: MonitorView) -> list[tuple[str, int]]:
    """(severity, count) of the firing alerts, critical first, each severity listed."""
    firing = view.firing()
    severities = [alert.labels.get("severity") for alert in firing]
    counts = [(severity, severities.count(severity)) for severity in SEVERITIES]
    other = len(firing) - sum(count for _, count in counts)
    return counts + ([("other", other)] if other else [])


def status_strip(
    governance: Any, view: MonitorView | None, phases: list[PhaseStatus], today: date
) -> StatusStrip:
    late = late_phases(phases)
    if view is None:
        return StatusStrip([], [], None, None, late)
    statuses = [view.status(agent.id) for agent in governance.agents]
    by_status = [(status, statuses.count(status)) for status in _STATUSES]
    return StatusStrip(
        agents_by_status=[(status, count) for status, count in by_status if count],
        firing_by_severity=firing_by_severity(view),
        freshness=freshness(view, governance.monitor, build_moment(view, today)),
        budget=budget_line(governance, view),
        late=late,
    )
