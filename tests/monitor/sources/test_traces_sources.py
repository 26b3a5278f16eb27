"""The OpenInference (Phoenix), LangSmith and Weave readers, on exports built with each
ecosystem's own names: OpenInference's semantic conventions, LangSmith's `Run` schema, Weave's
call schema. Each export holds the same five tasks (a nested success with feedback, an error, an
escalation, an unpriced model, an unmapped agent) plus malformed records."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openinference.semconv.trace import OpenInferenceSpanKindValues as Kind
from openinference.semconv.trace import SpanAttributes as SA

from monitor.sources import langsmith, openinference, weave
from monitor.sources.common import ImportResult, Skipped, Task, to_event
from playbook.core.settings import ModelPrice, Pricing, SourceSettings

langsmith_schemas = pytest.importorskip("langsmith.schemas")

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
CHARTERS = {"support-replies", "refunds"}
PRICING = Pricing(models={"gpt-4o": ModelPrice(input_per_million=2.5, output_per_million=10.0)})
SETTINGS = SourceSettings.model_validate(
    {
        "agents": {"support_agent": "support-replies", "refund_agent": "refunds"},
        "escalation": {"tags": ["needs-human"], "tools": ["handoff_to_human"]},
        "feedback": {"customer_feedback": ["user_rating"], "reworked": ["reworked"]},
    }
)
GPT4O_COST = (1000 * 2.5 + 200 * 10.0) / 1_000_000


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def events(tasks: list[Task]) -> tuple[dict[str, dict[str, Any]], ImportResult]:
    """Event rows by agent name as traced (the unmapped one is left out and counted)."""
    result = ImportResult()
    rows = {}
    for task in tasks:
        row = to_event(task, settings=SETTINGS, pricing=PRICING, charters=CHARTERS, result=result)
        if row is not None:
            rows[task.task_id] = row
    return rows, result


def row(task_id: str, agent: str, outcome: str, start: float, end: float, **extra: Any) -> dict:
    return {
        "timestamp": at(start).isoformat(),
        "agent": agent,
        "task_id": task_id,
        "outcome": outcome,
        "latency_s": end - start,
        "cost_usd": None,
        "customer_feedback": None,
        "reworked": None,
        "policy_hit": None,
        "rolled_back": None,
        **extra,
    }


def check_common(tasks: list[Task], skipped: Skipped, ids: dict[str, str]) -> None:
    """The five tasks, field by field where the sources agree, and their event rows."""
    by_id = {task.task_id: task for task in tasks}
    assert set(by_id) == set(ids.values())
    ok, failed, escalated = by_id[ids["ok"]], by_id[ids["error"]], by_id[ids["escalated"]]
    unpriced, unmapped = by_id[ids["unpriced"]], by_id[ids["unmapped"]]
    assert (ok.agent_name, ok.start, ok.end, ok.error) == ("support_agent", at(0), at(12), False)
    assert [(c.model, c.input_tokens, c.output_tokens) for c in ok.llm_calls] == [
        ("gpt-4o", 1000, 200)
    ]
    assert "lookup_order" in ok.tool_names
    assert ok.feedback["user_rating"] == pytest.approx(0.8)
    assert (failed.agent_name, failed.error) == ("refund_agent", True)
    assert escalated.error is False
    assert [c.model for c in unpriced.llm_calls] == ["mystery-model"]
    assert unpriced.cost_usd is None
    assert unmapped.agent_name == "shadow_bot"

    rows, result = events(tasks)
    assert rows[ids["ok"]] == row(
        ids["ok"], "support-replies", "success", 0, 12, cost_usd=pytest.approx(GPT4O_COST),
        customer_feedback=pytest.approx(0.8), reworked=False,
    )  # fmt: skip
    assert rows[ids["error"]] == row(ids["error"], "refunds", "failure", 100, 103.5)
    assert rows[ids["escalated"]]["outcome"] == "escalated"
    assert rows[ids["unpriced"]] == row(ids["unpriced"], "support-replies", "success", 300, 301)
    assert ids["unmapped"] not in rows
    assert result.unmapped_agents == {"shadow_bot": 1}
    assert result.unpriced_models == {"mystery-model": 1}


# --- OpenInference / Phoenix --------------------------------------------------------------------

OI_COLUMNS = {
    "context.span_id": "VARCHAR",
    "context.trace_id": "VARCHAR",
    "parent_id": "VARCHAR",
    "name": "VARCHAR",
    "span_kind": "VARCHAR",
    "start_time": "TIMESTAMPTZ",
    "end_time": "TIMESTAMPTZ",
    "status_code": "VARCHAR",
    f"attributes.{SA.OPENINFERENCE_SPAN_KIND}": "VARCHAR",
    f"attributes.{SA.LLM_MODEL_NAME}": "VARCHAR",
    f"attributes.{SA.LLM_TOKEN_COUNT_PROMPT}": "BIGINT",
    f"attributes.{SA.LLM_TOKEN_COUNT_COMPLETION}": "BIGINT",
    f"attributes.{SA.TOOL_NAME}": "VARCHAR",
    f"attributes.{SA.TAG_TAGS}": "VARCHAR[]",
    f"attributes.{SA.METADATA}": "VARCHAR",  # OpenInference records metadata as a JSON string
    f"attributes.{SA.SESSION_ID}": "VARCHAR",
}


def span(trace: str, sid: str, parent: str | None, name: str, kind: Kind, start: float,
         end: float | None, *, status: str = "OK", **attributes: Any) -> dict[str, Any]:  # fmt: skip
    record = dict.fromkeys(OI_COLUMNS)
    record.update({
        "context.span_id": sid, "context.trace_id": trace, "parent_id": parent, "name": name,
        "span_kind": kind.value, "start_time": at(start), "end_time": None if end is None else at(end),
        "status_code": status, f"attributes.{SA.OPENINFERENCE_SPAN_KIND}": kind.value,
    })  # fmt: skip
    record.update({f"attributes.{key}": value for key, value in attributes.items()})
    return record


def llm(trace: str, sid: str, parent: str, model: str, start: float) -> dict[str, Any]:
    return span(trace, sid, parent, "ChatCompletion", Kind.LLM, start, start + 1, **{
        SA.LLM_MODEL_NAME: model, SA.LLM_TOKEN_COUNT_PROMPT: 1000, SA.LLM_TOKEN_COUNT_COMPLETION: 200,
    })  # fmt: skip


def tool(trace: str, sid: str, parent: str, name: str, start: float) -> dict[str, Any]:
    return span(trace, sid, parent, name, Kind.TOOL, start, start + 1, **{SA.TOOL_NAME: name})


# fmt: off
OI_SPANS = [
    span("t1", "s1", None, "support_agent", Kind.AGENT, 0, 12, **{
        SA.METADATA: json.dumps({"customer_tier": "gold", "reworked": False}),
        SA.SESSION_ID: "sess-1", SA.TAG_TAGS: ["beta"],
    }),
    llm("t1", "s2", "s1", "gpt-4o", 1),
    tool("t1", "s3", "s2", "lookup_order", 2),  # agent -> LLM -> tool
    span("t2", "s4", None, "refund_agent", Kind.AGENT, 100, 103.5, status="ERROR"),
    tool("t2", "s5", "s4", "issue_refund", 101),
    span("t3", "s6", None, "support_agent", Kind.AGENT, 200, 210),
    tool("t3", "s7", "s6", "handoff_to_human", 205),
    span("t4", "s8", None, "support_agent", Kind.AGENT, 300, 301),
    llm("t4", "s9", "s8", "mystery-model", 300),
    span("t5", "s10", None, "shadow_bot", Kind.AGENT, 400, 401),
    span("t6", "s11", None, "support_agent", Kind.AGENT, 500, None),  # still running
    span("t7", "s12", None, "support_agent", Kind.AGENT, 600, 590),  # ends before it starts
    tool("t8", "s13", "gone", "lookup_order", 700),  # its root is not in the export
]
# fmt: on
OI_IDS = {"ok": "t1", "error": "t2", "escalated": "t3", "unpriced": "t4", "unmapped": "t5"}


def write_with_duckdb(path: Path, columns: dict[str, str], records: list[dict[str, Any]]) -> Path:
    """The records as Parquet or JSON Lines (by `path`'s suffix), written by duckdb."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    definitions = ", ".join(f'"{column}" {kind}' for column, kind in columns.items())
    con.execute(f"CREATE TABLE t ({definitions})")
    con.executemany(
        f"INSERT INTO t VALUES ({', '.join('?' * len(columns))})",
        [[record[column] for column in columns] for record in records],
    )
    fmt = "parquet" if path.suffix == ".parquet" else "json"
    con.execute(f"COPY t TO '{path}' (FORMAT {fmt})")
    return path


def write_annotations(path: Path) -> Path:
    columns = {
        "span_id": "VARCHAR", "annotation_name": "VARCHAR", "annotator_kind": "VARCHAR",
        "result.label": "VARCHAR", "result.score": "DOUBLE",
    }  # fmt: skip
    return write_with_duckdb(path, columns, [
        {"span_id": "s1", "annotation_name": "user_rating", "annotator_kind": "HUMAN",
         "result.label": None, "result.score": 0.8},
        {"span_id": "s1", "annotation_name": "reworked", "annotator_kind": "HUMAN",
         "result.label": "no", "result.score": None},
        {"span_id": "s2", "annotation_name": "hallucination", "annotator_kind": "LLM",
         "result.label": "factual", "result.score": 1.0},  # on a child span: not the task's
    ])  # fmt: skip


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_openinference(tmp_path: Path, suffix: str) -> None:
    spans = write_with_duckdb(tmp_path / f"spans{suffix}", OI_COLUMNS, OI_SPANS)
    if suffix == ".jsonl":
        with spans.open("a") as handle:
            handle.write('{"context.span_id": "s99", "name": \n')
    notes = write_annotations(tmp_path / f"annotations{suffix}")

    tasks, skipped = openinference.read([spans, notes], SETTINGS)

    check_common(tasks, skipped, OI_IDS)
    ok = next(task for task in tasks if task.task_id == "t1")
    assert ok.tags == {"beta"}
    assert ok.attributes == {
        "session.id": "sess-1", "metadata.customer_tier": "gold", "metadata.reworked": False,
        "customer_tier": "gold", "reworked": False,
    }  # fmt: skip
    assert ok.tool_names == {"lookup_order"}
    assert ok.feedback == {"user_rating": pytest.approx(0.8), "reworked": False}
    assert ok.cost_usd is None  # priced from tokens by to_event
    failed = next(task for task in tasks if task.task_id == "t2")
    assert failed.tool_names == {"issue_refund"} and failed.llm_calls == []
    escalated = next(task for task in tasks if task.task_id == "t3")
    assert (escalated.escalated, escalated.tool_names) == (False, {"handoff_to_human"})

    row_or_line = {".parquet": (11, 12), ".jsonl": (11, 12)}[suffix]
    expected = {"missing_timestamp": 1, "end_before_start": 1, "no_root_span": 1}
    if suffix == ".jsonl":
        expected["bad_json"] = 1
        assert skipped.examples["bad_json"] == [f"{spans}:{len(OI_SPANS) + 1}"]
    assert dict(skipped.by_reason) == expected
    assert skipped.examples["missing_timestamp"] == [f"{spans}:{row_or_line[0]}"]
    assert skipped.examples["end_before_start"] == [f"{spans}:{row_or_line[1]}"]
    assert skipped.examples["no_root_span"] == [f"{spans}:13"]


def test_openinference_agent_attribute_and_nested_json(tmp_path: Path) -> None:
    """Phoenix's span JSON nests `context` and `attributes`; `agent_attribute` picks the name."""
    path = tmp_path / "spans.jsonl"
    record = {
        "name": "LangGraph", "span_kind": "CHAIN", "parent_id": None,
        "context": {"span_id": "a1", "trace_id": "tr"},
        "start_time": "2026-11-20T10:00:00.000000+00:00", "end_time": "2026-11-20T10:00:02Z",
        "status_code": "OK",
        "attributes": {"metadata": {"assistant": "support_agent"}, SA.AGENT_NAME: "graph"},
    }  # fmt: skip
    path.write_text(json.dumps(record) + "\n")
    settings = SETTINGS.model_copy(update={"agent_attribute": {"openinference": "assistant"}})
    (task,), _ = openinference.read([path], settings)
    assert (task.agent_name, task.task_id, task.end - task.start) == (
        "support_agent", "tr", timedelta(seconds=2)
    )  # fmt: skip
    (task,), _ = openinference.read([path], SETTINGS)
    assert task.agent_name == "graph"  # attributes.agent.name before the span name


# --- LangSmith ----------------------------------------------------------------------------------


def run(name: str, run_type: str, start: float, end: float | None, *, parent: Any = None,
        trace: uuid.UUID | None = None, **fields: Any) -> Any:  # fmt: skip
    run_id = uuid.uuid4()
    stamp = at(start).strftime("%Y%m%dT%H%M%S%fZ")
    return langsmith_schemas.Run(
        id=run_id, name=name, run_type=run_type, start_time=at(start),
        end_time=None if end is None else at(end), inputs={}, parent_run_id=parent and parent.id,
        trace_id=trace or run_id,
        dotted_order=f"{parent.dotted_order}.{stamp}{run_id}" if parent else f"{stamp}{run_id}",
        **fields,
    )  # fmt: skip


def langsmith_runs() -> tuple[list[Any], dict[str, str]]:
    ok = run("support_agent", "chain", 0, 12, tags=["beta"], status="success",
             extra={"metadata": {"customer_tier": "gold", "reworked": False}},
             feedback_stats={"user_rating": {"n": 2, "avg": 0.8, "stdev": 0.2}})  # fmt: skip
    chat = run("ChatOpenAI", "llm", 1, 2, parent=ok, trace=ok.id, prompt_tokens=1000,
               completion_tokens=200, extra={"invocation_params": {"model": "gpt-4o"}})  # fmt: skip
    lookup = run("lookup_order", "tool", 2, 3, parent=chat, trace=ok.id)
    failed = run("refund_agent", "chain", 100, 103.5, status="error", error="Timeout")
    refund = run("issue_refund", "tool", 101, 102, parent=failed, trace=failed.id)
    escalated = run("support_agent", "chain", 200, 210, tags=["needs-human"], status="success")
    unpriced = run("support_agent", "chain", 300, 301, status="success")
    mystery = run("ChatMystery", "llm", 300, 301, parent=unpriced, trace=unpriced.id,
                  prompt_tokens=10, completion_tokens=5,
                  extra={"metadata": {"ls_model_name": "mystery-model"}})  # fmt: skip
    unmapped = run("shadow_bot", "chain", 400, 401, total_cost=Decimal("0.5"))
    running = run("support_agent", "chain", 500, None)
    ids = {"ok": ok, "error": failed, "escalated": escalated, "unpriced": unpriced,
           "unmapped": unmapped}  # fmt: skip
    runs = [ok, chat, lookup, failed, refund, escalated, unpriced, mystery, unmapped, running]
    return runs, {key: str(value.id) for key, value in ids.items()}


def test_langsmith(tmp_path: Path) -> None:
    runs, ids = langsmith_runs()
    path = tmp_path / "runs.jsonl"
    lines = [json.dumps(r.model_dump(), default=str) for r in runs] + ["not json"]
    path.write_text("\n".join(lines) + "\n")

    tasks, skipped = langsmith.read([path], SETTINGS)

    check_common(tasks, skipped, ids)
    by_id = {task.task_id: task for task in tasks}
    ok = by_id[ids["ok"]]
    assert (ok.tags, ok.tool_names, ok.cost_usd) == ({"beta"}, {"lookup_order"}, None)
    assert ok.attributes == {"customer_tier": "gold", "reworked": False}
    assert ok.feedback == {"user_rating": 0.8}
    assert by_id[ids["error"]].tool_names == {"issue_refund"}
    assert by_id[ids["escalated"]].tags == {"needs-human"}
    assert by_id[ids["unpriced"]].llm_calls[0].input_tokens == 10
    assert by_id[ids["unmapped"]].cost_usd == 0.5  # the run's own total_cost
    assert dict(skipped.by_reason) == {"missing_timestamp": 1, "bad_json": 1}
    assert skipped.examples == {
        "missing_timestamp": [f"{path}:10"], "bad_json": [f"{path}:11"]
    }  # fmt: skip


def test_langsmith_total_cost_wins_over_tokens(tmp_path: Path) -> None:
    root = run("support_agent", "chain", 0, 1, total_cost=Decimal("0.0123"))
    chat = run("ChatMystery", "llm", 0, 1, parent=root, trace=root.id, prompt_tokens=9,
               extra={"metadata": {"ls_model_name": "mystery-model"}})  # fmt: skip
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in (root, chat)))
    tasks, _ = langsmith.read([path], SETTINGS)
    rows, result = events(tasks)
    assert rows[str(root.id)]["cost_usd"] == pytest.approx(0.0123)
    assert not result.unpriced_models


def test_langsmith_parquet_bulk_export(tmp_path: Path) -> None:
    """The bulk export writes Parquet; nested fields may arrive JSON-encoded."""
    runs, ids = langsmith_runs()
    records = []
    for r in runs:
        record = json.loads(json.dumps(r.model_dump(), default=str))
        for key in ("extra", "feedback_stats"):
            record[key] = json.dumps(record[key]) if record[key] is not None else None
        records.append(record)
    jsonl = tmp_path / "runs.jsonl"
    jsonl.write_text("".join(json.dumps(record) + "\n" for record in records))
    parquet = tmp_path / "runs.parquet"
    duckdb.execute(
        f"COPY (SELECT * FROM read_json_auto('{jsonl}')) TO '{parquet}' (FORMAT parquet)"
    )

    tasks, skipped = langsmith.read([parquet], SETTINGS)

    check_common(tasks, skipped, ids)
    assert skipped.examples == {"missing_timestamp": [f"{parquet}:10"]}


# --- Weave --------------------------------------------------------------------------------------

OP = "weave:///acme/support/op/{}:Xy12"


def call(cid: str, trace: str, parent: str | None, op: str, start: float, end: float | None,
         **fields: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "project_id": "acme/support", "id": cid, "op_name": OP.format(op), "display_name": None,
        "trace_id": trace, "parent_id": parent, "started_at": at(start).isoformat(),
        "ended_at": None if end is None else at(end).isoformat(), "exception": None,
        "attributes": {"weave": {"client_version": "0.51.0", "source": "python-sdk"}},
        "inputs": {}, "output": None, "summary": {}, "wb_user_id": "u", "wb_run_id": None,
        "deleted_at": None, **fields,
    }  # fmt: skip


def usage(model: str, tokens_in: int, tokens_out: int, *, anthropic: bool = False) -> dict:
    """`summary.usage` as Weave rolls it up: OpenAI-style or Anthropic-style token names."""
    names = (
        ("input_tokens", "output_tokens") if anthropic else ("prompt_tokens", "completion_tokens")
    )
    return {"usage": {model: {"requests": 1, names[0]: tokens_in, names[1]: tokens_out}}}


# fmt: off
WEAVE_CALLS = [
    call("c1", "w1", None, "support_agent", 0, 12,
         attributes={"env": "prod", "reworked": False, "weave": {"os_name": "Linux"}},
         summary={**usage("gpt-4o", 1000, 200), "weave": {"status": "success", "feedback": [
             {"feedback_type": "wandb.annotation.user_rating", "payload": {"value": 0.8}},
             {"feedback_type": "wandb.reaction.1", "payload": {"emoji": "👍"}},
             {"feedback_type": "wandb.note.1", "payload": {"note": "fine"}},
         ]}}),
    call("c2", "w1", "c1", "openai.chat.completions.create", 1, 2,
         summary=usage("gpt-4o", 1000, 200)),
    call("c3", "w1", "c2", "lookup_order", 2, 3),  # agent -> LLM -> tool
    call("c4", "w2", None, "refund_agent", 100, 103.5,
         exception="TimeoutError: refund service", summary={"weave": {"status": "error"}}),
    call("c5", "w2", "c4", "issue_refund", 101, 102),
    call("c6", "w3", None, "support_agent", 200, 210),
    call("c7", "w3", "c6", "handoff_to_human", 205, 206),
    call("c8", "w4", None, "support_agent", 300, 301),  # no usage of its own: the child's counts
    call("c9", "w4", "c8", "anthropic.Messages.create", 300, 301,
         summary=usage("mystery-model", 10, 5, anthropic=True)),
    call("c10", "w5", None, "main", 400, 401, display_name="shadow_bot"),
    call("c11", "w6", None, "support_agent", 500, None),  # still running
    call("c12", "w7", None, "support_agent", 600, 590),  # ends before it starts
]
# fmt: on
WEAVE_IDS = {"ok": "c1", "error": "c4", "escalated": "c6", "unpriced": "c8", "unmapped": "c10"}


def test_weave(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    lines = [json.dumps(c) for c in WEAVE_CALLS]
    lines.insert(3, '{"id": "c99", "op_name": ')
    path.write_text("\n".join(lines) + "\n")

    tasks, skipped = weave.read([path], SETTINGS)

    check_common(tasks, skipped, WEAVE_IDS)
    by_id = {task.task_id: task for task in tasks}
    ok = by_id["c1"]
    assert ok.attributes == {"env": "prod", "reworked": False}
    assert ok.tool_names == {"openai.chat.completions.create", "lookup_order"}
    assert ok.feedback == {"user_rating": 0.8, "reaction": 1.0}
    assert ok.cost_usd is None
    assert by_id["c4"].tool_names == {"issue_refund"}
    assert by_id["c6"].tool_names == {"handoff_to_human"}
    assert [(c.input_tokens, c.output_tokens) for c in by_id["c8"].llm_calls] == [(10, 5)]
    assert dict(skipped.by_reason) == {"bad_json": 1, "missing_timestamp": 1, "end_before_start": 1}
    assert skipped.examples == {
        "bad_json": [f"{path}:4"], "missing_timestamp": [f"{path}:12"],
        "end_before_start": [f"{path}:13"],
    }  # fmt: skip


def test_weave_costs_and_agent_attribute(tmp_path: Path) -> None:
    costs = {"gpt-4o": {"prompt_tokens_total_cost": 0.0025, "completion_tokens_total_cost": 0.002}}
    root = call("r1", "w1", None, "Agent.invoke", 0, 2, display_name="Agent.invoke",
                attributes={"agent": {"name": "refund_agent"}},
                summary={**usage("gpt-4o", 1000, 200), "weave": {"costs": costs}})  # fmt: skip
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(root) + "\n")
    settings = SETTINGS.model_copy(update={"agent_attribute": {"weave": "agent.name"}})
    (task,), _ = weave.read([path], settings)
    assert (task.agent_name, task.cost_usd) == ("refund_agent", pytest.approx(0.0045))
    (task,), _ = weave.read([path], SETTINGS)
    assert task.agent_name == "Agent.invoke"
    assert weave.op_short_name(OP.format("support_agent")) == "support_agent"
