"""`govkit incident new AGENT [--alert FINGERPRINT]`: a scaffold that loads as a draft, filled in
from a monitor alert; exit 2 with "Did you mean" for an unknown agent or alert; never overwrites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import TODAY
from tests.monitor.conftest import write_events

STOP = "506d3c867bc4cd56"  # StopCondition on refunds/rollback_rate: the labels' stable hash


@pytest.fixture
def state(workspace, govkit, tmp_path: Path) -> Path:
    events = write_events(tmp_path / "breach.parquet", rollback_rate=0.08)
    path = tmp_path / "monitor.db"
    result = govkit(
        "monitor", "run", "--governance", "governance", "--events", str(events),
        "--state", str(path), "--now", "2026-11-24T12:00:00Z", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    fingerprints = {a["fingerprint"] for a in json.loads(result.stdout)["alerts"]}
    assert STOP in fingerprints
    return path


def test_scaffold_without_alert_is_a_draft_with_todos(workspace, govkit):
    result = govkit("incident", "new", "refunds", "--id", "2026-11-20-refunds")

    assert result.exit_code == 0, result.output
    target = workspace.governance / "incidents/2026-11-20-refunds.yaml"
    assert result.stdout == (
        "Wrote governance/incidents/2026-11-20-refunds.yaml: fill in its TODOs, then run govkit "
        "check --strict\n"
    )
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data["id"] == "2026-11-20-refunds" and data["agents"] == ["refunds"]
    assert data["title"] == "TODO" and data["severity"] == "TODO"
    assert data["actions"][0]["owner"] == "agent_owner"
    assert data["actions"][0]["verify"]["for"] == "14d"
    check = govkit("check", "--today", TODAY, "--strict")
    assert check.exit_code == 1  # loads, with TODO warnings
    assert "2026-11-20-refunds.yaml:6: title: warning: TODO placeholder" in check.stderr


def test_scaffold_from_an_alert_fills_in_the_figures(workspace, govkit, state):
    result = govkit("incident", "new", "refunds", "--alert", STOP, "--state", str(state))

    assert result.exit_code == 0, result.output
    target = workspace.governance / "incidents/2026-11-24-refunds-rollback-rate.yaml"
    text = target.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["date"] == "2026-11-24"  # the day the alert started
    assert data["alerts"] == [STOP]
    assert data["severity"] == "sev2"  # a critical alert
    assert data["actions"][0]["verify"] == {"metric": "rollback_rate", "below": 0.02, "for": "14d"}
    assert data["summary"].startswith(
        "TODO: what happened, in your words. The monitor reported: Rollback rate "
    )
    assert f"# From alert {STOP} (StopCondition, critical), firing since 2026-11-24T12:00:00Z:" in (
        text
    )
    assert "#   rollback_rate: baseline " in text and "verdict drift" in text
    assert "#   stop condition above 0.02 over 7d: " in text and ", breached" in text


def test_unknown_agent_exits_2_with_did_you_mean(workspace, govkit):
    result = govkit("incident", "new", "refund")

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "AGENT: unknown agent 'refund'. Did you mean 'refunds'? Expected one of "
    )
    assert not (workspace.governance / "incidents").exists() or not any(
        p.name.endswith("-refund.yaml") for p in (workspace.governance / "incidents").iterdir()
    )


def test_unknown_fingerprint_exits_2_with_did_you_mean(workspace, govkit, state):
    wrong = STOP[:-1] + "7"

    result = govkit("incident", "new", "refunds", "--alert", wrong, "--state", str(state))

    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"--alert: unknown alert '{wrong}'. Did you mean '{STOP}'? Expected one of "
    )
    assert "Traceback" not in result.output


def test_an_alert_of_another_agent_is_refused(workspace, govkit, state):
    result = govkit("incident", "new", "support-replies", "--alert", STOP, "--state", str(state))

    assert result.exit_code == 2
    assert result.stderr == (
        f"--alert: alert {STOP} is about agent 'refunds', not 'support-replies'\n"
    )


def test_an_alert_needs_a_state(workspace, govkit):
    result = govkit("incident", "new", "refunds", "--alert", STOP, "--state", "none")

    assert result.exit_code == 2
    assert result.stderr == "--alert: needs the monitor's state; leave out --state none\n"


def test_never_overwrites_an_incident(workspace, govkit):
    existing = workspace.governance / "incidents/2026-11-18-refunds-rollbacks.yaml"
    before = existing.read_text(encoding="utf-8")

    result = govkit("incident", "new", "refunds", "--id", "2026-11-18-refunds-rollbacks")

    assert result.exit_code == 2
    assert result.stderr == (
        "governance/incidents/2026-11-18-refunds-rollbacks.yaml: an incident "
        "'2026-11-18-refunds-rollbacks' already exists; nothing was written\n"
    )
    assert existing.read_text(encoding="utf-8") == before


def test_a_bad_id_is_refused(workspace, govkit):
    result = govkit("incident", "new", "refunds", "--id", "Bad Id")

    assert result.exit_code == 2
    assert result.stderr == (
        "--id: expected an id of lowercase letters, digits, '-' or '_' but received 'Bad Id'\n"
    )


def test_an_incident_kept_as_yml_is_not_scaffolded_again(workspace, govkit):
    incidents = workspace.governance / "incidents"
    (incidents / "2026-11-18-refunds-rollbacks.yaml").rename(
        incidents / "2026-11-18-refunds-rollbacks.yml"
    )

    result = govkit("incident", "new", "refunds", "--id", "2026-11-18-refunds-rollbacks")

    assert result.exit_code == 2
    assert result.stderr == (
        "governance/incidents/2026-11-18-refunds-rollbacks.yml: an incident "
        "'2026-11-18-refunds-rollbacks' already exists; nothing was written\n"
    )
    assert not (incidents / "2026-11-18-refunds-rollbacks.yaml").exists()


def test_an_id_too_long_for_a_file_name_exits_2(workspace, govkit):
    long_id = "a" * 300

    result = govkit("incident", "new", "refunds", "--id", long_id)

    assert result.exit_code == 2
    assert result.stderr == (
        f"governance/incidents/{long_id}.yaml: cannot write the incident: File name too long; "
        "nothing was written\n"
    )


def test_incidents_that_is_a_file_exits_2(workspace, govkit):
    incidents = workspace.governance / "incidents"
    for path in incidents.iterdir():
        path.unlink()
    incidents.rmdir()
    incidents.write_text("", encoding="utf-8")

    result = govkit("incident", "new", "refunds", "--id", "2026-11-20-refunds")

    assert result.exit_code == 2
    assert result.stderr == (
        "governance/incidents:1: expected a directory of incidents (incidents/<id>.yaml) but "
        "found a file\n1 problem found; nothing was written.\n"
    )


def test_a_retired_agent_can_have_an_incident_scaffolded(workspace, govkit):
    result = govkit("incident", "new", "legacy-faq", "--id", "2026-11-20-legacy-faq")

    assert result.exit_code == 0, result.output
    text = (workspace.governance / "incidents/2026-11-20-legacy-faq.yaml").read_text()
    assert "agents: [legacy-faq]" in text
