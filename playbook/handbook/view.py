"""The monitor's latest results as the handbook shows them.

The handbook never imports the monitor: it reads what the monitor published through
`playbook.results` (the snapshot beside the state, and the state's `alerts` and `runs` tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playbook import results
from playbook.core.errors import UsageError, display_path
from playbook.results import AgentResults, AlertRecord

RECENTLY_RESOLVED = 50
STATUS_LABELS = results.STATUS_LABELS
_SEVERITY_ORDER = {"critical": 0, "warning": 1}


@dataclass
class MonitorView:
    """One monitor run's results: per agent status, findings, checks, series, costs; alerts."""

    path: Path
    now: str
    generated_at: str
    agents: dict[str, AgentResults]
    alerts: list[AlertRecord] = field(default_factory=list)
    reviews: dict[str, list[Path]] = field(default_factory=dict)
    # agents the last run saw without a charter, most tasks first
    uncharted: list[results.UnchartedRecord] = field(default_factory=list)
    # Set when the state holds a newer run than the snapshot (its snapshot could not be written).
    mismatch: str | None = None
    # The build's moment, read once at the command line: how old these results are is measured
    # to it. None when the command did not say (the build's `today` stands in for it).
    built_at: datetime | None = None
    actions: list[results.ActionRecord] = field(default_factory=list)  # incidents' actions
    warnings: list[str] = field(default_factory=list)  # what the run could not judge

    def status(self, agent_id: str) -> str:
        result = self.agents.get(agent_id)
        return result.status if result else results.NOT_MONITORED

    def worst_first(self, agent_ids: list[str]) -> list[str]:
        order = results.STATUS_ORDER

        def rank(agent_id: str) -> tuple[int, str]:
            status = self.status(agent_id)
            return (order.index(status) if status in order else len(order)), agent_id

        return sorted(agent_ids, key=rank)

    def firing(self, agent_id: str | None = None) -> list[AlertRecord]:
        return [
            alert
            for alert in self.alerts
            if alert.status == results.FIRING and (agent_id is None or alert.agent == agent_id)
        ]

    @property
    def resolved(self) -> list[AlertRecord]:
        return [alert for alert in self.alerts if alert.status == results.RESOLVED]


def load_view(state: Path, *, now: datetime | None = None) -> MonitorView | None:
    """The latest run's results, or None when the monitor has not run yet. `now`: the build's
    moment, to tell how old the results are."""
    snapshot = results.read_snapshot(state)
    if snapshot is None:
        return None
    path = results.snapshot_path(state)
    database = results.state_path(path)
    reviews = {
        folder.name: sorted(folder.glob("*.md"), reverse=True)
        for folder in sorted(results.reviews_dir(path).glob("*"))
        if folder.is_dir()
    }
    return MonitorView(
        path=path,
        now=snapshot.now,
        generated_at=snapshot.generated_at,
        agents=snapshot.agents,
        alerts=_all_alerts(database, snapshot.alerts),
        reviews=reviews,
        uncharted=snapshot.uncharted,
        mismatch=_mismatch(database, snapshot.run_id),
        built_at=now,
        actions=snapshot.actions,
        warnings=snapshot.warnings,
    )


def _mismatch(database: Path, snapshot_run: int) -> str | None:
    """The snapshot and the state carry the run id they were written for; say when they differ."""
    latest = results.latest_run_id(database)
    if latest is None or latest == snapshot_run:
        return None
    return (
        f"These results are from monitor run {snapshot_run}, but the state "
        f"{display_path(database)} has run {latest}, whose snapshot could not be written: run "
        "`govkit monitor run` again."
    )


def _all_alerts(database: Path, from_snapshot: list[AlertRecord]) -> list[AlertRecord]:
    """Firing alerts and those resolved recently: the snapshot has the last run's; the state's
    `alerts` table adds the ones resolved by earlier runs."""
    alerts = {alert.fingerprint: alert for alert in from_snapshot}
    try:
        stored = results.read_state_alerts(database)
    except UsageError:
        stored = []  # an unreadable state still leaves the last run's alerts to show
    resolved = [alert for alert in stored if alert.status == results.RESOLVED]
    resolved.sort(key=lambda alert: alert.ends_at or "", reverse=True)
    for alert in resolved[:RECENTLY_RESOLVED]:
        alerts.setdefault(alert.fingerprint, alert)
    return sorted(
        alerts.values(),
        key=lambda a: (
            a.status != results.FIRING,
            _SEVERITY_ORDER.get(a.labels.get("severity", ""), 2),
            a.starts_at or "",
        ),
    )


def monitor_context(
    governance: Any, view: MonitorView | None, charts: dict[tuple[str, str], str]
) -> dict[str, Any]:
    """What the monitor pages and the agent pages need from the latest run."""
    from playbook.core.months import Month, months_for, organisation_months

    agent_months: list[tuple[str, list[Month]]] = []
    if view is not None:
        for agent in governance.agents:
            result = view.agents.get(agent.id)
            rows = [m.to_json() for m in result.costs] if result else []
            agent_months.append((agent.id, months_for(agent, rows)))
    org_months = organisation_months([months for _, months in agent_months])
    review_pages = []
    if view is not None:
        for agent_id, files in sorted(view.reviews.items()):
            if agent_id in {agent.id for agent in governance.agents}:
                review_pages.append(
                    (agent_id, [(f.stem, f"reviews/{agent_id}/{f.name}") for f in files])
                )
    return {
        "monitor": view,
        "agent_ids": {agent.id for agent in governance.agents},
        "agent_months": agent_months,
        "org_months": org_months,
        "review_pages": review_pages,
        "charts": charts,
    }
