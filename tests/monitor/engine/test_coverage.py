"""What a pass could not see: columns the events lack, an agent that went quiet, a source that
stopped. Each is said on stderr and in the run's warnings, and a metric that cannot be measured
is `insufficient_data`, never a reassuring 0."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"


def _export_without(workspace, *columns: str) -> Path:
    """The refunds events of `write_events` (no `unauthorized_attempt`) without `columns`."""
    full = write_events(workspace.root / "full.parquet")
    events = workspace.root / "events.parquet"
    dropped = ", ".join(columns)
    duckdb.sql(f"COPY (SELECT * EXCLUDE ({dropped}) FROM '{full}') TO '{events}' (FORMAT parquet)")
    return events


def _run(govkit, events: Path, now: str = NOW):
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--now", now, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def _warnings(result, about: str) -> list[str]:
    """The run's warnings containing `about`, after checking stderr printed the same ones."""
    found = [w for w in json.loads(result.stdout)["warnings"] if about in w]
    printed = [line for line in result.stderr.splitlines() if about in line]
    assert printed == [f"govkit: WARNING: {w}" for w in found]
    return found


def _snapshot_agent(workspace, agent: str) -> dict:
    snapshot = json.loads((workspace.root / "state" / "monitor.json").read_text())
    return snapshot["agents"][agent]


def test_a_metric_whose_columns_the_events_lack_is_unmeasured_not_zero(govkit, workspace):
    """An export without `reviewer_minutes` says nothing about reviewer time: the guardrail on it
    must not pass with 0, and a count (unauthorised attempts) must not read as none; the run
    names each such metric and its agents."""
    workspace.edit(
        "agents/refunds.yaml",
        "    action: escalate\nwork:",
        "    action: escalate\n  - metric: unauthorized_attempts\n    above: 5\n    window: 7d\n"
        "    action: pause\nwork:",
    )
    result = _run(govkit, _export_without(workspace, "reviewer_minutes"))
    assert _warnings(result, "cannot be measured") == [  # by metric, with every agent reading it
        "the events have no column customer_feedback: customer_feedback cannot be measured for "
        "support-replies (insufficient_data)",
        "the events have no column reviewer_minutes: reviewer_minutes_per_task cannot be measured "
        "for dependency-updates, platform-onboarding, refunds, ticket-triage (insufficient_data)",
        "the events have no column unauthorized_attempt: unauthorized_attempts cannot be measured "
        "for refunds (insufficient_data)",
    ]
    refunds = _snapshot_agent(workspace, "refunds")
    checks = {(c["check"], c["metric"]): c for c in refunds["checks"]}
    for key in [("guardrail", "reviewer_minutes_per_task"),
                ("stop_condition", "unauthorized_attempts")]:  # fmt: skip
        assert (checks[key]["status"], checks[key]["value"], checks[key]["n"]) == (
            "insufficient_data", None, 0)  # fmt: skip
    verdicts = {f["metric"]: f["verdict"] for f in refunds["findings"] if f["aspect"] == "center"}
    assert verdicts["reviewer_minutes_per_task"] == "insufficient_data"
    assert verdicts["rollback_rate"] == "ok"  # the columns it has are still measured
    assert checks[("stop_condition", "rollback_rate")]["status"] == "ok"


def test_a_spend_bucket_the_events_lack_is_unknown_in_the_monthly_costs(govkit, workspace):
    """Without `tooling_cost_usd` the cost per task is still measured (tooling counts as 0
    beside the buckets recorded), but a month's tooling spend is unknown: null in the snapshot,
    and the run says which budgets that touches."""
    result = _run(govkit, _export_without(workspace, "tooling_cost_usd"))
    assert _warnings(result, "cost_per") == []
    months = _snapshot_agent(workspace, "refunds")["costs"]
    assert months and all(month["tooling"] is None and month["inference"] > 0 for month in months)
    assert _warnings(result, "BudgetOverrun") == [
        "the events have no tooling_cost_usd column: tooling spend is unknown, so the costs "
        "page and BudgetOverrun cannot show dependency-updates, docs-qa, incident-summaries, "
        "platform-onboarding, refunds, support-replies, ticket-triage within the budgets that "
        "plan it (over budget still shows)"
    ]


def test_a_source_with_nothing_recent_says_how_old_its_newest_event_is(govkit, workspace):
    events = write_events(workspace.root / "events.parquet")  # refunds, up to 2026-11-24 12:00
    result = _run(govkit, events, now="2027-01-10T00:00:00Z")
    assert _warnings(result, "recent window") == [
        "no monitored agent has a task in its recent window: the newest event is from "
        "2026-11-24, 47 days before the run's time; is the export still running (or is --now "
        "past the data)?"
    ]


def test_an_agent_that_went_quiet_is_named_with_its_baseline(govkit, workspace):
    refunds = write_events(
        workspace.root / "refunds.parquet", now=datetime(2026, 11, 10, tzinfo=UTC)
    )
    events = workspace.root / "events.parquet"
    duckdb.sql(
        f"COPY (SELECT timestamp, agent, outcome FROM '{refunds}' UNION ALL "
        "SELECT TIMESTAMPTZ '2026-11-20 10:00:00+00', 'docs-qa', 'success') "
        f"TO '{events}' (FORMAT parquet)"
    )
    baseline = duckdb.sql(
        f"SELECT count(*) FROM '{refunds}' WHERE timestamp >= TIMESTAMPTZ '2026-09-07 00:00:00+00'"
        " AND timestamp < TIMESTAMPTZ '2026-10-05 00:00:00+00'"
    ).fetchall()[0][0]
    assert _warnings(_run(govkit, events), "recent window") == [
        f"refunds: no task in its recent window (7d) but {baseline:,} in its baseline: has it "
        "stopped working, or stopped reporting?"
    ]


def test_a_healthy_source_has_no_such_warning(govkit, workspace):
    result = _run(govkit, write_events(workspace.root / "events.parquet"))
    for about in ("refunds", "recent window", "BudgetOverrun"):  # (it has no feedback column)
        assert _warnings(result, about) == []


def _local_time_export(workspace, hours: int) -> tuple[Path, int, str]:
    """The refunds events written as local time `hours` east of UTC without an offset, as an
    export from a machine set to that zone writes them: (the CSV, how many fall more than five
    minutes after NOW once read as UTC, the latest of them as read)."""
    events = write_events(workspace.root / "utc.parquet")
    local = workspace.root / "events.csv"
    shifted = f"timestamp + INTERVAL {hours} HOUR"
    duckdb.sql(
        f"COPY (SELECT * REPLACE (strftime({shifted}, '%Y-%m-%d %H:%M:%S') AS timestamp) "
        f"FROM '{events}') TO '{local}' (HEADER)"
    )
    ahead, latest = duckdb.sql(
        f"SELECT count(*), strftime(max({shifted}), '%Y-%m-%dT%H:%M:%SZ') FROM '{events}' "
        f"WHERE {shifted} >= TIMESTAMPTZ '{NOW}' + INTERVAL 5 MINUTE"
    ).fetchall()[0]
    return local, ahead, latest


def test_events_dated_after_the_clock_are_named_with_the_likely_cause(
    govkit, workspace, monkeypatch
):
    """A run on the clock's time (no --now) over an export written in local time, three hours
    east of UTC, without offsets: its last three hours read as the future and count in no
    window. The run says how many, how far ahead, and what to fix."""
    monkeypatch.setattr("monitor.cli.utc_now", lambda: datetime.fromisoformat(NOW))
    events, ahead, latest = _local_time_export(workspace, hours=3)
    assert 0 < ahead < 100  # about three hours of a hundred tasks a day
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    lead = datetime.fromisoformat(latest) - datetime.fromisoformat(NOW)
    hours, minutes = divmod(int(lead.total_seconds()) // 60, 60)
    assert _warnings(result, "dated after now") == [
        f"{ahead:,} events are dated after now (2026-11-24T12:00:00Z, the clock's time), the "
        f"latest {latest}, {hours} h {minutes} min ahead: they count in no window. A timestamp "
        "without an offset is read as UTC: if the export writes local time, add its offset "
        f"({latest[:19]}+03:00, say); otherwise the clock of what logs these tasks runs ahead"
    ]
    dashboard = json.loads((workspace.root / "state" / "monitor.json").read_text())["warnings"]
    assert any("dated after now" in warning for warning in dashboard)


def test_events_after_an_explicit_now_are_a_replay_not_a_warning(govkit, workspace):
    """--now in the past replays it: the events after it are expected, and not warned about."""
    events, ahead, _ = _local_time_export(workspace, hours=3)
    assert ahead
    assert _warnings(_run(govkit, events), "dated after now") == []
    assert _warnings(_run(govkit, events, now="2026-11-20T00:00:00Z"), "dated after now") == []


def test_events_a_few_minutes_after_the_clock_are_clock_skew_not_a_warning(
    govkit, workspace, monkeypatch
):
    """Machines' clocks differ by seconds: an event up to five minutes ahead is not misdated."""
    monkeypatch.setattr("monitor.cli.utc_now", lambda: datetime.fromisoformat(NOW))
    refunds = write_events(workspace.root / "refunds.parquet")
    events = workspace.root / "events.parquet"
    duckdb.sql(
        f"COPY (SELECT timestamp, agent, outcome FROM '{refunds}' UNION ALL "
        f"SELECT TIMESTAMPTZ '{NOW}' + INTERVAL 4 MINUTE, 'refunds', 'success') "
        f"TO '{events}' (FORMAT parquet)"
    )
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _warnings(result, "dated after now") == []


def test_a_source_with_no_rows_at_all_says_so(govkit, workspace):
    """An export job that failed after its header: nothing is measured, and nothing looks fine."""
    events = workspace.root / "events.csv"
    events.write_text("timestamp,agent,outcome,latency_s,cost_usd\n", encoding="utf-8")
    result = _run(govkit, events)
    assert _warnings(result, "no rows") == [
        "the events have no rows at all: every metric is insufficient_data and no stop condition "
        "can fire; did the job that exports them fail (a header and nothing else)?"
    ]
    assert _warnings(result, "recent window") == []
