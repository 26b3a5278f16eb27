"""What a pass could not see: an agent that went quiet, or a source that stopped, is said on
stderr and in the run's warnings (never silently `insufficient_data` everywhere)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb

from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"


def _warnings(govkit, events, now: str = NOW) -> tuple[list[str], list[str]]:
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--now", now, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    quiet = [w for w in json.loads(result.stdout)["warnings"] if "recent window" in w]
    printed = [line for line in result.stderr.splitlines() if "recent window" in line]
    return quiet, printed


def test_a_source_with_nothing_recent_says_how_old_its_newest_event_is(govkit, workspace):
    events = write_events(workspace.root / "events.parquet")  # refunds, up to 2026-11-24 12:00
    quiet, printed = _warnings(govkit, events, now="2027-01-10T00:00:00Z")
    assert quiet == [
        "no monitored agent has a task in its recent window: the newest event is from "
        "2026-11-24, 47 days before the run's time; is the export still running (or is --now "
        "past the data)?"
    ]
    assert printed == [f"govkit: WARNING: {quiet[0]}"]


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
    quiet, _ = _warnings(govkit, events)
    assert quiet == [
        f"refunds: no task in its recent window (7d) but {baseline:,} in its baseline: has it "
        "stopped working, or stopped reporting?"
    ]


def test_a_healthy_source_has_no_such_warning(govkit, workspace):
    assert _warnings(govkit, write_events(workspace.root / "events.parquet")) == ([], [])


def test_budgeted_spend_the_events_do_not_record_is_named(govkit, workspace):
    """Without `tooling_cost_usd` the monthly costs can only count tooling as $0: a budget would
    look underspent, so the run says which budgets that touches."""
    full = write_events(workspace.root / "full.parquet")
    events = workspace.root / "events.parquet"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (tooling_cost_usd) FROM '{full}') TO '{events}' (FORMAT parquet)"
    )
    result = govkit("monitor", "run", "--events", str(events), "--state", "state/monitor.db",
                    "--now", NOW, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    budgets = [w for w in json.loads(result.stdout)["warnings"] if "BudgetOverrun" in w]
    assert budgets == [
        "the events have no tooling_cost_usd column: the monthly costs and BudgetOverrun count "
        "tooling spend as $0 for dependency-updates, docs-qa, incident-summaries, "
        "platform-onboarding, refunds, support-replies, ticket-triage, whose budgets plan it"
    ]
