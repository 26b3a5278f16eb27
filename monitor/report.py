"""The text form of a monitor run: a table per agent, the alerts, a summary."""

from __future__ import annotations

from collections import Counter

from monitor.alerting.notify import Delivery
from monitor.run import RunReport
from playbook.core.governance import Governance
from playbook.results import FIRING, RESOLVED


def _figure(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _effect(kind: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if kind == "proportion" else f"{value:+.1%}"


def format_text(governance: Governance, report: RunReport) -> str:
    lines: list[str] = []
    for charter in governance.agents:
        owner = charter.owners.agent_owner
        lines.append(
            f"{charter.id}  (tier {charter.tier}, {charter.name}; owner {owner.name} "
            f"<{owner.email}>)"
        )
        findings = [f for f in report.findings if f["agent"] == charter.id]
        if findings:
            lines.append(
                f"  {'metric':<28}{'baseline':>10}{'recent':>10}{'n base':>8}{'n rec':>7}"
                f"{'effect':>9}{'q':>9}  verdict"
            )
            for f in findings:
                lines.append(
                    f"  {f['metric']:<28}{_figure(f['baseline']):>10}{_figure(f['recent']):>10}"
                    f"{f['n_baseline']:>8}{f['n_recent']:>7}{_effect(f['kind'], f['effect']):>9}"
                    f"{_figure(f['q_value'], 2):>9}  {f['verdict']}"
                )
        for check in (c for c in report.checks if c.agent == charter.id):
            label = check.check.replace("_", " ")
            action = f" -> {check.action}" if check.action and check.status == "breached" else ""
            lines.append(
                f"  {label} {check.metric} {check.bound} {check.threshold:g} ({check.window}): "
                f"{_figure(check.value)} n={check.n} {check.status}{action}"
            )
        lines.append("")
    firing = [a for a in report.alerts if a.status == FIRING]
    resolved = [a for a in report.alerts if a.status == RESOLVED]
    lines.append(f"Alerts: {len(firing)} firing, {len(resolved)} resolved by this run")
    for alert in sorted(
        report.alerts, key=lambda a: (a.status != FIRING, a.labels["severity"] != "critical")
    ):
        labels, notes = alert.labels, alert.annotations
        subject = "/".join(labels[key] for key in ("agent", "metric") if labels.get(key))
        owner = f"owner: {notes['owner']} <{notes['owner_email']}>  " if notes.get("owner") else ""
        lines.append(
            f"  {alert.status.upper():<9}{labels['alertname']:<16}{labels['severity']:<9}"
            f"{subject}  action: {notes['action']}  {owner}since {alert.to_json()['startsAt']}"
        )
        lines.append(f"           {notes['description']}")
    verdicts = Counter(f["verdict"] for f in report.findings)
    bad = report.bad_rows
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(bad.by_reason.items())) or "none"
    lines.append(
        f"Summary: {report.tasks:,} events, {len(governance.agents)} agents, "
        f"{len(report.findings)} drift tests ({verdicts['drift']} drift, "
        f"{verdicts['improved']} improved, {verdicts['insufficient_data']} insufficient data); "
        f"{len(firing)} alerts firing; bad rows skipped: {bad.count} ({reasons})"
    )
    lines += _delivery_lines(report.delivery)
    return "\n".join(lines)


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
