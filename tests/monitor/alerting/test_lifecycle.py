"""Alert lifecycle end to end through `govkit monitor run`: fire once, never duplicate, resolve
once, survive a receiver that is down and a process killed mid-run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.alerting.state import FAILPOINT, StateStore
from tests.conftest import EXAMPLE_GOVERNANCE, REPO
from tests.monitor.conftest import AGENT, write_events

NOW = "2026-11-24T12:00:00Z"
LATER = "2026-11-24T14:00:00Z"  # within repeat_interval (4h)
MUCH_LATER = "2026-11-24T16:30:00Z"  # past it


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    return {
        "breach": write_events(tmp_path / "breach.parquet", rollback_rate=0.08),
        "healthy": write_events(tmp_path / "healthy.parquet"),
        "state": tmp_path / "state" / "monitor.db",
    }


def run(govkit, events: Path, state: Path, *extra: str, now: str = NOW):
    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(events),
        "--state", str(state), "--now", now, "--format", "json", *extra,
    )  # fmt: skip
    return result, (json.loads(result.stdout) if result.exit_code in (0, 1) else None)


def alert_names(report: dict) -> set[tuple[str, str, str, str]]:
    return {
        (a["labels"]["alertname"], a["labels"]["agent"], a["labels"]["metric"], a["status"])
        for a in report["alerts"]
    }


def test_alert_fires_once_repeats_nothing_and_resolves_once(govkit, paths, receiver):
    result, first = run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url)
    assert result.exit_code == 0, result.stderr
    assert alert_names(first) == {
        ("StopCondition", AGENT, "rollback_rate", "firing"),
        ("MetricDrift", AGENT, "rollback_rate", "firing"),
    }
    stop = next(a for a in first["alerts"] if a["labels"]["alertname"] == "StopCondition")
    assert stop["labels"]["severity"] == "critical"
    assert stop["annotations"]["action"] == "escalate"
    assert stop["annotations"]["owner_email"].endswith("@northwind.example")
    assert stop["endsAt"] is None
    assert len(receiver.received) == 2

    result, second = run(
        govkit, paths["breach"], paths["state"], "--webhook", receiver.url, now=LATER
    )
    assert result.exit_code == 0
    assert [a["startsAt"] for a in second["alerts"]] == [a["startsAt"] for a in first["alerts"]]
    assert len(receiver.received) == 2  # still firing, within repeat_interval (4h): no repeat

    result, third = run(govkit, paths["healthy"], paths["state"], "--webhook", receiver.url)
    assert alert_names(third) == {
        ("StopCondition", AGENT, "rollback_rate", "resolved"),
        ("MetricDrift", AGENT, "rollback_rate", "resolved"),
    }
    assert all(a["endsAt"] == NOW for a in third["alerts"])
    resolved = [n for n in receiver.received if n["status"] == "resolved"]
    assert len(resolved) == 2

    result, fourth = run(govkit, paths["healthy"], paths["state"], "--webhook", receiver.url)
    assert fourth["alerts"] == []
    assert len(receiver.received) == 4


def test_still_firing_alert_is_repeated_after_repeat_interval_once(govkit, paths, receiver):
    run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url)
    run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url, now=LATER)
    assert len(receiver.received) == 2
    run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url, now=MUCH_LATER)
    run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url, now=MUCH_LATER)
    assert len(receiver.received) == 4
    assert {p["alerts"][0]["startsAt"] for p in receiver.received} == {NOW}


def test_webhook_payload_is_alertmanager_v4(govkit, paths, receiver):
    run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url)
    payload = next(
        p for p in receiver.received if p["commonLabels"]["alertname"] == "StopCondition"
    )
    assert payload["version"] == "4"
    assert payload["status"] == "firing"
    assert payload["receiver"] == "webhook"
    assert (
        payload["groupKey"]
        == '{}:{alertname="StopCondition",agent="refunds",metric="rollback_rate"}'
    )
    (alert,) = payload["alerts"]
    assert set(alert) >= {"status", "labels", "annotations", "startsAt", "endsAt", "fingerprint"}
    assert alert["labels"] == {
        "alertname": "StopCondition", "agent": AGENT, "metric": "rollback_rate",
        "severity": "critical", "tier": "3",
    }  # fmt: skip
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["startsAt"] == NOW
    assert alert["annotations"]["handbook_url"] == "agents/refunds/"


def test_receiver_down_then_up_delivers_each_notification_once(govkit, paths, receiver):
    receiver.up = False
    result, _ = run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url)
    assert result.exit_code == 0
    assert receiver.received == []

    receiver.up = True
    result, _ = run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url)
    assert result.exit_code == 0
    assert sorted(p["commonLabels"]["alertname"] for p in receiver.received) == [
        "MetricDrift",
        "StopCondition",
    ]
    run(govkit, paths["breach"], paths["state"], "--webhook", receiver.url)
    assert len(receiver.received) == 2
    with StateStore(paths["state"]) as state:
        assert state.pending_outbox() == []


def test_text_report_says_undelivered_notifications_stay_in_the_outbox(govkit, paths, receiver):
    receiver.up = False
    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events",
        str(paths["breach"]), "--state", str(paths["state"]), "--now", NOW,
        "--webhook", receiver.url,
    )  # fmt: skip
    assert result.exit_code == 0
    assert "Notifications: 0 delivered, 2 kept in the outbox for the next run" in result.stdout


def _state_rows(state: Path) -> tuple:
    with sqlite3.connect(state) as db:
        return (
            db.execute("SELECT count(*) FROM runs").fetchone(),
            db.execute("SELECT * FROM alerts ORDER BY fingerprint").fetchall(),
            db.execute("SELECT count(*) FROM findings").fetchone(),
            db.execute("SELECT count(*) FROM outbox").fetchone(),
        )


@pytest.mark.parametrize("point", ["after-findings", "before-commit"])
def test_process_killed_mid_run_leaves_the_previous_state(govkit, paths, point):
    result, _ = run(govkit, paths["healthy"], paths["state"])
    assert result.exit_code == 0
    before = _state_rows(paths["state"])

    killed = subprocess.run(
        [sys.executable, "-m", "playbook", "monitor", "run", "--governance",
         str(EXAMPLE_GOVERNANCE), "--events", str(paths["breach"]), "--state",
         str(paths["state"]), "--now", NOW],
        cwd=REPO, env=dict(os.environ, **{FAILPOINT: point}), capture_output=True, text=True,
    )  # fmt: skip
    assert killed.returncode == 99
    assert _state_rows(paths["state"]) == before

    result, report = run(govkit, paths["breach"], paths["state"])
    assert ("StopCondition", AGENT, "rollback_rate", "firing") in alert_names(report)
    assert _state_rows(paths["state"])[0][0] == before[0][0] + 1


def test_second_run_on_a_locked_state_exits_2(govkit, paths):
    with StateStore(paths["state"]):
        result = govkit(
            "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events",
            str(paths["healthy"]), "--state", str(paths["state"]), "--now", NOW,
            "--lock-timeout", "0.3",
        )  # fmt: skip
    assert result.exit_code == 2
    assert "another monitor run holds the lock" in result.stderr
    assert "Traceback" not in result.stderr


def test_fail_on_alert_exits_1_only_when_firing(govkit, paths):
    result, _ = run(govkit, paths["healthy"], paths["state"], "--fail-on-alert")
    assert result.exit_code == 0
    result, _ = run(govkit, paths["breach"], paths["state"], "--fail-on-alert")
    assert result.exit_code == 1


def test_snapshot_json_is_published_beside_the_state(govkit, paths):
    run(govkit, paths["breach"], paths["state"])
    snapshot = json.loads(paths["state"].with_suffix(".json").read_text())
    assert snapshot["schema"] == "govkit.monitor/2"
    assert snapshot["now"] == NOW
    assert snapshot["agents"][AGENT]["status"] == "stop_condition"
    assert snapshot["agents"]["docs-qa"]["status"] == "insufficient_data"
