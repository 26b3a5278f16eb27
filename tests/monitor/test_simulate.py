"""`govkit events generate`: seeded, healthy by charter, with exactly the planted drift and stop
breach that a monitor pass then finds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import monitor.simulate
from monitor.run import RunOptions, RunReport, run_monitor
from monitor.simulate import generate_events
from playbook.core.errors import UsageError
from playbook.core.governance import Governance
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
TASKS_PER_DAY = 120
PLANTED = {
    ("StopCondition", "refunds", "rollback_rate"),
    ("MetricDrift", "support-replies", "customer_feedback"),
}
ALLOWED = PLANTED | {("MetricDrift", "refunds", "rollback_rate")}  # the stop metric is monitored


@pytest.fixture(scope="module")
def governance() -> Governance:
    return load_governance(EXAMPLE_GOVERNANCE, today=NOW.date())


@pytest.fixture(scope="module")
def parquet(governance: Governance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("events") / "events.parquet"
    generate_events(governance, out, now=NOW, tasks_per_day=TASKS_PER_DAY)
    return out


def monitor_pass(governance: Governance, events: Path, state: Path) -> RunReport:
    return run_monitor(governance, RunOptions(events=str(events), now=NOW, state=state))


def firing(report: RunReport) -> set[tuple[str, str, str]]:
    return {(a.labels["alertname"], a.labels["agent"], a.labels["metric"]) for a in report.firing}


def test_same_seed_same_file(governance: Governance, parquet: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.parquet"
    generate_events(governance, again, now=NOW, tasks_per_day=TASKS_PER_DAY)
    assert again.read_bytes() == parquet.read_bytes()
    other = tmp_path / "other.parquet"
    generate_events(governance, other, now=NOW, seed=8, tasks_per_day=TASKS_PER_DAY)
    assert other.read_bytes() != parquet.read_bytes()


def test_summary_names_the_period_and_plants(governance: Governance, tmp_path: Path) -> None:
    summary = generate_events(governance, tmp_path / "e.parquet", now=NOW, tasks_per_day=20)
    assert summary.startswith("wrote ")
    assert "for 7 agents (2026-09-01 to 2026-11-24)" in summary
    assert summary.endswith(
        "planted: drift in support-replies customer_feedback, stop condition refunds rollback_rate"
    )


def test_columns_and_shape(parquet: Path) -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    described = connection.execute(f"DESCRIBE SELECT * FROM '{parquet}'").fetchall()
    columns = {name: kind for name, kind, *_ in described}
    assert columns["timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert {"agent", "task_id", "outcome", "latency_s", "cost_usd", "tooling_cost_usd",
            "reviewer_minutes", "reworked", "policy_hit", "rolled_back", "customer_feedback",
            "financial_error", "unauthorized_attempt"} <= set(columns)  # fmt: skip
    first, last, rows, tasks, rated, outcomes, low, high = connection.execute(
        f"""SELECT min(timestamp), max(timestamp), count(*), count(DISTINCT task_id),
                   avg((customer_feedback IS NOT NULL)::INT), list_sort(list(DISTINCT outcome)),
                   min(customer_feedback), max(customer_feedback)
            FROM '{parquet}'"""
    ).fetchone()
    assert first >= datetime(2026, 9, 1, tzinfo=UTC) and last < NOW
    days = (NOW - datetime(2026, 9, 1, tzinfo=UTC)).total_seconds() / 86_400
    assert rows == pytest.approx(7 * TASKS_PER_DAY * days, rel=0.02)
    assert tasks == rows
    assert rated == pytest.approx(0.4, abs=0.02)
    assert outcomes == ["escalated", "failure", "success"]
    assert low >= 1.0 and high <= 5.0


def test_monitor_finds_exactly_what_was_planted(
    governance: Governance, parquet: Path, tmp_path: Path
) -> None:
    report = monitor_pass(governance, parquet, tmp_path / "monitor.db")
    assert report.bad_rows.count == 0
    assert PLANTED <= firing(report) <= ALLOWED
    # Every guardrail holds and every north star is met; only the planted stop is breached.
    failed = [c for c in report.checks if c.status not in {"ok", "met"}]
    assert [(c.agent, c.check, c.metric, c.status) for c in failed] == [
        ("refunds", "stop_condition", "rollback_rate", "breached")
    ]
    assert failed[0].value == pytest.approx(2.5 * failed[0].threshold, rel=0.35)
    drifted = {
        (f["agent"], f["metric"]): f
        for f in report.findings
        if f["verdict"] == "drift" and f["aspect"] == "center"
    }
    assert drifted[("support-replies", "customer_feedback")]["effect"] == pytest.approx(
        -0.15, abs=0.04
    )


def test_second_run_fires_nothing_new(
    governance: Governance, parquet: Path, tmp_path: Path
) -> None:
    state = tmp_path / "monitor.db"
    first = {a.fingerprint: a.starts_at for a in monitor_pass(governance, parquet, state).firing}
    second = monitor_pass(governance, parquet, state)
    assert {a.fingerprint: a.starts_at for a in second.firing} == first
    assert len(first) == len(firing(second))


def test_healthy_without_plants(
    governance: Governance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor.simulate, "plan_plants", lambda *args: [])
    events = tmp_path / "healthy.parquet"
    summary = generate_events(governance, events, now=NOW, tasks_per_day=TASKS_PER_DAY)
    assert summary.endswith("planted: nothing (no charter fits)")
    report = monitor_pass(governance, events, tmp_path / "monitor.db")
    assert report.firing == []
    assert {c.status for c in report.checks} == {"ok", "met"}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_text_formats_load(
    governance: Governance, parquet: Path, tmp_path: Path, suffix: str
) -> None:
    events = tmp_path / f"events{suffix}"
    generate_events(governance, events, now=NOW, tasks_per_day=TASKS_PER_DAY)
    first_line = events.read_text(encoding="utf-8").splitlines()[1]
    assert "+00:00" in first_line
    report = monitor_pass(governance, events, tmp_path / "monitor.db")
    assert report.bad_rows.count == 0
    rows = duckdb.connect().execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0]
    assert report.tasks == rows
    assert PLANTED <= firing(report) <= ALLOWED


def test_unknown_extension_is_a_usage_error(governance: Governance, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.txt"):
        generate_events(governance, tmp_path / "events.txt", now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_cli(govkit, tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    result = govkit(
        "events", "generate", "--governance", str(EXAMPLE_GOVERNANCE), "--out", str(out),
        "--now", "2026-11-24T12:00:00Z", "--tasks-per-day", "10",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote ") and out.is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_csv_custom_boolean_columns_are_read(governance: Governance, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    generate_events(governance, events, now=NOW, tasks_per_day=TASKS_PER_DAY)
    report = monitor_pass(governance, events, tmp_path / "monitor.db")
    assert [c.status for c in report.checks if c.metric == "financial_error_rate"] == ["ok", "ok"]
