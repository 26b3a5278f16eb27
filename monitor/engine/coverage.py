"""What a pass could not see, as the run's warnings: metrics that read columns the events do not
have, and agents (or a whole source) that stopped sending events. Neither is an alert: the
monitor cannot tell a paused agent from a broken export, so it says what it saw and asks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from monitor.engine.kinds import lacking
from monitor.engine.summaries import Summaries
from playbook.core.charter import Charter
from playbook.core.costs import BUCKET_COLUMNS, unrecorded
from playbook.core.windows import BASELINE, RECENT


def lacking_column_warnings(summaries: Summaries) -> list[str]:
    """A warning per metric that reads event columns the source does not have: its agents'
    findings and checks on it are `insufficient_data` (an absent column is no evidence of 0)."""
    agents: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for agent, metrics in summaries.plan.metrics.items():
        for metric in metrics:
            if columns := lacking(metric, summaries.present):
                agents.setdefault(metric.id, []).append(agent)
                missing[metric.id] = columns
    return [
        f"the events have {_columns(missing[metric])}: {metric} cannot be measured for "
        f"{', '.join(sorted(names))} (insufficient_data)"
        for metric, names in sorted(agents.items())
    ]


def _columns(names: list[str]) -> str:
    named = [f"{n} (from reviewer_minutes)" if n == "human_cost_usd" else n for n in names]
    return f"no column {named[0]}" if len(named) == 1 else f"none of the columns {', '.join(named)}"


def budget_warnings(summaries: Summaries, charters: list[Charter]) -> list[str]:
    """One warning per set of spend buckets that charters budget for but whose columns the
    events lack: their monthly spend is unknown, so no month can be shown within budget."""
    missing = unrecorded(summaries.present)
    by_buckets: dict[tuple[str, ...], list[str]] = {}
    for charter in charters:
        if charter.budget is None:
            continue
        planned = charter.budget.monthly_usd
        unknown = tuple(bucket for bucket in missing if getattr(planned, bucket))
        if unknown:
            by_buckets.setdefault(unknown, []).append(charter.id)
    return [
        f"the events have no {_or(BUCKET_COLUMNS[b] for b in buckets)} column: "
        f"{_or(buckets, 'and')} spend is unknown, so the costs page and BudgetOverrun cannot "
        f"show {', '.join(sorted(agents))} within the budgets that plan it (over budget still "
        "shows)"
        for buckets, agents in sorted(by_buckets.items())
    ]


def _or(words: Iterable[str], joiner: str = "or") -> str:
    listed = list(words)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} {joiner} {listed[-1]}"


def silence_warnings(summaries: Summaries, charters: list[Charter], now: datetime) -> list[str]:
    """Agents with tasks in their baseline and none in their recent window: one warning each, or
    one for the source when no agent has a recent task (an export that stopped, or a `--now`
    past the data), naming the newest day it holds; or one for a source with no rows at all."""
    if not len(summaries.groups["tasks"]):
        return [
            "the events have no rows at all: every metric is insufficient_data and no stop "
            "condition can fire; did the job that exports them fail (a header and nothing else)?"
        ]
    silent: list[tuple[str, str, int]] = []
    heard = 0
    for charter in charters:
        windows = summaries.plan.windows.get(charter.id, {})
        if RECENT not in windows or BASELINE not in windows:
            continue
        baseline = int(summaries.base(charter.id, BASELINE)["tasks"])
        if summaries.base(charter.id, RECENT)["tasks"]:
            heard += 1
        elif baseline:
            start, end = windows[RECENT]
            silent.append((charter.id, _span(end - start), baseline))
    if silent and not heard:
        days = [d for d in (summaries.last_day(charter.id) for charter in charters) if d]
        newest = max(days)
        gap = (now.date() - newest).days
        return [
            f"no monitored agent has a task in its recent window: the newest event is from "
            f"{newest.isoformat()}, {gap} day{'s' if gap != 1 else ''} before the run's time; is "
            "the export still running (or is --now past the data)?"
        ]
    return [
        f"{agent}: no task in its recent window ({span}) but {tasks:,} in its baseline: has it "
        "stopped working, or stopped reporting?"
        for agent, span, tasks in silent
    ]


def _span(length: timedelta) -> str:
    days = length / timedelta(days=1)
    return f"{days:g}d" if days == int(days) else f"{length.total_seconds() / 3600:g}h"
