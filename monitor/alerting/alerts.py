"""Alerts as Prometheus Alertmanager has them: a label set identifies one, annotations explain it.

`MetricDrift` (warning) comes from a drift verdict, `GuardrailBreach` (warning) and `StopCondition`
(critical, with the charter's action) from threshold checks, `UnknownAgents` (warning, no agent
label) from events that mostly belong to agents without a charter. The fingerprint is a stable
hash of the labels, so the same condition on the next run is the same alert.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.alerting.rules import BREACHED, GUARDRAIL, STOP_CONDITION, Check
from playbook.core.charter import Charter
from playbook.core.clock import iso
from playbook.core.governance import Governance
from playbook.core.model import Metric
from playbook.results import DRIFT, AlertRecord

METRIC_DRIFT = "MetricDrift"
GUARDRAIL_BREACH = "GuardrailBreach"
STOP = "StopCondition"
UNKNOWN_AGENTS = "UnknownAgents"
# More than this share of the well-formed rows belonging to agents without a charter means the
# monitor is looking at the wrong data (or the charters are missing): it must not look healthy.
UNKNOWN_AGENTS_SHARE = 0.5
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not set" for endsAt


def fingerprint(labels: dict[str, str]) -> str:
    encoded = json.dumps(labels, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass(frozen=True)
class Condition:
    """One alertable condition evaluated by a run: active (should fire) or cleared."""

    labels: dict[str, str]
    annotations: dict[str, str]
    active: bool

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


@dataclass
class Alert:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    status: str
    starts_at: datetime
    ends_at: datetime | None = None

    def record(self) -> AlertRecord:
        """The alert as published (report, snapshot, state: one JSON shape)."""
        return AlertRecord(
            fingerprint=self.fingerprint,
            status=self.status,
            labels=self.labels,
            annotations=self.annotations,
            startsAt=iso(self.starts_at),
            endsAt=iso(self.ends_at),
        )

    def to_json(self) -> dict[str, Any]:
        return self.record().to_json()


CENTER = "center"
ASPECT_REGIONS = {
    "tail": "beyond the baseline's 5% {side} values",
    "spread": "outside the baseline's central 80%",
}


def _labels(alertname: str, charter: Charter, metric: str, severity: str) -> dict[str, str]:
    return {
        "alertname": alertname,
        "agent": charter.id,
        "metric": metric,
        "severity": severity,
        "tier": str(charter.tier),
    }


def _annotations(
    governance: Governance, charter: Charter, summary: str, description: str, action: str
) -> dict[str, str]:
    owners = charter.owners
    base = governance.monitor.handbook_url
    page = f"agents/{charter.id}/"
    return {
        "summary": summary,
        "description": description,
        "owner": owners.agent_owner.name,
        "owner_email": owners.agent_owner.email,
        "steward": owners.model_steward.name,
        "steward_email": owners.model_steward.email,
        "action": action,
        "handbook_url": f"{base.rstrip('/')}/{page}" if base else page,
    }


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def drift_condition(
    governance: Governance, charter: Charter, findings: list[dict[str, Any]], *, active: bool
) -> Condition:
    """One alert per (agent, metric), whichever aspects of it drifted: the labels (and so the
    fingerprint) are the metric's; the description says which aspects moved and how."""
    metric = governance.metric(findings[0]["metric"])
    drifted = [f for f in findings if f["verdict"] == DRIFT]
    center = next((f for f in findings if f.get("aspect", CENTER) == CENTER), findings[0])
    others = [f for f in drifted if f.get("aspect", CENTER) != CENTER]
    lead = center if center in drifted or not others else others[0]
    if lead is center:
        summary = f"{charter.name}: {metric.name} drifted ({center['verdict']})"
    else:
        summary = f"{charter.name}: {metric.name} drifted in its {lead['aspect']} (drift)"
    parts = [_center_sentence(metric, center)]
    parts += [_aspect_sentence(metric, finding) for finding in others]
    return Condition(
        _labels(METRIC_DRIFT, charter, metric.id, "warning"),
        _annotations(governance, charter, summary, " ".join(parts), "investigate"),
        active,
    )


def _test(finding: dict[str, Any]) -> str:
    return f"{finding['test']} p={_figure(finding['p_value'])}, q={_figure(finding['q_value'])}"


def _center_sentence(metric: Metric, finding: dict[str, Any]) -> str:
    effect = finding["effect"]
    if effect is None:
        shift = "n/a"
    else:
        shift = f"{effect:+.3f}" if metric.kind == "proportion" else f"{effect:+.1%}"
    return (
        f"{metric.name} moved from {_figure(finding['baseline'])} "
        f"(baseline, n={finding['n_baseline']}) "
        f"to {_figure(finding['recent'])} (recent, n={finding['n_recent']}), {shift}; "
        f"{_test(finding)}. Worse when {metric.worse}."
    )


def _aspect_sentence(metric: Metric, finding: dict[str, Any]) -> str:
    side = "lowest" if metric.worse == "lower" else "highest"
    region = ASPECT_REGIONS[finding["aspect"]].format(side=side)
    effect = finding["effect"]
    shift = "n/a" if effect is None else f"{effect * 100:+.1f} points"
    return (
        f"Its {finding['aspect']}: the share of tasks {region} changed by {shift}; "
        f"{_test(finding)}."
    )


def check_condition(governance: Governance, charter: Charter, check: Check) -> Condition | None:
    if check.check not in {GUARDRAIL, STOP_CONDITION}:
        return None
    metric = governance.metric(check.metric)
    if check.check == GUARDRAIL:
        alertname, severity, action = GUARDRAIL_BREACH, "warning", "investigate"
        what = f"guardrail {check.bound} {check.threshold:g}"
    else:
        alertname, severity, action = STOP, "critical", check.action or "pause"
        what = f"stop condition {check.bound} {check.threshold:g}"
    summary = f"{charter.name}: {metric.name} crossed its {what}"
    description = (
        f"{metric.name} is {_figure(check.value)} {metric.unit} over the last {check.window} "
        f"(n={check.n}); {what}."
    )
    if check.check == STOP_CONDITION:
        description += f" Action: {action}."
    return Condition(
        _labels(alertname, charter, metric.id, severity),
        _annotations(governance, charter, summary, description, action),
        check.status == BREACHED,
    )


def unknown_agents_condition(
    governance: Governance, *, share: float, rows: int, names: dict[str, int]
) -> Condition:
    """Active when more than UNKNOWN_AGENTS_SHARE of the well-formed rows have no charter."""
    listed = ", ".join(f"{name} ({count:,})" for name, count in names.items()) or "none"
    base = governance.monitor.handbook_url
    return Condition(
        {"alertname": UNKNOWN_AGENTS, "severity": "warning"},
        {
            "summary": f"{share:.0%} of the events belong to agents without a charter",
            "description": (
                f"{rows:,} well-formed rows name an agent no charter has (most frequent: "
                f"{listed}); the monitor cannot watch them. Map traced names to charter ids in "
                "sources.yaml, fix the events' agent column, or write their charters."
            ),
            "action": "investigate",
            "handbook_url": f"{base.rstrip('/')}/monitor/" if base else "monitor/",
        },
        share > UNKNOWN_AGENTS_SHARE,
    )
