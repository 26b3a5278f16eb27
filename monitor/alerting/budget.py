"""`BudgetOverrun`: an agent's spend this calendar month (UTC) against its charter's budget.

Month-to-date spend is added up from the engine's summary pass (`Summaries.months`: the daily
totals of the events before `now`, no second scan), all three buckets together (inference,
tooling, human time) against `budget.monthly_usd`'s total, as the costs page does. Per charter
with a budget, two conditions, each its own alert (labels `alertname`, `agent`, `severity`,
`tier`; no `metric`):

- `warning` while the month is on course to pass the budget: the spend so far, projected linearly
  by the share of the month elapsed (`playbook.core.costs.BudgetStatus`), is above it, once
  `monitor.yaml` `costs.projection_after` (default 3d) of the month has passed;
- `critical` once the spend has passed the budget.

Each fires once and resolves when its condition clears: when the spend is back under (a new month
starts from zero) or, for the warning, when the critical one takes over. A charter without a
budget gets both as cleared, so an alert raised before its budget was removed resolves.
"""

from __future__ import annotations

from datetime import datetime

from monitor.alerting.alerts import Condition, agent_annotations
from monitor.engine.summaries import Summaries
from playbook.core.charter import Charter
from playbook.core.clock import iso
from playbook.core.costs import (
    BUCKET_WORDS,
    BUCKETS,
    OVER,
    PROJECTED_OVER,
    UNKNOWN,
    BudgetStatus,
    bucket_words,
    budget_status,
    charter_budget,
    dollars,
    month_bounds,
    month_key,
    month_name,
    recorded_spend,
    signed_share,
    window_words,
)
from playbook.core.governance import Governance

BUDGET_OVERRUN = "BudgetOverrun"
WARNING, CRITICAL = "warning", "critical"


def month_to_date(
    summaries: Summaries, charters: list[Charter], now: datetime
) -> dict[str, dict[str, float | None]]:
    """Each charter's spend by bucket in the calendar month of `now`, up to `now`; None for a
    bucket whose column the events lack."""
    month = month_key(now)
    return {
        charter.id: recorded_spend(summaries.months(charter.id).get(month, {}), summaries.present)
        for charter in charters
    }


def budget_conditions(
    governance: Governance, spend: dict[str, dict[str, float | None]], now: datetime
) -> list[Condition]:
    """A warning and a critical condition per charter (see the module docstring)."""
    month = month_key(now)
    conditions = []
    for charter in governance.agents:
        budget = charter_budget(charter)
        if budget is None:
            conditions += [
                _cleared(governance, charter, severity) for severity in (WARNING, CRITICAL)
            ]
            continue
        mine: dict[str, float | None] = spend.get(charter.id) or dict.fromkeys(BUCKETS, 0.0)
        status = budget_status(month, mine, budget, now, governance.monitor.costs)
        conditions.append(_condition(governance, charter, status, now, WARNING))
        conditions.append(_condition(governance, charter, status, now, CRITICAL))
    return conditions


def _labels(charter: Charter, severity: str) -> dict[str, str]:
    return {
        "alertname": BUDGET_OVERRUN,
        "agent": charter.id,
        "severity": severity,
        "tier": str(charter.tier),
    }


def _over_by(amount: float, budget: float) -> str:
    """`$362 (+10%)`: how far from the budget, in dollars and relative to it."""
    share = BudgetStatus.relative(amount, budget)
    relative = "" if share is None else f" ({signed_share(share)})"
    return f"{dollars(abs(amount - budget))}{relative}"


def _condition(
    governance: Governance, charter: Charter, status: BudgetStatus, now: datetime, severity: str
) -> Condition:
    active = status.state == (OVER if severity == CRITICAL else PROJECTED_OVER)
    name = month_name(status.month)
    budget = status.budget_total
    floor = "at least " if status.unknown else ""
    if status.state == OVER:
        summary = (
            f"Spent {floor}{dollars(status.total)} in {name} so far, "
            f"{_over_by(status.total, budget)} over the monthly budget of {dollars(budget)} "
            "\u2014 cut the spend or raise the budget"
        )
    elif status.state == PROJECTED_OVER:
        summary = (
            f"Spend on course for {floor}{dollars(status.projected or 0.0)} in {name}, "
            f"{_over_by(status.projected or 0.0, budget)} over the monthly budget of "
            f"{dollars(budget)}: {dollars(status.total)} spent in the first {_days(status)}"
        )
    elif status.state == UNKNOWN:
        summary = (
            f"Spend in {name} cannot be judged against the monthly budget of {dollars(budget)}: "
            f"the events do not record {bucket_words(status.unknown, ' or ')} spend "
            f"({dollars(status.total)} in the other buckets so far)"
        )
    else:
        summary = f"Spend in {name} within the monthly budget of {dollars(budget)}"
    return Condition(
        _labels(charter, severity),
        agent_annotations(
            governance,
            charter,
            summary,
            _description(governance, charter, status, now),
            "investigate",
            _statistics(status),
        ),
        active,
    )


def _days(status: BudgetStatus) -> str:
    """`24.5 of 30 days` of the month."""
    start, end = month_bounds(status.month)
    length = (end - start).days
    return f"{status.elapsed * length:.1f} of {length} days"


def _description(
    governance: Governance, charter: Charter, status: BudgetStatus, now: datetime
) -> str:
    buckets = ", ".join(_bucket(status, bucket) for bucket in BUCKETS)
    rate = governance.organisation.human_hourly_rate_usd
    floor = "at least " if status.unknown else ""
    text = (
        f"{charter.name}: {floor}{dollars(status.total)} spent in {month_name(status.month)} up to "
        f"{iso(now)} ({_days(status)}), against a monthly budget of "
        f"{dollars(status.budget_total)}: {buckets}. Reviewer time is priced at "
        f"{dollars(rate)} an hour."
    )
    projected = status.projected
    if projected is not None:
        standing = f"{'over' if projected > status.budget_total else 'under'} the budget"
        if status.unknown and projected <= status.budget_total:
            missing = bucket_words(status.unknown, " or ")
            standing = f"below the budget before any {missing} spend (not recorded)"
        text += (
            f" Projected linearly to the whole month: {dollars(status.total)} / "
            f"{status.elapsed:.1%} of the month = {dollars(projected)}, "
            f"{_over_by(projected, status.budget_total)} {standing}."
        )
    elif status.elapsed < 1.0:
        text += (
            " Too early in the month to project: a projection starts after "
            f"{window_words(governance.monitor.costs.projection_after)}."
        )
    return text


def _bucket(status: BudgetStatus, bucket: str) -> str:
    """`tooling $120 of $100 (over)`, or `tooling not recorded, $100 budgeted`."""
    amount, planned = status.spend[bucket], dollars(status.budget[bucket])
    if amount is None:
        return f"{BUCKET_WORDS[bucket]} not recorded, {planned} budgeted"
    over = " (over)" if amount > status.budget[bucket] else ""
    return f"{BUCKET_WORDS[bucket]} {dollars(amount)} of {planned}{over}"


def _statistics(status: BudgetStatus) -> str:
    projection = status.projected
    line = f"month-to-date {dollars(status.total)}; {status.elapsed:.1%} of the month elapsed"
    if projection is not None:
        line += f"; linear projection {dollars(projection)}"
    return line + f"; budget {dollars(status.budget_total)}"


def _cleared(governance: Governance, charter: Charter, severity: str) -> Condition:
    return Condition(
        _labels(charter, severity),
        agent_annotations(
            governance,
            charter,
            "No monthly budget in the charter",
            f"{charter.name} has no `budget.monthly_usd` in its charter: nothing to compare.",
            "investigate",
        ),
        False,
    )
