"""Corrective actions of incidents: verified only when the metric recovered, and alerts when not.

On every run, each action of each incident (`governance/incidents/<id>.yaml`) is judged for each
of the incident's agents, from the daily series of its `verify.metric` (the engine's summary
pass, `Summaries.daily`: no second scan):

- not done, past its `due` day: `overdue`, and an `ActionOverdue` alert (warning);
- not done, not yet due: `open`;
- done: its verification window starts at 00:00 UTC the day after `done` and lasts `verify.for`.
  A day in it with tasks whose value misses the condition makes the action `reopened`, with an
  `ActionNotEffective` alert (warning) to the action's owner; with none, it is `verifying` until
  the window has passed, then `verified` (or `no_data` when no day of the window had a task).

Labels: `alertname`, `agent`, `incident`, `action`, `severity`; annotations name the owner (the
charter's person for a role) and the due date. Every action yields both conditions, active or
cleared, so an alert resolves when its condition clears (the action is done, or done again with a
new date); an alert whose action or incident was removed resolves on the next run.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from monitor.alerting.alerts import Alert, Condition, in_unit
from monitor.engine.summaries import Summaries
from playbook import results
from playbook.core.charter import Charter
from playbook.core.clock import iso, midnight, parse_window
from playbook.core.governance import Governance
from playbook.core.incident import Action, Incident, owner_person
from playbook.results import ActionRecord, Point, Span

ACTION_OVERDUE = "ActionOverdue"
ACTION_NOT_EFFECTIVE = "ActionNotEffective"
ACTION_ALERTS = (ACTION_OVERDUE, ACTION_NOT_EFFECTIVE)
INCIDENTS_PAGE = "incidents/"  # the register's URL in the handbook
MAX_BREACHES = 5  # breaching days kept in a record: the first few tell the story
COMPLETE = "complete the corrective action, or agree a new due date"
REOPEN = "reopen the corrective action: it did not work"


def verification_window(action: Action) -> tuple[datetime, datetime] | None:
    """[start, end): from 00:00 UTC the day after `done`, `verify.for` long; None if not done."""
    if action.done is None:
        return None
    start = midnight(action.done + timedelta(days=1))
    return start, start + parse_window(action.verify.for_)


def evaluate_actions(
    governance: Governance, summaries: Summaries, now: datetime
) -> list[ActionRecord]:
    """One record per (incident, action, agent with a charter), in file order."""
    charters = {charter.id: charter for charter in governance.agents}
    records = []
    for incident in governance.incidents:
        for action in incident.actions:
            for agent in incident.agents:
                if agent in charters:
                    records.append(_judge(governance, summaries, incident, action, agent, now))
    return records


def _judge(
    governance: Governance,
    summaries: Summaries,
    incident: Incident,
    action: Action,
    agent: str,
    now: datetime,
) -> ActionRecord:
    bound, threshold = action.verify.bound
    record = ActionRecord(
        incident=incident.id,
        action=action.id,
        agent=agent,
        metric=action.verify.metric,
        bound=bound,
        threshold=threshold,
        status=results.OPEN,
        due=action.due.isoformat(),
        done=action.done.isoformat() if action.done else None,
    )
    window = verification_window(action)
    if window is None:
        record.status = results.OVERDUE if now.date() > action.due else results.OPEN
        return record
    start, end = window
    record.window = Span(**{"from": iso(start) or "", "to": iso(end) or ""})
    planned = {metric.id for metric in summaries.plan.metrics.get(agent, [])}
    days = []
    if action.verify.metric in planned:
        metric = governance.metric(action.verify.metric)
        days = summaries.daily(agent, metric, start, end)
    known = [(day, value, n) for day, value, n in days if n > 0 and math.isfinite(value)]
    breaches = [(day, value, n) for day, value, n in known if not action.verify.holds(value)]
    record.days = len(known)
    record.breaches = [
        Point(day=day.isoformat(), value=value, n=n) for day, value, n in breaches[:MAX_BREACHES]
    ]
    if breaches:
        record.status = results.REOPENED
    elif now < end:
        record.status = results.VERIFYING
    else:
        record.status = results.VERIFIED if known else results.NO_DATA
    return record


def action_conditions(
    governance: Governance, records: list[ActionRecord], firing: list[Alert]
) -> list[Condition]:
    """An overdue and a not-effective condition per record; cleared ones for firing action
    alerts whose incident, action or agent is gone."""
    incidents = {incident.id: incident for incident in governance.incidents}
    charters = {charter.id: charter for charter in governance.agents}
    conditions = []
    for record in records:
        incident = incidents[record.incident]
        action = next(a for a in incident.actions if a.id == record.action)
        charter = charters[record.agent]
        conditions.append(_overdue(governance, incident, action, charter, record))
        conditions.append(_not_effective(governance, incident, action, charter, record))
    evaluated = {condition.fingerprint for condition in conditions}
    for alert in firing:
        if alert.labels.get("alertname") in ACTION_ALERTS and alert.fingerprint not in evaluated:
            notes = alert.annotations | {
                "summary": f"Incident {alert.labels.get('incident')!r} or its action "
                f"{alert.labels.get('action')!r} no longer exists: nothing to check"
            }
            conditions.append(Condition(alert.labels, notes, False))
    return conditions


def _labels(alertname: str, incident: Incident, action: Action, agent: str) -> dict[str, str]:
    return {
        "alertname": alertname,
        "agent": agent,
        "incident": incident.id,
        "action": action.id,
        "severity": "warning",
    }


def _annotations(
    governance: Governance,
    incident: Incident,
    action: Action,
    charter: Charter,
    summary: str,
    description: str,
    todo: str,
) -> dict[str, str]:
    name, email = owner_person(charter, action.owner)
    base = governance.monitor.handbook_url
    page = f"{INCIDENTS_PAGE}#{incident.id}"
    return {
        "summary": summary,
        "description": description,
        "owner": name,
        "owner_email": email,
        "due": action.due.isoformat(),
        "incident": incident.title,
        "action": todo,
        "handbook_url": f"{base.rstrip('/')}/{page}" if base else page,
    }


def _overdue(
    governance: Governance,
    incident: Incident,
    action: Action,
    charter: Charter,
    record: ActionRecord,
) -> Condition:
    owner, _ = owner_person(charter, action.owner)
    summary = (
        f"Corrective action {action.id!r} of incident {incident.id!r} was due on {action.due} "
        f"and is not done \u2014 {owner}"
    )
    description = (
        f"{charter.name}: {incident.title}. The action \u201c{action.description}\u201d, owned "
        f"by {owner}, was due on {action.due}. Do it and record its done date, or agree a new "
        "due date, in the incident's file."
    )
    return Condition(
        _labels(ACTION_OVERDUE, incident, action, charter.id),
        _annotations(governance, incident, action, charter, summary, description, COMPLETE),
        record.status == results.OVERDUE,
    )


def _not_effective(
    governance: Governance,
    incident: Incident,
    action: Action,
    charter: Charter,
    record: ActionRecord,
) -> Condition:
    metric = governance.metric(record.metric)
    owner, _ = owner_person(charter, action.owner)
    limit = f"{record.bound} {in_unit(metric, record.threshold)}"
    if record.breaches:
        first = record.breaches[0]
        summary = (
            f"Corrective action {action.id!r} of incident {incident.id!r} did not work: "
            f"{metric.name} {in_unit(metric, first.value)} on {first.day}, expected {limit} "
            f"\u2014 {owner}"
        )
        days = ", ".join(
            f"{p.day} {in_unit(metric, p.value)} ({p.n:,} tasks)" for p in record.breaches
        )
        description = (
            f"{charter.name}: {incident.title}. The action \u201c{action.description}\u201d was "
            f"done on {action.done}; {metric.name} had to stay {limit} every day for "
            f"{action.verify.for_} after it, but did not on: {days}. The action is reopened."
        )
    else:
        summary = f"Corrective action {action.id!r} of incident {incident.id!r}: {record.status}"
        description = f"{charter.name}: {metric.name} held {limit} on every day with tasks so far."
    return Condition(
        _labels(ACTION_NOT_EFFECTIVE, incident, action, charter.id),
        _annotations(governance, incident, action, charter, summary, description, REOPEN),
        record.status == results.REOPENED,
    )
