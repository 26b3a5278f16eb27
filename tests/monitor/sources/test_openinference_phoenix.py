"""Arize Phoenix exports as teams really write them, read by the OpenInference reader.

The fixtures under fixtures/phoenix/ were written by Phoenix itself (see make_fixtures.py there):
spans sent to a Phoenix server over OTLP, annotated through its client, then exported with
pandas (`to_parquet`, `to_json` in several orientations, `to_csv`), Phoenix's REST API and
`TraceDataset.save()`. They hold six tasks: a success with cached prompt tokens and feedback, an
error, an escalation (a hand-off tool), a LangGraph chain named by `agent.name` whose LLM call
has no token counts, one whose LLM calls all carry `llm.cost.total`, one where only some do.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from monitor.sources import openinference
from monitor.sources.common import ImportResult, LlmCall, Task, to_event
from monitor.sources.importer import detect_format, import_traces
from monitor.sources.summary import format_summary
from playbook.core.errors import UsageError
from playbook.core.settings import ModelPrice, Pricing, SourceSettings

PHOENIX = Path(__file__).parent / "fixtures" / "phoenix"
SPAN_IDS: dict[str, str] = json.loads((PHOENIX / "span_ids.json").read_text())
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
SETTINGS = SourceSettings.model_validate(
    {
        "escalation": {"tools": ["handoff_to_human"]},
        "feedback": {"customer_feedback": ["user_rating"], "reworked": ["reworked"]},
    }
)
PRICING = Pricing(
    models={
        "gpt-4o": ModelPrice(
            input_per_million=2.5, output_per_million=10.0,
            cache_read_per_million=1.25, cache_write_per_million=3.125,
        ),
        "gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.6),
    }
)  # fmt: skip
# 500 uncached + 400 cache-read + 100 cache-write input tokens, 200 output tokens
OK_COST = (500 * 2.5 + 400 * 1.25 + 100 * 3.125 + 200 * 10.0) / 1_000_000
PART_COSTED = 2 * (100 * 2.5 + 20 * 10.0) / 1_000_000  # priced: one call had no llm.cost.total

SPAN_EXPORTS = [
    "spans.parquet",  # to_parquet(): times as timestamp[ns, tz=UTC]
    "trace_dataset/trace_dataset-*.parquet",  # TraceDataset.save()
    "spans.jsonl",  # to_json(orient="records", lines=True): times as epoch milliseconds
    "spans_iso.jsonl",  # ... date_format="iso"
    "spans.json",  # to_json(orient="records", indent=2)
    "spans_index.json",  # to_json(orient="index"): {"<span id>": {...}}
    "spans_split.json",  # to_json(orient="split"): {"columns", "index", "data"}
    "spans.csv",  # to_csv(): the index first, numbers as "12.0", lists as Python reprs
    "spans_api.json",  # Client().spans.get_spans(): `context` and `attributes` nested
]
ANNOTATION_EXPORTS = [
    "annotations.parquet",  # to_parquet(): the `span_id` index written as a column
    "annotations.csv",  # to_csv(): `span_id` the first column
    "annotations_unnamed_index.csv",  # ... the index column without a name
    "annotations.jsonl",  # reset_index().to_json(orient="records", lines=True)
    "annotations_split.json",  # to_json(orient="split"): the span ids under "index"
    "annotations_table.json",  # to_json(orient="table")
    "annotations_api.json",  # Client().spans.get_span_annotations(): `name`, nested `result`
]


def files(pattern: str) -> list[Path]:
    found = sorted(PHOENIX.glob(pattern))
    assert found, pattern
    return found


def by_start(tasks: list[Task]) -> list[Task]:
    return sorted(tasks, key=lambda task: task.start)


def event(task: Task, result: ImportResult | None = None) -> dict[str, Any]:
    row = to_event(
        task, settings=SETTINGS, pricing=PRICING, charters=None, result=result or ImportResult()
    )
    assert row is not None
    return row


@pytest.mark.parametrize("export", SPAN_EXPORTS)
def test_every_spans_export_reads_the_same_tasks(export: str) -> None:
    tasks, skipped = openinference.read([*files(export), PHOENIX / "annotations.parquet"], SETTINGS)

    ok, failed, escalated, unknown, costed, part = tasks = by_start(tasks)
    precision = timedelta(milliseconds=1)  # JSON: epoch or ISO milliseconds
    assert abs(ok.start - (T0 + timedelta(seconds=0.123456))) < precision
    assert ok.start.tzinfo is not None
    assert [(task.agent_name, (task.end - task.start).total_seconds()) for task in tasks] == [
        ("support_agent", 12.5), ("refund_agent", 3.5), ("support_agent", 10.0),
        ("billing_agent", 1.5), ("triage_agent", 4.0), ("triage_agent", 3.0),
    ]  # fmt: skip
    assert ok.llm_calls == [LlmCall("gpt-4o", 1000, 200, 400, 100)]  # prompt includes the cache
    assert ok.tool_names == {"lookup_order"}  # a tool under the LLM span
    assert ok.tags == {"beta"}
    assert ok.attributes == {
        "session.id": "sess-1", "metadata.customer_tier": "gold", "customer_tier": "gold"
    }  # fmt: skip
    assert ok.feedback == {"user_rating": pytest.approx(0.8), "reworked": False}
    assert (failed.error, failed.tool_names, failed.llm_calls) == (True, {"issue_refund"}, [])
    assert escalated.feedback == {"user_rating": pytest.approx(0.2)}
    assert unknown.llm_calls == [LlmCall("claude-sonnet-4", None, None)]  # no token counts
    assert [call.input_tokens for call in costed.llm_calls] == [50, 50]
    assert costed.cost_usd == pytest.approx(0.03)  # every LLM span has llm.cost.total
    assert part.cost_usd is None  # one has not: priced from the tokens

    result = ImportResult()
    rows = [event(task, result) for task in tasks]
    assert [(row["outcome"], row["cost_usd"], row["customer_feedback"]) for row in rows] == [
        ("success", pytest.approx(OK_COST), pytest.approx(0.8)),
        ("failure", None, None),
        ("escalated", None, pytest.approx(0.2)),
        ("success", None, None),  # unknown tokens: the cost is left empty, never 0
        ("success", pytest.approx(0.03), None),
        ("success", pytest.approx(PART_COSTED), None),
    ]
    assert rows[0]["reworked"] is False
    assert result.unknown_tokens == {"claude-sonnet-4": 1}
    # annotations on other spans (an LLM judge's on the LLM call) are not the task's feedback
    assert dict(skipped.by_reason) == {}
    assert (skipped.seen.records, skipped.seen.traces) == (15, 6)
    assert skipped.seen.kinds == {"LLM": 6, "AGENT": 5, "TOOL": 3, "CHAIN": 1}


@pytest.mark.parametrize("export", ANNOTATION_EXPORTS)
def test_every_annotations_export_joins_by_span_id(export: str) -> None:
    tasks, skipped = openinference.read([PHOENIX / "spans.parquet", PHOENIX / export], SETTINGS)

    ok, failed, escalated, *_ = by_start(tasks)
    assert ok.feedback == {"user_rating": pytest.approx(0.8), "reworked": False}
    assert escalated.feedback == {"user_rating": pytest.approx(0.2)}
    assert failed.feedback == {}  # its rating is on its tool span, not the task's
    assert dict(skipped.by_reason) == {}


@pytest.mark.parametrize("export", ["ratings_index.json", "ratings_columns.json"])
def test_annotations_keyed_by_span_id(export: str) -> None:
    """to_json(orient="index") (`{"<span id>": {...}}`) and pandas' default orient="columns"
    (`{column: {"<span id>": value}}`) of a DataFrame with one annotation per span."""
    tasks, skipped = openinference.read([PHOENIX / "spans.jsonl", PHOENIX / export], SETTINGS)
    ok, _, escalated, *_ = by_start(tasks)
    assert ok.feedback == {"user_rating": pytest.approx(0.8)}
    assert escalated.feedback == {"user_rating": pytest.approx(0.2)}
    assert not skipped.by_reason


def test_annotations_that_lost_their_span_id_are_counted() -> None:
    """to_json(orient="records") drops the DataFrame index, which is the span id: nothing can
    be joined, and the import says so rather than dropping them silently."""
    export = PHOENIX / "annotations_records.json"
    tasks, skipped = openinference.read([PHOENIX / "spans.csv", export], SETTINGS)
    assert all(not task.feedback for task in tasks)
    assert dict(skipped.by_reason) == {"annotation_without_span_id": 5}
    assert skipped.examples["annotation_without_span_id"][0] == f"{export}:record 1"


def test_legacy_evaluations_take_their_name_from_the_file() -> None:
    """A `SpanEvaluations` file has no name column: `TraceDataset.save()` writes the name in its
    Parquet metadata; a CSV of its dataframe is named after it."""
    for export in (
        files("trace_dataset/*.parquet"),
        [PHOENIX / "spans.jsonl", PHOENIX / "correctness.csv"],
    ):
        tasks, skipped = openinference.read(export, SETTINGS)
        ok, failed, *rest = by_start(tasks)
        assert (ok.feedback, failed.feedback) == ({"correctness": 1.0}, {"correctness": 0.0})
        assert all(not task.feedback for task in rest)
        assert not skipped.by_reason


def test_annotation_problems_are_counted_by_reason(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    rows = [
        {"span_id": SPAN_IDS["ok"], "annotation_name": "user_rating", "result.score": 1.0},
        {"span_id": SPAN_IDS["ok"], "annotation_name": "user_rating", "result.score": 0.5},
        {"span_id": "not-in-the-export", "annotation_name": "user_rating", "result.score": 1},
        {"span_id": SPAN_IDS["ok"], "annotation_name": "tone", "result.label": "friendly"},
        {"span_id": ["a", "list"], "annotation_name": "user_rating", "result.score": 1},
        {"annotation_name": "user_rating", "annotator_kind": "HUMAN", "result.score": 1},
        {"span_id": SPAN_IDS["ok.llm"], "annotation_name": "hallucination", "score": 0},
    ]
    notes.write_text("".join(json.dumps(row) + "\n" for row in rows))

    tasks, skipped = openinference.read([PHOENIX / "spans.parquet", notes], SETTINGS)

    assert by_start(tasks)[0].feedback == {"user_rating": pytest.approx(0.75)}  # the mean
    assert dict(skipped.by_reason) == {
        "annotation_span_not_found": 1, "annotation_without_score": 1, "bad_id": 1,
        "annotation_without_span_id": 1,
    }  # fmt: skip
    assert skipped.examples["annotation_span_not_found"] == [f"{notes}:3"]
    assert skipped.examples["annotation_without_score"] == [f"{notes}:4"]


def phoenix_frame(start: str = "2026-11-20T10:00:00.123456Z") -> pd.DataFrame:
    """A two-span trace shaped like `get_spans_dataframe()`: indexed by `context.span_id`."""
    begin = pd.Timestamp(start)
    frame = pd.DataFrame(
        {
            "name": ["support_agent", "ChatCompletion"],
            "span_kind": ["AGENT", "LLM"],
            "parent_id": [None, "s1"],
            "start_time": [begin, begin + pd.Timedelta(seconds=1)],
            "end_time": [begin + pd.Timedelta(seconds=5), begin + pd.Timedelta(seconds=2)],
            "status_code": ["OK", "OK"],
            "context.span_id": ["s1", "s2"],
            "context.trace_id": ["t1", "t1"],
            "attributes.llm.model_name": [None, "gpt-4o"],
            "attributes.llm.token_count.prompt": [float("nan"), 1000.0],
            "attributes.llm.token_count.completion": [float("nan"), 200.0],
        }
    )
    return frame.set_index("context.span_id", drop=False)


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", None])
def test_parquet_times_of_any_unit_and_zone(tmp_path: Path, unit: str, zone: str | None) -> None:
    frame = phoenix_frame("2026-11-20T10:00:00Z")
    for column in ("start_time", "end_time"):
        times = frame[column].dt.tz_convert(zone) if zone else frame[column].dt.tz_localize(None)
        frame[column] = times.astype(
            f"datetime64[{unit}, {zone}]" if zone else f"datetime64[{unit}]"
        )
    path = tmp_path / "spans.parquet"
    frame.to_parquet(path)

    (task,), skipped = openinference.read([path], SETTINGS)

    assert (task.start, task.end - task.start) == (T0, timedelta(seconds=5))  # naive: UTC
    assert task.llm_calls == [LlmCall("gpt-4o", 1000, 200)]
    assert not skipped.by_reason


def test_token_counts_as_floats_text_and_missing(tmp_path: Path) -> None:
    """pandas writes counts as floats (NaN where a span has none); CSV makes them text."""
    frame = phoenix_frame()
    llm = {
        "attributes.llm.token_count.prompt": [float("nan"), "300.0", "100", None, "nan"],
        "attributes.llm.token_count.completion": [float("nan"), "", "20.0", "7", "5"],
        "attributes.llm.token_count.total": [float("nan"), "350.0", None, "57.0", None],
        "attributes.llm.token_count.prompt_details.cache_read": [None, "100.0", "80", None, None],
        "attributes.llm.token_count.prompt_details.cache_write": [None, None, "40", None, None],
        "attributes.llm.token_count.prompt_details.audio": [None, "9", None, None, None],
    }
    calls = pd.concat([frame.iloc[[0]], *[frame.iloc[[1]]] * 4])
    calls["context.span_id"] = calls.index = ["s1", "s2", "s3", "s4", "s5"]
    for column, values in llm.items():
        calls[column] = values
    path = tmp_path / "spans.csv"
    calls.to_csv(path)

    (task,), _ = openinference.read([path], SETTINGS)

    assert task.llm_calls == [
        LlmCall("gpt-4o", 300, 50, 100, 0),  # completion from the total; audio ignored
        LlmCall("gpt-4o", 220, 20, 80, 40),  # a prompt below its cache counted it apart
        LlmCall("gpt-4o", 50, 7),  # prompt from the total
        LlmCall("gpt-4o", None, 5),  # unknown
    ]
    assert event(task)["cost_usd"] is None


def test_task_rule_picks_the_outermost_matching_spans(tmp_path: Path) -> None:
    """sources.yaml `tasks.openinference`: AGENT spans under a framework's CHAIN root are the
    tasks; a nested AGENT is part of its outer one; a trace without any keeps its root."""

    def span(sid: str, parent: str | None, kind: str, name: str, trace: str = "t1") -> dict:
        start = T0 + timedelta(seconds=int(sid[1:]))
        return {
            "context.span_id": sid, "context.trace_id": trace, "parent_id": parent,
            "name": name, "span_kind": kind, "start_time": start.isoformat(),
            "end_time": (start + timedelta(seconds=30)).isoformat(), "status_code": "OK",
            "attributes.llm.model_name": "gpt-4o" if kind == "LLM" else None,
        }  # fmt: skip

    spans = [
        span("s0", None, "CHAIN", "LangGraph"),
        span("s1", "s0", "AGENT", "planner"),
        span("s2", "s1", "AGENT", "sub_agent"),  # nested: part of the planner's task
        span("s3", "s2", "LLM", "ChatCompletion"),
        span("s4", "s0", "AGENT", "writer"),
        span("s5", "s0", "LLM", "ChatCompletion"),  # above the agents: no task's
        span("s6", None, "CHAIN", "batch_job", trace="t2"),
        span("s7", "s6", "LLM", "ChatCompletion", trace="t2"),
    ]
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in spans))
    settings = SourceSettings.model_validate({"tasks": {"openinference": {"span_kind": ["agent"]}}})

    tasks, skipped = openinference.read([path], settings)

    assert [(task.task_id, task.agent_name, len(task.llm_calls)) for task in by_start(tasks)] == [
        ("t1/s1", "planner", 1), ("t1/s4", "writer", 0), ("t2", "batch_job", 1),
    ]  # fmt: skip
    assert not skipped.by_reason
    settings = SourceSettings.model_validate({"tasks": {"openinference": {"span_name": "writ*"}}})
    tasks, _ = openinference.read([path], settings)
    assert sorted(task.task_id for task in tasks) == ["t1", "t2"]  # one task: the trace id


def test_no_task_says_what_was_seen_and_the_rule_that_makes_tasks(
    tmp_path: Path, govkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export of LLM spans only (their roots elsewhere): nothing is a task until sources.yaml
    names them."""
    frame = pd.read_parquet(PHOENIX / "spans.parquet")
    path = tmp_path / "llm_spans.parquet"
    frame[frame["span_kind"] == "LLM"].to_parquet(path)
    monkeypatch.chdir(tmp_path)  # no governance directory: a first look

    result = govkit("events", "import", str(path), "--out", "events.parquet")
    assert result.exit_code == 2, result.output
    assert "no agent tasks to write" in result.output
    assert "read 6 record(s) in 4 trace(s), none of them a task" in result.output
    assert "kinds of record seen: LLM (6)" in result.output
    assert "no_root_span: 4" in result.output

    mapping = tmp_path / "sources.yaml"
    mapping.write_text("tasks:\n  openinference: {span_kind: [LLM]}\n")
    result = govkit("events", "import", str(path), "--mapping", str(mapping), "--out", "e.csv")
    assert result.exit_code == 0, result.output
    assert "6 tasks from 1 openinference file(s)" in result.output


def test_cli_imports_spans_with_annotations(
    tmp_path: Path, govkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One import of a spans file and an annotations file, in either order, format detected."""
    monkeypatch.chdir(tmp_path)
    mapping = tmp_path / "sources.yaml"
    mapping.write_text("feedback:\n  customer_feedback: [user_rating]\n  reworked: [reworked]\n")
    for files_ in (["spans.parquet", "annotations.csv"], ["annotations.csv", "spans.parquet"]):
        paths = [str(PHOENIX / name) for name in files_]
        result = govkit("events", "import", *paths, "--mapping", str(mapping), "--out", "e.parquet")
        assert result.exit_code == 0, result.output
        assert "as OpenInference (Phoenix spans) (openinference)" in result.output
        assert "6 tasks from 2 openinference file(s)" in result.output
        assert "support_agent: 2" in result.output and "billing_agent: 1" in result.output
        rows = (
            duckdb.connect()
            .execute(
                "SELECT agent, outcome, customer_feedback, reworked, cost_usd FROM 'e.parquet' "
                "ORDER BY timestamp"
            )
            .fetchall()
        )
        assert rows == [
            ("support_agent", "success", 0.8, False, None),
            ("refund_agent", "failure", None, None, None),
            ("support_agent", "success", 0.2, None, None),  # no escalation rule given
            ("billing_agent", "success", None, None, None),
            ("triage_agent", "success", None, None, pytest.approx(0.03)),
            ("triage_agent", "success", None, None, None),  # no pricing.yaml: unpriced
        ]


def test_annotations_alone_are_no_tasks(tmp_path: Path) -> None:
    result = import_traces("openinference", [PHOENIX / "annotations.csv"], None)
    assert result.rows == []
    assert dict(result.skipped.by_reason) == {"annotation_span_not_found": 5}
    assert "annotation_span_not_found: 5" in format_summary(result, "openinference", 1)


@pytest.mark.parametrize(
    "export",
    [
        name
        for name in [*SPAN_EXPORTS, *ANNOTATION_EXPORTS, "annotations_records.json",
                     "ratings_index.json", "ratings_columns.json", "correctness.csv"]
        if "split" not in name and "table" not in name
    ],
)  # fmt: skip
def test_detects_phoenix_exports(export: str) -> None:
    for path in files(export):
        assert detect_format(path) == "openinference"


@pytest.mark.parametrize("export", ["spans_split.json", "annotations_split.json",
                                    "annotations_table.json"])  # fmt: skip
def test_detects_split_and_table_documents(export: str) -> None:
    assert detect_format(PHOENIX / export) == "openinference"


def test_detect_rejects_other_exports() -> None:
    source = openinference.OpenInferenceSource()
    for columns in (
        {"id", "name", "run_type", "parent_run_id", "trace_id", "start_time", "dotted_order"},
        {"id", "op_name", "display_name", "started_at", "ended_at", "trace_id", "parent_id"},
        {"id", "name", "value", "traceId", "observationId", "source", "dataType"},
        {"id", "name", "type", "traceId", "startTime", "endTime", "usage.input"},
        {"timestamp", "agent", "outcome"},
    ):
        assert not source.detect(columns), columns


def test_a_parquet_file_that_is_not_parquet_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    path.write_text("not parquet")
    with pytest.raises(UsageError, match=r"spans\.parquet"):
        openinference.read([path], SETTINGS)
