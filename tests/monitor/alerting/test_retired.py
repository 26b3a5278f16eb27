"""Agents that leave, through `govkit monitor run`: a retired or deleted charter's firing alerts
resolve on the next run with the reason in their annotations and in the notification, and a
retired agent's events are neither monitored nor counted as agents without a charter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.alerting.alerts import Alert, Condition
from monitor.alerting.retired import departure_conditions
from playbook.core.clock import parse_instant
from playbook.policy import load_governance
from tests.conftest import Workspace
from tests.monitor.conftest import AGENT, write_events

NOW = "2026-11-24T12:00:00Z"
LATER = "2026-11-24T14:00:00Z"
MUCH_LATER = "2026-11-25T12:00:00Z"
REASON = "Replaced by support-replies, which now handles refunds."
RETIREMENT = f'status: retired\nretired:\n  date: "2026-11-24"\n  reason: {REASON}\n'


@pytest.fixture
def breach(tmp_path: Path) -> Path:
    return write_events(tmp_path / "breach.parquet", rollback_rate=0.08)


def run(govkit, workspace: Workspace, events: Path, *extra: str, now: str = NOW) -> dict:
    result = govkit(
        "monitor", "run", "--governance", str(workspace.governance), "--events", str(events),
        "--state", str(workspace.root / "state.db"), "--now", now, "--format", "json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def retire(workspace: Workspace) -> None:
    workspace.edit(f"agents/{AGENT}.yaml", "tier: 3\n", f"tier: 3\n{RETIREMENT}")


def by_name(report: dict) -> dict[str, dict]:
    return {alert["labels"]["alertname"]: alert for alert in report["alerts"]}


def test_retired_agents_alerts_resolve_with_the_reason(govkit, workspace, breach, receiver):
    first = run(govkit, workspace, breach, "--webhook", receiver.url)
    assert {a["status"] for a in first["alerts"]} == {"firing"}
    assert set(by_name(first)) == {"StopCondition", "MetricDrift"}

    retire(workspace)
    second = run(govkit, workspace, breach, "--webhook", receiver.url, now=LATER)

    expected = f"charter retired on 2026-11-24: {REASON}"
    alerts = by_name(second)
    assert set(alerts) == {"StopCondition", "MetricDrift"}
    for alert in alerts.values():
        assert alert["status"] == "resolved"
        assert alert["endsAt"] == LATER
        assert alert["annotations"]["resolved_reason"] == expected
        assert alert["annotations"]["owner"]  # the last owners stay in the annotations
    resolved = [n for n in receiver.received if n["status"] == "resolved"]
    assert len(resolved) == 2
    for notification in resolved:
        assert notification["alerts"][0]["annotations"]["resolved_reason"] == expected
        assert notification["commonAnnotations"]["resolved_reason"] == expected
        assert notification["alerts"][0]["endsAt"] == LATER

    # The breach goes on in the events, but the agent is retired: nothing fires again.
    third = run(govkit, workspace, breach, "--webhook", receiver.url, now=MUCH_LATER)
    assert third["alerts"] == []
    assert len(receiver.received) == 4
    assert third["bad_rows"]["by_reason"].get("unknown_agent", 0) == 0
    assert third["findings"] == [] or all(f["agent"] != AGENT for f in third["findings"])


def test_deleted_charters_alerts_resolve(govkit, workspace, breach, receiver):
    run(govkit, workspace, breach)

    (workspace.governance / "agents" / f"{AGENT}.yaml").unlink()
    for incident in (workspace.governance / "incidents").glob("*.yaml"):
        if AGENT in incident.read_text(encoding="utf-8"):
            incident.unlink()  # an incident of an agent without any charter is invalid
    second = run(govkit, workspace, breach, "--webhook", receiver.url, now=LATER)

    alerts = by_name(second)
    assert alerts["StopCondition"]["status"] == alerts["MetricDrift"]["status"] == "resolved"
    # Its events now belong to an agent without a charter: that is what those alerts say.
    assert {n for n, a in alerts.items() if a["status"] == "firing"} <= {
        "UnchartedAgent",
        "UnknownAgents",
    }
    reason = f"charter deleted: no agents/{AGENT}.yaml any more"
    assert alerts["StopCondition"]["annotations"]["resolved_reason"] == reason
    stop = next(n for n in receiver.received if n["groupLabels"]["alertname"] == "StopCondition")
    assert stop["status"] == "resolved"
    assert stop["alerts"][0]["annotations"]["resolved_reason"] == reason


def test_retired_agents_events_are_not_watched(govkit, workspace, breach):
    retire(workspace)

    report = run(govkit, workspace, breach)

    assert report["alerts"] == []  # no drift, no stop condition, no budget, no UnknownAgents
    assert all(f["agent"] != AGENT for f in report["findings"])
    assert "unknown_agent" not in report["bad_rows"]["by_reason"]


def _alert(labels: dict[str, str]) -> Alert:
    return Alert("fp", labels, {"summary": "s"}, "firing", parse_instant(NOW))


def test_departure_conditions_spare_active_agents_and_uncharted_ones(workspace):
    retire(workspace)
    governance = load_governance(workspace.governance, today=parse_instant(NOW).date())
    active = Condition({"alertname": "MetricDrift", "agent": "docs-qa"}, {}, True)
    of_retired = Condition({"alertname": "ReviewOverdue", "agent": AGENT}, {}, True)
    firing = [
        _alert({"alertname": "MetricDrift", "agent": "docs-qa"}),
        _alert({"alertname": "UnchartedAgent", "agent": "shadow-bot"}),
        _alert({"alertname": "UnknownAgents"}),
        _alert({"alertname": "ReviewOverdue", "agent": AGENT}),
        _alert({"alertname": "BudgetOverrun", "agent": "gone"}),
    ]

    kept = departure_conditions(governance, [active, of_retired], firing)

    assert kept[0] is active
    cleared = {c.labels["agent"]: c for c in kept[1:]}
    assert set(cleared) == {AGENT, "gone"}
    assert not any(c.active for c in cleared.values())
    assert cleared[AGENT].annotations["resolved_reason"].startswith("charter retired on 2026-11-24")
    assert cleared["gone"].annotations == {
        "summary": "s",
        "resolved_reason": "charter deleted: no agents/gone.yaml any more",
    }


def test_the_reason_shows_in_the_run_report_and_on_the_alerts_page(govkit, workspace, breach):
    from playbook.core import resources
    from playbook.handbook.changes import not_under_git
    from playbook.handbook.render import Renderer
    from playbook.handbook.view import load_view

    run(govkit, workspace, breach)
    retire(workspace)
    state = workspace.root / "state.db"
    result = govkit(
        "monitor", "run", "--governance", str(workspace.governance), "--events", str(breach),
        "--state", str(state), "--now", LATER,
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    reason = f"charter retired on 2026-11-24: {REASON}"
    assert result.stdout.count(f"           Resolved: {reason}") == 2

    governance = load_governance(workspace.governance, today=parse_instant(LATER).date())
    pages = Renderer(
        governance,
        template_dir=resources.template_dir(),
        today=parse_instant(LATER).date(),
        monitor=load_view(state, now=parse_instant(LATER)),
        history=not_under_git(governance),
    ).pages()
    resolved = pages["monitor/alerts.md"].split("## Resolved recently")[1]
    assert (
        "| StopCondition on rollback\\_rate | [Refunds](../agents/refunds.md) | "
        f"2026-11-24 12:00 UTC | 2026-11-24 14:00 UTC: {reason} |"
    ) in resolved
