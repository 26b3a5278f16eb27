"""Trace exports to events: mapping, pricing, outcomes, writing, format detection and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="the traces-test extra is not installed")

from monitor.sources.importer import (
    detect_format,
    import_traces,
    write_events,
)
from playbook.core.errors import UsageError
from playbook.policy import load_governance
from tests.conftest import Workspace
from tests.monitor.sources.test_traces_otel import START, Traces

SOURCES_YAML = """\
agents:
  docs-bot: docs-qa
  support-bot: support-replies
escalation:
  tools: [handoff_to_human]
"""
PRICING_YAML = """\
models:
  gpt-4o: {input_per_million: 2.5, output_per_million: 10.0}
"""
NOW = "2026-11-24T12:00:00Z"


@pytest.fixture
def traced(workspace: Workspace) -> Workspace:
    """The example organisation with a sources.yaml mapping and a price list."""
    workspace.write("sources.yaml", SOURCES_YAML)
    workspace.write("pricing.yaml", PRICING_YAML)
    return workspace


def test_events_field_by_field(traced: Workspace, tmp_path: Path) -> None:
    traces = Traces()
    ok = traces.task("docs-bot", seconds=4.25, tokens=(1200, 300))
    failed = traces.task("docs-bot", seconds=9.5, status_error=True)
    escalated = traces.task("support-bot", seconds=2, tools=("search", "handoff_to_human"))
    unpriced = traces.task("docs-bot", seconds=1, model="mystery-model")
    traces.task("shadow-bot")
    traces.task(None)
    path = traces.json_lines(tmp_path / "trace.jsonl", extra=["{not json"])
    governance = load_governance(traced.governance, today=START.date())

    result = import_traces("otel", [path], governance)

    rows = {row["task_id"]: row for row in result.rows}
    assert set(rows) == {ok, failed, escalated, unpriced}
    assert rows[ok] == {
        "timestamp": "2026-11-20T09:30:00+00:00", "agent": "docs-qa", "task_id": ok,
        "outcome": "success", "latency_s": 4.25, "cost_usd": pytest.approx(0.006),
        "customer_feedback": None, "reworked": None, "policy_hit": None, "rolled_back": None,
    }  # fmt: skip  # 1200 x 2.5 / 1e6 + 300 x 10 / 1e6
    assert rows[failed]["outcome"] == "failure"
    assert rows[failed]["latency_s"] == 9.5
    assert rows[escalated]["outcome"] == "escalated"
    assert rows[escalated]["agent"] == "support-replies"
    assert rows[unpriced]["cost_usd"] is None
    assert result.unpriced_models == {"mystery-model": 1}
    assert result.unmapped_agents == {"shadow-bot": 1, "(no agent name)": 1}
    assert result.per_agent == {"docs-qa": 3, "support-replies": 1}
    assert result.skipped.examples == {"bad_json": [f"{path}:2"]}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_events_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = [
        {"timestamp": "2026-11-20T09:30:00+00:00", "agent": "docs-qa", "task_id": "t1",
         "outcome": "success", "latency_s": 1.5, "cost_usd": None, "customer_feedback": 4.0,
         "reworked": True, "policy_hit": None, "rolled_back": False},
    ]  # fmt: skip
    out = tmp_path / f"events{suffix}"
    write_events(rows, out)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left behind
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    [row] = connection.execute(f"SELECT * FROM '{out}'").fetchall()
    assert row[1:] == ("docs-qa", "t1", "success", 1.5, None, 4.0, True, None, False)
    assert row[0] == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_write_events_rejects_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.txt.*\.parquet or \.csv"):
        write_events([], tmp_path / "events.txt")
    assert list(tmp_path.iterdir()) == []


def test_detect_format(tmp_path: Path) -> None:
    traces = Traces()
    traces.task("a")
    traces.task("b")
    spans = traces.spans()
    traces.exporter.export(spans)
    assert detect_format(traces.json_lines(tmp_path / "t.jsonl")) == "otel"
    traces.exporter.export(spans)
    assert detect_format(traces.document(tmp_path / "t.json")) == "otel"
    samples = {
        "openinference": {"name": "llm", "span_kind": "LLM", "context": {"span_id": "ab"}},
        "langsmith": {"id": "1", "run_type": "chain", "trace_id": "1", "dotted_order": "x"},
        "weave": {"id": "1", "op_name": "weave:///p/op/agent:1", "trace_id": "t",
                  "started_at": "2026-11-20T09:30:00Z"},
        "events": {"timestamp": "2026-11-20T09:30:00Z", "agent": "a", "outcome": "success"},
    }  # fmt: skip
    for expected, record in samples.items():
        path = tmp_path / f"{expected}.jsonl"
        path.write_text(json.dumps(record) + "\n")
        assert detect_format(path) == expected
    flat = tmp_path / "phoenix.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT 'ab' AS "context.span_id", 'LLM' AS span_kind) TO '{flat}'"""
    )
    assert detect_format(flat) == "openinference"
    csv = tmp_path / "events.csv"
    csv.write_text("timestamp,agent,outcome\n2026-11-20T09:30:00Z,a,success\n")
    assert detect_format(csv) == "events"
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"hello": 1}\n')
    with pytest.raises(UsageError, match="--events-format"):
        detect_format(unknown)


def test_cli_import_prints_counts(traced: Workspace, govkit, tmp_path: Path) -> None:
    traces = Traces()
    traces.task("docs-bot")
    traces.task("docs-bot", model="mystery-model")
    traces.task("shadow-bot")
    path = traces.json_lines(tmp_path / "trace.jsonl", extra=["{not json"])
    out = tmp_path / "events.parquet"
    result = govkit("events", "import", "--from", "otel", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 tasks from 1 otel file(s)" in result.output
    assert "docs-qa: 2" in result.output
    assert f"bad_json: 1 (e.g. {path}:2)" in result.output
    assert "shadow-bot: 1" in result.output
    assert "mystery-model: 1 call(s)" in result.output
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{out}'").fetchone() == (2,)


def test_cli_import_with_mapping_file(traced: Workspace, govkit, tmp_path: Path) -> None:
    traces = Traces()
    traces.task("shadow-bot")
    path = traces.json_lines(tmp_path / "trace.jsonl")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("agents:\n  shadow-bot: refunds\n")
    out = tmp_path / "events.csv"
    result = govkit("events", "import", "--from", "otel", str(path), "--mapping", str(mapping),
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "refunds: 1" in result.output
    mapping.write_text("agents:\n  shadow-bot: refunds\nescalaton:\n  tools: [x]\n")
    result = govkit("events", "import", "--from", "otel", str(path), "--mapping", str(mapping),
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 2
    assert "mapping.yaml:3" in result.output and "Traceback" not in result.output


def test_cli_import_errors_exit_2(traced: Workspace, govkit, tmp_path: Path) -> None:
    traces = Traces()
    traces.task("shadow-bot")
    path = traces.json_lines(tmp_path / "trace.jsonl")
    result = govkit("events", "import", "--from", "otel", str(tmp_path / "missing.jsonl"),
                    "--out", str(tmp_path / "e.parquet"))  # fmt: skip
    assert result.exit_code == 2 and "missing.jsonl: no such file" in result.output
    result = govkit("events", "import", "--from", "otel", str(path), "--out", "e.parquet")
    assert result.exit_code == 2 and "no agent tasks" in result.output
    assert "shadow-bot: 1" in result.output
    result = govkit("events", "import", "--from", "otel", str(path), "--out", "e.txt")
    assert result.exit_code == 2 and "'.txt'" in result.output and "Traceback" not in result.output


def planted_trace(path: Path) -> Path:
    """docs-bot tasks from the docs-qa baseline to NOW; the last 7 days are slower and fail
    more often (latency about x2, success 0.95 -> 0.7)."""
    rng = np.random.default_rng(3)
    traces = Traces()
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    moment = datetime(2026, 10, 12, tzinfo=UTC)
    while moment < now:
        recent = moment >= now - timedelta(days=7)
        seconds = rng.uniform(4.0, 8.0) if recent else rng.uniform(2.0, 4.0)
        failed = rng.random() < (0.3 if recent else 0.05)
        traces.task("docs-bot", moment, seconds, status_error=failed)
        moment += timedelta(minutes=45)
    return traces.json_lines(path, per_line=60)


@pytest.mark.parametrize("named", [True, False])
def test_monitor_run_on_a_trace_export(
    traced: Workspace, govkit, tmp_path: Path, named: bool
) -> None:
    path = planted_trace(tmp_path / "trace.jsonl")
    fmt = ["--events-format", "otel"] if named else []
    result = govkit(
        "monitor", "run", "--events", str(path), *fmt, "--now", NOW,
        "--state", str(tmp_path / "monitor.db"), "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tasks from 1 otel file(s)" in result.stderr
    report = json.loads(result.stdout)
    assert report["bad_rows"]["count"] == 0
    firing = {
        (a["labels"]["alertname"], a["labels"]["agent"], a["labels"]["metric"])
        for a in report["alerts"]
        if a["status"] == "firing"
    }
    assert ("MetricDrift", "docs-qa", "latency_s") in firing
    assert ("MetricDrift", "docs-qa", "task_success_rate") in firing


def test_weave_export_runs_through_the_monitor_with_a_mapping(workspace, govkit):
    """A Weave calls export, mapped by sources.yaml, gives per-agent findings and a drift alert."""
    import json
    import random
    from datetime import UTC, datetime, timedelta

    workspace.write("sources.yaml", "agents:\n  docs_agent: docs-qa\n")
    rng = random.Random(3)
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    lines = []
    for day in range(45):
        for task in range(12):
            start = now - timedelta(days=day, hours=rng.uniform(0, 23))
            slow = start >= now - timedelta(days=7)
            seconds = rng.uniform(4.0, 8.0) if slow else rng.uniform(2.0, 4.0)
            lines.append(json.dumps({
                "id": f"c{day}-{task}", "trace_id": f"t{day}-{task}", "parent_id": None,
                "op_name": "weave:///northwind/docs/op/docs_agent:abc", "display_name": "docs_agent",
                "started_at": start.isoformat(), "ended_at": (start + timedelta(seconds=seconds)).isoformat(),
                "exception": None, "attributes": {}, "summary": {},
            }))  # fmt: skip
    export = workspace.root / "calls.jsonl"
    export.write_text("\n".join(lines) + "\n")

    result = govkit("monitor", "run", "--events", str(export), "--events-format", "weave",
                    "--state", str(workspace.root / "m.db"), "--now", now.isoformat(), "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    latency = next(
        f for f in report["findings"] if f["agent"] == "docs-qa" and f["metric"] == "latency_s"
    )
    assert latency["verdict"] == "drift"
    assert {(a["labels"]["alertname"], a["labels"]["metric"]) for a in report["alerts"]} >= {
        ("MetricDrift", "latency_s")
    }
