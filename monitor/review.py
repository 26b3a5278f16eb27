"""The periodic agent review: what an agent did, at what quality and cost, over one period.

A period is the half-open interval [now - period, now). Figures come from the engine's summary
pass over the events (this period and the previous one of the same length, as two windows),
alerts from the monitor's published state (`playbook.results.read_state_alerts`). Budgets are the
charter's `budget.monthly_usd` prorated to the period with a 30-day month: monthly *
period_days / 30. The period defaults to the charter's review cadence (`cadence_period`): a
weekly review covers 7 days. `govkit review` prints one review;
`monitor.review_files.write_due_reviews` (called by `govkit monitor schedule`) writes every review
whose `review.cadence` has come round.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.engine.engines import open_engine
from monitor.engine.events import open_events
from monitor.engine.plan import Plan, agents_table
from monitor.engine.summaries import summarise
from monitor.review_incidents import period_incidents, read_actions
from playbook.core.charter import Charter
from playbook.core.clock import WINDOW_PATTERN, iso, parse_instant, parse_window
from playbook.core.costs import (
    BUCKETS,
    DAYS_PER_MONTH,
    Spend,
    human_cost_usd,
    material_shift,
    shift_sentence,
    unrecorded,
)
from playbook.core.errors import UsageError
from playbook.core.governance import Governance
from playbook.core.settings import CostSettings
from playbook.core.types import CADENCE_DAYS
from playbook.results import read_state_alerts

CURRENT, PREVIOUS = "current", "previous"
MAX_BAD_FRACTION = 0.01  # as `govkit monitor run`'s default
# Budgets are monthly; a review period is prorated against a 30-day month (DAYS_PER_MONTH).


@dataclass
class Review:
    """One agent's review: `document` is the JSON `govkit review --format json` prints;
    `previous` holds the same figures for the period before (for the cost-shift check)."""

    charter: Charter
    period: str
    document: dict[str, Any]
    previous: dict[str, Any]


def cadence_period(charter: Charter) -> str:
    """The charter's review cadence as a period: weekly `7d`, biweekly `14d`, monthly `30d`,
    quarterly `91d`."""
    return f"{CADENCE_DAYS[charter.review.cadence]}d"


def parse_period(text: str) -> timedelta:
    """`30d`, `4w`, `12h` -> a timedelta; anything else is a usage error (exit 2)."""
    if not WINDOW_PATTERN.match(text.strip()):
        raise UsageError(f"--period: expected a period like 12h, 30d or 4w but received {text!r}")
    try:
        return parse_window(text.strip())
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from None


def _ratio(part: float | None, whole: float) -> float | None:
    return part / whole if whole and part is not None else None


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _figures(row: dict[str, float], hourly_rate: float, present: Collection[str]) -> dict[str, Any]:
    """The period's figures from its summed base figures (`monitor.engine.summaries.BASE`). A
    spend bucket whose column the events lack is unknown (None), not $0; the total adds the
    buckets that are known, and is unknown when none is."""
    tasks, successes = int(row.get("tasks", 0)), int(row.get("successes", 0))
    missing = unrecorded(present)
    minutes = None if "human" in missing else float(row.get("reviewer_minutes", 0.0))
    cost: dict[str, float | None] = {
        "inference": None if "inference" in missing else float(row.get("inference", 0.0)),
        "tooling": None if "tooling" in missing else float(row.get("tooling", 0.0)),
        "human": None if minutes is None else human_cost_usd(minutes, hourly_rate),
    }
    known = [value for value in cost.values() if value is not None]
    cost["total"] = sum(known) if known else None
    feedback_n = row.get("feedback_n", 0)
    return {
        "tasks": tasks,
        "successes": successes,
        "task_success_rate": _ratio(successes, tasks),
        "escalation_rate": _ratio(row.get("escalations", 0), tasks),
        "rework_rate": _ratio(row.get("reworked", 0), row.get("rework_known", 0)),
        "policy_hit_rate": _ratio(row.get("policy_hits", 0), row.get("policy_known", 0)),
        "rollback_rate": _ratio(row.get("rolled_back", 0), row.get("rollback_known", 0)),
        "customer_feedback_mean": _finite(_ratio(row.get("feedback_sum", 0.0), feedback_n)),
        "reviewer_minutes": minutes,
        "cost": cost,
        "cost_per_successful_task": _ratio(cost["total"], successes),
    }


def period_figures(
    governance: Governance,
    charters: list[Charter],
    events: str,
    *,
    start: datetime,
    end: datetime,
    engine: str | None = None,
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per charter, the figures for [start, end) and for the period of the same length before
    it: one pass over the events source."""
    previous = start - (end - start)
    windows = {c.id: {CURRENT: (start, end), PREVIOUS: (previous, start)} for c in charters}
    plan = Plan(end, windows, metrics={c.id: [] for c in charters})
    rate = governance.organisation.human_hourly_rate_usd
    source = open_events(
        events,
        open_engine(engine, governance.monitor.engine),
        agents=agents_table(plan),
        hourly_rate=rate,
        custom=set(),
    )
    try:
        summaries = summarise(source, plan)
        source.bad_rows(summaries.reason_counts(), summaries.valid_tasks(), MAX_BAD_FRACTION)
        return {
            c.id: (
                _figures(summaries.base(c.id, CURRENT), rate, summaries.present),
                _figures(summaries.base(c.id, PREVIOUS), rate, summaries.present),
            )
            for c in charters
        }
    finally:
        source.close()


def state_alerts(
    state: Path | None, agent: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The agent's alerts from the monitor state that were active at any time in [start, end):
    started before `end` and not ended by `start`. No state (None, or no file yet): no alerts."""
    alerts = []
    for stored in read_state_alerts(state) if state is not None else []:
        labels, annotations = stored.labels, stored.annotations
        starts, ends = _instant(stored.starts_at), _instant(stored.ends_at)
        if labels.get("agent") != agent or starts is None or starts >= end:
            continue
        if ends is not None and ends <= start:
            continue
        alerts.append(
            {
                "alertname": labels.get("alertname"),
                "metric": labels.get("metric"),
                "severity": labels.get("severity"),
                "status": stored.status,
                "startsAt": iso(starts),
                "endsAt": iso(ends),
                "action": annotations.get("action"),
                "summary": annotations.get("summary"),
            }
        )
    return alerts


def _instant(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


def _budget(charter: Charter, length: timedelta) -> dict[str, float] | None:
    if charter.budget is None:
        return None
    share = length.total_seconds() / 86400 / DAYS_PER_MONTH
    monthly = charter.budget.monthly_usd
    budget = {bucket: getattr(monthly, bucket) * share for bucket in BUCKETS}
    budget["total"] = sum(budget.values())
    return budget


def build_reviews(
    governance: Governance,
    charters: list[Charter],
    events: str,
    *,
    now: datetime,
    period: str,
    state: Path | None,
    engine: str | None = None,
) -> list[Review]:
    """Reviews of `charters` for [now - period, now), reading the events source once."""
    length = parse_period(period)
    start = now - length
    figures = period_figures(governance, charters, events, start=start, end=now, engine=engine)
    actions = read_actions(state)
    reviews = []
    for charter in charters:
        current, previous = figures[charter.id]
        budget = _budget(charter, length)
        variance = (
            None
            if budget is None
            else {key: _minus(current["cost"][key], budget[key]) for key in (*BUCKETS, "total")}
        )
        document = {
            "agent": charter.id,
            "period": {"from": iso(start), "to": iso(now)},
            **current,
            "budget": budget,
            "variance": variance,
            "alerts": state_alerts(state, charter.id, start, now),
            "incidents": period_incidents(governance, charter, start, now, actions),
        }
        reviews.append(Review(charter, period.strip(), document, previous))
    return reviews


def _minus(actual: float | None, planned: float) -> float | None:
    return None if actual is None else actual - planned


def cost_shift(
    previous: dict[str, Any], current: dict[str, Any], settings: CostSettings | None = None
) -> str | None:
    """The review's warning when inference cost per task fell but human cost per task rose by
    more than it saved, and materially so (`playbook.core.costs.material_shift`), else None. Each
    argument has `tasks`, `successes` and `cost` {inference, tooling, human} in USD (a review's
    JSON, or the same figures for any period); `current["period"]` ({from, to}) gives the length
    that turns the shift into dollars a month (30 days without it)."""

    def spend(figures: dict[str, Any]) -> Spend | None:
        cost = figures.get("cost") or {}
        inference, human = cost.get("inference", 0.0), cost.get("human", 0.0)
        if inference is None or human is None:  # a shift between the two needs both known
            return None
        return Spend(
            figures.get("tasks") or 0,
            inference,
            human,
            figures.get("successes"),
            cost.get("tooling") or 0.0,
        )

    before, after = spend(previous), spend(current)
    if before is None or after is None:
        return None
    material = material_shift(before, after, months=_months(current), settings=settings)
    return None if material is None else shift_sentence(material)


def _months(figures: dict[str, Any]) -> float:
    """The period's length in 30-day months (1 when it has no period)."""
    period = figures.get("period") or {}
    if not period.get("from") or not period.get("to"):
        return 1.0
    length = parse_instant(period["to"]) - parse_instant(period["from"])
    return length.total_seconds() / 86400 / DAYS_PER_MONTH
