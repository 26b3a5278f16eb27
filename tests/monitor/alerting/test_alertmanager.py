"""Alertmanager as a receiver, against a real Alertmanager (Debian's `prometheus-alertmanager`).

One Alertmanager for the module, on a free loopback port, routed and inhibited by the sample
`ops/alertmanager.yml` (its receivers emptied: nothing is sent anywhere); every test starts from a
clean slate (alerts resolved, silences expired).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.alerting.alertmanager import Alertmanager as Target
from monitor.alerting.alertmanager import alertmanagers, postable
from monitor.alerting.alerts import Alert
from monitor.schedule import MonitorScheduler, longest_gap, parse_trigger
from tests.conftest import EXAMPLE_GOVERNANCE, REPO
from tests.monitor.alerting.alertmanager_process import SKIP_REASON, Alertmanager, find_binary
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"
SAMPLE = REPO / "ops" / "alertmanager.yml"
HANDBOOK = "https://handbook.northwind.example"
STOP_LABELS = {
    "alertname": "StopCondition",
    "agent": "refunds",
    "metric": "rollback_rate",
    "severity": "critical",
    "tier": "3",
    "owner_email": "oliver.brandt@northwind.example",
    "steward_email": "henrik.lund@northwind.example",
}


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    binary = find_binary()
    if binary is None:
        pytest.skip(SKIP_REASON)
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = yaml.safe_load(SAMPLE.read_text())
    config["receivers"] = [{"name": receiver["name"]} for receiver in config["receivers"]]
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    process = Alertmanager(binary, workdir, workdir / "alertmanager.yml")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def am(manager: Alertmanager) -> Alertmanager:
    manager.start()  # a test may have left it stopped
    manager.forget_everything()
    return manager


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, manager: Alertmanager) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("governed")
    governance = root / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, governance)
    monitor_yaml = governance / "monitor.yaml"
    text = monitor_yaml.read_text().replace(
        "receivers: []",
        f"every: 15m\nhandbook_url: {HANDBOOK}\n"
        f"receivers:\n  - {{name: oncall, alertmanager: '{manager.url}'}}",
    )
    monitor_yaml.write_text(text)
    return {
        "governance": governance,
        "breach": write_events(root / "breach.parquet", rollback_rate=0.05),
        "healthy": write_events(root / "healthy.parquet"),
    }


def run(govkit: Any, setup: dict[str, Path], events: str, state: Path) -> tuple[Any, dict]:
    result = govkit(
        "monitor", "run", "--governance", str(setup["governance"]), "--events",
        str(setup[events]), "--state", str(state), "--now", NOW, "--format", "json",
        "--notify-timeout", "5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


def find(alerts: list[dict[str, Any]], alertname: str) -> dict[str, Any] | None:
    return next((a for a in alerts if a["labels"]["alertname"] == alertname), None)


def test_a_firing_stop_condition_is_active_routed_to_the_owner(govkit, am, setup, tmp_path):
    _, report = run(govkit, setup, "breach", tmp_path / "monitor.db")

    firing = [a for a in report["alerts"] if a["status"] == "firing"]
    assert report["delivery"]["alertmanager"] == {"pushed": len(firing), "kept": 0}
    stop = find(am.alerts(), "StopCondition")
    assert stop is not None
    assert stop["labels"] == STOP_LABELS
    assert stop["generatorURL"] == f"{HANDBOOK}/agents/refunds/"
    assert stop["annotations"]["summary"].startswith("Rollback rate 4.")
    assert stop["startsAt"].startswith("2026-11-24T12:00:00")
    assert stop["status"]["state"] == "active"
    assert stop["receivers"] == [{"name": "agent-owner"}]  # the sample's route
    # endsAt: twice monitor.yaml's `every` (15m) after the push
    ends, updated = (datetime.fromisoformat(stop[k]) for k in ("endsAt", "updatedAt"))
    assert timedelta(minutes=29) < ends - updated <= timedelta(minutes=30)
    # the sample's inhibition: the drift on the same metric is held back while the stop fires
    drift = find(am.alerts(), "MetricDrift")
    assert drift is not None
    assert drift["receivers"] == [{"name": "team-channel"}]
    assert drift["status"]["state"] == "suppressed"
    assert drift["status"]["inhibitedBy"] == [stop["fingerprint"]]


def test_a_cleared_condition_is_resolved_once(govkit, am, setup, tmp_path):
    state = tmp_path / "monitor.db"
    run(govkit, setup, "breach", state)
    assert find(am.alerts(), "StopCondition") is not None

    _, cleared = run(govkit, setup, "healthy", state)

    assert {a["status"] for a in cleared["alerts"]} == {"resolved"}
    assert cleared["delivery"]["alertmanager"] == {"pushed": 2, "kept": 0}
    assert am.alerts() == []  # resolved: its endsAt (the run's moment) has passed
    _, again = run(govkit, setup, "healthy", state)
    assert again["delivery"]["alertmanager"] == {"pushed": 0, "kept": 0}  # pushed once


def test_a_silence_made_in_alertmanager_suppresses_the_alert(govkit, am, setup, tmp_path):
    run(govkit, setup, "breach", tmp_path / "monitor.db")
    start = datetime.now(UTC)
    silence = am.request(
        "POST", "/api/v2/silences",
        {"matchers": [{"name": "agent", "value": "refunds", "isRegex": False},
                      {"name": "alertname", "value": "StopCondition", "isRegex": False}],
         "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=1)).isoformat(),
         "createdBy": "test", "comment": "maintenance"},
    )  # fmt: skip

    stop = find(am.alerts(), "StopCondition")
    assert stop is not None
    assert stop["status"]["state"] == "suppressed"
    assert stop["status"]["silencedBy"] == [silence["silenceID"]]


def test_pushes_wait_out_an_alertmanager_outage(govkit, am, setup, tmp_path):
    state = tmp_path / "monitor.db"
    am.stop()
    result, report = run(govkit, setup, "breach", state)  # exit 0: the run itself succeeded

    assert report["delivery"]["alertmanager"] == {"pushed": 0, "kept": 2}
    problem = report["delivery"]["errors"][0]
    assert (problem["kind"], problem["receiver"]) == ("alertmanager", "oncall")
    assert problem["url"] == f"{am.url}/api/v2/alerts"
    assert problem["error"].startswith("ConnectionRefusedError")
    assert result.stderr.count("govkit: WARNING: Alertmanager push not delivered, kept for the "
                               f"next run: oncall ({am.url}/api/v2/alerts) alert ") == 1  # fmt: skip

    am.start()
    _, report = run(govkit, setup, "breach", state)
    # the kept pushes were replaced by this run's: each alert pushed once, not twice
    assert report["delivery"]["alertmanager"] == {"pushed": 2, "kept": 0}
    stop = find(am.alerts(), "StopCondition")
    assert stop is not None and stop["labels"] == STOP_LABELS

    am.stop()
    _, report = run(govkit, setup, "healthy", state)
    assert report["delivery"]["alertmanager"] == {"pushed": 0, "kept": 2}
    am.start()
    _, report = run(govkit, setup, "healthy", state)  # nothing new to push: the kept resolutions
    assert report["delivery"]["alertmanager"] == {"pushed": 2, "kept": 0}


def test_the_schedule_pushes_with_its_own_interval(am, setup, tmp_path):
    """`monitor schedule --alertmanager URL --every 10m`: alive for two of its intervals (20
    minutes), not monitor.yaml's `every`; the URL given on the command line is pushed to too."""
    events = write_events(tmp_path / "events.parquet", now=datetime.now(UTC), rollback_rate=0.05)
    scheduler = MonitorScheduler(
        governance_dir=setup["governance"], events=str(events), state=tmp_path / "monitor.db",
        trigger=parse_trigger(every="10m", cron=None), alertmanagers=[am.url + "/"],
    )  # fmt: skip

    scheduler.monitor_once()

    stop = find(am.alerts(), "StopCondition")
    assert stop is not None and stop["labels"] == STOP_LABELS
    ends, updated = (datetime.fromisoformat(stop[k]) for k in ("endsAt", "updatedAt"))
    assert timedelta(minutes=19) < ends - updated <= timedelta(minutes=20)


# --- without an Alertmanager -------------------------------------------------------------------


def test_the_sample_configuration_is_valid_and_routes_stop_conditions_to_the_owner():
    amtool = find_binary("amtool")
    if amtool is None:
        pytest.skip(SKIP_REASON)
    check = subprocess.run([amtool, "check-config", str(SAMPLE)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout

    def route(*labels: str) -> str:
        args = [amtool, "config", "routes", "test", f"--config.file={SAMPLE}", *labels]
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()

    stop = [f"{k}={v}" for k, v in STOP_LABELS.items()]
    assert route(*stop) == "agent-owner"
    assert route(*[label.replace("critical", "warning") for label in stop]) == "team-channel"
    assert route("alertname=UnknownAgents", "severity=warning") == "team-channel"


def test_a_receiver_is_a_webhook_or_an_alertmanager(workspace, govkit):
    workspace.edit(
        "monitor.yaml",
        "receivers: []",
        "receivers:\n  - {name: a, url: 'http://x/hook', alertmanager: 'http://x:9093'}\n"
        "  - {name: b}\n  - {name: c, alertmanager: 'ftp://x'}",
    )
    result = govkit("check", "--today", "2026-11-24")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        "governance/monitor.yaml:16: receivers[0]: expected url (a webhook) or alertmanager "
        "(an Alertmanager's URL), not both",
        "governance/monitor.yaml:17: receivers[1]: expected url (a webhook) or alertmanager "
        "(an Alertmanager's URL) but received neither",
        "governance/monitor.yaml:18: receivers[2].alertmanager: expected an http(s) URL but "
        "received 'ftp://x'",
    ]


def test_a_receiver_name_is_given_once(workspace, govkit):
    workspace.edit(
        "monitor.yaml",
        "receivers: []",
        "receivers:\n  - {name: on-call, url: 'http://x/hook'}\n  - {name: b, url: 'http://y/'}\n"
        "  - {name: on-call, alertmanager: 'http://am:9093'}",
    )
    result = govkit("check", "--today", "2026-11-24")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "governance/monitor.yaml:15: receivers: expected each receiver name once but 'on-call' "
        "names receivers 0 and 2; deliveries are told apart by name"
    )


def test_the_alertmanager_option_takes_only_http_urls(govkit, tmp_path):
    result = govkit("monitor", "run", "--events", "x.parquet", "--alertmanager", "am:9093")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--alertmanager': expected an http(s) URL but received 'am:9093'"
        in result.stderr
    )


def test_push_targets_and_bodies():
    urls = ["http://x/prefix", "http://am:9093/api/v2/alerts"]
    assert alertmanagers([("oncall", "http://am:9093/")], urls) == [
        Target("oncall", "http://am:9093/api/v2/alerts"),  # one push per Alertmanager
        Target("alertmanager", "http://x/prefix/api/v2/alerts"),
    ]
    start = datetime(2026, 11, 24, 12, tzinfo=UTC)
    notes = {"summary": "s", "statistics": "", "handbook_url": "agents/refunds/"}
    alert = Alert("f", {"alertname": "StopCondition"}, notes, "firing", start)
    body = postable(alert, pushed_at=start + timedelta(days=1), alive=timedelta(hours=2))
    assert body == {  # a relative page is no link for Alertmanager; empty annotations are left out
        "labels": {"alertname": "StopCondition"},
        "annotations": {"summary": "s", "handbook_url": "agents/refunds/"},
        "startsAt": "2026-11-24T12:00:00Z",
        "endsAt": "2026-11-25T14:00:00Z",
    }


def test_a_pushed_alert_outlives_the_longest_wait_between_scheduled_runs():
    moment = datetime(2026, 12, 4, 15, tzinfo=UTC)  # a Friday
    weekdays = parse_trigger(every=None, cron="0 9 * * 1-5")
    assert longest_gap(weekdays, moment) == timedelta(days=3)  # Friday 09:00 to Monday 09:00
    assert longest_gap(parse_trigger(every="15m", cron=None), moment) == timedelta(minutes=15)
