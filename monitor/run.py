"""One monitor pass: events -> metrics -> drift tests -> checks -> alerts -> state -> notify."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerting.actions import action_conditions, evaluate_actions
from monitor.alerting.alertmanager import alertmanagers, alive_for, enqueue_pushes
from monitor.alerting.alerts import (
    Alert,
    Condition,
    check_condition,
    drift_condition,
    iso,
    unknown_agents_condition,
)
from monitor.alerting.budget import budget_conditions, month_to_date
from monitor.alerting.notify import Delivery, deliver_outbox, webhook_payload
from monitor.alerting.retired import departure_conditions
from monitor.alerting.rules import Check, evaluate_checks
from monitor.alerting.state import Receiver, StateStore, failpoint
from monitor.alerting.workforce import (
    review_conditions,
    uncharted_conditions,
    uncharted_records,
)
from monitor.engine import metrics
from monitor.engine.ahead import ahead_warning
from monitor.engine.coverage import (
    budget_warnings,
    lacking_column_warnings,
    silence_warnings,
)
from monitor.engine.drift import drift_findings, weekday_warnings
from monitor.engine.events import BadRows
from monitor.engine.series import Trend, agent_trends, trend_windows
from monitor.engine.summaries import Summaries
from monitor.engine.uncharted import uncharted
from playbook import results
from playbook.core.atomic import StagedFile
from playbook.core.clock import parse_interval, parse_window, utc_now
from playbook.core.governance import Governance
from playbook.core.settings import DEFAULT_NOTIFY_TIMEOUT
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
    engine: str | None = None  # duckdb or spark; default: monitor.yaml's, else duckdb
    alertmanagers: list[str] = field(default_factory=list)  # base URLs, beside monitor.yaml's
    interval: timedelta | None = None  # the schedule's; default: monitor.yaml's `every`
    clock: bool = False  # `now` is the clock's time (no --now): events after it are misdated


@dataclass
class AgentOutcome:
    """One agent's part of a run."""

    findings: list[results.Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    firing: list[results.AlertRecord] = field(default_factory=list)

    @property
    def status(self) -> str:
        return results.agent_status(self.findings, self.checks, self.firing)


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
    warnings: list[str] = field(default_factory=list)  # about the run's trustworthiness
    actions: list[results.ActionRecord] = field(default_factory=list)  # incidents' actions
    uncharted: list[results.UnchartedRecord] = field(default_factory=list)  # no charter

    @property
    def firing(self) -> list[Alert]:
        return [alert for alert in self.alerts if alert.status == FIRING]

    def by_agent(self, agent_ids: Iterable[str]) -> dict[str, AgentOutcome]:
        """Each agent's findings, checks and firing alerts, grouped in one pass: what its status
        (the snapshot's and the metrics') is judged from."""
        grouped = {agent: AgentOutcome() for agent in agent_ids}
        for finding in self.findings:
            if finding["agent"] in grouped:
                grouped[finding["agent"]].findings.append(results.Finding(**finding))
        for check in self.checks:
            if check.agent in grouped:
                grouped[check.agent].checks.append(check)
        for alert in self.firing:
            if alert.labels.get("agent") in grouped:
                grouped[alert.labels["agent"]].firing.append(alert.record())
        return grouped

    def to_json(self) -> dict[str, Any]:
        return {
            "now": iso(self.now),
            "findings": [{k: v for k, v in f.items() if k != "floor"} for f in self.findings],
            "alerts": [alert.to_json() for alert in self.alerts],
            "bad_rows": self.bad_rows.to_json(),
            "delivery": self.delivery.to_json(),
            "warnings": self.warnings,
            "actions": [action.to_json() for action in self.actions],
            "uncharted": [record.to_json() for record in self.uncharted],
        }


def run_monitor(
    governance: Governance, options: RunOptions, *, progress: Progress = lambda _: None
) -> RunReport:
    started = utc_now()
    charters = governance.agents
    receivers = [Receiver(r.name, r.url) for r in governance.monitor.receivers if r.url]
    receivers += [Receiver("webhook", url) for url in options.webhooks]

    with StateStore(options.state, lock_timeout=options.lock_timeout) as state:
        summaries, bad, unknown = _summarise(governance, options, progress)
        tasks = summaries.valid_tasks()
        window_stats = metrics.window_stats(summaries, charters)
        trends = agent_trends(summaries, governance, charters, options.now)
        progress("testing for drift")
        findings = drift_findings(governance, window_stats)
        checks: list[Check] = []
        for charter in charters:
            checks += evaluate_checks(
                governance, charter, window_stats, min_samples=governance.monitor.min_samples
            )
        conditions = _conditions(governance, findings, checks)
        conditions.append(
            unknown_agents_condition(
                governance,
                share=bad.unknown_share,
                rows=bad.by_reason.get("unknown_agent", 0),
                names=unknown,
            )
        )
        spend = month_to_date(summaries, charters, options.now)
        conditions += budget_conditions(governance, spend, options.now)
        actions = evaluate_actions(governance, summaries, options.now)
        conditions += action_conditions(governance, actions, state.alerts(status=FIRING))
        seen = uncharted(summaries.groups)  # the invisible workforce
        conditions += uncharted_conditions(governance, seen, state.alerts(status=FIRING))
        written = results.written_review_days(options.state)
        conditions += review_conditions(governance, written, options.now)
        # Last: retired and deleted charters' alerts resolve, with the reason (agents that leave)
        conditions = departure_conditions(governance, conditions, state.alerts(status=FIRING))
        warnings = lacking_column_warnings(summaries)
        warnings += budget_warnings(summaries, charters)
        warnings += silence_warnings(summaries, charters, options.now)
        warnings += weekday_warnings(charters, options.now)
        if options.clock:
            warnings += ahead_warning(summaries.groups, options.now)
        if summaries.repeats:
            warnings.append(summaries.repeats.warning())
        staged: list[StagedFile] = []
        push_alerts = _alertmanager_pushes(governance, options, started)

        def stage_snapshot(run_id: int, alerts: list[Alert]) -> None:
            report = RunReport(
                options.now, run_id, findings, checks, alerts, bad, Delivery(), tasks, trends,
                warnings,
            )  # fmt: skip
            report.actions = actions
            report.uncharted = uncharted_records(seen)
            text = snapshot_text(governance, report)
            failpoint("snapshot-write")
            staged.append(StagedFile.write(results.snapshot_path(options.state), text))

        try:
            run_id, alerts = state.record_run(
                started_at=started,
                now=options.now,
                source=options.events,
                tasks=tasks,
                bad_rows=bad.to_json(),
                findings=findings,
                checks=[check.to_json() for check in checks],
                conditions=conditions,
                receivers=receivers,
                repeat_interval=parse_window(governance.monitor.repeat_interval),
                payload_for=lambda alert, name: webhook_payload(
                    alert, name, external_url=governance.monitor.handbook_url or ""
                ),
                before_commit=lambda run_id, alerts: (
                    push_alerts(state, run_id, alerts),
                    stage_snapshot(run_id, alerts),
                ),
            )
        except BaseException:
            for file in staged:
                file.discard()
            raise
        staged[0].publish()  # after the commit: state and snapshot carry the same run_id
        report = RunReport(
            options.now, run_id, findings, checks, alerts, bad, Delivery(), tasks, trends,
            list(warnings),
        )  # fmt: skip
        report.actions = actions
        report.uncharted = uncharted_records(seen)
        if state.pending_outbox():
            progress("delivering notifications")
            report.delivery = deliver_outbox(state, timeout=options.notify_timeout)
    return report


def _alertmanager_pushes(
    governance: Governance, options: RunOptions, pushed_at: datetime
) -> Callable[[StateStore, int, list[Alert]], None]:
    """What queues this run's pushes to each Alertmanager, in the run's transaction."""
    configured = [(r.name, r.alertmanager) for r in governance.monitor.receivers if r.alertmanager]
    managers = alertmanagers(configured, options.alertmanagers)
    every = governance.monitor.every
    alive = alive_for(options.interval or (parse_interval(every) if every else None))

    def push(state: StateStore, run_id: int, alerts: list[Alert]) -> None:
        if managers and state.db is not None:
            enqueue_pushes(state.db, managers, alerts, pushed_at=pushed_at, alive=alive)

    return push


def _summarise(
    governance: Governance, options: RunOptions, progress: Progress
) -> tuple[Summaries, BadRows, dict[str, int]]:
    """One pass over the events on the chosen engine: the summaries, the bad rows (exit 2 when
    too many) and the most frequent agents without a charter."""
    summaries, bad = metrics.measure(
        options.events,
        governance,
        governance.agents,
        options.now,
        engine=options.engine,
        max_bad_fraction=options.max_bad_fraction,
        progress=progress,
        unwatched=governance.retired_ids,
    )
    progress(f"{summaries.valid_tasks():,} valid events; testing {len(governance.agents)} agents")
    return summaries, bad, summaries.unknown_agents()


def _conditions(
    governance: Governance, findings: list[dict[str, Any]], checks: list[Check]
) -> list[Condition]:
    conditions: list[Condition] = []
    by_metric: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for finding in findings:
        if finding["verdict"] != results.INSUFFICIENT:  # untested: a firing alert stays as is
            by_metric.setdefault((finding["agent"], finding["metric"]), []).append(finding)
    for (agent, _), tested in by_metric.items():
        active = any(finding["verdict"] == results.DRIFT for finding in tested)
        conditions.append(
            drift_condition(governance, governance.agent(agent), tested, active=active)
        )
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
    series: dict[str, dict[str, list[Any]]] = {}
    outcomes = report.by_agent(charter.id for charter in governance.agents)
    for charter in governance.agents:
        outcome = outcomes[charter.id]
        trend = report.trends.get(
            charter.id, {"series": {}, "costs": [], "windows": trend_windows(charter, report.now)}
        )
        agents[charter.id] = results.AgentResults(
            status=outcome.status,
            findings=outcome.findings,
            checks=outcome.checks,
            firing_alerts=outcome.firing,
            costs=trend["costs"],
            windows=trend["windows"],
        )
        series[charter.id] = trend["series"]
    snapshot = results.Snapshot(
        run_id=report.run_id,
        generated_at=iso(report.now),  # the run's moment (`--now`): a rerun is the same file
        now=iso(report.now),
        tasks=report.tasks,
        agents=agents,
        alerts=[alert.record() for alert in report.alerts],
        bad_rows=results.BadRowsRecord(**report.bad_rows.to_json()),
        actions=report.actions,
        uncharted=report.uncharted,
        warnings=report.warnings,
    )
    return results.snapshot_json(snapshot, series)
