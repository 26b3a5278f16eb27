"""Which spans of an OpenTelemetry trace are tasks (agent spans, the task rule, root spans), whose
agent they are, which LLM calls and tools they hold, and what is reported when none is found."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="the traces-test extra is not installed")

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.trace import Span

from monitor.sources.common import LlmCall, Task
from monitor.sources.importer import import_traces
from monitor.sources.otel import read
from playbook.core.settings import SourceSettings, TaskRule
from tests.monitor.sources.test_traces_otel import START, Traces

CHAT = {gen_ai.GEN_AI_OPERATION_NAME: "chat", gen_ai.GEN_AI_REQUEST_MODEL: "gpt-4o",
        gen_ai.GEN_AI_USAGE_INPUT_TOKENS: 100, gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: 20}  # fmt: skip


def trace_hex(span: Span) -> str:
    return format(span.get_span_context().trace_id, "032x")


def span_hex(span: Span) -> str:
    return format(span.get_span_context().span_id, "016x")


def tool(name: str) -> dict[str, Any]:
    return {gen_ai.GEN_AI_OPERATION_NAME: "execute_tool", "gen_ai.tool.name": name}


def only(tasks: list[Task]) -> Task:
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_a_trace_without_task_spans_is_one_task_of_its_root(tmp_path: Path) -> None:
    traces = Traces(service="checkout-api")
    root = traces.span("POST /checkout", {"http.route": "/checkout"}, seconds=3, error=True)
    chat = traces.span("chat gpt-4o", CHAT, parent=root)
    traces.span("execute_tool search", tool("search"), parent=chat)
    traces.span("db.query", {"db.system": "postgresql"}, parent=root)

    path = traces.json_lines(tmp_path / "t.jsonl")

    task = only(read([path], SourceSettings())[0])

    assert task.agent_name == "checkout-api"  # no agent attribute: the service's name
    assert task.task_id == trace_hex(root)
    assert (task.start, task.end) == (START, START + timedelta(seconds=3))
    assert task.error is True
    assert task.llm_calls == [LlmCall("gpt-4o", 100, 20)]
    assert task.tool_names == {"search"}
    assert task.attributes["http.route"] == "/checkout"
    assert task.attributes["service.name"] == "checkout-api"  # the resource's, under its own
    [row] = import_traces("otel", [path], None, settings=SourceSettings()).rows
    assert (row["agent"], row["outcome"], row["latency_s"]) == ("checkout-api", "failure", 3.0)


def test_a_lone_llm_span_is_a_task_and_its_one_call(tmp_path: Path) -> None:
    traces = Traces(service="batch-summariser")
    span = traces.span("chat gpt-4o", CHAT)
    [row] = import_traces("otel", [traces.json_lines(tmp_path / "t.jsonl")], None,
                          settings=SourceSettings()).rows  # fmt: skip
    assert row["agent"] == "batch-summariser"
    assert row["task_id"] == trace_hex(span)
    task = only(read([tmp_path / "t.jsonl"], SourceSettings())[0])
    assert task.llm_calls == [LlmCall("gpt-4o", 100, 20)]


@pytest.mark.parametrize(
    ("attributes", "setting", "expected"),
    [
        ({"gen_ai.agent.name": "named", "gen_ai.agent.id": "id-1"}, None, "named"),
        ({"gen_ai.agent.id": "id-1", "agent.name": "oi-name"}, None, "id-1"),
        ({"agent.name": "oi-name"}, None, "oi-name"),  # OpenInference's attribute
        ({"app.bot": "configured", "gen_ai.agent.name": "named"}, "app.bot", "configured"),
        ({"gen_ai.agent.name": "named"}, "app.bot", "named"),  # the setting absent: defaults
        ({}, "deployment.environment", "production"),  # a resource attribute may name it
        ({}, None, "billing-svc"),  # nothing on the span: the service's name
    ],
)
def test_agent_name_fallbacks(
    tmp_path: Path, attributes: dict[str, Any], setting: str | None, expected: str
) -> None:
    traces = Traces(service="billing-svc", resource={"deployment.environment": "production"})
    traces.span("invoke_agent", {gen_ai.GEN_AI_OPERATION_NAME: "invoke_agent", **attributes})
    settings = SourceSettings(agent_attribute={"otel": setting} if setting else {})
    task = only(read([traces.json_lines(tmp_path / "t.jsonl")], settings)[0])
    assert task.agent_name == expected


def test_the_sdk_default_service_name_is_no_agent_name(tmp_path: Path) -> None:
    traces = Traces()  # service.name "unknown_service"
    traces.span("job")
    assert only(read([traces.json_lines(tmp_path / "t.jsonl")], SourceSettings())[0]).agent_name \
        is None  # fmt: skip


def workflow_trace(traces: Traces) -> tuple[Span, Span]:
    """OpenLLMetry-style: an HTTP root, a workflow, a task inside it, an LLM call in the task."""
    root = traces.span("POST /jokes", {"http.method": "POST"}, seconds=10)
    workflow = traces.span(
        "joke_generator.workflow",
        {"traceloop.span.kind": "workflow", "traceloop.entity.name": "joke_generator",
         "openinference.span.kind": "CHAIN", "app.workflow": "jokes"},
        parent=root, start=START + timedelta(seconds=1), seconds=8,
    )  # fmt: skip
    inner = traces.span(
        "joke_creation.workflow",
        {"traceloop.span.kind": "workflow", "traceloop.entity.name": "joke_creation",
         "openinference.span.kind": "CHAIN", "app.workflow": "inner"},
        parent=workflow, start=START + timedelta(seconds=2), seconds=2,
    )  # fmt: skip
    traces.span("openai.chat", CHAT, parent=inner, start=START + timedelta(seconds=2))
    return root, workflow


@pytest.mark.parametrize(
    "rule",
    [
        TaskRule(span_name="*.workflow"),
        TaskRule(attribute="app.workflow"),
        TaskRule(span_kind=["chain"]),  # OpenInference's kind, case-insensitive
        TaskRule(span_kind=["Workflow"]),  # OpenLLMetry's kind
    ],
    ids=["span_name", "attribute", "openinference kind", "traceloop kind"],
)
def test_the_task_rule_picks_the_outermost_matching_span(tmp_path: Path, rule: TaskRule) -> None:
    traces = Traces(service="jokes-api")
    root, _workflow = workflow_trace(traces)
    path = traces.json_lines(tmp_path / "t.jsonl")

    without = only(read([path], SourceSettings())[0])
    assert without.attributes.get("http.method") == "POST"  # no rule: the root is the task
    assert without.end - without.start == timedelta(seconds=10)

    settings = SourceSettings(
        tasks={"otel": rule}, agent_attribute={"otel": "traceloop.entity.name"}
    )
    task = only(read([path], settings)[0])
    assert task.agent_name == "joke_generator"  # the outer workflow, not the one inside it
    assert task.task_id == trace_hex(root)
    assert (task.start, task.end) == (START + timedelta(seconds=1), START + timedelta(seconds=9))
    assert task.llm_calls == [LlmCall("gpt-4o", 100, 20)]
    assert task.attributes["app.workflow"] == "jokes"


def test_agent_spans_come_before_the_rule_and_the_rule_before_roots(tmp_path: Path) -> None:
    traces = Traces(service="svc")
    root = traces.span("POST /ask")
    agent = traces.span(
        "invoke_agent helper",
        {gen_ai.GEN_AI_OPERATION_NAME: "invoke_agent", "gen_ai.agent.name": "helper"},
        parent=root,
    )
    traces.span("step.workflow", {"traceloop.span.kind": "workflow"}, parent=agent)
    workflow_trace(traces)  # a second trace: no agent span
    settings = SourceSettings(tasks={"otel": TaskRule(span_kind=["workflow"])})
    tasks = read([traces.json_lines(tmp_path / "t.jsonl")], settings)[0]
    by_trace = {task.task_id: task for task in tasks}
    assert by_trace.pop(trace_hex(root)).agent_name == "helper"
    assert only(list(by_trace.values())).attributes["traceloop.entity.name"] == "joke_generator"
    # a rule that picks nothing in a trace leaves that trace its root
    root, _workflow = workflow_trace(traces)
    settings = SourceSettings(tasks={"otel": TaskRule(span_name="no such span")})
    task = only(read([traces.json_lines(tmp_path / "t2.jsonl")], settings)[0])
    assert task.attributes.get("http.method") == "POST"


def test_roots_whose_parent_is_missing_are_tasks(tmp_path: Path) -> None:
    traces = Traces(service="svc")
    parent = traces.span("invoke_agent lost", {gen_ai.GEN_AI_OPERATION_NAME: "invoke_agent"})
    first = traces.span("chat gpt-4o", {**CHAT, "gen_ai.agent.name": "orphan-bot"},
                        parent=parent, seconds=2)  # fmt: skip
    traces.span("execute_tool search", tool("search"), parent=first)
    second = traces.span("chat gpt-4o", {**CHAT, "app.note": "second"}, parent=parent,
                         start=START + timedelta(seconds=5), error=True)  # fmt: skip
    kept = [span for span in traces.spans() if span.name != "invoke_agent lost"]
    for writer, name in [(traces.json_lines, "t.jsonl"), (traces.document, "t.json"),
                         (traces.protobuf, "t.pb"), (traces.console, "t.console")]:  # fmt: skip
        tasks, skipped = read([writer(tmp_path / name, spans=kept)], SourceSettings())
        assert not skipped.by_reason, name
        by_id = {task.task_id: task for task in tasks}
        trace = trace_hex(first)
        assert set(by_id) == {f"{trace}/{span_hex(first)}", f"{trace}/{span_hex(second)}"}
        one, two = by_id[f"{trace}/{span_hex(first)}"], by_id[f"{trace}/{span_hex(second)}"]
        assert (one.agent_name, one.tool_names, one.error) == ("orphan-bot", {"search"}, False)
        assert (two.agent_name, two.attributes["app.note"], two.error) == ("svc", "second", True)
        assert one.llm_calls == two.llm_calls == [LlmCall("gpt-4o", 100, 20)]
        assert two.start == START + timedelta(seconds=5)


def test_a_missing_parent_s_child_with_a_malformed_value_is_a_bad_span(tmp_path: Path) -> None:
    traces = Traces(service="svc")
    parent = traces.span("lost")
    traces.span("orphan", {"app.note": "x"}, parent=parent)
    traces.span("fine")  # another trace
    kept = [span for span in traces.spans() if span.name != "lost"]
    path = traces.json_lines(tmp_path / "t.jsonl", spans=kept)
    bad = {"key": "app.bad", "value": {"intValue": "not a number"}}
    path.write_text(
        path.read_text().replace('{"key": "app.note"', json.dumps(bad) + ', {"key": "app.note"')
    )
    tasks, skipped = read([path], SourceSettings())
    assert [task.attributes["service.name"] for task in tasks] == ["svc"]  # the other trace's
    assert skipped.examples == {"bad_span": [f"{path}:1"]}


def test_usage_is_counted_once(tmp_path: Path) -> None:
    traces = Traces(service="svc")
    agent_usage = {
        gen_ai.GEN_AI_OPERATION_NAME: "invoke_agent",
        "gen_ai.agent.name": "a",
        gen_ai.GEN_AI_USAGE_INPUT_TOKENS: 300,
        gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: 60,
    }
    # an agent span that sums its calls: the calls count, not the sum
    summed = traces.span("invoke_agent a", agent_usage)
    for _ in range(3):
        traces.span("chat gpt-4o", CHAT, parent=summed)
    # an agent span with usage and no call below it: its own usage
    alone = traces.span("invoke_agent a", agent_usage)
    # a wrapper (a gateway's span around the provider's) is not a second call
    root = traces.span("handle")
    wrapper = traces.span(
        "litellm.completion",
        {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.prompt_tokens": 100,
            "gen_ai.usage.completion_tokens": 20,
        },
        parent=root,
    )
    traces.span("chat gpt-4o", CHAT, parent=wrapper)
    tasks = read([traces.json_lines(tmp_path / "t.jsonl")], SourceSettings())[0]
    calls = {task.task_id: task.llm_calls for task in tasks}
    assert calls[trace_hex(summed)] == [LlmCall("gpt-4o", 100, 20)] * 3
    assert calls[trace_hex(alone)] == [LlmCall(None, 300, 60)]
    assert calls[trace_hex(root)] == [LlmCall("gpt-4o", 100, 20)]


def test_what_was_seen_is_reported_when_no_task_is_found(
    tmp_path: Path, govkit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no governance directory: a first look
    traces = Traces(service="svc")
    root = traces.span("workflow", {"traceloop.span.kind": "workflow"}, seconds=-1)
    traces.span("chat gpt-4o", CHAT, parent=root)
    traces.span("retrieve", {"openinference.span.kind": "RETRIEVER"}, parent=root)
    traces.span("plain", parent=root)
    traces.span("second trace root", seconds=-1)  # both roots end before they start
    path = traces.json_lines(tmp_path / "t.jsonl")

    tasks, skipped = read([path], SourceSettings())
    assert tasks == []
    assert (skipped.seen.records, skipped.seen.traces) == (5, 2)
    assert skipped.seen.kinds == Counter({"workflow": 1, "chat": 1, "RETRIEVER": 1, "plain": 1,
                                          "second trace root": 1})  # fmt: skip
    result = govkit("events", "import", "--from", "otel", str(path),
                    "--out", str(tmp_path / "e.parquet"))  # fmt: skip
    assert result.exit_code == 2
    assert "read 5 record(s) in 2 trace(s), none of them a task" in result.output
    assert "workflow (1)" in result.output and "RETRIEVER (1)" in result.output
