"""The EU AI Act Art. 72 post-market monitoring plan of an agent, generated from its charter.

For every agent of tier `PLAN_FROM_TIER` and above: what is measured (metrics with their windows,
baseline, drift tests and thresholds), who is responsible, how often it is reviewed, when it is
stopped, and what happens after an incident, including the Art. 73 reporting deadlines. The page
(`templates/pages/monitoring-plan.md.j2`) prints as a standalone record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playbook.core.charter import Charter
from playbook.core.governance import Governance

PLAN_FROM_TIER = 3
LOG_MONTHS_DAYS = 183  # Art. 26(6): deployers keep the logs for at least six months

# How the monitor tests each kind of metric for drift (see the metric catalog's `kind`).
DRIFT_TESTS = {
    "proportion": "exact or two-proportion test of the share",
    "continuous": "rank test of the centre, with tests of the upper tail and the spread",
    "ratio": "resampling or delta-method test of the ratio",
    "count": "rate test of the daily count (Poisson, quasi-Poisson when overdispersed)",
}

# Art. 73 deadlines, counted from the day the organisation became aware of the serious incident.
REPORTING_DEADLINES = (
    ("Any serious incident", 15, "Art. 73(2)"),
    ("The death of a person", 10, "Art. 73(4)"),
    ("A widespread infringement, or a serious and irreversible disruption of critical "
     "infrastructure", 2, "Art. 73(3)"),
)  # fmt: skip


@dataclass(frozen=True)
class Threshold:
    check: str  # north star, guardrail, stop condition
    bound: str  # target, max, min, above, below
    value: float
    window: str
    action: str


@dataclass(frozen=True)
class PlanMetric:
    id: str
    name: str
    kind: str
    unit: str
    worse: str
    drift_test: str
    effect_floor: float | None
    thresholds: list[Threshold]
    monitored: bool  # drift-tested against the baseline (listed under monitor.metrics)


def has_plan(charter: Charter) -> bool:
    return charter.tier >= PLAN_FROM_TIER


def plan_metrics(governance: Governance, charter: Charter) -> list[PlanMetric]:
    """Every metric the charter names, with its thresholds and drift test."""
    recent = charter.monitor.recent if charter.monitor else "7d"
    thresholds: dict[str, list[Threshold]] = {}
    star = charter.north_star
    thresholds.setdefault(star.metric, []).append(
        Threshold("north star", "target", star.target, recent, "reported")
    )
    for guardrail in charter.guardrails:
        bound, value = guardrail.bound
        thresholds.setdefault(guardrail.metric, []).append(
            Threshold("guardrail", bound, value, recent, "GuardrailBreach alert")
        )
    for stop in charter.stop_conditions:
        bound, value = stop.threshold
        thresholds.setdefault(stop.metric, []).append(
            Threshold("stop condition", bound, value, stop.window, stop.action)
        )
    monitored = charter.monitor.metrics if charter.monitor else []
    rows = []
    for metric_id in dict.fromkeys([*monitored, *thresholds]):
        metric = governance.metric(metric_id)
        floor = governance.effect_floor(charter, metric_id) if metric_id in monitored else None
        rows.append(
            PlanMetric(
                metric.id,
                metric.name,
                metric.kind,
                metric.unit,
                metric.worse,
                DRIFT_TESTS.get(metric.kind, metric.kind),
                floor,
                thresholds.get(metric_id, []),
                metric_id in monitored,
            )
        )
    return rows


def plan_context(governance: Governance, charter: Charter) -> dict[str, Any]:
    """What the plan page shows beyond the charter itself."""
    incidents = [
        incident
        for incident in getattr(governance, "incidents", []) or []
        if charter.id in getattr(incident, "agents", [])
    ]
    retention = charter.audit.retention_days if charter.audit else None
    mapped = sorted(
        {
            ref
            for metric in plan_metrics(governance, charter)
            for ref in governance.metric(metric.id).maps_to
        }
    )
    return {
        "plan_metrics": plan_metrics(governance, charter),
        "plan_incidents": incidents,
        "reporting_deadlines": REPORTING_DEADLINES,
        "short_retention": retention is not None and retention < LOG_MONTHS_DAYS,
        "plan_items": mapped,
    }
