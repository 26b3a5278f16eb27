"""The text form of a monitor run: a table per agent, the alerts, a summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from monitor.alerting.alerts import Alert
from monitor.alerting.notify import Delivery
from monitor.alerting.rules import Check
from monitor.run import RunReport
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.results import FIRING, RESOLVED


def _figure(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _effect(finding: dict[str, Any]) -> str:
    """A share difference in points (proportions; the tail and spread aspects), else a relative
    change in percent."""
    value = finding["effect"]
    if value is None:
        return "-"
    shares = finding["kind"] == "proportion" or finding.get("aspect", "center") != "center"
    return f"{value:+.3f}" if shares else f"{value:+.1%}"


def _metric(finding: dict[str, Any]) -> str:
    aspect = finding.get("aspect", "center")
    return finding["metric"] if aspect == "center" else f"{finding['metric']} ({aspect})"


def format_text(governance: Governance, report: RunReport) -> str:
    """The run as text: per agent its drift tests and checks; the alerts; a summary; deliveries."""
    lines: list[str] = []
    for charter in governance.agents:
        lines += _agent_lines(charter, report)
    firing = [a for a in report.alerts if a.status == FIRING]
    resolved = [a for a in report.alerts if a.status == RESOLVED]
    lines.append(f"Alerts: {len(firing)} firing, {len(resolved)} resolved by this run")
    for alert in sorted(
        report.alerts, key=lambda a: (a.status != FIRING, a.labels["severity"] != "critical")
    ):
        lines += _alert_lines(alert)
    lines.append(_summary_line(governance, report, len(firing)))
    lines += _delivery_lines(report.delivery)
    return "\n".join(lines)


def _agent_lines(charter: Charter, report: RunReport) -> list[str]:
    """The agent's heading, its drift tests as a table, its checks, and a blank line."""
    owner = charter.owners.agent_owner
    lines = [
        f"{charter.id}  (tier {charter.tier}, {charter.name}; owner {owner.name} <{owner.email}>)"
    ]
    findings = [f for f in report.findings if f["agent"] == charter.id]
    if findings:
        lines.append(
            f"  {'metric':<28}{'baseline':>10}{'recent':>10}{'n base':>8}{'n rec':>7}"
            f"{'effect':>9}{'q':>9}  verdict"
        )
        lines += [_finding_line(f) for f in findings]
    lines += [_check_line(c) for c in report.checks if c.agent == charter.id]
    lines.append("")
    return lines


def _finding_line(f: dict[str, Any]) -> str:
    return (
        f"  {_metric(f):<28}{_figure(f['baseline']):>10}{_figure(f['recent']):>10}"
        f"{f['n_baseline']:>8}{f['n_recent']:>7}{_effect(f):>9}"
        f"{_figure(f['q_value'], 2):>9}  {f['verdict']}"
    )


def _check_line(check: Check) -> str:
    label = check.check.replace("_", " ")
    action = f" -> {check.action}" if check.action and check.status == "breached" else ""
    return (
        f"  {label} {check.metric} {check.bound} {check.threshold:g} ({check.window}): "
        f"{_figure(check.value)} n={check.n} {check.status}{action}"
    )


def _alert_lines(alert: Alert) -> list[str]:
    """Status, name, severity, subject, action, owner and start; then the description."""
    labels, notes = alert.labels, alert.annotations
    subject = "/".join(labels[key] for key in ("agent", "metric") if labels.get(key))
    owner = f"owner: {notes['owner']} <{notes['owner_email']}>  " if notes.get("owner") else ""
    reason = notes.get("resolved_reason")  # why it resolved, when not its condition clearing
    return [
        f"  {alert.status.upper():<9}{labels['alertname']:<16}{labels['severity']:<9}"
        f"{subject}  action: {notes['action']}  {owner}since {alert.to_json()['startsAt']}",
        f"           {notes['description']}",
        *([f"           Resolved: {reason}"] if reason and alert.status == RESOLVED else []),
    ]


def _summary_line(governance: Governance, report: RunReport, firing: int) -> str:
    verdicts = Counter(f["verdict"] for f in report.findings)
    bad = report.bad_rows
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(bad.by_reason.items())) or "none"
    return (
        f"Summary: {report.tasks:,} events, {len(governance.agents)} agents, "
        f"{len(report.findings)} drift tests ({verdicts['drift']} drift, "
        f"{verdicts['improved']} improved, {verdicts['insufficient_data']} insufficient data); "
        f"{firing} alerts firing; bad rows skipped: {bad.count} ({reasons})"
    )


def _delivery_lines(delivery: Delivery) -> list[str]:
    if not (delivery.sent or delivery.failed or delivery.dead_lettered):
        return []
    summary = (
        f"Notifications: {delivery.sent} delivered, {delivery.failed} kept in the outbox for "
        "the next run"
    )
    if delivery.dead_lettered:
        summary += f", {delivery.dead_lettered} dead-lettered (can never be delivered; not retried)"
    return [summary] + [f"  {problem}" for problem in delivery.errors]
