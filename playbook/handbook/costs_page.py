"""The costs page's helpers (`templates/pages/costs.md.j2`): budgets this month, month-by-month
tables that fit the content column, and the material cost-shift warnings.

Budget figures come from `playbook.core.costs` (the same `BudgetStatus` the monitor's
`BudgetOverrun` alert uses): a finished month is over or under its budget; the month of the run is
spend so far, projected linearly to the whole month once `costs.projection_after` of it has passed.
Each helper reads the run's moment (`monitor.now`) and the thresholds (`monitor.yaml` `costs:`)
from the page's context.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2

from playbook.core import markdown
from playbook.core.clock import parse_instant
from playbook.core.costs import (
    BUCKET_COLUMNS,
    BUCKETS,
    OVER,
    PROJECTED_OVER,
    UNKNOWN,
    BudgetStatus,
    bucket_words,
    dollars,
    month_bounds,
    month_key,
    month_name,
    per_task_usd,
    shift_rule,
    signed_share,
    window_words,
)
from playbook.core.months import Month, shifts
from playbook.core.settings import CostSettings
from playbook.handbook.pages import agent_page

Context = jinja2.runtime.Context
FLAGS = {  # state -> (words, badge tone)
    OVER: ("over budget", "critical"),
    PROJECTED_OVER: ("on course to exceed", "warning"),
}
UNDER_FLAG = ("under budget", "ok")
UNKNOWN_FLAG = ("not known", "neutral")


def _now(context: Context) -> datetime | None:
    monitor = context.get("monitor")
    return parse_instant(monitor.now) if monitor is not None and monitor.now else None


def _settings(context: Context) -> CostSettings:
    return context["g"].monitor.costs


def _flag(context: Context, words: str, tone: str) -> str:
    """A coloured badge when the pages have one (`badge`), else the words in bold."""
    badge = context.get("badge")
    if callable(badge):
        return str(badge(words, tone))
    return f"**{markdown.escape(words)}**" if tone in {"critical", "warning"} else words


def _agent_link(context: Context, agent_id: str) -> str:
    agent = context["g"].agent(agent_id)
    return markdown.link(agent.name, markdown.relative(context["page_path"], agent_page(agent.id)))


def _relative(amount: float, budget: float) -> str:
    """` (+21%)`: `amount` against `budget`, relative to it."""
    share = BudgetStatus.relative(amount, budget)
    return "" if share is None else f" ({signed_share(share)})"


def variance_cell(context: Context, status: BudgetStatus | None) -> str:
    """How a month stands against its budget, flagged first: over budget, on course to exceed
    it, under budget, or not known (a bucket the budget plans is not recorded); then by how
    much (the projection for the month in progress)."""
    if status is None:
        return "no budget"
    budget, state, projected = status.budget_total, status.state, status.projected
    if state == UNKNOWN:
        flag = _flag(context, *UNKNOWN_FLAG)
        return f"{flag}: {bucket_words(status.unknown)} spend not recorded"
    flag = _flag(context, *FLAGS.get(state, UNDER_FLAG))
    if state == OVER:
        gap = f"by {dollars(status.total - budget)}{_relative(status.total, budget)}"
        return f"{flag} {gap}{'' if status.finished else ' so far'}"
    if status.finished:
        return f"{flag} by {dollars(budget - status.total)}{_relative(status.total, budget)}"
    if projected is None:
        return f"{flag} so far; too early to project"
    return f"{flag} {dollars(projected)} projected{_relative(projected, budget)}"


@jinja2.pass_context
def cost_table(context: Context, months: list[Month]) -> markdown.Markup:
    """Month by month: tasks, cost per successful task, spend, budget and how the month stands."""
    now, settings = _now(context), _settings(context)
    lines = [
        "| Month | Tasks | Cost / success | Spend | Budget | Against budget |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for month in months:
        status = month.status(now, settings) if now is not None else None
        running = status is not None and not status.finished
        budget = "-" if month.budget is None else dollars(sum(month.budget.values()))
        cells = [
            month.month,
            f"{month.tasks:,}",
            _partial(_usd(month.per_success()), month),
            _partial(dollars(month.total), month) + (" so far" if running else ""),
            budget,
            variance_cell(context, status),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return markdown.Markup("\n".join(lines + _unrecorded_note(months)))


def bucket_table(months: list[Month]) -> markdown.Markup:
    """Cost per successful task by spend bucket, month by month."""
    lines = [
        "| Month | Successes | Inference / success | Tooling / success | Human / success |",
        "|---|--:|--:|--:|--:|",
    ]
    for month in months:
        cells = [month.month, f"{month.successes:,}"]
        cells += [_bucket_usd(month, bucket) for bucket in BUCKETS]
        lines.append("| " + " | ".join(cells) + " |")
    return markdown.Markup("\n".join(lines))


@jinja2.pass_context
def budget_overview(
    context: Context, agent_months: list[tuple[str, list[Month]]], org_months: list[Month]
) -> markdown.Markup:
    """This month per agent and for the organisation: spent so far, budget, flag, projection."""
    now, settings = _now(context), _settings(context)
    if now is None:
        return markdown.Markup("")
    month = month_key(now)
    lines = ["| Agent | Spent so far | Budget | Against budget |", "|---|--:|--:|---|"]
    rows = [("**Organisation**", org_months)]
    rows += [(_agent_link(context, agent_id), ms) for agent_id, ms in agent_months]
    for name, months in rows:
        current = next((m for m in months if m.month == month), None)
        if current is None:
            lines.append(f"| {name} | - | - | no events this month |")
            continue
        status = current.status(now, settings)
        budget = "-" if current.budget is None else dollars(sum(current.budget.values()))
        spent = _partial(dollars(current.total), current)
        cells = [name, spent, budget, variance_cell(context, status)]
        lines.append("| " + " | ".join(cells) + " |")
    return markdown.Markup("\n".join(lines))


@jinja2.pass_context
def budget_month(context: Context) -> str:
    """`November 2026, to 2026-11-24 12:00 UTC (82% of the month)`."""
    now = _now(context)
    if now is None:
        return ""
    month = month_key(now)
    start, end = month_bounds(month)
    share = (now - start) / (end - start)
    return f"{month_name(month)}, to {now:%Y-%m-%d %H:%M} UTC ({share:.0%} of the month)"


@jinja2.pass_context
def cost_shift_warnings(
    context: Context, agent_months: list[tuple[str, list[Month]]], org_months: list[Month]
) -> list[str]:
    """The material cost shifts, organisation first, then agent by agent."""
    now, settings = _now(context), _settings(context)
    warnings = [f"Organisation: {w}" for w in shifts(org_months, settings, now)]
    for agent_id, months in agent_months:
        name = context["g"].agent(agent_id).name
        warnings += [f"{name}: {w}" for w in shifts(months, settings, now)]
    return warnings


@jinja2.pass_context
def cost_rules(context: Context) -> markdown.Markup:
    """How budgets are read and when a cost shift is reported, with the configured thresholds."""
    settings = _settings(context)
    return markdown.Markup(
        "A month is over budget when its spend (all three buckets) passed the charter's monthly "
        "budget. The month in progress is projected linearly (spend so far divided by the share "
        f"of the month elapsed) after its first {window_words(settings.projection_after)}; the "
        "monitor raises a `BudgetOverrun` alert, warning when the projection passes the budget "
        "and critical when the spend has. "
        + shift_rule(settings, " (thresholds: `costs:` in `monitor.yaml`)")
    )


def _usd(value: float | None) -> str:
    return "-" if value is None else per_task_usd(value)


def _bucket_usd(month: Month, bucket: str) -> str:
    return "n/a" if bucket in month.unknown else _usd(month.per_success(bucket))


def _partial(amount: str, month: Month) -> str:
    """`$1,234 + tooling n/a`: a total that adds only the buckets the events record."""
    if amount == "-" or not month.unknown:
        return amount
    return f"{amount} + {bucket_words(month.unknown)} n/a"


def _unrecorded_note(months: list[Month]) -> list[str]:
    """The line under a table whose months lack a bucket: which column is missing."""
    missing = sorted({bucket for month in months for bucket in month.unknown}, key=BUCKETS.index)
    if not missing:
        return []
    columns = ", ".join(f"`{BUCKET_COLUMNS[bucket]}`" for bucket in missing)
    return [
        "",
        f"*n/a*: the events have no {columns} column, so {bucket_words(tuple(missing))} spend "
        "is unknown; spend and cost per success add the buckets that are recorded.",
    ]


GLOBALS: dict[str, Any] = {
    "cost_table": cost_table,
    "bucket_table": bucket_table,
    "budget_overview": budget_overview,
    "budget_month": budget_month,
    "cost_shift_warnings": cost_shift_warnings,
    "cost_rules": cost_rules,
}
