"""The invisible workforce: `UnchartedAgent` and `ReviewOverdue`, one alert per agent.

`UnchartedAgent` (warning; labels alertname, agent, severity) fires for each agent id the events
(or imported traces) name that no charter has, while it has tasks in the last 7 days; its
annotations carry the tasks, first and last seen (UTC). It resolves when the agent has no task in
that window, when its events are gone, or when a charter names it. `UnknownAgents` stays the
aggregate alarm for a source mostly made of such rows (`monitor.alerting.alerts`).

`ReviewOverdue` (warning; labels alertname, agent, severity) fires while a charter's review is
overdue against its `review.cadence` (`playbook.core.review_due`): annotations give the cadence,
the last review, the due date and the days overdue. A charter never reviewed has nothing to count
from and raises nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from monitor.alerting.alerts import Alert, Condition, agent_annotations, likely_meant
from monitor.engine.uncharted import UNCHARTED_WINDOW, Seen
from playbook.core.charter import Charter
from playbook.core.clock import iso
from playbook.core.costs import window_words
from playbook.core.governance import Governance
from playbook.core.review_due import review_due
from playbook.results import UnchartedRecord

UNCHARTED_AGENT = "UnchartedAgent"
REVIEW_OVERDUE = "ReviewOverdue"
# At most this many UnchartedAgent alerts per run, the most active agents first: a source whose
# agent column holds something else (thousands of ids) is UnknownAgents' case, not a flood of
# notifications. An agent left out is not evaluated: its alert, if firing, stays as it is.
MAX_UNCHARTED_ALERTS = 50


def _labels(alertname: str, agent: str) -> dict[str, str]:
    return {"alertname": alertname, "agent": agent, "severity": "warning"}


def _page(governance: Governance, page: str) -> str:
    base = governance.monitor.handbook_url
    return f"{base.rstrip('/')}/{page}" if base else page


# --- UnchartedAgent ------------------------------------------------------------------------------


def uncharted_conditions(
    governance: Governance, seen: list[Seen], firing: list[Alert]
) -> list[Condition]:
    """One condition per agent seen without a charter (active while it has recent tasks), and a
    cleared one for each firing UnchartedAgent whose agent is no longer seen without a charter."""
    active = sorted((item for item in seen if item.recent_tasks), key=lambda i: -i.recent_tasks)
    left_out = {item.agent for item in active[MAX_UNCHARTED_ALERTS:]}
    conditions = [_uncharted(governance, item) for item in seen if item.agent not in left_out]
    evaluated = {item.agent for item in seen}
    charters = [*governance.agents, *getattr(governance, "retired", [])]
    charted = {charter.id for charter in charters}
    for alert in firing:
        agent = alert.labels.get("agent", "")
        if alert.labels.get("alertname") != UNCHARTED_AGENT or agent in evaluated:
            continue
        reason = (
            f"{agent} now has a charter."
            if agent in charted
            else f"{agent} no longer appears in the events."
        )
        notes = dict(alert.annotations) | {"resolved_reason": reason}
        conditions.append(Condition(_labels(UNCHARTED_AGENT, agent), notes, False))
    return conditions


def _uncharted(governance: Governance, item: Seen) -> Condition:
    window = window_words(UNCHARTED_WINDOW)
    first, last = iso(item.first_seen), iso(item.last_seen)
    summary = (
        f"Agent {item.agent} ran {item.tasks:,} task{'s' if item.tasks != 1 else ''} without a "
        f"charter ({item.recent_tasks:,} in the last {window}): nobody is named as its owner"
    )
    meant = likely_meant(item.agent, governance)
    close = f" Did you mean {' or '.join(repr(i) for i in meant)}?" if meant else ""
    description = (
        f"The events name the agent {item.agent!r}, which no charter has: {item.tasks:,} tasks "
        f"from {first} to {last}.{close} Write its charter (govkit charter new), map a traced "
        "name to a charter id in sources.yaml, or stop the agent."
    )
    notes = {
        "summary": summary,
        "description": description,
        "tasks": str(item.tasks),
        "recent_tasks": str(item.recent_tasks),
        "first_seen": first,
        "last_seen": last,
        "action": "write its charter",
        "handbook_url": _page(governance, "monitor/"),
    }
    if not item.recent_tasks:
        notes["resolved_reason"] = f"no task in the last {window}"
    return Condition(_labels(UNCHARTED_AGENT, item.agent), notes, item.recent_tasks > 0)


def uncharted_records(seen: list[Seen]) -> list[UnchartedRecord]:
    """What the snapshot publishes: the agents seen without a charter in the last window."""
    return [UnchartedRecord(**item.to_json()) for item in seen if item.recent_tasks > 0]


# --- ReviewOverdue -------------------------------------------------------------------------------


def review_conditions(
    governance: Governance, written: dict[str, date], now: datetime
) -> list[Condition]:
    """One condition per charter with a last review: active while the review is overdue.
    `written`: per agent, the day of its newest review written beside the state."""
    conditions = []
    for charter in governance.agents:
        if getattr(charter, "status", None) == "retired":
            continue
        due = review_due(charter, written.get(charter.id), now.date())
        if due.last is None or due.due is None:
            continue
        conditions.append(_review(governance, charter, due.last, due.due, due.days_overdue))
    return conditions


def _review(
    governance: Governance, charter: Charter, last: date, due: date, days: int
) -> Condition:
    cadence = charter.review.cadence
    summary = (
        f"The {cadence} review of {charter.name} is {days} day{'s' if days != 1 else ''} overdue "
        f"(last review {last}, due {due})"
    )
    description = (
        f"The charter of {charter.name} asks for a {cadence} review; the last was on {last}, so "
        f"the next was due on {due}. Hold it (govkit review {charter.id}) and record it: "
        "`govkit monitor run --write-reviews` or the schedule writes it beside the state, or set "
        "review.last in the charter."
    )
    notes = agent_annotations(governance, charter, summary, description, "hold the review")
    notes |= {
        "cadence": cadence,
        "last_review": str(last),
        "due": str(due),
        "days_overdue": str(days),
    }
    return Condition(_labels(REVIEW_OVERDUE, charter.id), notes, days > 0)
