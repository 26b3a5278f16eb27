"""`govkit incident new`: write an incident scaffold for an agent, optionally from a monitor alert.

The scaffold comes from `templates/incident/incident.yaml.j2`; `TODO` stands where only people can
answer (it loads as a draft, with warnings, until they do). From an alert (`--alert FINGERPRINT`,
read from the monitor's published state and snapshot) it fills in the date the alert started, its
fingerprint, severity, the metric with its baseline and recent values, and a `verify` condition
from the charter's limit on that metric. Nothing is ever overwritten.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playbook import results
from playbook.core.charter import Charter
from playbook.core.errors import UsageError, ValidationFailed, display_path, unknown_choice
from playbook.core.governance import Governance
from playbook.core.incident import INCIDENTS_DIR
from playbook.core.types import SLUG_PATTERN
from playbook.handbook.scaffold import _environment
from playbook.policy import load_governance

SEVERITY_OF_ALERT = {"critical": "sev2", "warning": "sev3"}
OPPOSITE = {"max": "below", "above": "below", "min": "above", "below": "above"}


@dataclass
class AlertFacts:
    """What a scaffold takes from a firing (or resolved) alert."""

    alert: results.AlertRecord
    figures: list[str]


def find_alert(state: Path | None, agent: str, fingerprint: str) -> AlertFacts:
    """The alert `fingerprint` of `agent` in the monitor state, with its figures from the
    snapshot; UsageError (exit 2) when there is no state or no such alert."""
    if state is None:
        raise UsageError("--alert: needs the monitor's state; leave out --state none")
    snapshot = results.read_snapshot(state)
    database = results.state_path(results.snapshot_path(state))
    alerts = {a.fingerprint: a for a in results.read_state_alerts(database)}
    if snapshot is not None:
        alerts = {a.fingerprint: a for a in snapshot.alerts} | alerts
    if not alerts:
        raise UsageError(
            f"--alert: no alert in the monitor state {display_path(database)}; run "
            "govkit monitor run first"
        )
    mine = {fp: a for fp, a in alerts.items() if a.labels.get("agent") == agent}
    if fingerprint not in alerts:
        raise UsageError(f"--alert: {unknown_choice('alert', fingerprint, mine or alerts)}")
    alert = alerts[fingerprint]
    if alert.labels.get("agent") != agent:
        raise UsageError(
            f"--alert: alert {fingerprint} is about agent {alert.labels.get('agent')!r}, "
            f"not {agent!r}"
        )
    return AlertFacts(alert, _figures(snapshot, alert))


def _figures(snapshot: results.Snapshot | None, alert: results.AlertRecord) -> list[str]:
    """`rollback_rate: baseline 0.00871 (3,444 tasks), recent 0.0456 (834 tasks)` and the
    charter's checks on the metric, from the last run."""
    metric = alert.labels.get("metric")
    agent = snapshot.agents.get(alert.agent or "") if snapshot else None
    if metric is None or agent is None:
        return []
    lines = [
        f"{metric}: baseline {_value(f.baseline)} ({f.n_baseline:,} tasks), recent "
        f"{_value(f.recent)} ({f.n_recent:,} tasks), verdict {f.verdict}"
        for f in agent.findings
        if f.metric == metric and f.aspect == "center"
    ]
    lines += [
        f"{c.check.replace('_', ' ')} {c.bound} {_value(c.threshold)} over {c.window}: "
        f"{_value(c.value)} ({c.n:,} tasks), {c.status}"
        for c in agent.checks
        if c.metric == metric
    ]
    return lines


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _limit(charter: Charter, metric: str | None) -> tuple[str, float] | None:
    """The verify bound an alert's metric suggests: back within the charter's stop condition,
    else its guardrail (`above 0.02` -> `below 0.02`)."""
    for stop in charter.stop_conditions:
        if stop.metric == metric:
            kind, value = stop.threshold
            return OPPOSITE[kind], value
    for guardrail in charter.guardrails:
        if guardrail.metric == metric:
            kind, value = guardrail.bound
            return OPPOSITE[kind], value
    return None


def render_incident(
    charter: Charter, *, incident_id: str, day: date, facts: AlertFacts | None
) -> str:
    alert = facts.alert if facts else None
    metric = alert.labels.get("metric") if alert else None
    summary = "TODO: what happened, in your words."
    if alert is not None:
        notes = alert.annotations
        parts = [part.strip() for part in (notes.get("summary"), notes.get("description")) if part]
        said = " ".join(part if part.endswith((".", "!", "?")) else f"{part}." for part in parts)
        summary += f" The monitor reported: {said}"
    return (
        _environment()
        .get_template("incident/incident.yaml.j2")
        .render(
            id=incident_id,
            agent=charter,
            day=day.isoformat(),
            alert=alert,
            figures=facts.figures if facts else [],
            severity=SEVERITY_OF_ALERT.get(alert.labels.get("severity", ""), "TODO")
            if alert
            else "TODO",
            summary=summary,
            metric=metric or "TODO",
            bound=_limit(charter, metric) if metric else None,
        )
    )


def new_incident(
    governance_dir: Path,
    *,
    agent_id: str,
    today: date,
    incident_id: str | None = None,
    state: Path | None = None,
    fingerprint: str | None = None,
) -> Path:
    """Write `incidents/<id>.yaml` and check that the organisation still loads; its path."""
    governance = load_governance(governance_dir, today=today)
    charter = _charter(governance, agent_id)
    facts = find_alert(state, agent_id, fingerprint) if fingerprint else None
    day = today
    if facts is not None and facts.alert.starts_at:
        day = min(date.fromisoformat(facts.alert.starts_at[:10]), today)
    if incident_id is None:
        metric = facts.alert.labels.get("metric") if facts else None
        incident_id = "-".join(part for part in (day.isoformat(), agent_id, metric) if part)
        incident_id = incident_id.replace("_", "-")
    if not SLUG_PATTERN.match(incident_id):
        raise UsageError(
            f"--id: expected an id of lowercase letters, digits, '-' or '_' but received "
            f"{incident_id!r}"
        )
    target = governance_dir / INCIDENTS_DIR / f"{incident_id}.yaml"
    text = render_incident(charter, incident_id=incident_id, day=day, facts=facts)
    _write_new(target, incident_id, text)
    try:
        load_governance(governance_dir, today=today)
    except ValidationFailed:
        target.unlink()
        raise
    return target


def _write_new(target: Path, incident_id: str, text: str) -> None:
    """Create `target` with `text`; UsageError (exit 2) when the incident exists (as .yaml or
    .yml) or the file cannot be created (a too-long id, `incidents` not a directory)."""
    try:
        if target.parent.exists() and not target.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(target.parent))
        for existing in (target, target.with_suffix(".yml")):
            if os.path.lexists(existing):
                raise FileExistsError(errno.EEXIST, "exists", str(existing))
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as out:  # never replaces an incident
            out.write(text)
    except FileExistsError as exc:
        raise UsageError(
            f"{display_path(Path(exc.filename or target))}: an incident {incident_id!r} already "
            "exists; nothing was written"
        ) from None
    except OSError as exc:
        where = display_path(Path(exc.filename or target))
        raise UsageError(
            f"{where}: cannot write the incident: {exc.strerror or exc}; nothing was written"
        ) from None


def _charter(governance: Governance, agent_id: str) -> Charter:
    """The charter of `agent_id`, active or retired (an incident may come to light after the
    agent left); UsageError (exit 2) with the closest ids when no charter names it."""
    charter = governance.charter(agent_id)
    if charter is None:
        known = sorted(agent.id for agent in [*governance.agents, *governance.retired])
        raise UsageError(f"AGENT: {unknown_choice('agent', agent_id, known)}")
    return charter
