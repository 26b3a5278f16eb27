"""The incidents an agent review covers: those of the agent open at any time in the period.

An incident counts when it happened before the period's end and was not closed before its start.
Each action carries the verification status of the monitor's last run (`playbook.results`
snapshot beside the state), `null` without one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playbook import results
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.core.incident import Incident, owner_person
from playbook.core.markdown import escape


def read_actions(state: Path | None) -> list[results.ActionRecord] | None:
    """The last run's judged actions, None without a state or a snapshot."""
    snapshot = results.read_snapshot(state) if state is not None else None
    return None if snapshot is None else snapshot.actions


def period_incidents(
    governance: Governance,
    charter: Charter,
    start: datetime,
    end: datetime,
    actions: list[results.ActionRecord] | None,
) -> list[dict[str, Any]]:
    """The review's `incidents`: the agent's incidents open at any time in [start, end)."""
    last_day = (end - timedelta(microseconds=1)).date()
    found = []
    for incident in governance.incidents:
        if charter.id not in incident.agents or incident.date > last_day:
            continue
        if incident.closed is not None and incident.closed < start.date():
            continue
        found.append(_incident(incident, charter, actions))
    return found


def _incident(
    incident: Incident, charter: Charter, actions: list[results.ActionRecord] | None
) -> dict[str, Any]:
    report_by = incident.report_by
    return {
        "id": incident.id,
        "title": incident.title,
        "date": incident.date.isoformat(),
        "severity": incident.severity,
        "serious": incident.serious,
        "report_by": report_by.isoformat() if report_by else None,
        "closed": incident.closed.isoformat() if incident.closed else None,
        "actions": [
            {
                "id": action.id,
                "description": action.description,
                "owner": owner_person(charter, action.owner)[0],
                "due": action.due.isoformat(),
                "done": action.done.isoformat() if action.done else None,
                "status": _status(actions, incident.id, action.id, charter.id),
            }
            for action in incident.actions
        ],
    }


def _status(
    actions: list[results.ActionRecord] | None, incident: str, action: str, agent: str
) -> str | None:
    if actions is None:
        return None
    records = [r for r in actions if (r.incident, r.action, r.agent) == (incident, action, agent)]
    return results.action_status(records)


def incident_lines(document: dict[str, Any]) -> list[str]:
    """The review's "Incidents" section, in Markdown (every value from YAML escaped)."""
    incidents = document.get("incidents") or []
    if not incidents:
        return ["No incident of this agent was open in the period."]
    lines = []
    for incident in incidents:
        state = f"closed {incident['closed']}" if incident["closed"] else "open"
        serious = (
            f"; serious incident (EU AI Act Art. 73): report by {incident['report_by']}"
            if incident["serious"]
            else ""
        )
        lines.append(
            f"- **{escape(incident['title'])}** (`{incident['id']}`, {incident['severity']}, "
            f"{incident['date']}, {state}{serious})"
        )
        for action in incident["actions"]:
            status = results.ACTION_LABELS.get(action["status"] or "", "not judged by the monitor")
            lines.append(
                f"    - `{action['id']}`: {escape(action['description'])} Owner "
                f"{escape(action['owner'])}, due {action['due']}, "
                f"{'done ' + action['done'] if action['done'] else 'not done'}: {status}."
            )
    return lines
