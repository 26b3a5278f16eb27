"""The monitor's published results, as the handbook reads them.

The handbook never imports the monitor: it reads the JSON snapshot the monitor writes beside its
state (`.govkit/monitor.json` for `.govkit/monitor.db`, schema `govkit.monitor/N`, see README).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playbook.core.errors import UsageError, display_path

SCHEMA_PREFIX = "govkit.monitor/"
STATUS_ORDER = ("stop_condition", "guardrail_breach", "drift", "insufficient_data", "ok")
STATUS_LABELS = {
    "stop_condition": "stop condition",
    "guardrail_breach": "guardrail breach",
    "drift": "drift",
    "insufficient_data": "insufficient data",
    "ok": "ok",
    "not_monitored": "not in the last run",
}


@dataclass
class MonitorView:
    """One monitor run's results: per agent status, findings, checks, series, costs; alerts."""

    path: Path
    now: str
    generated_at: str
    agents: dict[str, dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    reviews: dict[str, list[Path]] = field(default_factory=dict)
    # Set when the state holds a newer run than the snapshot (its snapshot could not be written).
    mismatch: str | None = None

    def status(self, agent_id: str) -> str:
        return self.agents.get(agent_id, {}).get("status", "not_monitored")

    def worst_first(self, agent_ids: list[str]) -> list[str]:
        def rank(agent_id: str) -> tuple[int, str]:
            status = self.status(agent_id)
            order = STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)
            return order, agent_id

        return sorted(agent_ids, key=rank)

    def firing(self, agent_id: str | None = None) -> list[dict[str, Any]]:
        return [
            alert
            for alert in self.alerts
            if alert["status"] == "firing"
            and (agent_id is None or alert["labels"].get("agent") == agent_id)
        ]

    @property
    def resolved(self) -> list[dict[str, Any]]:
        return [alert for alert in self.alerts if alert["status"] == "resolved"]


def snapshot_path(state: Path) -> Path:
    return state if state.suffix == ".json" else state.with_suffix(".json")


def load_view(state: Path) -> MonitorView | None:
    """The latest run's results, or None when the monitor has not run yet."""
    path = snapshot_path(state)
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{display_path(path)}: cannot read the monitor snapshot ({exc})"
        ) from None
    schema = document.get("schema", "") if isinstance(document, dict) else ""
    if not str(schema).startswith(SCHEMA_PREFIX):
        raise UsageError(
            f"{display_path(path)}: expected a monitor snapshot ({SCHEMA_PREFIX}N) but received "
            f"schema {schema!r}"
        )
    alerts = _all_alerts(path.with_suffix(".db"), document.get("alerts", []))
    reviews = {
        folder.name: sorted(folder.glob("*.md"), reverse=True)
        for folder in sorted((path.parent / "reviews").glob("*"))
        if folder.is_dir()
    }
    return MonitorView(
        path=path,
        now=document.get("now", ""),
        generated_at=document.get("generated_at", ""),
        agents=document.get("agents", {}),
        alerts=alerts,
        reviews=reviews,
        mismatch=_mismatch(path.with_suffix(".db"), document.get("run_id")),
    )


def _mismatch(database: Path, snapshot_run: object) -> str | None:
    """The snapshot and the state carry the run id they were written for; say when they differ."""
    if not database.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            (latest,) = db.execute(
                "SELECT max(id) FROM runs WHERE finished_at IS NOT NULL"
            ).fetchone()
    except sqlite3.Error:
        return None
    if latest is None or latest == snapshot_run:
        return None
    return (
        f"These results are from monitor run {snapshot_run}, but the state "
        f"{display_path(database)} has run {latest}, whose snapshot could not be written: run "
        "`govkit monitor run` again."
    )


def read_state_alerts(database: Path) -> list[dict[str, Any]]:
    """Every alert in the state's documented `alerts` table, oldest first, in the JSON shape of
    the snapshot. [] when there is no state; UsageError when it cannot be read."""
    if not database.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT fingerprint, labels, annotations, status, starts_at, ends_at "
                "FROM alerts ORDER BY starts_at, fingerprint"
            ).fetchall()
    except sqlite3.Error as exc:
        message = f"{display_path(database)}: cannot read the monitor state ({exc})"
        raise UsageError(message) from None
    return [
        {
            "fingerprint": fingerprint,
            "status": status,
            "labels": json.loads(labels),
            "annotations": json.loads(notes),
            "startsAt": starts,
            "endsAt": ends,
        }
        for fingerprint, labels, notes, status, starts, ends in rows
    ]


RECENTLY_RESOLVED = 50


def _all_alerts(database: Path, from_snapshot: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Firing alerts and those resolved recently: the snapshot has the last run's; the state's
    documented `alerts` table adds the ones resolved by earlier runs."""
    alerts = {alert["fingerprint"]: alert for alert in from_snapshot}
    try:
        stored = read_state_alerts(database)
    except UsageError:
        stored = []  # an unreadable state still leaves the last run's alerts to show
    resolved = [alert for alert in stored if alert["status"] == "resolved"]
    resolved.sort(key=lambda alert: alert["endsAt"] or "", reverse=True)
    for alert in resolved[:RECENTLY_RESOLVED]:
        alerts.setdefault(alert["fingerprint"], alert)
    severity = {"critical": 0, "warning": 1}
    return sorted(
        alerts.values(),
        key=lambda a: (
            a["status"] != "firing",
            severity.get(a["labels"].get("severity"), 2),
            a.get("startsAt") or "",
        ),
    )


def monitor_context(
    governance: Any, view: MonitorView | None, charts: dict[tuple[str, str], str]
) -> dict[str, Any]:
    """What the monitor pages and the agent pages need from the latest run."""
    from playbook.core import costs

    agent_months: list[tuple[str, list[costs.Month]]] = []
    warnings: list[str] = []
    if view is not None:
        for agent in governance.agents:
            months = costs.months_for(agent, view.agents.get(agent.id, {}).get("costs", []))
            agent_months.append((agent.id, months))
            warnings += [f"{agent.name}: {w}" for w in costs.shifts(months)]
    org_months = costs.organisation_months([months for _, months in agent_months])
    warnings = [f"Organisation: {w}" for w in costs.shifts(org_months)] + warnings
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
        "cost_warnings": warnings,
        "review_pages": review_pages,
        "charts": charts,
    }
