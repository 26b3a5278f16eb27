"""`govkit monitor run`: a run given `--now` publishes the same snapshot every time."""

from __future__ import annotations

import json

import duckdb

from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"


def test_runs_with_the_same_now_publish_identical_snapshots(govkit, tmp_path):
    """`make demo` pins --now, so its reruns must publish the same snapshot, byte for byte: the
    snapshot is stamped with the run's moment, never the wall clock."""
    events = write_events(tmp_path / "events.parquet")
    snapshots = []
    for name in ("first", "second"):
        state = tmp_path / name / "monitor.db"
        result = govkit("monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE),
                        "--events", str(events), "--state", str(state), "--now", NOW)  # fmt: skip
        assert result.exit_code == 0, result.output
        snapshots.append(state.with_suffix(".json").read_bytes())
    assert json.loads(snapshots[0])["generated_at"] == NOW
    assert snapshots[0] == snapshots[1]


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
    full = write_events(workspace.root / "full.parquet")  # has no unauthorized_attempt column
    events = workspace.root / "events.parquet"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (reviewer_minutes) FROM '{full}') TO '{events}' (FORMAT parquet)"
    )
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--now", NOW, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [  # by metric; every agent reading it (support-replies' feedback: no such column)
        "the events have no column customer_feedback: customer_feedback cannot be measured for "
        "support-replies (insufficient_data)",
        "the events have no column reviewer_minutes: reviewer_minutes_per_task cannot be measured "
        "for dependency-updates, platform-onboarding, refunds, ticket-triage (insufficient_data)",
        "the events have no column unauthorized_attempt: unauthorized_attempts cannot be measured "
        "for refunds (insufficient_data)",
    ]
    assert [f"govkit: WARNING: {w}" for w in warnings] == [
        line for line in result.stderr.splitlines() if "cannot be measured" in line
    ]
    report = json.loads(result.stdout)
    assert [w for w in report["warnings"] if "cannot be measured" in w] == warnings
    refunds = json.loads((workspace.root / "state" / "monitor.json").read_text())["agents"][
        "refunds"
    ]
    checks = {(c["check"], c["metric"]): c for c in refunds["checks"]}
    for key in [("guardrail", "reviewer_minutes_per_task"),
                ("stop_condition", "unauthorized_attempts")]:  # fmt: skip
        assert (checks[key]["status"], checks[key]["value"], checks[key]["n"]) == (
            "insufficient_data", None, 0)  # fmt: skip
    verdicts = {f["metric"]: f["verdict"] for f in refunds["findings"] if f["aspect"] == "center"}
    assert verdicts["reviewer_minutes_per_task"] == "insufficient_data"
    assert verdicts["rollback_rate"] == "ok"  # the columns it has are still measured
    assert checks[("stop_condition", "rollback_rate")]["status"] == "ok"


def test_a_spend_bucket_the_events_lack_counts_as_zero_beside_those_they_have(govkit, workspace):
    full = write_events(workspace.root / "full.parquet")
    events = workspace.root / "events.parquet"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (tooling_cost_usd) FROM '{full}') TO '{events}' (FORMAT parquet)"
    )
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--now", NOW, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "cost_per" not in result.stderr  # cost per task is still measured, no warning
    snapshot = json.loads((workspace.root / "state" / "monitor.json").read_text())
    budget = snapshot["agents"]["refunds"]["costs"]
    assert budget and all(month["tooling"] == 0 and month["inference"] > 0 for month in budget)
