"""One monitor pass: events -> metrics -> drift tests -> checks -> alerts -> state -> notify."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.alerting.alerts import (
    Alert,
    Condition,
    check_condition,
    drift_condition,
    iso,
    unknown_agents_condition,
)
from monitor.alerting.notify import Delivery, deliver_outbox, webhook_payload
from monitor.alerting.rules import Check, evaluate_checks
from monitor.alerting.state import Receiver, StateStore, failpoint
from monitor.engine import stats
from monitor.engine.events import BadRows, load_events
from monitor.engine.metrics import compute
from monitor.engine.series import Trend, agent_trends, trend_windows
from playbook import results
from playbook.core.atomic import StagedFile
from playbook.core.clock import parse_window, utc_now
from playbook.core.governance import Governance
from playbook.core.settings import DEFAULT_NOTIFY_TIMEOUT
from playbook.core.windows import BASELINE, RECENT
from playbook.results import FIRING

Progress = Callable[[str], None]


@dataclass
class RunOptions:
    events: str
    now: datetime
    state: Path
    webhooks: list[str] = field(default_factory=list)
    max_bad_fraction: float = 0.01
    lock_timeout: float = 10.0
    notify_timeout: float = DEFAULT_NOTIFY_TIMEOUT


@dataclass
class RunReport:
    now: datetime
    run_id: int
    findings: list[dict[str, Any]]
    checks: list[Check]
    alerts: list[Alert]
    bad_rows: BadRows
    delivery: Delivery
    tasks: int
    trends: dict[str, Trend] = field(default_factory=dict)  # per agent, for the snapshot only

    @property
    def firing(self) -> list[Alert]:
        return [alert for alert in self.alerts if alert.status == FIRING]

    def to_json(self) -> dict[str, Any]:
        return {
            "now": iso(self.now),
            "findings": [{k: v for k, v in f.items() if k != "floor"} for f in self.findings],
            "alerts": [alert.to_json() for alert in self.alerts],
            "bad_rows": self.bad_rows.to_json(),
            "delivery": self.delivery.to_json(),
        }


def _clean(value: float | None) -> float | None:
    """JSON has no infinity or NaN: such figures are reported as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def drift_findings(
    governance: Governance, window_stats: dict[tuple[str, str, str], Any]
) -> list[dict[str, Any]]:
    """Test every monitored (agent, metric); BH across the run; verdict with the effect floor."""
    settings = governance.monitor
    findings: list[dict[str, Any]] = []
    tested: list[tuple[dict[str, Any], float]] = []
    for charter in governance.agents:
        if charter.monitor is None:
            continue
        for metric_id in charter.monitor.metrics:
            metric = governance.metric(metric_id)
            base = window_stats[(charter.id, BASELINE, metric_id)]
            recent = window_stats[(charter.id, RECENT, metric_id)]
            finding: dict[str, Any] = {
                "agent": charter.id,
                "metric": metric_id,
                "kind": metric.kind,
                "test": None,
                "baseline": _clean(base.value),
                "recent": _clean(recent.value),
                "n_baseline": base.n,
                "n_recent": recent.n,
                "statistic": None,
                "p_value": None,
                "q_value": None,
                "effect": None,
                "floor": governance.effect_floor(charter, metric_id),
                "verdict": results.INSUFFICIENT,
            }
            findings.append(finding)
            if not stats.has_enough(base, recent, settings.min_samples):
                continue
            result = stats.drift_test(base, recent)
            finding |= {
                "test": result.test,
                "statistic": _clean(result.statistic),
                "p_value": result.p_value,
                "effect": result.effect,
            }
            finding["_consistent"] = result.consistent
            tested.append((finding, result.p_value if result.p_value is not None else 1.0))
    q_values = stats.benjamini_hochberg([p for _, p in tested])
    for (finding, _), q in zip(tested, q_values, strict=True):
        metric = governance.metric(finding["metric"])
        finding["q_value"] = q
        finding["verdict"] = stats.verdict(
            finding["effect"],
            q,
            fdr=settings.fdr,
            floor=finding["floor"],
            worse=metric.worse,
            consistent=finding.pop("_consistent"),
        )
        finding["effect"] = _clean(finding["effect"])
    return findings


def run_monitor(
    governance: Governance, options: RunOptions, *, progress: Progress = lambda _: None
) -> RunReport:
    started = utc_now()
    charters = governance.agents
    custom = {m.column for m in governance.metrics if m.column}
    custom |= {
        column
        for m in governance.metrics
        if m.compute is not None
        for column in [*(m.compute.where or {}), *(m.compute.sum or [])]
    }
    receivers = [Receiver(r.name, r.url) for r in governance.monitor.receivers]
    receivers += [Receiver("webhook", url) for url in options.webhooks]

    with StateStore(options.state, lock_timeout=options.lock_timeout) as state:
        progress(f"reading events from {options.events}")
        store = load_events(
            options.events,
            agents={c.id for c in charters},
            human_hourly_rate_usd=governance.organisation.human_hourly_rate_usd,
            custom_columns=custom,
            max_bad_fraction=options.max_bad_fraction,
        )
        try:
            tasks = store.connection.execute("SELECT count(*) FROM events").fetchone()[0]
            progress(f"{tasks:,} valid events; computing metrics for {len(charters)} agents")
            window_stats = compute(store, governance, charters, options.now)
            progress("computing daily series and monthly costs")
            trends = agent_trends(store, governance, charters, options.now)
        finally:
            store.close()
        progress("testing for drift")
        findings = drift_findings(governance, window_stats)
        checks: list[Check] = []
        for charter in charters:
            checks += evaluate_checks(
                governance, charter, window_stats, min_samples=governance.monitor.min_samples
            )
        conditions = _conditions(governance, findings, checks)
        bad = store.bad_rows
        conditions.append(
            unknown_agents_condition(
                governance,
                share=bad.unknown_share,
                rows=bad.by_reason.get("unknown_agent", 0),
                names=store.unknown_agents,
            )
        )
        staged: list[StagedFile] = []

        def stage_snapshot(run_id: int, alerts: list[Alert]) -> None:
            report = RunReport(
                options.now, run_id, findings, checks, alerts, bad, Delivery(), tasks, trends
            )
            text = snapshot_text(governance, report)
            failpoint("snapshot-write")
            staged.append(StagedFile.write(results.snapshot_path(options.state), text))

        try:
            run_id, alerts = state.record_run(
                started_at=started,
                now=options.now,
                source=options.events,
                tasks=tasks,
                bad_rows=store.bad_rows.to_json(),
                findings=findings,
                checks=[check.to_json() for check in checks],
                conditions=conditions,
                receivers=receivers,
                repeat_interval=parse_window(governance.monitor.repeat_interval),
                payload_for=lambda alert, name: webhook_payload(
                    alert, name, external_url=governance.monitor.handbook_url or ""
                ),
                before_commit=stage_snapshot,
            )
        except BaseException:
            for file in staged:
                file.discard()
            raise
        staged[0].publish()  # after the commit: state and snapshot carry the same run_id
        report = RunReport(
            options.now, run_id, findings, checks, alerts, bad, Delivery(), tasks, trends
        )
        if state.pending_outbox():
            progress("delivering notifications")
            report.delivery = deliver_outbox(state, timeout=options.notify_timeout)
    return report


def _conditions(
    governance: Governance, findings: list[dict[str, Any]], checks: list[Check]
) -> list[Condition]:
    conditions: list[Condition] = []
    for finding in findings:
        if finding["verdict"] == results.INSUFFICIENT:
            continue  # not evaluated: a firing alert stays as it is
        charter = governance.agent(finding["agent"])
        active = finding["verdict"] == results.DRIFT
        conditions.append(drift_condition(governance, charter, finding, active=active))
    for check in checks:
        if check.status == "insufficient_data":
            continue
        condition = check_condition(governance, governance.agent(check.agent), check)
        if condition is not None:
            conditions.append(condition)
    return conditions


def snapshot_text(governance: Governance, report: RunReport) -> str:
    """The published result the handbook reads (`playbook.results.Snapshot`)."""
    agents: dict[str, results.AgentResults] = {}
    for charter in governance.agents:
        findings = [results.Finding(**f) for f in report.findings if f["agent"] == charter.id]
        checks = [check for check in report.checks if check.agent == charter.id]
        firing = [a.record() for a in report.firing if a.labels.get("agent") == charter.id]
        trend = report.trends.get(
            charter.id, {"series": {}, "costs": [], "windows": trend_windows(charter, report.now)}
        )
        agents[charter.id] = results.AgentResults(
            status=results.agent_status(findings, checks, firing),
            findings=findings,
            checks=checks,
            firing_alerts=firing,
            **trend,
        )
    snapshot = results.Snapshot(
        run_id=report.run_id,
        generated_at=iso(utc_now()),
        now=iso(report.now),
        tasks=report.tasks,
        agents=agents,
        alerts=[alert.record() for alert in report.alerts],
        bad_rows=results.BadRowsRecord(**report.bad_rows.to_json()),
    )
    return results.snapshot_json(snapshot)
