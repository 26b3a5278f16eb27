"""The OpenTelemetry reader on GenAI agent traces, on exports made by OpenTelemetry's own SDK and
OTLP encoder."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="the traces-test extra is not installed")
pytest.importorskip("opentelemetry.exporter.otlp.proto.common.trace_encoder")
pytest.importorskip("google.protobuf.json_format")

from google.protobuf.json_format import MessageToDict, MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from monitor.sources.common import LlmCall
from monitor.sources.otel import read
from playbook.core.settings import SourceSettings

START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


class Traces:
    """Real spans from the OpenTelemetry SDK, recorded in memory, written as OTLP JSON."""

    def __init__(self, service: str | None = None, resource: dict[str, Any] | None = None) -> None:
        """`service`: the resource's `service.name` (None: the SDK's `unknown_service`);
        `resource`: more resource attributes."""
        self.exporter = InMemorySpanExporter()
        attributes = {**(resource or {}), **({"service.name": service} if service else {})}
        provider = TracerProvider(resource=Resource.create(attributes))
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("govkit.tests")

    def task(
        self,
        agent: str | None,
        start: datetime = START,
        seconds: float = 4.25,
        *,
        status_error: bool = False,
        model: str = "gpt-4o",
        tokens: tuple[int, int] = (1200, 300),
        tools: Sequence[str] = ("wiki-search",),
        attributes: dict[str, Any] | None = None,
    ) -> str:
        """An agent span -> an LLM span -> tool spans; returns the trace id (hex)."""
        t0 = nanos(start)
        t1 = t0 + round(seconds * 1e9)
        root_attributes: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent"}
        if agent is not None:
            root_attributes["gen_ai.agent.name"] = agent
        root = self.tracer.start_span(
            f"invoke_agent {agent}", start_time=t0, attributes=root_attributes | (attributes or {})
        )
        llm = self.tracer.start_span(
            f"chat {model}",
            context=set_span_in_context(root),
            start_time=t0 + 1_000_000,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": tokens[0],
                "gen_ai.usage.output_tokens": tokens[1],
            },
        )
        for number, tool in enumerate(tools, start=1):
            span = self.tracer.start_span(
                f"execute_tool {tool}",
                context=set_span_in_context(llm),
                start_time=t0 + number * 2_000_000,
                attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
            )
            span.end(end_time=t0 + number * 2_000_000 + 500_000)
        llm.end(end_time=t1 - 1_000_000)
        if status_error:
            root.set_status(Status(StatusCode.ERROR, "the agent gave up"))
        root.end(end_time=t1)
        return format(root.get_span_context().trace_id, "032x")

    def span(
        self,
        name: str,
        attributes: dict[str, Any] | None = None,
        *,
        parent: Span | None = None,
        start: datetime = START,
        seconds: float = 1.0,
        error: bool = False,
    ) -> Span:
        """One finished span (a root without `parent`), to build any trace with."""
        t0 = nanos(start)
        context = set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(name, context, start_time=t0, attributes=attributes)
        if error:
            span.set_status(Status(StatusCode.ERROR, "failed"))
        span.end(end_time=t0 + round(seconds * 1e9))
        return span

    def spans(self) -> tuple[ReadableSpan, ...]:
        spans = self.exporter.get_finished_spans()
        self.exporter.clear()
        return spans

    def json_lines(
        self,
        path: Path,
        *,
        per_line: int = 50,
        extra: Iterable[str] = (),
        spans: Sequence[ReadableSpan] | None = None,
    ) -> Path:
        """The file exporter's format: one TracesData (OTLP JSON) per line (of `spans`, else of
        every span finished since the last export)."""
        spans = self.spans() if spans is None else spans
        lines = [
            json.dumps(MessageToDict(encode_spans(spans[i : i + per_line])))
            for i in range(0, len(spans), per_line)
        ]
        path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
        return path

    def document(self, path: Path, *, spans: Sequence[ReadableSpan] | None = None) -> Path:
        """One pretty-printed OTLP JSON document (ids in base64, as protobuf's JSON writes them)."""
        spans = self.spans() if spans is None else spans
        path.write_text(MessageToJson(encode_spans(spans)), encoding="utf-8")
        return path

    def protobuf(self, path: Path, *, spans: Sequence[ReadableSpan] | None = None) -> Path:
        """One binary ExportTraceServiceRequest, as OTLP/HTTP exporters post it."""
        spans = self.spans() if spans is None else spans
        path.write_bytes(encode_spans(spans).SerializeToString())
        return path

    def console(self, path: Path, *, spans: Sequence[ReadableSpan] | None = None) -> Path:
        """The SDK's ConsoleSpanExporter output: pretty-printed spans one after another."""
        spans = self.spans() if spans is None else spans
        out = StringIO()
        ConsoleSpanExporter(out=out).export(spans)
        path.write_text(out.getvalue(), encoding="utf-8")
        return path

    def as_dict(self) -> dict[str, Any]:
        return MessageToDict(encode_spans(self.spans()))


def test_nested_trace_becomes_one_task(tmp_path: Path) -> None:
    traces = Traces()
    trace_id = traces.task(
        "support-bot",
        tools=("wiki-search", "chat-reply"),
        attributes={"app.tenant": "acme", "app.retries": 2, "app.score": 0.5, "app.flag": True,
                    "app.labels": ("a", "b")},
    )  # fmt: skip
    tasks, skipped = read([traces.json_lines(tmp_path / "t.jsonl")], SourceSettings())
    assert not skipped.by_reason
    [task] = tasks
    assert task.agent_name == "support-bot"
    assert task.task_id == trace_id
    assert task.start == START
    assert task.end == START + timedelta(seconds=4.25)
    assert task.error is False
    assert task.llm_calls == [LlmCall("gpt-4o", 1200, 300)]
    assert task.tool_names == {"wiki-search", "chat-reply"}
    assert task.attributes["app.tenant"] == "acme"
    assert task.attributes["app.retries"] == 2
    assert task.attributes["app.score"] == 0.5
    assert task.attributes["app.flag"] is True
    assert task.attributes["app.labels"] == ["a", "b"]
    assert task.attributes["gen_ai.operation.name"] == "invoke_agent"


def test_document_and_json_lines_read_alike(tmp_path: Path) -> None:
    traces = Traces()
    for i in range(5):
        traces.task(f"agent-{i}", START + timedelta(minutes=i), seconds=1 + i)
    spans = traces.spans()
    traces.exporter.export(spans)
    lines = traces.json_lines(tmp_path / "t.jsonl", per_line=4)  # traces split over lines
    traces.exporter.export(spans)
    document = traces.document(tmp_path / "t.json")
    assert document.read_text().startswith("{\n")
    from_lines, _ = read([lines], SourceSettings())
    from_document, _ = read([document], SourceSettings())
    key = lambda t: t.task_id  # noqa: E731
    assert sorted(from_lines, key=key) == sorted(from_document, key=key)
    assert len(from_lines) == 5


def test_errors_from_status_and_error_type(tmp_path: Path) -> None:
    traces = Traces()
    failed = traces.task("a", status_error=True)
    typed = traces.task("a", attributes={"error.type": "timeout"})
    fine = traces.task("a")
    tasks, _ = read([traces.json_lines(tmp_path / "t.jsonl")], SourceSettings())
    errors = {task.task_id: task.error for task in tasks}
    assert errors == {failed: True, typed: True, fine: False}


def test_agent_attribute_override_and_agent_id(tmp_path: Path) -> None:
    traces = Traces()
    traces.task(None, attributes={"gen_ai.agent.id": "agent-42", "app.agent": "billing"})
    path = traces.json_lines(tmp_path / "t.jsonl")
    [task], _ = read([path], SourceSettings())
    assert task.agent_name == "agent-42"
    settings = SourceSettings(agent_attribute={"otel": "app.agent"})
    [task], _ = read([path], settings)
    assert task.agent_name == "billing"


def test_outermost_agent_span_is_the_task(tmp_path: Path) -> None:
    traces = Traces()
    tracer = traces.tracer
    t0 = nanos(START)
    outer = tracer.start_span("invoke_agent planner", start_time=t0,
                              attributes={"gen_ai.operation.name": "invoke_agent",
                                          "gen_ai.agent.name": "planner"})  # fmt: skip
    inner = tracer.start_span("invoke_agent helper", context=set_span_in_context(outer),
                              start_time=t0 + 10, attributes={
                                  "gen_ai.operation.name": "invoke_agent",
                                  "gen_ai.agent.name": "helper",
                                  "gen_ai.usage.input_tokens": 5,
                              })  # fmt: skip
    tool = tracer.start_span("execute_tool handoff", context=set_span_in_context(inner),
                             start_time=t0 + 20,
                             attributes={"gen_ai.operation.name": "execute_tool"})  # fmt: skip
    tool.end(end_time=t0 + 30)
    inner.end(end_time=t0 + 40)
    outer.end(end_time=t0 + 2_000_000_000)
    [task], _ = read([traces.json_lines(tmp_path / "t.jsonl")], SourceSettings())
    assert task.agent_name == "planner"
    assert task.tool_names == {"execute_tool handoff"}  # no gen_ai.tool.name: the span name
    assert task.llm_calls == [LlmCall(None, 5, 0)]  # an agent span's usage, with no LLM spans
    assert (task.end - task.start).total_seconds() == 2


def test_malformed_records_are_skipped_with_locations(tmp_path: Path) -> None:
    traces = Traces()
    traces.task("a")
    broken = traces.as_dict()
    for span in broken["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span.pop("endTimeUnixNano")
    traces.task("a", seconds=-1)  # the SDK records an end before the start as given
    backwards = json.dumps(traces.as_dict())
    traces.task("a")
    path = traces.json_lines(
        tmp_path / "t.jsonl",
        extra=[json.dumps(broken), '{"resourceSpans": [', backwards, '{"other": 1}'],
    )
    tasks, skipped = read([path], SourceSettings())
    assert len(tasks) == 1
    assert dict(skipped.by_reason) == {
        "missing_timestamp": 1, "bad_json": 1, "end_before_start": 1, "not_otlp": 1,
    }  # fmt: skip
    assert skipped.examples == {
        "missing_timestamp": [f"{path}:2"],
        "bad_json": [f"{path}:3"],
        "end_before_start": [f"{path}:4"],
        "not_otlp": [f"{path}:5"],
    }


def test_broken_document_is_reported_at_its_line(tmp_path: Path) -> None:
    traces = Traces()
    traces.task("a")
    path = traces.document(tmp_path / "t.json")
    lines = path.read_text().splitlines()
    lines[5] = lines[5] + ","
    path.write_text("\n".join(lines))
    tasks, skipped = read([path], SourceSettings())
    assert tasks == []
    assert skipped.by_reason["bad_json"] == 1
    [where] = skipped.examples["bad_json"]
    assert where.startswith(f"{path}:") and int(where.rsplit(":", 1)[1]) in (6, 7)
