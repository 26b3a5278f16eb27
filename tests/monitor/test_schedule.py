"""`govkit monitor schedule`: one job at a time, failures logged, clean shutdown on a signal."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from monitor.schedule import (
    APSCHEDULER_LOGGER,
    MonitorScheduler,
    configure_logging,
    parse_trigger,
)
from playbook.core.errors import UsageError
from tests.conftest import EXAMPLE_GOVERNANCE, REPO
from tests.monitor.conftest import write_events


def test_trigger_options_are_checked():
    assert "interval[0:15:00]" in str(parse_trigger(every="15m", cron=None))
    assert "cron[" in str(parse_trigger(every=None, cron="0 * * * *"))
    with pytest.raises(UsageError, match="either --every or --cron, not both"):
        parse_trigger(every="1h", cron="0 * * * *")
    with pytest.raises(
        UsageError, match="expected an interval such as 30m, 1h or 1d but received '1x'"
    ):
        parse_trigger(every="1x", cron=None)
    with pytest.raises(UsageError, match="--cron: expected a crontab expression"):
        parse_trigger(every=None, cron="every hour")


def test_a_failing_run_is_logged_and_the_schedule_goes_on(caplog):
    calls: list[float] = []

    def flaky() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("boom")

    scheduler = MonitorScheduler(
        governance_dir=EXAMPLE_GOVERNANCE, events="unused", state=Path("unused"),
        trigger=parse_trigger(every="1s", cron=None), run_once=flaky,
    )  # fmt: skip
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert len(calls) >= 2
    assert scheduler.failures == 1
    assert "monitor run failed: RuntimeError('boom')" in caplog.text


def test_never_two_runs_at_once_and_stop_waits_for_the_current_run():
    running = threading.Event()
    finish = threading.Event()
    overlaps: list[int] = []
    active = [0]

    def slow() -> None:
        active[0] += 1
        overlaps.append(active[0])
        running.set()
        finish.wait(5)
        active[0] -= 1

    scheduler = MonitorScheduler(
        governance_dir=EXAMPLE_GOVERNANCE, events="unused", state=Path("unused"),
        trigger=parse_trigger(every="1s", cron=None), run_once=slow,
    )  # fmt: skip
    scheduler.start()
    assert running.wait(5)
    time.sleep(2.5)  # two more ticks fall due while the first run is still going
    stopper = threading.Thread(target=scheduler.stop)
    stopper.start()
    time.sleep(0.3)
    assert stopper.is_alive()  # stop() waits for the run in progress
    finish.set()
    stopper.join(5)
    assert not stopper.is_alive()
    assert max(overlaps) == 1


@pytest.mark.slow
def test_sigterm_stops_the_scheduler_cleanly(tmp_path):
    events = write_events(tmp_path / "events.parquet")
    state = tmp_path / "monitor.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "playbook", "monitor", "schedule", "--governance",
         str(EXAMPLE_GOVERNANCE), "--events", str(events), "--state", str(state), "--every", "1h"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not state.with_suffix(".json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.with_suffix(".json").exists(), "the first run did not happen"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "received SIGTERM; stopping after the current run" in output
    assert "monitor scheduler stopped after 1 run(s), 0 failed" in output
    for internal in ("Added job", "Scheduler started", "Running job", "executed successfully"):
        assert internal not in output  # APScheduler's own lines: only with --verbose


@pytest.mark.parametrize(("verbose", "shown"), [(False, False), (True, True)])
def test_apscheduler_lines_show_only_when_verbose(verbose, shown):
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    before = {name: logging.getLogger(name).level for name in (APSCHEDULER_LOGGER, "govkit")}
    try:
        configure_logging(verbose=verbose)
        assert scheduler_log.isEnabledFor(logging.INFO) is shown
        assert scheduler_log.isEnabledFor(logging.ERROR) is shown  # a failed run's traceback too
        assert logging.getLogger("govkit.monitor").isEnabledFor(logging.INFO)
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("setting", "options", "interval"),
    [
        ("every: 15m\n", (), "interval[0:15:00]"),  # monitor.yaml's interval
        ("every: 15m\n", ("--every", "2h"), "interval[2:00:00]"),  # the option wins
        ("every: 15m\n", ("--cron", "0 * * * *"), "cron["),
        ("", (), "interval[1:00:00]"),  # neither: hourly
    ],
)
def test_the_schedule_runs_at_monitor_yaml_every_unless_told(
    workspace, govkit, monkeypatch, setting, options, interval
):
    triggers: list[str] = []
    monkeypatch.setattr(
        MonitorScheduler,
        "run_until_stopped",
        lambda self, verbose: triggers.append(str(self.trigger)),
    )
    settings = workspace.governance / "monitor.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + setting, encoding="utf-8")
    result = govkit("monitor", "schedule", "--events", "events.csv", *options)
    assert result.exit_code == 0, result.output
    assert len(triggers) == 1 and triggers[0].startswith(interval)


def test_monitor_yaml_every_is_checked_as_an_interval(workspace, govkit):
    settings = workspace.governance / "monitor.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "every: 15x\n", encoding="utf-8")
    result = govkit("monitor", "schedule", "--events", "events.csv")
    assert result.exit_code == 2
    assert "expected an interval such as 30m, 1h or 1d but received '15x'" in result.output


def test_a_scheduled_run_warns_of_events_dated_after_the_clock(workspace, monkeypatch, caplog):
    """The schedule runs on the clock's time: events after it are misdated, and its log says so."""
    import duckdb

    from tests.monitor.conftest import NOW

    monkeypatch.setattr("monitor.schedule.utc_now", lambda: NOW)
    refunds = write_events(workspace.root / "refunds.parquet")
    events = workspace.root / "events.parquet"
    duckdb.sql(
        f"COPY (SELECT timestamp, agent, outcome FROM '{refunds}' UNION ALL "
        "SELECT TIMESTAMPTZ '2026-11-24 13:30:00+00', 'refunds', 'success') "
        f"TO '{events}' (FORMAT parquet)"
    )
    scheduler = MonitorScheduler(
        governance_dir=workspace.root / "governance", events=str(events),
        state=workspace.root / "state" / "monitor.db", trigger=parse_trigger(every="1h", cron=None),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING):
        scheduler.monitor_once()
    assert (
        "1 event is dated after now (2026-11-24T12:00:00Z, the clock's time), the latest "
        "2026-11-24T13:30:00Z, 1 h 30 min ahead: it counts in no window." in caplog.text
    )
