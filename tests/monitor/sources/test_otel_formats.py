"""The OpenTelemetry reader's file formats, each written by the OTel SDK itself: OTLP protobuf
(ExportTraceServiceRequest, TracesData), the console exporter's output, OTLP JSON with base64 ids
and documents written one after another; and what the importer's format sniffing recognises."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("opentelemetry.sdk.trace", reason="the traces-test extra is not installed")
pytest.importorskip("opentelemetry.proto.trace.v1.trace_pb2")

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from monitor.sources import otlp_console, otlp_protobuf
from monitor.sources.common import Task
from monitor.sources.otel import OtelSource, read
from playbook.core.settings import SourceSettings
from tests.monitor.sources.test_traces_otel import START, Traces


def key(task: Task) -> tuple[object, ...]:
    calls = [(c.model, c.input_tokens, c.output_tokens) for c in task.llm_calls]
    return (task.task_id, task.agent_name, task.start, task.end, task.error, calls,
            sorted(task.tool_names))  # fmt: skip


def three_tasks() -> Traces:
    traces = Traces(service="svc")
    traces.task("docs-bot", tools=("search", "reply"))
    traces.task("support-bot", status_error=True, tokens=(10, 2))
    traces.task(None, attributes={"gen_ai.agent.id": "agent-7"})
    return traces


def test_protobuf_reads_as_json_lines_do(tmp_path: Path) -> None:
    traces = three_tasks()
    spans = traces.spans()
    expected = sorted(map(key, read([traces.json_lines(tmp_path / "t.jsonl", spans=spans)],
                                    SourceSettings())[0]))  # fmt: skip
    assert sorted(k[1] for k in expected) == ["agent-7", "docs-bot", "support-bot"]
    request = traces.protobuf(tmp_path / "request.bin", spans=spans)  # no telling suffix
    data = TracesData(resource_spans=encode_spans(spans).resource_spans).SerializeToString()
    (tmp_path / "traces.binpb").write_bytes(data)
    for path in (request, tmp_path / "traces.binpb"):
        tasks, skipped = read([path], SourceSettings())
        assert not skipped.by_reason
        assert sorted(map(key, tasks)) == expected
        assert {task.task_id for task in tasks} == {k[0] for k in expected}
        assert all(len(task.task_id) == 32 for task in tasks)  # bytes ids as hex


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.pb", b"\x00\x01\x02not a protobuf message\xff"),
        ("garbage.bin", b"\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),  # a length past the end
        ("text.pb", b"\nhello, world\n"),  # starts as a message does, then no wire format
    ],
)
def test_a_binary_file_that_is_no_otlp_is_a_clean_skip(
    tmp_path: Path, name: str, content: bytes, govkit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    tasks, skipped = read([path], SourceSettings())
    assert tasks == []
    assert skipped.examples == {"not_otlp": [f"{path}:1"]}
    result = govkit("events", "import", "--from", "otel", str(path), "--out", "e.parquet")
    assert result.exit_code == 2
    assert "no agent tasks" in result.output and "not_otlp: 1" in result.output
    assert "Traceback" not in result.output


def test_text_that_starts_with_a_newline_is_still_read_as_text(tmp_path: Path) -> None:
    traces = three_tasks()
    path = traces.json_lines(tmp_path / "t.jsonl")
    path.write_text("\nnot json\n" + path.read_text())  # 0x0A: how a protobuf message starts
    tasks, skipped = read([path], SourceSettings())
    assert len(tasks) == 3
    assert skipped.examples == {"bad_json": [f"{path}:2"]}


def test_console_exporter_output(tmp_path: Path) -> None:
    traces = three_tasks()
    spans = traces.spans()
    path = traces.console(tmp_path / "console.txt", spans=spans)
    assert path.read_text().startswith('{\n    "name": ')
    expected = sorted(map(key, read([traces.json_lines(tmp_path / "t.jsonl", spans=spans)],
                                    SourceSettings())[0]))  # fmt: skip
    tasks, skipped = read([path], SourceSettings())
    assert not skipped.by_reason
    assert sorted(map(key, tasks)) == expected
    [failed] = [task for task in tasks if task.error]
    assert failed.agent_name == "support-bot"
    assert failed.start == START


def test_console_spans_one_per_line_in_an_array_and_located_when_bad(tmp_path: Path) -> None:
    traces = three_tasks()
    spans = traces.spans()
    objects = [json.loads(span.to_json()) for span in spans]
    one_per_line = tmp_path / "lines.jsonl"
    one_per_line.write_text("".join(json.dumps(o) + "\n" for o in objects))
    array = tmp_path / "array.json"
    array.write_text(json.dumps(objects, indent=2))
    expected = sorted(map(key, read([traces.console(tmp_path / "c.txt", spans=spans)],
                                    SourceSettings())[0]))  # fmt: skip
    for path in (one_per_line, array):
        assert sorted(map(key, read([path], SourceSettings())[0])) == expected

    # an agent span with a time that is no time, then a broken object: located at their lines
    agents = [n for n, o in enumerate(objects) if o["name"].startswith("invoke_agent")]
    objects[agents[0]]["start_time"] = "yesterday"
    text = "".join(json.dumps(o, indent=4) + "\n" for o in objects) + '{\n    "name": \n'
    path = tmp_path / "damaged.txt"
    path.write_text(text)
    tasks, skipped = read([path], SourceSettings())
    assert len(tasks) == 2
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines, 1) if line == "{"]
    assert skipped.examples == {
        "bad_timestamp": [f"{path}:{starts[agents[0]]}"],
        "bad_json": [f"{path}:{len(lines) + 1}"],
    }


def test_otlp_json_with_base64_ids_and_documents_one_after_another(tmp_path: Path) -> None:
    traces = Traces(service="svc")
    first = traces.task("docs-bot")
    second = traces.task("support-bot")
    spans = traces.spans()
    half = len(spans) // 2
    documents = [MessageToJson(encode_spans(part)) for part in (spans[:half], spans[half:])]
    trace_id = json.loads(documents[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    assert len(trace_id) == 24 and trace_id.endswith("==")  # base64, not hex
    text = "\n".join(documents)
    path = tmp_path / "two-documents.json"
    path.write_text(text)
    tasks, skipped = read([path], SourceSettings())
    assert not skipped.by_reason
    assert {task.task_id: task.agent_name for task in tasks} == {
        first: "docs-bot", second: "support-bot"
    }  # fmt: skip


def test_detect_accepts_the_three_otel_shapes_and_not_phoenix() -> None:
    source = OtelSource()
    assert source.detect({"resourceSpans"})
    assert source.detect({"otlp.protobuf"})
    console = {"name", "context", "context.trace_id", "context.span_id", "kind", "parent_id",
               "start_time", "end_time", "status", "attributes", "resource",
               "resource.attributes"}  # fmt: skip
    assert source.detect(console)
    phoenix = {"name", "span_kind", "parent_id", "start_time", "end_time", "status_code",
               "context.span_id", "context.trace_id", "attributes.llm.model_name"}  # fmt: skip
    assert not source.detect(phoenix)
    assert not source.detect(set())


def test_sniffing_helpers_for_the_importer(tmp_path: Path) -> None:
    traces = three_tasks()
    spans = traces.spans()
    console = traces.console(tmp_path / "c.txt", spans=spans).read_bytes()[:300]  # a cut span
    request = traces.protobuf(tmp_path / "r", spans=spans).read_bytes()[:64]
    lines = traces.json_lines(tmp_path / "t.jsonl", spans=spans).read_bytes()[:64]
    phoenix = json.dumps({"context": {"span_id": "ab"}, "span_kind": "LLM"}).encode()
    assert otlp_console.looks_like_console(console)
    assert not any(map(otlp_console.looks_like_console, (request, lines, phoenix)))
    assert otlp_protobuf.looks_like_protobuf(request, "")
    assert otlp_protobuf.looks_like_protobuf(b"anything", ".binpb")
    assert not any(otlp_protobuf.looks_like_protobuf(head, ".json") for head in (console, lines))


@pytest.mark.parametrize("writer", ["protobuf", "console"])
def test_cli_imports_protobuf_and_console_files(
    tmp_path: Path, govkit, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no governance directory: every agent kept under its name
    traces = three_tasks()
    path = getattr(traces, writer)(tmp_path / f"traces.{writer}")
    out = tmp_path / "events.parquet"
    result = govkit("events", "import", "--from", "otel", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "3 tasks from 1 otel file(s)" in result.output
    rows = duckdb.connect().execute(
        f"SELECT agent, outcome FROM '{out}' ORDER BY agent"
    ).fetchall()  # fmt: skip
    assert rows == [("agent-7", "success"), ("docs-bot", "success"), ("support-bot", "failure")]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    traces = three_tasks()
    spans = traces.spans()
    scratch = tmp_path_factory.mktemp("recorded")
    return {
        "console.txt": traces.console(scratch / "c.txt", spans=spans).read_bytes(),
        "traces.pb": traces.protobuf(scratch / "t.pb", spans=spans).read_bytes(),
    }


@given(name=st.sampled_from(["console.txt", "traces.pb"]), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))  # fmt: skip
def test_damaged_console_and_protobuf_files_never_crash(
    recorded: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory, name: str, cut: float,
    flips: list[tuple[float, int]],
) -> None:  # fmt: skip
    data = bytearray(recorded[name][: max(1, int(len(recorded[name]) * cut))])
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    path = tmp_path_factory.mktemp("damaged") / name
    path.write_bytes(bytes(data))
    tasks, skipped = read([path], SourceSettings())  # no exception, whatever the damage
    assert all(task.end >= task.start and task.task_id for task in tasks)
    assert skipped.seen.records >= len(tasks)
