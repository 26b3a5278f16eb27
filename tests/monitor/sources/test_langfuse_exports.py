"""Langfuse exports as teams have them, read into tasks: the public API's observations (v1 and
v2), traces and scores, put through the Langfuse SDK's own API models
(fixtures/langfuse/make_fixtures.py), and the UI's CSV batch export of observations; then what
those leave open: usage conventions, blob storage's snake_case names, a trace with its
observations inside, running and orphaned traces, format detection and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.sources import langfuse
from monitor.sources.base import SOURCES
from monitor.sources.common import ImportResult, LlmCall, Task, to_event
from monitor.sources.importer import _columns_of, detect_format, import_traces
from playbook.core.settings import ModelPrice, Pricing, SourceSettings

FIXTURES = Path(__file__).parent / "fixtures" / "langfuse"
OBSERVATIONS = ["observations_v1.json", "observations_v2.json", "observations.csv"]
PRICES = Pricing(
    models={
        "gpt-4o": ModelPrice(
            input_per_million=2.5, output_per_million=10.0, cache_read_per_million=1.25
        ),
        "claude-sonnet-4-5": ModelPrice(
            input_per_million=3.0, output_per_million=15.0, cache_read_per_million=0.3
        ),
    }
)


def _read(*files: str, settings: SourceSettings | None = None) -> dict[str, Task]:
    tasks, skipped = langfuse.read(
        [FIXTURES / name for name in files], settings or SourceSettings()
    )
    assert not skipped.by_reason, skipped.examples
    return {task.task_id: task for task in tasks}


@pytest.mark.parametrize("export", OBSERVATIONS)
def test_each_observations_export_gives_one_task_per_trace(export: str) -> None:
    tasks = _read(export)

    assert set(tasks) == {"t-ok", "t-fail", "t-v2", "t-unknown"}
    ok, failed, v2, unknown = (tasks[t] for t in ("t-ok", "t-fail", "t-v2", "t-unknown"))
    assert (ok.agent_name, failed.agent_name) == ("support-agent", "refund-agent")  # roots' names
    assert [task.error for task in (ok, failed, v2, unknown)] == [False, True, False, False]
    assert [(t.end - t.start).total_seconds() for t in (ok, failed, v2)] == [6.5, 4.0, 3.0]
    # OpenAI usage as Langfuse normalises it: `input` is the uncached part
    assert ok.llm_calls == [LlmCall("gpt-4o", 1200, 150, cache_read_tokens=1000)]
    # Anthropic's own names: `cache_read_input_tokens` beside the uncached `input`
    assert failed.llm_calls == [LlmCall("claude-sonnet-4-5", 2040, 90, cache_read_tokens=2000)]
    assert v2.llm_calls == [LlmCall("gpt-4o", 500, 80)]
    assert unknown.llm_calls == [LlmCall("mystery-llm", None, None)]  # no usage: unknown
    assert (ok.cost_usd, failed.cost_usd) == (pytest.approx(0.00325), None)  # Langfuse's, or none
    assert ok.tool_names == {"chat gpt-4o", "lookup_order"}
    assert failed.tool_names == {"claude", "issue_refund"}
    assert v2.tool_names == {"draft-reply", "handoff_to_human"}  # a v2 trace: two roots, steps
    assert ok.attributes == {"agent_id": "support-v2", "tenant": "acme"}


def test_traces_name_the_agents_and_scores_are_the_feedback() -> None:
    tasks = _read("observations_v1.json", "traces.json", "scores.json")

    agents = {task_id: task.agent_name for task_id, task in tasks.items()}
    assert agents == {"t-ok": "support-agent", "t-fail": "refund-agent",
                      "t-v2": "support-agent", "t-unknown": "research-agent"}  # fmt: skip
    # trace-level and observation-level scores; the label "friendly" is no number nor yes/no
    assert tasks["t-ok"].feedback == {"user_feedback": 1.0, "helpfulness": 0.75, "resolved": True}
    assert tasks["t-v2"].feedback == {"user_feedback": 0.0}
    assert tasks["t-v2"].tags == {"prod", "handoff"}


def test_the_csv_export_carries_observation_scores_in_score_name_columns() -> None:
    tasks = _read("observations.csv")
    assert tasks["t-ok"].feedback == {"helpfulness": 0.75}
    assert tasks["t-v2"].agent_name == "support-agent"  # the export's traceName


def test_a_traces_export_alone_gives_tasks_from_timestamp_latency_and_cost() -> None:
    tasks = _read("traces.json")
    ok = tasks["t-ok"]
    assert ((ok.end - ok.start).total_seconds(), ok.cost_usd) == (6.5, 0.00325)
    assert tasks["t-fail"].cost_usd is None  # totalCost 0: no cost known


def test_events_priced_and_mapped_with_sources_yaml_keys() -> None:
    settings = SourceSettings.model_validate(
        {
            "agent_attribute": {"langfuse": "agent_id"},
            "feedback": {"customer_feedback": ["user_feedback"], "reworked": ["resolved"]},
            "escalation": {"tools": ["handoff_to_human"]},
        }
    )
    tasks = _read("observations_v2.json", "traces.json", "scores.json", settings=settings)
    result = ImportResult()
    rows = {
        task_id: to_event(task, settings=settings, pricing=PRICES, charters=None, result=result)
        for task_id, task in tasks.items()
    }

    ok, failed, v2, unknown = (rows[t] for t in ("t-ok", "t-fail", "t-v2", "t-unknown"))
    assert ok is not None and failed is not None and v2 is not None and unknown is not None
    assert ok["agent"] == "support-v2"  # metadata agent_id, as sources.yaml asks
    assert (ok["outcome"], failed["outcome"], v2["outcome"]) == ("success", "failure", "escalated")
    assert (ok["customer_feedback"], ok["reworked"]) == (1.0, True)
    assert ok["cost_usd"] == pytest.approx(0.00325)  # Langfuse's own cost
    assert failed["cost_usd"] == pytest.approx(0.00207)  # (40 x 3 + 2000 x 0.3 + 90 x 15) / 1e6
    assert unknown["cost_usd"] is None
    assert result.unknown_tokens == {"mystery-llm": 1}


def test_first_look_import_through_the_registry() -> None:
    paths = [FIXTURES / name for name in ("observations_v2.json", "scores.json")]
    result = import_traces("langfuse", paths, None, settings=SourceSettings())
    assert result.per_agent == {"support-agent": 2, "refund-agent": 1, "research-agent": 1}
    assert result.skipped.seen.records == 14 and result.skipped.seen.traces == 4
    assert result.skipped.seen.kinds == {"GENERATION": 4, "TOOL": 2, "SPAN": 2, "AGENT": 1}


# --- usage conventions --------------------------------------------------------------------------


def _generation(**fields: Any) -> dict[str, Any]:
    return {
        "id": "g1", "traceId": "t1", "type": "GENERATION", "name": "llm", "model": "m",
        "startTime": "2026-11-20T10:00:00Z", "endTime": "2026-11-20T10:00:01Z", **fields,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Langfuse's OpenTelemetry mapping: cached and cache-creation taken out of `input`
        (
            {
                "usageDetails": {
                    "input": 100,
                    "input_cached_tokens": 800,
                    "input_cache_creation": 50,
                    "output": 20,
                    "total": 970,
                }
            },
            LlmCall("m", 950, 20, 800, 50),
        ),
        # Anthropic tiers beside their total are counted once
        (
            {
                "usageDetails": {
                    "input": 10,
                    "cache_creation_input_tokens": 300,
                    "cache_creation_ephemeral_5m_input_tokens": 300,
                    "output": 5,
                }
            },
            LlmCall("m", 310, 5, 0, 300),
        ),
        # a gross `input` ingested beside its cached part: the total tells
        (
            {
                "usageDetails": {
                    "input": 1200,
                    "cache_read_input_tokens": 1000,
                    "output": 150,
                    "total": 1350,
                }
            },
            LlmCall("m", 1200, 150, 1000),
        ),
        # reasoning tokens are output
        (
            {"usageDetails": {"input": 10, "output": 5, "output_reasoning_tokens": 40}},
            LlmCall("m", 10, 45),
        ),
        # the legacy `usage`, and the export's reduced sums
        ({"usage": {"input": 7, "output": 3, "unit": "TOKENS"}}, LlmCall("m", 7, 3)),
        ({"usage": {"input": 700, "output": 30, "unit": "CHARACTERS"}}, LlmCall("m", None, None)),
        ({"inputUsage": "12", "outputUsage": "4", "totalUsage": "16"}, LlmCall("m", 12, 4)),
        ({"promptTokens": 9, "completionTokens": 1}, LlmCall("m", 9, 1)),
        # nothing, or only a total: unknown
        ({"usageDetails": {}, "inputUsage": 0, "outputUsage": 0}, LlmCall("m", None, None)),
        ({"usageDetails": {"total": 99}}, LlmCall("m", None, None)),
    ],
)
def test_usage_details_count_every_input_bucket_once(
    tmp_path: Path, fields: dict[str, Any], expected: LlmCall
) -> None:
    path = tmp_path / "observations.jsonl"
    path.write_text(json.dumps(_generation(**fields)) + "\n")
    (task,), _ = langfuse.read([path], SourceSettings())
    assert task.llm_calls == [expected]


def test_blob_storage_snake_case_and_v3_score_subjects(tmp_path: Path) -> None:
    """Langfuse's blob storage export (ClickHouse column names) and scores of the v3 API, which
    name their trace or observation in a `subject`."""
    observation = {
        "id": "o1", "trace_id": "t1", "type": "GENERATION", "name": "planner",
        "start_time": "2026-11-20 10:00:00.000", "end_time": "2026-11-20 10:00:02.500",
        "parent_observation_id": None, "level": "DEFAULT", "provided_model_name": "gpt-4o",
        "usage_details": {"input": 10, "output": 5}, "cost_details": {"total": 0.5},
    }  # fmt: skip
    scores = [
        {"id": "s1", "name": "quality", "dataType": "NUMERIC", "value": 0.25,
         "subject": {"kind": "observation", "id": "o1"}},
        {"id": "s2", "name": "quality", "dataType": "NUMERIC", "value": 0.75,
         "subject": {"kind": "trace", "id": "t1"}},
        {"id": "s3", "name": "escalate", "dataType": "CATEGORICAL", "stringValue": "no",
         "subject": {"kind": "trace", "id": "t1"}},
    ]  # fmt: skip
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in [observation, *scores]) + "\n")

    (task,), skipped = langfuse.read([path], SourceSettings())

    assert not skipped.by_reason
    assert (task.agent_name, (task.end - task.start).total_seconds()) == ("planner", 2.5)
    assert (task.llm_calls, task.cost_usd) == ([LlmCall("gpt-4o", 10, 5)], 0.5)
    assert task.feedback == {"quality": 0.5, "escalate": False}
    assert detect_format(path) == "langfuse"


def test_a_trace_with_its_observations_inside(tmp_path: Path) -> None:
    """`GET /api/public/traces/{id}`: the trace, its observations and scores in one object."""
    trace = {
        "id": "t9", "name": "billing-agent", "timestamp": "2026-11-20T10:00:00Z",
        "htmlPath": "/project/p/traces/t9", "latency": 2.0, "totalCost": 0.0, "tags": ["eu"],
        "observations": [
            {"id": "a", "type": "SPAN", "name": "run", "startTime": "2026-11-20T10:00:00Z",
             "endTime": "2026-11-20T10:00:02Z", "level": "ERROR"},
            {"id": "b", "type": "TOOL", "name": "refund", "parentObservationId": "a",
             "startTime": "2026-11-20T10:00:01Z", "endTime": "2026-11-20T10:00:01.5Z"},
        ],
        "scores": [{"id": "s", "name": "csat", "dataType": "NUMERIC", "value": 4}],
    }  # fmt: skip
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(trace, indent=2))

    (task,), skipped = langfuse.read([path], SourceSettings())

    assert (task.task_id, task.agent_name, task.error) == ("t9", "billing-agent", True)
    assert (task.tool_names, task.tags, task.feedback) == ({"refund"}, {"eu"}, {"csat": 4.0})
    assert skipped.seen.records == 4 and skipped.seen.traces == 1
    assert detect_format(path) == "langfuse"


def test_running_orphaned_and_malformed_records_are_skipped_by_reason(tmp_path: Path) -> None:
    records = [
        _generation(id="r", traceId="running", parentObservationId=None, endTime=None),
        _generation(id="c", traceId="orphans", parentObservationId="not-exported"),
        _generation(id="x", traceId=None),
        _generation(id=["not", "an", "id"]),
        {"hello": "world"},
        _generation(id="e", traceId="late", endTime="2026-11-20T09:00:00Z"),
        _generation(id="ok", traceId="fine"),
    ]
    path = tmp_path / "observations.jsonl"
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n")

    tasks, skipped = langfuse.read([path], SourceSettings())

    assert [task.task_id for task in tasks] == ["fine"]
    assert skipped.examples == {
        "missing_timestamp": [f"{path}:1"], "no_root_observation": [f"{path}:2"],
        "missing_id": [f"{path}:3"], "bad_id": [f"{path}:4"], "not_langfuse": [f"{path}:5"],
        "end_before_start": [f"{path}:6"],
    }  # fmt: skip


# --- detection and the command line -------------------------------------------------------------


@pytest.mark.parametrize("export", [*OBSERVATIONS, "traces.json", "scores.json"])
def test_auto_detects_every_langfuse_export(export: str) -> None:
    assert detect_format(FIXTURES / export) == "langfuse"


@pytest.mark.parametrize(
    "columns",
    [
        {"id", "op_name", "trace_id", "started_at", "parent_id", "summary"},  # Weave
        {"id", "run_type", "trace_id", "start_time", "parent_run_id", "dotted_order"},  # LangSmith
        {"context.span_id", "context.trace_id", "span_kind", "name", "start_time"},  # Phoenix
        {"context.trace_id", "context.span_id", "kind", "resource", "name"},  # OTel console
        {"timestamp", "agent", "outcome", "latency_s", "task_id"},  # an events file
    ],
)
def test_langfuse_claims_no_other_export(columns: set[str]) -> None:
    assert not SOURCES["langfuse"].detect(columns)


def test_no_earlier_source_claims_a_langfuse_export() -> None:
    for export in [*OBSERVATIONS, "traces.json", "scores.json"]:
        columns = _columns_of(FIXTURES / export)
        for name, source in SOURCES.items():
            assert source.detect(columns) == (name == "langfuse"), (name, export)


def test_the_command_line_imports_observations_traces_and_scores(
    govkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = [str(FIXTURES / name) for name in ("observations.csv", "traces.json", "scores.json")]
    result = govkit("events", "import", *files, "--from", "langfuse", "--out", "events.parquet")
    assert result.exit_code == 0, result.output
    rows = duckdb.execute(
        "SELECT task_id, agent, outcome FROM read_parquet('events.parquet') ORDER BY task_id"
    ).fetchall()
    assert rows == [
        ("t-fail", "refund-agent", "failure"), ("t-ok", "support-agent", "success"),
        ("t-unknown", "research-agent", "success"), ("t-v2", "support-agent", "success"),
    ]  # fmt: skip
    auto = govkit("events", "import", files[0], "--out", "auto.parquet")
    assert auto.exit_code == 0, auto.output
    assert "as Langfuse observations (langfuse)" in auto.output


def test_a_parquet_export_reads_as_the_api_response_does(tmp_path: Path) -> None:
    parquet, source = tmp_path / "observations.parquet", FIXTURES / "observations_v2.json"
    duckdb.execute(
        f"COPY (SELECT o.* FROM (SELECT unnest(data) AS o FROM read_json_auto('{source}'))) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    assert (
        langfuse.read([parquet], SourceSettings())[0]
        == langfuse.read([source], SourceSettings())[0]
    )
    assert detect_format(parquet) == "langfuse"
