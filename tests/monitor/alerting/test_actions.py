"""Corrective actions judged by `govkit monitor run`: verified only after the metric held for the
whole window after `done`; reopened with one `ActionNotEffective` when it relapsed; overdue with
one `ActionOverdue`; each alert fires once over repeated runs and resolves when its condition
clears; the statuses are published in the snapshot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from playbook import results
from tests.monitor.conftest import AGENT, write_events

NOW = "2026-11-24T12:00:00Z"
LATER = "2026-11-24T18:00:00Z"  # past the 4h repeat interval: a still-firing alert repeats
INCIDENT = "incidents/2026-11-10-refunds-rollbacks.yaml"


def incident(*, done: str | None, due: str = "2026-11-20", below: float = 0.05) -> str:
    done_line = f'    done: "{done}"\n' if done else ""
    return (
        "id: 2026-11-10-refunds-rollbacks\n"
        "title: Refunds rolled back\n"
        'date: "2026-07-10"\n'  # before every `done` below: none may precede it
        "agents: [refunds]\n"
        "severity: sev2\n"
        "summary: Rolled back.\n"
        "impact: None released.\n"
        "serious: false\n"
        "actions:\n"
        "  - id: fix-prompt\n"
        "    description: Fix the prompt.\n"
        "    owner: model_steward\n"
        f'    due: "{due}"\n'
        f"{done_line}"
        "    verify: {metric: rollback_rate, below: " + str(below) + ", for: 7d}\n"
    )


@pytest.fixture
def setup(workspace, tmp_path: Path) -> dict[str, Path]:
    shutil.rmtree(workspace.governance / "incidents", ignore_errors=True)
    return {
        # rollbacks at 0.3% a day until 2026-11-17T12:00, then 20%: a relapse
        "relapse": write_events(tmp_path / "relapse.parquet", rollback_rate=0.2),
        "healthy": write_events(tmp_path / "healthy.parquet"),
        "state": tmp_path / "state" / "monitor.db",
    }


def run(govkit, workspace, events: Path, state: Path, *extra: str, now: str = NOW) -> dict:
    result = govkit(
        "monitor", "run", "--governance", str(workspace.governance), "--events", str(events),
        "--state", str(state), "--now", now, "--format", "json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def published_actions(state: Path) -> list[results.ActionRecord]:
    snapshot = results.read_snapshot(state)
    assert snapshot is not None
    return snapshot.actions


def action_alerts(report: dict) -> list[tuple[str, str]]:
    return sorted(
        (a["labels"]["alertname"], a["status"])
        for a in report["alerts"]
        if a["labels"]["alertname"].startswith("Action")
    )


def test_held_for_the_whole_window_after_done_is_verified(govkit, workspace, setup):
    workspace.write(INCIDENT, incident(done="2026-11-01"))  # window 11-02 .. 11-09: healthy

    report = run(govkit, workspace, setup["relapse"], setup["state"])

    (record,) = published_actions(setup["state"])
    assert record.status == results.VERIFIED
    assert (record.agent, record.metric, record.bound, record.threshold) == (
        AGENT, "rollback_rate", "below", 0.05,
    )  # fmt: skip
    assert record.window is not None
    assert (record.window.from_, record.window.to) == (
        "2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z",
    )  # fmt: skip
    assert record.days == 7 and record.breaches == []
    assert action_alerts(report) == []


def test_still_inside_the_window_is_verifying(govkit, workspace, setup):
    workspace.write(INCIDENT, incident(done="2026-11-20"))

    run(govkit, workspace, setup["healthy"], setup["state"])

    (record,) = published_actions(setup["state"])
    assert record.status == results.VERIFYING and record.breaches == []
    assert record.days == 4  # 11-21, 11-22, 11-23 and the first half of 11-24


def test_a_window_without_tasks_is_no_data(govkit, workspace, setup):
    workspace.write(INCIDENT, incident(done="2026-08-01"))  # the events start on 2026-09-01

    run(govkit, workspace, setup["healthy"], setup["state"])

    assert published_actions(setup["state"])[0].status == results.NO_DATA


def test_relapse_after_done_reopens_once_and_resolves_when_done_again(
    govkit, workspace, setup, receiver
):
    workspace.write(INCIDENT, incident(done="2026-11-12"))  # window 11-13 .. 11-20: relapse 11-17

    first = run(govkit, workspace, setup["relapse"], setup["state"], "--webhook", receiver.url)

    (record,) = published_actions(setup["state"])
    assert record.status == results.REOPENED
    assert record.breaches[0].day == "2026-11-17" and record.breaches[0].value > 0.05
    assert action_alerts(first) == [("ActionNotEffective", "firing")]
    alert = next(a for a in first["alerts"] if a["labels"]["alertname"] == "ActionNotEffective")
    assert alert["labels"] == {
        "alertname": "ActionNotEffective", "agent": AGENT,
        "incident": "2026-11-10-refunds-rollbacks", "action": "fix-prompt", "severity": "warning",
    }  # fmt: skip
    notes = alert["annotations"]
    assert notes["owner"] == "Henrik Lund"  # the refunds charter's model steward
    assert notes["owner_email"] == "henrik.lund@northwind.example"
    assert notes["due"] == "2026-11-20"
    assert notes["summary"].startswith(
        "Corrective action 'fix-prompt' of incident '2026-11-10-refunds-rollbacks' did not "
        "work: Rollback rate "
    )
    assert notes["handbook_url"] == "incidents/#2026-11-10-refunds-rollbacks"
    sent = [
        p for p in receiver.received if p["commonLabels"].get("alertname") == "ActionNotEffective"
    ]
    assert len(sent) == 1

    again = run(govkit, workspace, setup["relapse"], setup["state"], "--webhook", receiver.url)

    assert action_alerts(again) == [("ActionNotEffective", "firing")]
    repeat = next(a for a in again["alerts"] if a["labels"]["alertname"] == "ActionNotEffective")
    assert repeat["startsAt"] == alert["startsAt"]
    sent = [
        p for p in receiver.received if p["commonLabels"].get("alertname") == "ActionNotEffective"
    ]
    assert len(sent) == 1  # the same alert: no second notification

    workspace.write(INCIDENT, incident(done="2026-11-24"))  # done again: a new window

    resolved = run(govkit, workspace, setup["relapse"], setup["state"], now=LATER)

    assert action_alerts(resolved) == [("ActionNotEffective", "resolved")]
    assert published_actions(setup["state"])[0].status == results.VERIFYING


def test_not_done_past_due_is_overdue_once_until_done(govkit, workspace, setup, receiver):
    workspace.write(INCIDENT, incident(done=None, due="2026-11-20"))

    first = run(govkit, workspace, setup["healthy"], setup["state"], "--webhook", receiver.url)

    assert published_actions(setup["state"])[0].status == results.OVERDUE
    assert action_alerts(first) == [("ActionOverdue", "firing")]
    alert = next(a for a in first["alerts"] if a["labels"]["alertname"] == "ActionOverdue")
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["owner"] == "Henrik Lund"
    assert alert["annotations"]["due"] == "2026-11-20"
    assert alert["annotations"]["summary"] == (
        "Corrective action 'fix-prompt' of incident '2026-11-10-refunds-rollbacks' was due on "
        "2026-11-20 and is not done \u2014 Henrik Lund"
    )

    again = run(govkit, workspace, setup["healthy"], setup["state"], "--webhook", receiver.url)

    assert action_alerts(again) == [("ActionOverdue", "firing")]
    sent = [p for p in receiver.received if p["commonLabels"].get("alertname") == "ActionOverdue"]
    assert len(sent) == 1

    workspace.write(INCIDENT, incident(done="2026-11-21", due="2026-11-20"))

    done = run(govkit, workspace, setup["healthy"], setup["state"], now=LATER)

    assert action_alerts(done) == [("ActionOverdue", "resolved")]


def test_not_yet_due_is_open_without_alert(govkit, workspace, setup):
    workspace.write(INCIDENT, incident(done=None, due="2026-11-24"))  # due today: not yet late

    report = run(govkit, workspace, setup["healthy"], setup["state"])

    assert published_actions(setup["state"])[0].status == results.OPEN
    assert action_alerts(report) == []


def test_an_alert_of_a_removed_incident_resolves(govkit, workspace, setup):
    workspace.write(INCIDENT, incident(done=None, due="2026-11-20"))
    assert action_alerts(run(govkit, workspace, setup["healthy"], setup["state"])) == [
        ("ActionOverdue", "firing")
    ]

    (workspace.governance / INCIDENT).unlink()
    report = run(govkit, workspace, setup["healthy"], setup["state"], now=LATER)

    assert action_alerts(report) == [("ActionOverdue", "resolved")]
    assert published_actions(setup["state"]) == []
