"""The invisible workforce in the monitor: `UnchartedAgent` per agent the events name without a
charter (tasks, first and last seen counted by the engine; fires once; resolves when the agent is
chartered or stops appearing in the window), and `ReviewOverdue` against a charter's cadence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerting import workforce
from monitor.engine.uncharted import Seen
from monitor.run import RunOptions, RunReport, run_monitor
from playbook import results
from playbook.policy import load_governance

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SHADOW = "shadow-bot"


def write_events(path: Path, *, shadow: bool = True) -> Path:
    """Five refunds tasks a day from 2026-11-10 to 2026-11-23, and one task a day, at 10:00,
    of an agent without a charter."""
    rows = []
    for day in range(10, 24):
        if shadow:
            rows.append(
                {"timestamp": f"2026-11-{day}T10:00:00Z", "agent": SHADOW, "outcome": "success"}
            )
        rows += [
            {"timestamp": f"2026-11-{day}T1{hour}:00:00+00:00", "agent": "refunds",
             "outcome": "success"}
            for hour in range(5)
        ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run(workspace, events: Path, now: datetime = NOW) -> RunReport:
    governance = load_governance(workspace.governance, today=now.date())
    state = workspace.root / "state" / "monitor.db"
    return run_monitor(governance, RunOptions(events=str(events), now=now, state=state))


def named(report: RunReport, alertname: str) -> list:
    return [alert for alert in report.alerts if alert.labels["alertname"] == alertname]


def stored(workspace, alertname: str) -> list[results.AlertRecord]:
    database = workspace.root / "state" / "monitor.db"
    return [a for a in results.read_state_alerts(database) if a.labels["alertname"] == alertname]


def test_an_uncharted_agent_fires_once_with_tasks_and_first_and_last_seen(workspace):
    events = write_events(workspace.root / "events.jsonl")

    first = run(workspace, events)
    second = run(workspace, events)

    [alert] = named(first, "UnchartedAgent")
    assert alert.status == "firing"
    assert alert.labels == {"alertname": "UnchartedAgent", "agent": SHADOW, "severity": "warning"}
    notes = alert.annotations
    assert (notes["tasks"], notes["recent_tasks"]) == ("14", "6")  # 6 since 2026-11-17 12:00
    assert (notes["first_seen"], notes["last_seen"]) == (
        "2026-11-10T10:00:00Z",
        "2026-11-23T10:00:00Z",
    )
    assert notes["summary"] == (
        "Agent shadow-bot ran 14 tasks without a charter (6 in the last 7 days): nobody is "
        "named as its owner"
    )
    assert named(first, "UnknownAgents") == []  # 17% of the rows: not most of them
    [again] = named(second, "UnchartedAgent")
    assert (again.fingerprint, again.starts_at) == (alert.fingerprint, alert.starts_at)
    assert len(stored(workspace, "UnchartedAgent")) == 1
    snapshot = results.read_snapshot(workspace.root / "state" / "monitor.db")
    assert [record.to_json() for record in snapshot.uncharted] == [
        {"agent": SHADOW, "tasks": 14, "first_seen": "2026-11-10T10:00:00Z",
         "last_seen": "2026-11-23T10:00:00Z", "recent_tasks": 6, "window": "7d"}
    ]  # fmt: skip


def test_an_id_close_to_a_charters_is_named_as_the_likely_meaning(workspace):
    """`Refunds` is not `refunds` (ids are case-sensitive), but it is most likely meant: both the
    agent's alert and the warning that most events have no charter say so."""
    events = workspace.root / "events.jsonl"
    rows = [{"timestamp": f"2026-11-{day}T10:00:00Z", "agent": "Refunds", "outcome": "success"}
            for day in range(10, 24)]  # fmt: skip
    events.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    report = run(workspace, events)
    [alert] = named(report, "UnchartedAgent")
    assert alert.annotations["description"] == (
        "The events name the agent 'Refunds', which no charter has: 14 tasks from "
        "2026-11-10T10:00:00Z to 2026-11-23T10:00:00Z. Did you mean 'refunds'? Write its charter "
        "(govkit charter new), map a traced name to a charter id in sources.yaml, or stop the "
        "agent."
    )
    [unknown] = named(report, "UnknownAgents")
    description = unknown.annotations["description"]
    assert (
        "(most frequent: Refunds (14)); the monitor cannot watch them. Close to a charter's "
        "id: 'Refunds' (did you mean 'refunds'?). Map traced names" in description
    )
    later = named(run(workspace, write_events(workspace.root / "shadow.jsonl")), "UnchartedAgent")
    [shadow] = [alert for alert in later if alert.labels["agent"] == SHADOW]
    assert "Did you mean" not in shadow.annotations["description"]


def test_it_resolves_when_a_charter_names_the_agent(workspace):
    events = write_events(workspace.root / "events.jsonl")
    run(workspace, events)
    charter = (workspace.governance / "agents" / "docs-qa.yaml").read_text(encoding="utf-8")
    workspace.write(f"agents/{SHADOW}.yaml", charter.replace("id: docs-qa", f"id: {SHADOW}"))

    report = run(workspace, events)

    [alert] = named(report, "UnchartedAgent")
    assert alert.status == "resolved"
    assert alert.annotations["resolved_reason"] == "shadow-bot now has a charter."
    assert results.read_snapshot(workspace.root / "state" / "monitor.db").uncharted == []


@pytest.mark.parametrize(
    ("later", "shadow", "reason"),
    [
        (timedelta(days=8), True, "no task in the last 7 days"),
        (timedelta(0), False, "shadow-bot no longer appears in the events."),
    ],
    ids=["out of the window", "gone from the events"],
)
def test_it_resolves_when_the_agent_stops_appearing(workspace, later, shadow, reason):
    run(workspace, write_events(workspace.root / "events.jsonl"))

    report = run(workspace, write_events(workspace.root / "next.jsonl", shadow=shadow), NOW + later)

    [alert] = named(report, "UnchartedAgent")
    assert alert.status == "resolved"
    assert alert.annotations["resolved_reason"] == reason


def test_the_cli_reports_uncharted_agents_in_its_json(workspace, govkit):
    write_events(workspace.root / "events.jsonl")

    result = govkit(
        "monitor", "run", "--events", "events.jsonl", "--now", "2026-11-24T12:00:00Z",
        "--format", "json", "--fail-on-alert",
    )  # fmt: skip

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [row["agent"] for row in document["uncharted"]] == [SHADOW]


def test_only_the_most_active_uncharted_agents_alert(workspace, monkeypatch):
    """A source naming thousands of agents is UnknownAgents' case: past the cap, the least active
    are left unevaluated (a firing alert of theirs stays), not each notified."""
    monkeypatch.setattr(workforce, "MAX_UNCHARTED_ALERTS", 1)
    governance = load_governance(workspace.governance, today=NOW.date())
    seen = [
        Seen("busy-bot", 40, 30, NOW - timedelta(days=9), NOW - timedelta(hours=1)),
        Seen("quiet-bot", 50, 2, NOW - timedelta(days=20), NOW - timedelta(days=2)),
        Seen("old-bot", 9, 0, NOW - timedelta(days=30), NOW - timedelta(days=10)),
    ]

    conditions = workforce.uncharted_conditions(governance, seen, [])

    assert [(c.labels["agent"], c.active) for c in conditions] == [
        ("busy-bot", True),
        ("old-bot", False),
    ]


# --- ReviewOverdue -------------------------------------------------------------------------------


def written_review(workspace, day: str, agent: str = "refunds") -> None:
    folder = workspace.root / "state" / "reviews" / agent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{day}.md").write_text(f"# Review of {agent}\n", encoding="utf-8")


@pytest.mark.parametrize("day", ["2026-11-20", "2026-11-17"], ids=["not due", "due today"])
def test_a_review_not_yet_overdue_raises_nothing(workspace, day):
    written_review(workspace, day)  # refunds: weekly

    report = run(workspace, write_events(workspace.root / "events.jsonl", shadow=False))

    assert named(report, "ReviewOverdue") == []
    assert stored(workspace, "ReviewOverdue") == []


def test_an_overdue_review_fires_once_and_resolves_when_the_review_is_written(workspace):
    events = write_events(workspace.root / "events.jsonl", shadow=False)
    written_review(workspace, "2026-11-10")

    first = run(workspace, events)
    second = run(workspace, events)
    written_review(workspace, "2026-11-24")
    third = run(workspace, events)

    [alert] = named(first, "ReviewOverdue")
    assert alert.status == "firing"
    assert alert.labels == {"alertname": "ReviewOverdue", "agent": "refunds", "severity": "warning"}
    notes = alert.annotations
    assert {key: notes[key] for key in ("cadence", "last_review", "due", "days_overdue")} == {
        "cadence": "weekly", "last_review": "2026-11-10", "due": "2026-11-17", "days_overdue": "7",
    }  # fmt: skip
    assert notes["summary"] == (
        "The weekly review of Refunds is 7 days overdue (last review 2026-11-10, due 2026-11-17)"
    )
    assert notes["owner"] == "Oliver Brandt"
    [again] = named(second, "ReviewOverdue")
    assert (again.status, again.starts_at) == ("firing", alert.starts_at)
    assert len(stored(workspace, "ReviewOverdue")) == 1
    [resolved] = named(third, "ReviewOverdue")
    assert resolved.status == "resolved"


def test_the_charters_review_last_counts_as_the_last_review(workspace):
    workspace.edit(
        "agents/refunds.yaml", "  cadence: weekly\n", "  cadence: weekly\n  last: 2026-11-01\n"
    )

    report = run(workspace, write_events(workspace.root / "events.jsonl", shadow=False))

    [alert] = named(report, "ReviewOverdue")
    assert (alert.annotations["last_review"], alert.annotations["days_overdue"]) == (
        "2026-11-01",
        "16",
    )


def test_an_agent_never_reviewed_has_nothing_to_count_from(workspace):
    report = run(workspace, write_events(workspace.root / "events.jsonl", shadow=False))

    assert named(report, "ReviewOverdue") == []
