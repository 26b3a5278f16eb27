"""Agents that leave: a retired or deleted charter's alerts resolve, its events go unwatched.

The monitor evaluates only active charters (`Governance.agents`), so an alert of an agent whose
charter was retired (`status: retired`) or deleted would otherwise stay firing for ever, never
evaluated again. On the next run `departure_conditions` resolves each such alert with the reason
in its annotations (`resolved_reason`: "charter retired on 2026-10-30: replaced by ..." or
"charter deleted: ..."), which the resolved notification carries as every annotation, and drops
any condition another rule raised about a retired agent, so nothing fires for it again.

`UnchartedAgent` alerts are about agents without a charter: an agent none names is their rule's
business (`monitor.alerting.workforce`), not a deleted charter; one that is retired resolves here.
"""

from __future__ import annotations

from monitor.alerting.alerts import Alert, Condition
from playbook.core.charter import Charter
from playbook.core.governance import AGENTS_DIR, Governance

RESOLVED_REASON = "resolved_reason"  # the annotation that says why an alert resolved
UNCHARTED_AGENT = "UnchartedAgent"  # monitor.alerting.workforce's: about agents without a charter


def retired_reason(charter: Charter) -> str:
    """`charter retired on 2026-10-30: Replaced by support-replies, ...`."""
    retired = charter.retired
    if retired is None:
        return "charter retired"
    return f"charter retired on {retired.date}: {' '.join(retired.reason.split())}"


def deleted_reason(agent: str) -> str:
    return f"charter deleted: no {AGENTS_DIR}/{agent}.yaml any more"


def departure(governance: Governance, alert: Alert) -> str | None:
    """Why `alert` can no longer be evaluated: its agent's charter is retired or deleted; None
    while the agent is active, or when the alert is not about a charter's agent."""
    agent = alert.labels.get("agent")
    if not agent or any(charter.id == agent for charter in governance.agents):
        return None
    retired = next((charter for charter in governance.retired if charter.id == agent), None)
    if retired is not None:
        return retired_reason(retired)
    if alert.labels.get("alertname") == UNCHARTED_AGENT:
        return None
    return deleted_reason(agent)


def departure_conditions(
    governance: Governance, conditions: list[Condition], firing: list[Alert]
) -> list[Condition]:
    """`conditions` without those about retired agents, and a cleared condition (same labels,
    so the same fingerprint) for each firing alert of a retired or deleted charter."""
    retired = governance.retired_ids
    kept = [c for c in conditions if c.labels.get("agent") not in retired]
    for alert in firing:
        reason = departure(governance, alert)
        if reason is not None:
            notes = dict(alert.annotations) | {RESOLVED_REASON: reason}
            kept.append(Condition(dict(alert.labels), notes, False))
    return kept
