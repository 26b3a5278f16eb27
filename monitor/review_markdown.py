"""The periodic agent review as a Markdown document for the owner's review meeting.

Every value that comes from YAML or the monitor (names, emails, alert names and summaries) passes
through `playbook.core.markdown.escape`, so that it never turns into a link, a table border, a
list or HTML; ids show as Markdown code spans. The document holds no raw HTML: it reads the same
as plain text, on a code host and in the handbook.
"""

from __future__ import annotations

from typing import Any

from monitor.review import Review, cost_shift
from monitor.review_incidents import incident_lines
from playbook.core.costs import BUCKET_COLUMNS, BUCKETS, DAYS_PER_MONTH, shift_rule
from playbook.core.governance import Governance
from playbook.core.markdown import escape

_RATES = (
    ("task_success_rate", "Task success rate"),
    ("escalation_rate", "Escalation rate"),
    ("rework_rate", "Rework rate"),
    ("policy_hit_rate", "Policy hit rate"),
    ("rollback_rate", "Rollback rate"),
)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _usd(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    return f"{sign}${abs(value):,.2f}"


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def code_span(value: object) -> str:
    """A Markdown code span that holds `value` literally, whatever backticks it contains (the
    fence is one backtick longer than its longest run; padded when it starts or ends with one)."""
    text = " ".join(str(value).split())
    fence = "`" * (max(_backtick_runs(text), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _backtick_runs(text: str) -> list[int]:
    runs, current = [], 0
    for char in text:
        current = current + 1 if char == "`" else 0
        runs.append(current)
    return runs


def _subject(alert: dict[str, Any]) -> str:
    """` on `rollback_rate``, or nothing for an alert without a metric (BudgetOverrun)."""
    return f" on {code_span(alert['metric'])}" if alert.get("metric") else ""


def _person(person: Any) -> str:
    if person is None:
        return "none named"
    return f"{escape(person.name)} ({escape(person.email)})"


def _figure_rows(current: dict[str, Any], previous: dict[str, Any]) -> list[str]:
    def row(label: str, render: Any, key: str) -> str:
        return f"| {label} | {render(current[key])} | {render(previous[key])} |"

    rows = [
        "| Figure | This period | Previous period |",
        "|---|---:|---:|",
        row("Tasks", lambda v: f"{v:,}", "tasks"),
        row("Successful tasks", lambda v: f"{v:,}", "successes"),
    ]
    rows += [row(label, _share, key) for key, label in _RATES]
    rows.append(row("Customer feedback (mean)", _number, "customer_feedback_mean"))
    rows.append(row("Human time (reviewer minutes)", lambda v: _number(v, 1), "reviewer_minutes"))
    rows.append(row("Cost per successful task", _usd, "cost_per_successful_task"))
    return rows


def _cost_rows(document: dict[str, Any]) -> list[str]:
    cost, budget, variance = document["cost"], document["budget"], document["variance"]
    rows = ["| Spend | Actual | Budget | Variance |", "|---|---:|---:|---:|"]
    for bucket in (*BUCKETS, "total"):
        label = bucket.capitalize() if bucket != "total" else "**Total**"
        planned = _usd(budget[bucket]) if budget else "n/a"
        over = _usd(variance[bucket], signed=True) if variance else "n/a"
        if variance and (variance[bucket] or 0) > 0:
            over += " (over)"
        rows.append(f"| {label} | {_usd(cost[bucket])} | {planned} | {over} |")
    return rows


def _failures(document: dict[str, Any]) -> list[str]:
    if not document["alerts"]:
        return ["No alert or stop condition was active in the period."]
    lines = []
    for alert in document["alerts"]:
        until = f"ended {alert['endsAt']}" if alert["endsAt"] else "still firing"
        lines.append(
            f"- **{escape(alert['alertname'])}** ({escape(alert['severity'])}){_subject(alert)}: "
            f"{escape(alert['summary'])}. Started {alert['startsAt']}, {until}; action: "
            f"{escape(alert['action'] or 'none')}."
        )
    return lines


def _todos(document: dict[str, Any], shift: str | None) -> list[str]:
    todos = [
        f"- TODO: response to {escape(alert['alertname'])}{_subject(alert)} "
        "(what changed, what will be done, by whom, by when)"
        for alert in document["alerts"]
    ]
    variance = document["variance"]
    if variance and (variance["total"] or 0) > 0:
        todos.append("- TODO: explain the spend over budget, and the plan to bring it back")
    if None in document["cost"].values():
        todos.append("- TODO: have the spend the events do not record (n/a above) added to them")
    if shift:
        todos.append("- TODO: account for the reviewer time that replaced inference spend")
    todos.append("- TODO: action, owner, due date")
    return todos


def _cost_notes(governance: Governance, document: dict[str, Any], shift: str | None) -> list[str]:
    """How the budget was prorated, the cost-shift rule and, when material, the shift."""
    if document["budget"] is None:
        notes = ["The charter sets no budget (`budget: {monthly_usd: ...}`): no variance."]
    else:
        notes = [
            "Budget: the charter's monthly budget prorated to the period with a "
            f"{DAYS_PER_MONTH}-day month (monthly × period days / {DAYS_PER_MONTH}). Human time "
            f"is priced at ${governance.organisation.human_hourly_rate_usd:,.2f} an hour."
        ]
    unknown = [bucket for bucket in BUCKETS if document["cost"][bucket] is None]
    if unknown:
        notes += ["", f"**Not in the events:** {', '.join(unknown)} spend (n/a): the events have "
                  f"no {' or '.join(f'`{BUCKET_COLUMNS[b]}`' for b in unknown)} column, so it is "
                  "unknown, not $0; the total adds the spend that is known."]  # fmt: skip
    notes += ["", shift_rule(governance.monitor.costs, " (`costs:` in `monitor.yaml`)")]
    if shift:
        notes += ["", f"**Cost shifted to reviewers.** {shift}"]
    return notes


def format_markdown(governance: Governance, review: Review) -> str:
    """The review document: figures, cost against budget, notable failures, corrective actions."""
    charter, document = review.charter, review.document
    period = document["period"]
    owners = charter.owners
    lines = [
        f"# Agent review: {escape(charter.name)} ({escape(charter.id)})",
        "",
        f"Period: {period['from']} to {period['to']} ({escape(review.period)}; the end is "
        f"excluded). Tier {charter.tier}; review cadence {escape(charter.review.cadence)}.",
        "",
        f"- Agent Owner: {_person(owners.agent_owner)}",
        f"- Model Steward: {_person(owners.model_steward)}",
        f"- Last-mile reviewer: {_person(owners.reviewer)}",
        "",
        "## Throughput and quality",
        "",
        *_figure_rows(document, review.previous),
        "",
        "Rates are shares of the period's tasks; rework, policy-hit and rollback rates count only "
        "tasks where the flag was recorded. The previous period has the same length and ends "
        "where this one starts.",
        "",
        "## Cost against budget",
        "",
        *_cost_rows(document),
        "",
    ]
    shift = cost_shift(review.previous, document, governance.monitor.costs)
    lines += _cost_notes(governance, document, shift)
    lines += ["", "## Notable failures", "", *_failures(document), ""]
    lines += ["## Incidents", "", *incident_lines(document), ""]
    lines += [
        "## Corrective actions",
        "",
        "For the Agent Owner to fill in before the review is signed off.",
        "",
        *_todos(document, shift),
        "",
    ]
    return "\n".join(lines)
