"""Metrics for Prometheus: `monitor run --metrics-file` and `monitor schedule --metrics-addr`
expose the run's figures in Prometheus' formats, parsed here with prometheus_client's own parsers
and checked against the run's JSON output and its published snapshot."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from monitor import metrics_export
from monitor.metrics_export import MonitorMetrics, write_metrics_file
from monitor.metrics_server import parse_address
from monitor.schedule import MonitorScheduler, parse_trigger
from playbook.core.clock import utc_now
from playbook.core.costs import BUCKETS
from playbook.core.errors import UsageError
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"
DEMO_NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def samples(text: str, parse=text_string_to_metric_families) -> dict[str, dict]:
    """{sample name: {sorted label items: value}} of an exposition text."""
    found: dict[str, dict] = {}
    for family in parse(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(found: dict[str, dict], name: str, **labels: str) -> float | None:
    return found.get(name, {}).get(tuple(sorted(labels.items())))


def events_with_bad_rows(folder: Path, now: datetime = DEMO_NOW) -> Path:
    """The demo events up to `now` (the planted rollback breach) plus rows the monitor skips."""
    clean = write_events(folder / "clean.parquet", now=now, rollback_rate=0.05)
    out = folder / "events.csv"
    connection = duckdb.connect()
    connection.execute(
        f"COPY (SELECT * FROM '{clean}' UNION ALL BY NAME "
        "SELECT TIMESTAMP '2026-11-20 10:00:00' AS timestamp, 'refunds' AS agent, "
        "'maybe' AS outcome FROM range(3) UNION ALL BY NAME "
        "SELECT TIMESTAMP '2026-11-20 10:00:00' AS timestamp, 'ghost-agent' AS agent, "
        f"'success' AS outcome FROM range(5)) TO '{out}' (HEADER)"
    )
    connection.close()
    return out


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory) -> Path:
    return events_with_bad_rows(tmp_path_factory.mktemp("events"))


@pytest.fixture(scope="module")
def run_output(demo_events, tmp_path_factory):
    """One `govkit monitor run --format json --metrics-file` on those events."""
    from click.testing import CliRunner

    from playbook.cli import cli

    folder = tmp_path_factory.mktemp("run")
    metrics_file = folder / "textfile" / "govkit.prom"
    before = time.time()
    result = CliRunner().invoke(
        cli,
        ["monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events",
         str(demo_events), "--state", str(folder / "monitor.db"), "--now", NOW,
         "--format", "json", "--metrics-file", str(metrics_file)],
        catch_exceptions=False,
    )  # fmt: skip
    after = time.time()
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    snapshot = json.loads((folder / "monitor.json").read_text(encoding="utf-8"))
    return report, snapshot, metrics_file, (before, after)


def check_against_run(
    found: dict[str, dict], report: dict, snapshot: dict, *, digits: int | None = None
) -> None:
    """The figures of `found` are the run's: findings, alerts, bad rows, tasks, budgets (to the
    `digits` significant digits the snapshot keeps, exactly as `--format json` prints them)."""

    def same(figure: float | None, expected: float | None) -> bool:
        if expected is None or digits is None:
            return figure == expected
        return figure is not None and float(f"{figure:.{digits}g}") == expected

    tested = [f for f in report["findings"] if f["q_value"] is not None]
    assert any(f["verdict"] == "drift" for f in tested)
    for finding in report["findings"]:
        key = {"agent": finding["agent"], "metric": finding["metric"], "aspect": finding["aspect"]}
        assert same(value(found, "govkit_drift_q_value", **key), finding["q_value"])
        assert same(value(found, "govkit_drift_recent_value", **key), finding["recent"])
        assert same(value(found, "govkit_drift_baseline_value", **key), finding["baseline"])
        assert value(found, "govkit_drift_samples", **key, window="recent") == finding["n_recent"]
        for verdict in metrics_export.VERDICTS:
            shown = value(found, "govkit_drift_verdict", **key, verdict=verdict)
            assert shown == (1.0 if verdict == finding["verdict"] else 0.0)
    firing: dict[tuple, int] = {}
    for alert in report["alerts"]:
        if alert["status"] == "firing":
            labels = alert["labels"]
            key = (("agent", labels.get("agent", "")), ("alertname", labels["alertname"]),
                   ("severity", labels["severity"]))  # fmt: skip
            firing[key] = firing.get(key, 0) + 1
    assert firing[(("agent", "refunds"), ("alertname", "StopCondition"), ("severity", "critical"))]
    assert found["govkit_alerts_firing"] == firing
    assert value(found, "govkit_agent_status", agent="refunds", status="stop_condition") == 1.0
    bad = {(("reason", reason),): rows for reason, rows in report["bad_rows"]["by_reason"].items()}
    assert found.get("govkit_monitor_bad_rows", {}) == bad
    assert value(found, "govkit_monitor_tasks") == snapshot["tasks"]
    governance = load_governance(EXAMPLE_GOVERNANCE, today=datetime(2026, 11, 24).date())
    for charter in governance.agents:
        costs = snapshot["agents"][charter.id]["costs"]
        this_month = snapshot["now"][:7]  # YYYY-MM
        month = next((row for row in costs if row["month"] == this_month), None)
        assert month is not None or charter.id != "refunds"  # the demo's agent has spend
        month = month or dict.fromkeys(BUCKETS, 0.0)
        monthly = charter.budget.monthly_usd
        for bucket in BUCKETS:
            spend = value(found, "govkit_budget_spend_usd", agent=charter.id, bucket=bucket)
            assert spend == month[bucket]
            budget = value(found, "govkit_budget_monthly_usd", agent=charter.id, bucket=bucket)
            assert budget == getattr(monthly, bucket)


def test_the_metrics_file_holds_the_runs_figures(run_output):
    report, snapshot, metrics_file, (before, after) = run_output
    text = metrics_file.read_text(encoding="utf-8")
    found = samples(text)
    assert report["bad_rows"]["by_reason"] == {"bad_outcome": 3, "unknown_agent": 5}
    check_against_run(found, report, snapshot)
    assert before <= value(found, "govkit_monitor_last_success_timestamp_seconds") <= after
    assert value(found, "govkit_monitor_last_run_success") == 1.0
    assert value(found, "govkit_monitor_runs_total") == 1.0
    assert value(found, "govkit_monitor_run_failures_total") == 0.0
    assert 0 < value(found, "govkit_monitor_run_duration_seconds") < after - before
    window_end = datetime(2026, 11, 24, 12, tzinfo=UTC).timestamp()
    assert value(found, "govkit_monitor_window_end_timestamp_seconds") == window_end
    elapsed = value(found, "govkit_budget_month_elapsed_ratio")
    assert elapsed == pytest.approx((23 + 12 / 24) / 30)
    spent = sum(value(found, "govkit_budget_spend_usd", agent="refunds", bucket=b) for b in BUCKETS)
    projected = value(found, "govkit_budget_projected_spend_usd", agent="refunds")
    assert projected == pytest.approx(spent / elapsed)
    for line in text.splitlines():  # every family documented, every name govkit's
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name.startswith("govkit_") and f"# HELP {name} " in text


def test_spend_the_events_do_not_record_has_no_series(govkit, workspace):
    """Without `tooling_cost_usd`, tooling spend is unknown: no `bucket="tooling"` sample (a 0
    would read as none spent), and no projection for a budget that plans tooling."""
    full = write_events(workspace.root / "full.parquet", now=DEMO_NOW, rollback_rate=0.05)
    events = workspace.root / "events.parquet"
    duckdb.sql(f"COPY (SELECT * EXCLUDE (tooling_cost_usd) FROM '{full}') TO '{events}'")
    metrics_file = workspace.root / "govkit.prom"
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--now", NOW, "--format", "json", "--metrics-file", str(metrics_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    snapshot = json.loads((workspace.root / "state" / "monitor.json").read_text())
    found = samples(metrics_file.read_text(encoding="utf-8"))
    check_against_run(found, json.loads(result.stdout), snapshot)
    assert value(found, "govkit_budget_spend_usd", agent="refunds", bucket="inference") > 0
    assert value(found, "govkit_budget_spend_usd", agent="refunds", bucket="tooling") is None
    assert value(found, "govkit_budget_projected_spend_usd", agent="refunds") is None


def test_a_failed_run_keeps_the_last_success_and_counts_the_failure(run_output, govkit, tmp_path):
    report, snapshot, first_file, _ = run_output
    metrics_file = tmp_path / "textfile" / "govkit.prom"
    metrics_file.parent.mkdir()
    metrics_file.write_bytes(first_file.read_bytes())
    before = samples(first_file.read_text(encoding="utf-8"))
    result = govkit("monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE),
                    "--events", str(tmp_path / "missing.parquet"), "--state",
                    str(tmp_path / "monitor.db"), "--now", NOW, "--metrics-file",
                    str(metrics_file))  # fmt: skip
    assert result.exit_code == 2, result.output
    found = samples(metrics_file.read_text(encoding="utf-8"))
    last_success = "govkit_monitor_last_success_timestamp_seconds"
    assert value(found, last_success) == value(before, last_success)
    assert value(found, "govkit_monitor_last_run_success") == 0.0
    assert value(found, "govkit_monitor_last_run_timestamp_seconds") > value(before, last_success)
    assert value(found, "govkit_monitor_runs_total") == 2.0
    assert value(found, "govkit_monitor_run_failures_total") == 1.0
    check_against_run(found, report, snapshot)  # the last good run's figures are still shown
    assert os.listdir(metrics_file.parent) == ["govkit.prom"]  # no temporary file left behind


def test_a_first_run_that_fails_has_no_last_success(govkit, tmp_path):
    metrics_file = tmp_path / "govkit.prom"
    result = govkit("monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE),
                    "--events", str(tmp_path / "missing.parquet"), "--state",
                    str(tmp_path / "monitor.db"), "--metrics-file", str(metrics_file))  # fmt: skip
    assert result.exit_code == 2
    found = samples(metrics_file.read_text(encoding="utf-8"))
    assert "govkit_monitor_last_success_timestamp_seconds" not in found
    assert value(found, "govkit_monitor_last_run_success") == 0.0
    assert value(found, "govkit_monitor_run_failures_total") == 1.0


def test_the_metrics_file_is_renamed_into_place_whole(run_output, tmp_path, monkeypatch):
    """node_exporter's textfile collector reads *.prom: the next version is written beside the
    target under another name, then renamed over it, so a scrape never sees half a file."""
    metrics = MonitorMetrics.from_text(run_output[2].read_text(encoding="utf-8"))
    target = tmp_path / "govkit.prom"
    target.write_text("# the previous version\n", encoding="utf-8")
    renames: list[tuple[Path, str, str]] = []
    real_replace = os.replace

    def spy(source, destination):
        renames.append((Path(source), Path(source).read_text(), Path(destination).read_text()))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", spy)
    write_metrics_file(target, metrics)
    [(staged, staged_text, target_text_then)] = renames
    assert staged.parent == target.parent and not staged.name.endswith(".prom")
    assert target_text_then == "# the previous version\n"  # untouched until the rename
    assert staged_text == metrics.text() == target.read_text(encoding="utf-8")
    assert samples(staged_text)  # whole: it parses


def test_a_metrics_file_that_cannot_be_written_is_exit_2_before_the_run(
    govkit, tmp_path, demo_events
):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = govkit("monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE),
                    "--events", str(demo_events), "--state", str(tmp_path / "m.db"),
                    "--now", NOW, "--metrics-file", str(blocker / "govkit.prom"))  # fmt: skip
    assert result.exit_code == 2
    assert "govkit.prom: cannot write: " in result.output
    assert result.output.rstrip().endswith("; nothing was run")
    assert "Traceback" not in result.output and not (tmp_path / "m.db").exists()


def test_a_metrics_file_that_fails_after_a_good_run_is_a_warning(govkit, tmp_path, demo_events,
                                                                 monkeypatch):  # fmt: skip
    from playbook.core.errors import UsageError

    def full_disk(path, metrics):
        raise UsageError(f"{path.name}: cannot write: No space left on device")

    monkeypatch.setattr(metrics_export, "write_metrics_file", full_disk)
    result = govkit("monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE),
                    "--events", str(demo_events), "--state", str(tmp_path / "m.db"),
                    "--now", NOW, "--metrics-file", str(tmp_path / "govkit.prom"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "govkit: WARNING: --metrics-file: govkit.prom: cannot write: No space left on device; it "
        "still shows the runs before this one"
    ) in result.stderr
    assert "Summary:" in result.stdout  # the run's report is still printed


def test_invalid_governance_is_a_failed_run_in_the_metrics_file(run_output, govkit, tmp_path,
                                                               workspace):  # fmt: skip
    metrics_file = tmp_path / "govkit.prom"
    metrics_file.write_bytes(run_output[2].read_bytes())
    workspace.edit("agents/refunds.yaml", "name: Refunds", "name: [Refunds")
    result = govkit("monitor", "run", "--events", str(tmp_path / "any.parquet"),
                    "--state", str(tmp_path / "m.db"), "--metrics-file", str(metrics_file))  # fmt: skip
    assert result.exit_code == 2
    found = samples(metrics_file.read_text(encoding="utf-8"))
    assert value(found, "govkit_monitor_last_run_success") == 0.0
    assert value(found, "govkit_monitor_run_failures_total") == 1.0


def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


def test_the_schedule_serves_the_last_runs_figures_on_metrics(tmp_path):
    """The schedule runs at the wall clock's now: events up to it."""
    events = events_with_bad_rows(tmp_path, now=utc_now())
    state = tmp_path / "monitor.db"
    scheduler = MonitorScheduler(
        governance_dir=EXAMPLE_GOVERNANCE, events=str(events), state=state,
        trigger=parse_trigger(every="1h", cron=None), metrics_addr=("127.0.0.1", 0),
    )  # fmt: skip
    scheduler.start()
    try:
        base = f"http://127.0.0.1:{scheduler.metrics_server.port}"
        wait_for(lambda: scheduler.runs >= 1)
        status, content_type, text = get(f"{base}/metrics")
        assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
        snapshot = json.loads(state.with_suffix(".json").read_text(encoding="utf-8"))
        report = {  # the run's JSON as `monitor run --format json` prints it
            "findings": [f for agent in snapshot["agents"].values() for f in agent["findings"]],
            "alerts": snapshot["alerts"],
            "bad_rows": snapshot["bad_rows"],
        }
        check_against_run(samples(text), report, snapshot, digits=12)
        openmetrics = "application/openmetrics-text; version=1.0.0"
        status, content_type, om_text = get(f"{base}/metrics", accept=openmetrics)
        assert status == 200 and content_type.startswith("application/openmetrics-text")
        found = samples(om_text, parse=openmetrics_families)
        assert value(found, "govkit_monitor_runs_total") == 1.0
        assert value(found, "govkit_alerts_firing", agent="refunds", alertname="StopCondition",
                     severity="critical") == 1.0  # fmt: skip
        assert get(f"{base}/metrics")[2] == text  # between runs: the same figures
        assert get(f"{base}/")[0] == 404
    finally:
        scheduler.stop()
    with pytest.raises(OSError):  # stopped with the scheduler: the port is closed
        socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=2)


def test_a_failed_scheduled_run_counts_but_never_advances_the_last_success(tmp_path):
    calls = threading.Event()

    def failing() -> None:
        calls.set()
        raise RuntimeError("boom")

    scheduler = MonitorScheduler(
        governance_dir=EXAMPLE_GOVERNANCE, events="unused", state=tmp_path / "monitor.db",
        trigger=parse_trigger(every="1h", cron=None), run_once=failing,
        metrics_addr=("127.0.0.1", 0),
    )  # fmt: skip
    scheduler.start()
    try:
        wait_for(lambda: scheduler.failures >= 1)
        found = samples(get(f"http://127.0.0.1:{scheduler.metrics_server.port}/metrics")[2])
    finally:
        scheduler.stop()
    assert value(found, "govkit_monitor_run_failures_total") == 1.0
    assert value(found, "govkit_monitor_last_run_success") == 0.0
    assert "govkit_monitor_last_success_timestamp_seconds" not in found


def test_monitor_metrics_keep_the_last_success_across_a_failure():
    metrics = MonitorMetrics()
    metrics.last_success, metrics.runs = 1_000.0, 1
    metrics.failed(datetime(2026, 11, 24, 12, tzinfo=UTC))
    again = MonitorMetrics.from_text(metrics.text())
    assert (again.last_success, again.runs, again.failures, again.last_run_ok) == (
        1_000.0, 2, 1, False
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "address"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:0", ("::1", 0)),
     ("localhost:80", ("localhost", 80))],
)  # fmt: skip
def test_metrics_addr_is_host_and_port(text, address):
    assert parse_address(text) == address


@pytest.mark.parametrize(
    "text",
    ["9464", "127.0.0.1", ":9464", "127.0.0.1:http", "h:70000", "h\udcffx:1", "h\u00e9:1",
     "a b:1", "::1:9464", "[::1:9464", "h:\u0663"],
)  # fmt: skip
def test_a_bad_metrics_addr_is_refused(text):
    with pytest.raises(UsageError, match=r"expected HOST:PORT such as 127\.0\.0\.1:9464"):
        parse_address(text)


def test_a_bad_or_busy_metrics_addr_is_exit_2(workspace, govkit):
    result = govkit("monitor", "schedule", "--events", "events.csv", "--metrics-addr", "9464")
    assert result.exit_code == 2
    assert (
        "--metrics-addr: expected HOST:PORT such as 127.0.0.1:9464 but received '9464'"
        in result.output
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = govkit("monitor", "schedule", "--events", "events.csv",
                        "--metrics-addr", f"127.0.0.1:{port}")  # fmt: skip
    assert result.exit_code == 2
    assert f"--metrics-addr 127.0.0.1:{port}: cannot listen: Address already in use" in (
        result.output
    )


def test_a_metrics_file_that_is_a_fifo_is_refused_before_the_run(tmp_path):
    """Reading a FIFO for the previous figures would wait forever (and the rename into place
    would replace a device such as /dev/null with a file)."""
    fifo = tmp_path / "monitor.prom"
    os.mkfifo(fifo)
    ran: list[bool] = []
    with pytest.raises(UsageError) as caught:
        metrics_export.recorded(fifo, lambda: ran.append(True))  # type: ignore[arg-type]
    assert caught.value.format_message() == (
        f"{fifo}: --metrics-file: expected a regular file (or a new one) but it is a special "
        "file; nothing was run"
    )
    assert ran == [] and fifo.exists() and not fifo.is_file()
